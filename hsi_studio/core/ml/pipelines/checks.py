"""Sampling options and input checks shared by the pipelines, ``core.pipeline.reconstruct`` and the CLI — one
owner for each (no torch import)."""

from __future__ import annotations

import numpy as np

from hsi_studio.core.cube import check_size
from hsi_studio.core.errors import InputError, NonFiniteError, ShapeError

SCHEDULERS = ("dpmsolver++", "ddim")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
MAX_STEPS = 1000
MAX_SAMPLES = 64
MIN_TILE = 64


def check_sampling(steps: int | None = None, samples: int | None = None, scheduler: str = "dpmsolver++",
                   precision: str = "auto", tile: int | None = None) -> tuple[int | None, int | None]:
    """Check the sampling options (``None``: not given, not checked) → ``(steps, samples)`` as integers."""
    if steps is not None and not 1 <= int(steps) <= MAX_STEPS:
        raise InputError(f"steps={steps}; expected 1–{MAX_STEPS} solver steps")
    if samples is not None and not 1 <= int(samples) <= MAX_SAMPLES:
        raise InputError(f"samples={samples}; expected 1–{MAX_SAMPLES}")
    if scheduler not in SCHEDULERS:
        raise InputError(f"scheduler {scheduler!r}; expected one of {', '.join(SCHEDULERS)}")
    if precision not in PRECISIONS:
        raise InputError(f"precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if tile is not None and int(tile) < MIN_TILE:
        raise InputError(f"tile={tile}; expected at least {MIN_TILE} pixels")
    return (None if steps is None else int(steps)), (None if samples is None else int(samples))


def check_rgb(rgb) -> np.ndarray:
    """Linear RGB H×W×3 (a numpy array or a torch tensor) → a contiguous finite float32 array."""
    if hasattr(rgb, "detach"):  # a torch tensor (without importing torch here)
        rgb = rgb.detach().to("cpu").float().numpy()
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ShapeError(f"RGB input has shape {arr.shape}; expected (height, width, 3) linear RGB")
    check_size(arr.shape[0], arr.shape[1], 3, what="RGB input")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"RGB input has dtype {arr.dtype}; expected real numbers")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise NonFiniteError("RGB input holds NaN/Inf values; expected finite linear RGB")
    return arr


__all__ = ["MAX_SAMPLES", "MAX_STEPS", "MIN_TILE", "PRECISIONS", "SCHEDULERS", "check_rgb", "check_sampling"]
