"""Reconstruction metrics: MRAE, RMSE, PSNR, SAM (degrees), SSIM (scikit-image), per-band RMSE and
per-pixel error maps, with an NTIRE-protocol option (centre crop, data range 1).

All functions take H×W×B arrays (or :class:`HSCube`) and are safe for zeros: MRAE's denominator is
``max(|gt|, eps)`` and SAM of a zero spectrum against anything is defined as 0° when both are zero and 90°
when only one is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cube import HSCube, centre_crop
from .errors import InputError, ShapeError

MRAE_EPS = 1e-3  # denominator floor, in the data's units (1e-3 of the [0, 1] NTIRE range)


def _arr(x: Any, what: str) -> np.ndarray:
    a = x.data if isinstance(x, HSCube) else np.asarray(x, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ShapeError(f"{what} has shape {a.shape}; expected (height, width, bands)")
    if not np.isfinite(a).all():
        raise InputError(f"{what} holds NaN/Inf; expected finite values")
    return a


def _pair(pred: Any, gt: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(pred, HSCube) and isinstance(gt, HSCube):
        pred.require_same_grid(gt, "prediction and ground truth")
    p, g = _arr(pred, "prediction"), _arr(gt, "ground truth")
    if p.shape != g.shape:
        raise ShapeError(f"prediction has shape {p.shape} but ground truth {g.shape}; expected equal shapes")
    return p, g


def mrae_map(pred: Any, gt: Any, eps: float = MRAE_EPS) -> np.ndarray:
    p, g = _pair(pred, gt)
    return (np.abs(p - g) / np.maximum(np.abs(g), eps)).mean(axis=2)


def mrae(pred: Any, gt: Any, eps: float = MRAE_EPS) -> float:
    """Mean relative absolute error, mean(|p − g| / max(|g|, eps))."""
    return float(mrae_map(pred, gt, eps).mean())


def rmse_map(pred: Any, gt: Any) -> np.ndarray:
    p, g = _pair(pred, gt)
    return np.sqrt(((p - g) ** 2).mean(axis=2))


def rmse(pred: Any, gt: Any) -> float:
    p, g = _pair(pred, gt)
    return float(np.sqrt(((p - g) ** 2).mean()))


def per_band_rmse(pred: Any, gt: Any) -> np.ndarray:
    p, g = _pair(pred, gt)
    return np.sqrt(((p - g) ** 2).mean(axis=(0, 1)))


def psnr(pred: Any, gt: Any, data_range: float | None = None) -> float:
    """10·log10(range² / MSE) in dB; ``data_range`` defaults to the ground truth's max (NTIRE uses 1).
    Identical arrays give +inf."""
    p, g = _pair(pred, gt)
    rng = float(g.max()) if data_range is None else float(data_range)
    if rng <= 0:
        raise InputError(f"PSNR data range is {rng:g}; expected a positive range (ground truth is all zero?)")
    mse = float(((p - g) ** 2).mean())
    return float("inf") if mse == 0 else float(10.0 * np.log10(rng**2 / mse))


def sam_map(pred: Any, gt: Any) -> np.ndarray:
    """Spectral angle per pixel in degrees."""
    p, g = _pair(pred, gt)
    dot = (p * g).sum(axis=2)
    norm = np.linalg.norm(p, axis=2) * np.linalg.norm(g, axis=2)
    cos = np.divide(dot, norm, out=np.ones_like(dot), where=norm > 0)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    one_zero = (norm == 0) & ((np.linalg.norm(p, axis=2) > 0) | (np.linalg.norm(g, axis=2) > 0))
    ang[one_zero] = 90.0
    return ang


def sam(pred: Any, gt: Any) -> float:
    """Mean spectral angle mapper, degrees."""
    return float(sam_map(pred, gt).mean())


def ssim(pred: Any, gt: Any, data_range: float | None = None) -> float:
    """Structural similarity over the spatial axes, averaged over bands (scikit-image)."""
    from skimage.metrics import structural_similarity

    p, g = _pair(pred, gt)
    rng = float(g.max() - g.min()) if data_range is None else float(data_range)
    if rng <= 0:
        rng = 1.0
    win = min(7, p.shape[0], p.shape[1])
    if win < 3:
        raise ShapeError(f"SSIM needs at least 3×3 pixels; got {p.shape[0]}×{p.shape[1]}")
    win -= 1 - win % 2  # odd window
    return float(structural_similarity(g, p, data_range=rng, channel_axis=2, win_size=win))


def error_maps(pred: Any, gt: Any) -> dict[str, np.ndarray]:
    """Per-pixel maps for display: MRAE, RMSE, SAM (degrees)."""
    return {"mrae": mrae_map(pred, gt), "rmse": rmse_map(pred, gt), "sam": sam_map(pred, gt)}


def exposure_scale(pred: Any, gt: Any) -> float:
    """The one factor ``s`` that best matches ``s · pred`` to ``gt`` (least squares: Σ p·g / Σ p²); 1 when the
    prediction is all zeros. A reconstruction of a photo taken at another exposure is off by such a factor,
    which dominates MRAE, RMSE and PSNR (SAM does not see it)."""
    p, g = _pair(pred, gt)
    den = float(np.sum(p * p))
    scale = float(np.sum(p * g)) / den if den > 0 else 1.0
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def evaluate(pred: Any, gt: Any, *, crop: int | None = None, ntire: bool = False,
             data_range: float | None = None, min_nm: float | None = None) -> dict[str, Any]:
    """All scalar metrics in one dict: ``mrae``, ``rmse``, ``psnr``, ``sam``, ``ssim``, ``per_band_rmse``.

    ``ntire=True`` follows the NTIRE protocol: data range 1 (and ``crop`` if given, centre crop). ``min_nm``
    drops bands below it (e.g. 410 to skip CAVE's noisy 400 nm band); it needs :class:`HSCube` inputs.
    """
    wl = None
    if isinstance(pred, HSCube) and isinstance(gt, HSCube):
        pred.require_same_grid(gt, "prediction and ground truth")
        wl = gt.wavelengths
    p, g = _pair(pred, gt)
    if min_nm is not None:
        if wl is None:
            raise InputError("min_nm needs cubes with wavelengths; got plain arrays")
        keep = wl >= min_nm - 1e-6
        p, g, wl = p[:, :, keep], g[:, :, keep], wl[keep]
    if crop:
        p, g = centre_crop(p, crop, strict=True), centre_crop(g, crop, strict=True)
    rng = 1.0 if ntire and data_range is None else data_range
    out: dict[str, Any] = {
        "mrae": mrae(p, g),
        "rmse": rmse(p, g),
        "psnr": psnr(p, g, rng),
        "sam": sam(p, g),
        "ssim": ssim(p, g, rng),
        "per_band_rmse": per_band_rmse(p, g).tolist(),
    }
    if wl is not None:
        out["wavelengths_nm"] = wl.tolist()
    return out


__all__ = [
    "MRAE_EPS", "error_maps", "evaluate", "exposure_scale", "mrae", "mrae_map", "per_band_rmse", "psnr",
    "rmse", "rmse_map", "sam", "sam_map", "ssim",
]
