"""Reconstruction metrics: MRAE, RMSE, PSNR, SAM (degrees), SSIM (scikit-image), per-band RMSE and
per-pixel error maps, with an NTIRE-protocol option (centre crop, data range 1).

All functions take H×W×B arrays (or :class:`HSCube`) and are safe for zeros: MRAE's denominator is
``max(|gt|, eps)`` and SAM of a zero spectrum against anything is defined as 0° when both are zero and 90°
when only one is. That is the one spectral-angle convention of HSI Studio: :func:`spectral_angle` and
:func:`spectral_angles` compute every angle (the SAM score, the chart report's patch angles and the Analyse
tab's similarity maps, :mod:`hsi_studio.core.analysis.maps`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube, centre_crop
from hsi_studio.core.errors import InputError, ShapeError

MRAE_EPS = 1e-3  # denominator floor, in the data's units (1e-3 of the [0, 1] NTIRE range)
_ANGLE_CHUNK = 65536  # pixels per chunk in spectral_angles


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


def _degrees(dot: np.ndarray, norm_a: np.ndarray, norm_b: np.ndarray) -> np.ndarray:
    """Angles in degrees from dot products and the two norms (broadcast): 0° when both spectra are zero, 90°
    when only one is."""
    norm = norm_a * norm_b
    cos = np.divide(dot, norm, out=np.ones(norm.shape), where=norm > 0)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return np.where(norm > 0, ang, np.where((norm_a > 0) | (norm_b > 0), 90.0, 0.0))


def spectral_angle(a: Any, b: Any) -> np.ndarray:
    """Angle in degrees (float64) between the spectra of ``a`` and ``b`` along the last axis, pair by pair
    (the other axes broadcast); a zero spectrum: 0° against a zero spectrum, else 90°."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return _degrees((a * b).sum(axis=-1), np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1))


def spectral_angles(x: Any, refs: Any) -> np.ndarray:
    """Angles in degrees (float64, …×N) between each spectrum of ``x`` (…×B) and each of ``refs`` (N×B), with
    the zero-spectrum convention of :func:`spectral_angle`. A large cube is taken in chunks of pixels (never
    copied to float64 whole)."""
    x = np.asarray(x)
    refs = np.atleast_2d(np.asarray(refs, dtype=np.float64))
    norm_r = np.linalg.norm(refs, axis=-1)
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty((flat.shape[0], refs.shape[0]))
    for start in range(0, flat.shape[0], _ANGLE_CHUNK):
        chunk = flat[start : start + _ANGLE_CHUNK].astype(np.float64)
        out[start : start + _ANGLE_CHUNK] = _degrees(chunk @ refs.T, np.linalg.norm(chunk, axis=-1)[:, None], norm_r)
    return out.reshape(*x.shape[:-1], refs.shape[0])


def sam_map(pred: Any, gt: Any) -> np.ndarray:
    """Spectral angle per pixel in degrees (:func:`spectral_angle`)."""
    return spectral_angle(*_pair(pred, gt))


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
    "rmse", "rmse_map", "sam", "sam_map", "spectral_angle", "spectral_angles", "ssim",
]
