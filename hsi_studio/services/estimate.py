"""What a reconstruction of a large photo will cost, and the offer to make it smaller (issue 24, item 5).

``memory_needed(height, width, samples)`` is the estimate ``hsi-studio reconstruct`` refuses a photo over its
memory budget with (``commands/reconstruct.check_memory_budget``); ``estimate(...)`` adds a rough time from the
model's kind and the pixel count; ``downscale(rgb, max_pixels)`` resizes a photo in linear light
(``skimage.transform.resize`` with anti-aliasing) to at most ``max_pixels`` pixels.
"""

from __future__ import annotations

import math

import numpy as np

from hsi_studio.core.cube import LINEAR_RANGE, RGBImage, memory_budget
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress

# Peak bytes per photo pixel of a reconstruction, whatever the tile size (tiles bound the model's working memory,
# not these): the decoded photo and its linear copy (float32 RGB), the 31-band float32 cube and its copy while it
# is written (and turned into reflectance), the preview; a std cube and the per-pixel mean/variance accumulators
# of several samples (float64) on top. Measured on CPU (peak RSS over the baseline), then rounded up.
RECON_BYTES_PER_PIXEL = 400
STD_BYTES_PER_PIXEL = 124 + 2 * 31 * 8

# Rough CPU seconds per megapixel by model kind, measured on the development machine: a 1000×1000 photo through
# services.reconstruction.reconstruct on one thread (OMP_NUM_THREADS=1) — default ULDM at 8 steps 44.0 s, fast
# 21.7 s, mlp 5.6 s, rootpoly 7.1 s, Mallett 1.1 s, Otsu 0.5 s; the diffusion figure scales with steps × samples.
# A guide to the order of magnitude, not a promise: more threads or a GPU are faster (issue 24's 12 MP CLI run of
# the default model took 3:53 on a quiet multi-core machine, 19.5 s per megapixel).
SECONDS_PER_MP = {"diffusion": 44.0, "fast": 22.0, "regression": 7.0, "physics": 1.0}
DIFFUSION_STEPS = 8

LARGE_PHOTO_PIXELS = 4_000_000  # above this the Reconstruct dock shows the estimate and the offers
DOWNSCALE_PIXELS = 2_000_000


def memory_needed(height: int, width: int, samples: int = 1) -> int:
    """Bytes a reconstruction of a ``width``×``height`` photo needs (the CLI's memory-budget estimate)."""
    per_pixel = RECON_BYTES_PER_PIXEL + (STD_BYTES_PER_PIXEL if samples > 1 else 0)
    return int(height) * int(width) * per_pixel


def estimate(height: int, width: int, kind: str, *, steps: int = DIFFUSION_STEPS, samples: int = 1) -> dict:
    """``{"megapixels", "seconds", "bytes", "budget", "fits"}`` for reconstructing a photo with a model of
    ``kind`` (``diffusion``, ``fast``, ``regression`` or ``physics``)."""
    mp = int(height) * int(width) / 1e6
    seconds = mp * SECONDS_PER_MP.get(kind, SECONDS_PER_MP["diffusion"])
    if kind == "diffusion":
        seconds *= max(int(steps), 1) / DIFFUSION_STEPS * max(int(samples), 1)
    need, budget = memory_needed(height, width, samples), memory_budget()
    return {"megapixels": mp, "seconds": seconds, "bytes": need, "budget": budget, "fits": need <= budget}


def downscaled_shape(height: int, width: int, max_pixels: int = DOWNSCALE_PIXELS) -> tuple[int, int]:
    """The largest (height, width) of the same aspect ratio with at most ``max_pixels`` pixels."""
    if height * width <= max_pixels:
        return int(height), int(width)
    f = math.sqrt(max_pixels / (height * width))
    h, w = max(int(height * f), 1), max(int(width * f), 1)
    while h * w > max_pixels:  # floor rounding already keeps it under; this is a guard
        h, w = max(h - 1, 1), max(w - 1, 1)
    return h, w


def downscale(rgb: RGBImage, max_pixels: int = DOWNSCALE_PIXELS, progress=no_progress,
              cancel: CancelToken = NEVER_CANCEL) -> RGBImage:
    """``rgb`` resized to at most ``max_pixels`` pixels in linear light (an sRGB-encoded photo is decoded first
    and encoded after, so edges keep their brightness), with anti-aliasing; metadata kept, the size recorded."""
    from skimage.transform import resize

    from hsi_studio.core.spectral import srgb_decode, srgb_encode

    h, w = downscaled_shape(rgb.height, rgb.width, max_pixels)
    if (h, w) == (rgb.height, rgb.width):
        return rgb
    progress(0.1, f"downscaling {rgb.width}×{rgb.height} → {w}×{h}")
    linear = srgb_decode(rgb.data) if rgb.encoding == "srgb" else rgb.data
    cancel.check()
    small = resize(np.asarray(linear, dtype=np.float32), (h, w, 3), order=1, anti_aliasing=True,
                   preserve_range=True).astype(np.float32)
    cancel.check()
    if rgb.encoding == "srgb":
        small = np.clip(srgb_encode(np.clip(small, 0.0, 1.0)), 0.0, 1.0).astype(np.float32)
    else:
        small = np.clip(small, *LINEAR_RANGE).astype(np.float32)
    progress(1.0, "downscaled")
    md = {**rgb.metadata, "downscaled_from": f"{rgb.width}x{rgb.height}"}
    return RGBImage(small, rgb.encoding, md, rgb.bit_depth)


__all__ = ["RECON_BYTES_PER_PIXEL", "STD_BYTES_PER_PIXEL", "SECONDS_PER_MP", "LARGE_PHOTO_PIXELS",
           "DOWNSCALE_PIXELS", "memory_needed", "estimate", "downscaled_shape", "downscale"]
