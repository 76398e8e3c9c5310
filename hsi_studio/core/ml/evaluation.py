"""Score reconstruction methods on cubes with known spectra, under two named protocols. Used by
``benchmarks/quality.py``, the training stages' validation and :mod:`hsi_studio.services.scoring` (the
training wizard's finish page).

``photo`` (the headline — how a user meets the product): the cube is a **reflectance** cube; the input is the
white-balanced daylight photo of it — reflectance × D65 seen by the CIE 1964 10° observer → sRGB, clipped,
8-bit. Every method returns reflectance: a reconstruction (radiance on the photo's scale, white = D65) is
divided by the D65 capture illuminant it records, scaled so the photo's white is reflectance 1 (exactly what
``reconstruct --reflectance`` and the Relight tab do); Otsu/Mallett return their own reflectance; the
minimum-norm spectrum is divided like a reconstruction. Scored against the reflectance cube.

``camera`` (NTIRE 2022): the cube is **radiance**; the input is its linear RGB through the model's camera
response (``cie1964-srgb`` by default), exposure-normalised so the brightest value is 1 — and the target is
the cube at the *same* exposure. Learned methods and min-norm are scored on their radiance; Otsu/Mallett,
whose inversion assumes a D65 white, are reported as out of convention (``scored: False``) instead of being
scored against a flat white.

Scores (:func:`scores`): MRAE, RMSE, PSNR (data range 1), SAM, SSIM over 400–700 nm and over 410–700 nm
(suffix ``_410``: CAVE's 400 nm band is dark and noisy), plus the paper's downstream task — the mean CIE ΔE2000
between estimate and truth, both relit (as reflectance) under CIE A and under FL11 (``de_a``, ``de_fl11``;
CIE 1931 2° observer, CIE Lab relative to that light's white, no gamut clipping).

The baselines (:func:`baselines`) are the methods registry's (:mod:`hsi_studio.core.spectral.methods`): every
training-free method, and the learned per-pixel ones that are installed.

References: the ``camera`` protocol and its scores — B. Arad, R. Timofte et al.,
"NTIRE 2022 Spectral Recovery Challenge and Data Set", CVPR Workshops 2022 (no DOI recorded here). The relit ΔE
task — K. Deng, J. Nie and Y. Qian, "RGB Pre-Training Enhanced Unobservable Feature Latent Diffusion
Model for Spectral Reconstruction", arXiv:2507.12967 (2025). DOI: 10.48550/arXiv.2507.12967.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from hsi_studio.core.analysis import metrics
from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, ProgressTracker, no_progress
from hsi_studio.core.ml.reconstruct import installed, methods
from hsi_studio.core.spectral.methods import PHYSICS, TRAINING_FREE
from hsi_studio.core.spectral.methods import get as get_method
from hsi_studio.core.spectral.responses import (
    STANDARD_WAVELENGTHS,
    camera_response,
    simulate_rgb,
    srgb_decode,
    srgb_encode,
)

PROTOCOLS = ("photo", "camera")
#: the baselines, from the methods registry (:mod:`hsi_studio.core.spectral.methods`): the training-free ones…
ANALYTIC = tuple(m.name for m in methods(TRAINING_FREE) if m.baseline)
#: …and the learned per-pixel baselines shipped in models/ (fitted on the default ULDM's training data)
LEARNED_BASELINES = tuple(m.name for m in methods() if m.learned and m.baseline)
#: methods whose RGB → reflectance assumes D65 (they return reflectance under D65)
D65_WHITE = tuple(m.name for m in methods(TRAINING_FREE) if m.quantity == "reflectance")
PHOTO_OBSERVER = "CIE 1964 10 Degree Standard Observer"
RELIGHT = (("de_a", "A"), ("de_fl11", "FL11"))


def baselines() -> list[str]:
    """The registered baselines that can run: the analytic ones, plus the learned ones that are installed
    (``models/rootpoly``, ``models/mlp``)."""
    return [m.name for m in methods() if m.baseline and installed(m)]


# -- the photo protocol --------------------------------------------------------------------------------------
def photo_linear(refl: np.ndarray, wavelengths=STANDARD_WAVELENGTHS) -> np.ndarray:
    """Linear sRGB (…, 3) of a reflectance array lit by D65 and seen by the CIE 1964 observer (white → 1)."""
    from hsi_studio.core.spectral.relight import render_matrix

    return refl @ render_matrix(wavelengths, "D65", PHOTO_OBSERVER).astype(np.float32)


def photo_of(cube: HSCube, matrix: np.ndarray | None = None) -> RGBImage:
    """The white-balanced 8-bit daylight sRGB photo of a reflectance cube (what a user's camera gives);
    ``matrix`` (B, 3): a real camera's "reflectance → processed linear sRGB" instead of the CIE 1964 observer
    (:func:`camera_photo_matrix`)."""
    lin = photo_linear(cube.data, cube.wavelengths) if matrix is None else cube.data @ matrix.astype(np.float32)
    lin = np.clip(lin, 0.0, 1.0)
    u8 = np.round(srgb_encode(lin) * 255.0)
    return RGBImage((u8 / 255.0).astype(np.float32), "srgb", {"bits": 8}, 8)


def camera_photo_matrix(sensitivities: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """(31, 3): reflectance lit by D65 ↦ a real camera's linear sRGB after its processing (white balance and
    colour matrix fitted on the reflectances ``spectra``, :func:`~hsi_studio.core.spectral.cameras.processing_matrix`),
    white ↦ (1, 1, 1) like :func:`photo_linear`: the ``photo`` protocol through that camera."""
    from hsi_studio.core.spectral.cameras import effective_response
    from hsi_studio.core.spectral.illuminants import illuminant_spd
    from hsi_studio.core.spectral.relight import render_matrix

    ideal = render_matrix(STANDARD_WAVELENGTHS, "D65", PHOTO_OBSERVER).astype(np.float64)
    d65 = illuminant_spd("D65", STANDARD_WAVELENGTHS).astype(np.float64)
    return effective_response(np.asarray(sensitivities) * d65[:, None], ideal, np.ones_like(d65), spectra)


@lru_cache(maxsize=8)
def _d65_divisor(wl_key: tuple) -> np.ndarray:
    from hsi_studio.core.spectral.relight import photo_white_divisor

    return photo_white_divisor("D65", np.asarray(wl_key), PHOTO_OBSERVER).astype(np.float32)


def photo_divisor(wavelengths=STANDARD_WAVELENGTHS) -> np.ndarray:
    """Per-band divisor turning a reconstruction of a photo into reflectance: D65 scaled so that a white
    reflector's radiance seen through the CIE 1964 observer has Y = 1 — the photo's white."""
    return _d65_divisor(tuple(np.asarray(wavelengths, dtype=np.float64).tolist()))


def as_reflectance(cube: HSCube) -> np.ndarray:
    """A method's output as reflectance under the photo convention."""
    return cube.data if cube.kind == "reflectance" else cube.data / photo_divisor(cube.wavelengths)


# -- scores --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _relight(wl_key: tuple, illuminant: str) -> tuple[np.ndarray, np.ndarray]:
    from hsi_studio.core.spectral.relight import xyz_matrix

    m = xyz_matrix(np.asarray(wl_key), illuminant).astype(np.float64)
    return m, m.sum(axis=0)  # XYZ weights, and the white (a perfect reflector)


def relit_delta_e(pred_refl: np.ndarray, gt_refl: np.ndarray, illuminant: str,
                  wavelengths=STANDARD_WAVELENGTHS) -> float:
    """Mean CIE ΔE2000 between two reflectance arrays relit under ``illuminant`` (CIE Lab to its white)."""
    from hsi_studio.core.spectral._colour import colour, quiet

    m, white = _relight(tuple(np.asarray(wavelengths, dtype=np.float64).tolist()), illuminant)
    with quiet():
        xy = colour.XYZ_to_xy(white)
        lab_p = colour.XYZ_to_Lab(pred_refl.reshape(-1, m.shape[0]) @ m, xy)
        lab_g = colour.XYZ_to_Lab(gt_refl.reshape(-1, m.shape[0]) @ m, xy)
        return float(np.mean(colour.delta_E(lab_p, lab_g, method="CIE 2000")))


def spectral_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """``mrae``, ``rmse``, ``psnr`` (data range 1) and ``sam`` of a spectral array against the truth (the training
    stages' validation scores)."""
    return {"mrae": metrics.mrae(pred, gt), "rmse": metrics.rmse(pred, gt), "psnr": metrics.psnr(pred, gt, 1.0),
            "sam": metrics.sam(pred, gt)}


def mean_scores(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each score over rows with the same keys (``{}`` for no rows)."""
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def scores(pred: np.ndarray, gt: np.ndarray, *, ssim: bool = True, relight: bool = True) -> dict[str, float]:
    """MRAE, RMSE, PSNR (data range 1), SAM (and SSIM) over 400–700 nm and over 410–700 nm (``_410``), and the
    relit ΔE2000 under A and FL11 (``de_a``, ``de_fl11``; ``pred``/``gt`` taken as reflectance)."""
    out: dict[str, float] = {}
    for tag, sl in (("", slice(None)), ("_410", slice(1, None))):
        p, g = pred[..., sl], gt[..., sl]
        out |= {f"{key}{tag}": value for key, value in spectral_scores(p, g).items()}
        if ssim and pred.ndim == 3 and min(pred.shape[:2]) >= 3:
            out[f"ssim{tag}"] = metrics.ssim(p, g, data_range=1.0)
    if relight and pred.shape[-1] == STANDARD_WAVELENGTHS.size:
        for key, ill in RELIGHT:
            out[key] = relit_delta_e(pred, gt, ill)
    return out


# -- running methods -----------------------------------------------------------------------------------------
def _run(method: str, rgb: RGBImage, model: Any, steps: int | None, samples: int | None, response_name: str, device: str,
         cancel: CancelToken):
    from hsi_studio.core.ml import reconstruct as pipeline

    kwargs: dict[str, Any] = {}
    registered = get_method(method)
    if not method.startswith(PHYSICS):
        kwargs = {"steps": steps, "samples": samples, "device": device}
    elif registered is not None and registered.takes_response:
        kwargs["response"] = response_name
    return pipeline.reconstruct(rgb, model if method == "uldm" else method, cancel=cancel, **kwargs)


def evaluate_cube(name: str, cube: HSCube, methods: Sequence[str], *, model: Any = "default",
                  steps: int | None = None, samples: int | None = None, protocol: str = "photo", response_name: str = "cie1964-srgb",
                  device: str = "auto", cancel: CancelToken = NEVER_CANCEL,
                  photo_matrix: np.ndarray | None = None) -> list[dict]:
    """One row per method (``"uldm"`` means ``model``: a bundle path, ``default`` or a loaded model);
    ``photo_matrix``: the ``photo`` protocol's photo taken through a real camera (:func:`camera_photo_matrix`)."""
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if cube.bands != STANDARD_WAVELENGTHS.size or not np.allclose(cube.wavelengths, STANDARD_WAVELENGTHS):
        from hsi_studio.core.spectral.responses import resample_cube

        cube = resample_cube(cube, STANDARD_WAVELENGTHS)
    if protocol == "photo":
        gt = np.maximum(cube.data, 0, dtype=np.float32)
        rgb = photo_of(HSCube(gt, cube.wavelengths, kind="reflectance"), photo_matrix)
        lin_in = srgb_decode(rgb.data)
    else:
        response = camera_response(response_name)
        sim = simulate_rgb(cube, response, exposure="max")
        gt, lin_in = cube.data * np.float32(sim.scale), sim.rgb
        rgb = RGBImage(sim.rgb, "linear")
    rows = []
    for method in methods:
        cancel.check()
        row: dict[str, Any] = {"cube": name, "method": method, "protocol": protocol}
        if protocol == "camera" and method in D65_WHITE:
            rows.append({**row, "scored": False, "note": "out of convention: assumes a D65-white photo"})
            continue
        t0 = time.perf_counter()
        res = _run(method, rgb, model, steps, samples, response_name, device, cancel)
        secs = time.perf_counter() - t0
        # RGB consistency: a radiance output through the response it was made for; a reflectance output
        # rendered as the photo was (Otsu/Mallett, whose own colorimetry differs slightly)
        reproj_rgb = (photo_linear(res.cube.data) if res.cube.kind == "reflectance"
                      else res.cube.data @ camera_response(response_name).matrix.astype(np.float32))
        if protocol == "photo":
            pred = as_reflectance(res.cube)
            sc = scores(pred, gt)
        else:
            pred = res.cube.data
            sc = scores(pred, gt, relight=False)  # NTIRE: radiance at the input's exposure
            inv = np.float32(1 / sim.scale)  # relit ΔE on the cube's own scale (CAVE radiance ≈ reflectance)
            sc |= {key: relit_delta_e(pred * inv, gt * inv, ill) for key, ill in RELIGHT}
        reproj = float(np.abs(reproj_rgb - lin_in).max() / max(float(lin_in.max()), 1e-9))
        rows.append({**row, "scored": True, "seconds": secs, "rgb_rel_err": reproj,
                     "min_value": float(res.cube.data.min()), **sc})
    return rows


def evaluate(cubes: Sequence[tuple[str, HSCube]], *, model: Any = None, methods: Sequence[str] | None = None,
             steps: int | None = None, samples: int | None = None, protocol: str = "photo", response_name: str = "cie1964-srgb",
             device: str = "auto", progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> list[dict]:
    """Every baseline (:func:`baselines`, or ``methods``) and the ULDM ``model`` (when given) on every cube."""
    methods = [*(baselines() if methods is None else methods), *(["uldm"] if model is not None else [])]
    tracker = ProgressTracker(len(cubes), progress, cancel)
    rows: list[dict] = []
    for name, cube in cubes:
        rows += evaluate_cube(name, cube, methods, model=model, steps=steps, samples=samples, protocol=protocol,
                              response_name=response_name, device=device, cancel=cancel)
        tracker.step(name)
    return rows


def summary(rows: Sequence[dict]) -> list[dict]:
    """Mean scores per (protocol, method) over the scored cubes, in the order the methods first appear."""
    order: list[tuple[str, str]] = []
    for r in rows:
        key = (r.get("protocol", "photo"), r["method"])
        if key not in order and r.get("scored", True):
            order.append(key)
    out = []
    for proto, m in order:
        mine = [r for r in rows if r["method"] == m and r.get("protocol", "photo") == proto
                and r.get("scored", True)]
        keys = [k for k, v in mine[0].items() if isinstance(v, float)]
        out.append({"protocol": proto, "method": m, "cubes": len(mine),
                    **{k: float(np.mean([r[k] for r in mine])) for k in keys}})
    return out


__all__ = ["ANALYTIC", "LEARNED_BASELINES", "PROTOCOLS", "as_reflectance", "baselines",
           "evaluate", "evaluate_cube", "photo_divisor", "photo_linear", "photo_of",
           "mean_scores", "relit_delta_e", "scores", "spectral_scores", "summary"]
