"""RegressionPipeline — RGB → cube with a learned per-pixel baseline (:class:`~..models.regression.PixelRegression`).

Deterministic: sampling options do not apply and are ignored; the image is processed in chunks of 65,536
pixels (cancel is checked before each, progress reported after each); the result is RGB-consistent and never
negative (:func:`~..models.regression.nonnegative_consistent`)."""

from __future__ import annotations

import numpy as np
import torch

from ..jobs import NEVER_CANCEL, no_progress
from ..models.regression import nonnegative_consistent
from .base import ModelPipeline
from .checks import check_rgb
from .tiling import run_tiled

CHUNK = 1 << 16


class RegressionPipeline(ModelPipeline):
    def __call__(self, rgb_linear, *, device: str = "cpu", progress=None, cancel=None, tile: int | None = None,
                 overlap: int = 32, **_ignored):
        """Linear RGB H×W×3 → ``(cube H×W×B float32, None)``, never negative; ``tile`` as in
        :class:`~.uldm.ULDMPipeline` (the tiles are blended the same way)."""
        rgb = check_rgb(rgb_linear)

        def one(part: np.ndarray, report):
            return self._reconstruct(part, device, report, cancel)

        if tile is None:
            return one(rgb, progress)
        return run_tiled(one, rgb, len(self.wavelengths), int(tile), int(overlap), progress or no_progress,
                         cancel or NEVER_CANCEL)

    def _reconstruct(self, rgb: np.ndarray, device: str, progress, cancel):
        model = self.model
        h, w, _ = rgb.shape
        model.to(device).eval()
        out = np.empty((h, w, model.S.shape[0]), np.float32)
        flat_in = rgb.reshape(-1, 3)
        flat_out = out.reshape(-1, out.shape[-1])
        with torch.inference_mode():
            for i in range(0, len(flat_in), CHUNK):
                if cancel is not None:
                    cancel.check()
                y = torch.from_numpy(flat_in[i:i + CHUNK]).to(device)
                x = nonnegative_consistent(model(y), y, model.pinv, model.S)
                flat_out[i:i + CHUNK] = x.cpu().numpy()
                if progress is not None:
                    progress(min(1.0, (i + CHUNK) / len(flat_in)), "regression")
        return out, None


__all__ = ["RegressionPipeline"]
