"""What a reconstruction of a large photo will cost, and the offer to make it smaller (issue 24, item 5).

``memory_needed(height, width, samples)`` is the estimate ``hsi-studio reconstruct`` refuses a photo over its
memory budget with (``commands/reconstruct.check_memory_budget``): for a photo larger than one tile
(:func:`streams`) that of the streamed path (:mod:`.reconstruct_stream`: the photo and the preview's buffers per
pixel, one row of tiles per column of the photo, the model's working memory for one tile), else that of the
in-memory path; ``estimate(...)`` adds a rough time from the model's kind and the pixel count;
``downscale(rgb, max_pixels)`` resizes a photo in linear light (``skimage.transform.resize`` with
anti-aliasing) to at most ``max_pixels`` pixels.
"""

from __future__ import annotations

import math
import os

import numpy as np

from hsi_studio.core.cube import LINEAR_RANGE, RGBImage, memory_budget
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress

# The in-memory path (a photo no larger than one tile). Peak bytes per photo pixel of a reconstruction, whatever the tile size (tiles bound the model's working memory,
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


# The streamed path (issue 24, item 5), measured with benchmarks/reconstruct_memory.py (peak RSS), rounded up:
# per photo pixel the decoded photo and its linear copy (float32 RGB, with the decode's transients) and the
# preview's linear RGB + luminance (float32) and its sRGB; per photo column one row of tiles — the blend's
# float32 accumulators (mean, and variance with samples > 1, and the weight) over ``tile`` rows and the
# 128-row bands on their way to the file (the divisions, the reflectance, the HDF5 chunk row); fixed: the
# interpreter, torch and a model's working memory for one 512-pixel tile (the ULDM's is the largest).
# Measured peaks (2-core CPU): fast 4000×3000 1919 MiB (this estimate: 2.9 GiB), fast 2000×1500 1409 MiB
# (2.0 GiB), default ULDM (4 samples, with std) 2000×1500 1568 MiB (2.3 GiB; at 12 MP extrapolated ≈ 2.3 GiB,
# estimated 3.5 GiB): the estimate errs on the safe side.
STREAM_BYTES_PER_PIXEL = 80
STREAM_BAND_BYTES = 31 * 4
STREAM_FIXED_BYTES = 1536 * 1024**2
DEFAULT_TILE = 512  # core.ml.reconstruct.DEFAULT_TILE (not imported: this module is on the GUI's start-up path)
STREAM_ENV = "HSI_STUDIO_STREAM"  # "0": never stream (the reference of the memory benchmark)
STREAM_ROWS = 128  # core.pipelines.tiling.EMIT_ROWS and an HDF5 chunk row


def streams(height: int, width: int, tile: int | None = None) -> bool:
    """Whether ``hsi-studio reconstruct`` streams a photo: when it is larger than one tile (it runs tiled)."""
    if os.environ.get(STREAM_ENV, "1").strip() == "0":  # the in-memory path (benchmarks/reconstruct_memory.py)
        return False
    tile = int(tile or DEFAULT_TILE)
    return int(height) > tile or int(width) > tile


def gui_streams(height: int, width: int) -> bool:
    """Whether the Reconstruct dock streams a photo (into a mapped temporary file): over
    :data:`LARGE_PHOTO_PIXELS`, unless ``HSI_STUDIO_STREAM=0``."""
    if os.environ.get(STREAM_ENV, "1").strip() == "0":
        return False
    return int(height) * int(width) > LARGE_PHOTO_PIXELS


def memory_needed(height: int, width: int, samples: int = 1, *, tile: int | None = None,
                  streamed: bool | None = None) -> int:
    """Bytes a reconstruction of a ``width``×``height`` photo needs (the CLI's memory-budget estimate): the
    streamed path's when it streams (``streamed``, by default :func:`streams`), else the in-memory path's."""
    h, w = int(height), int(width)
    if streamed is None:
        streamed = streams(h, w, tile)
    if not streamed:
        per_pixel = RECON_BYTES_PER_PIXEL + (STD_BYTES_PER_PIXEL if samples > 1 else 0)
        return h * w * per_pixel
    k = 2 if samples > 1 else 1  # mean (and std)
    rows = min(int(tile or DEFAULT_TILE), h)
    per_column = rows * (k * STREAM_BAND_BYTES + 4) + STREAM_ROWS * k * STREAM_BAND_BYTES * 5
    return h * w * STREAM_BYTES_PER_PIXEL + w * per_column + STREAM_FIXED_BYTES


def largest_fitting(height: int, width: int, samples: int, budget: int, tile: int | None = None) -> int:
    """The most pixels a photo of this aspect ratio may have to fit ``budget`` (0: none does)."""
    if not streams(height, width, tile):
        return int(budget // memory_needed(1, 1, samples, streamed=False))
    lo, hi = 0.0, 1.0
    if memory_needed(max(int(height * hi), 1), max(int(width * hi), 1), samples, tile=tile, streamed=True) <= budget:
        return int(height) * int(width)
    for _ in range(40):
        mid = (lo + hi) / 2
        h, w = max(int(height * mid), 1), max(int(width * mid), 1)
        lo, hi = (mid, hi) if memory_needed(h, w, samples, tile=tile, streamed=True) <= budget else (lo, mid)
    h, w = int(height * lo), int(width * lo)
    return h * w if h and w and memory_needed(h, w, samples, tile=tile, streamed=True) <= budget else 0


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

    from hsi_studio.core.spectral.responses import srgb_decode, srgb_encode

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


__all__ = ["RECON_BYTES_PER_PIXEL", "STD_BYTES_PER_PIXEL", "STREAM_BYTES_PER_PIXEL", "STREAM_FIXED_BYTES", "streams",
           "gui_streams", "largest_fitting", "SECONDS_PER_MP", "LARGE_PHOTO_PIXELS",
           "DOWNSCALE_PIXELS", "memory_needed", "estimate", "downscaled_shape", "downscale"]
