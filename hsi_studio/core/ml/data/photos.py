"""RGB photos for the RGB pre-training stage: random augmented crops (numpy only)."""

from __future__ import annotations

import numpy as np

from hsi_studio.core.cube import crop_shape
from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.data.crops import _rng, augment, random_crop
from hsi_studio.core.ml.data.scenes import check_photo


class PhotoSource:
    """Random augmented crops of RGB photos, sRGB-encoded float32 (B, crop, crop, 3) in [0, 1]."""

    def __init__(self, photos: list[np.ndarray], seed: int = 0):
        if not photos:
            raise InputError("no photos given; expected at least one RGB photo")
        self.photos = [check_photo(p, i) for i, p in enumerate(photos)]
        self.seed = int(seed)

    def batch(self, step: int, batch_size: int, crop: int, *, micro: int = 0, rank: int = 0
              ) -> np.ndarray:
        n = batch_size
        rng = _rng(self.seed, step, micro, rank)
        h, w = crop_shape(crop)
        out = np.empty((n, h, w, 3), np.float32)
        for i in range(n):
            photo = self.photos[int(rng.integers(len(self.photos)))]
            s = rng.uniform(0.5, 1.0)  # random zoom: more variety of structure per crop
            src = random_crop(photo, (min(round(h / s), photo.shape[0]), min(round(w / s), photo.shape[1])), rng)
            out[i] = augment(_resize_uint8(src, h, w), rng)
        return out


def _resize_uint8(img: np.ndarray, h: int, w: int) -> np.ndarray:
    if img.shape[:2] != (h, w):
        from PIL import Image

        img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((w, h), Image.BILINEAR))
    return img.astype(np.float32) / np.float32(255.0)


__all__ = ["PhotoSource"]
