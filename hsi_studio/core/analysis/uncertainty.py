"""How honest a sampled model's σ is, and its calibration (issue 21) — numpy/scipy only.

A ULDM drawn ``K`` times gives a mean cube and a per-pixel, per-band standard deviation σ over the samples.
σ is useful only if it tracks the actual error:

- :func:`uncertainty_scores` — on cubes with ground truth: the Spearman rank correlation between the per-pixel
  σ (mean over bands) and the per-pixel RMSE, and the coverage of ``mean ± 2σ`` over the true band values
  (nominally 95 % for a Gaussian error of standard deviation σ).
- :func:`fit_sigma_scale` — one scale ``c`` such that ``mean ± 2cσ`` covers 95 % of the true values on data the
  model was trained on (never on the scenes it is scored on). A bundle records ``c`` in its ``spectral.json``
  (``uncertainty.sigma_scale``); the pipeline multiplies σ by it, so the σ a user sees is calibrated:
  "the true value lies within ±2σ of the mean for about 95 % of the band values on the training data".
"""

from __future__ import annotations

import numpy as np

from hsi_studio.core.errors import InputError

#: what σ means, for the GUI, the CLI's metadata and the model card
SIGMA_MEANING = ("σ: the spread of the K sampled spectra, scaled so that mean ± 2σ held the true value for 95 % of "
                 "band values on the training scenes; it ranks pixels by likely error, it is not a guarantee")


def _check(mean: np.ndarray, std: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, s, t = (np.asarray(a, dtype=np.float64) for a in (mean, std, truth))
    if not (m.shape == s.shape == t.shape) or m.ndim < 2:
        raise InputError(f"mean {m.shape}, σ {s.shape} and truth {t.shape}; expected the same (…, B) shape")
    if not (np.isfinite(m).all() and np.isfinite(s).all() and np.isfinite(t).all()) or (s < 0).any():
        raise InputError("mean, σ or truth hold NaN/Inf or σ < 0; expected finite values and σ ≥ 0")
    b = m.shape[-1]
    return m.reshape(-1, b), s.reshape(-1, b), t.reshape(-1, b)


def uncertainty_scores(mean: np.ndarray, std: np.ndarray, truth: np.ndarray, *, scale: float = 1.0,
                       max_pixels: int = 200_000, seed: int = 0) -> dict[str, float]:
    """``spearman`` (per-pixel σ̄ vs per-pixel RMSE), ``coverage_2sigma`` (fraction of band values within
    ``mean ± 2·scale·σ``), ``sigma_mean`` and ``rmse`` (band-value means) — arrays (…, B) in one unit."""
    from scipy.stats import spearmanr

    m, s, t = _check(mean, std, truth)
    s = s * float(scale)
    err = m - t
    px_rmse = np.sqrt((err ** 2).mean(1))
    px_sigma = s.mean(1)
    idx = np.arange(len(m))
    if len(idx) > max_pixels:
        idx = np.random.default_rng(seed).choice(len(idx), max_pixels, replace=False)
    rho = spearmanr(px_sigma[idx], px_rmse[idx]).statistic if np.ptp(px_sigma[idx]) > 0 else float("nan")
    return {"spearman": float(rho), "coverage_2sigma": float((np.abs(err) <= 2 * s).mean()),
            "sigma_mean": float(s.mean()), "rmse": float(np.sqrt((err ** 2).mean())), "scale": float(scale)}


def fit_sigma_scale(mean: np.ndarray, std: np.ndarray, truth: np.ndarray, *, coverage: float = 0.95) -> float:
    """The scale ``c`` that makes ``mean ± 2cσ`` cover ``coverage`` of the band values: the ``coverage``
    quantile of ``|error| / (2σ)`` over the values with σ > 0."""
    if not 0.5 <= coverage < 1:
        raise InputError(f"coverage {coverage}; expected a fraction in [0.5, 1)")
    m, s, t = _check(mean, std, truth)
    ok = s > 1e-12
    if not ok.any():
        raise InputError("σ is zero everywhere (one sample?); expected K ≥ 2 samples to calibrate")
    ratio = np.abs(m - t)[ok] / (2 * s[ok])
    return float(np.quantile(ratio, coverage))


def fit_correction_gain(sample_mean: np.ndarray, spatial_mean: np.ndarray, truth: np.ndarray) -> float:
    """The gain ``λ`` in ``[0, 1]`` that makes ``x̄ + λ (m − x̄)`` closest to the truth in least squares, for
    the mean ``m`` of K sampled spectra around a corrective model's spatial mean ``x̄``: 1 keeps the sampled
    correction, 0 keeps the spatial mean (a correction that does not point towards the truth is not trusted)."""
    m, x, t = _check(sample_mean, spatial_mean, truth)
    d = m - x
    den = float((d * d).sum())
    if den <= 1e-20:
        raise InputError("the samples equal the spatial mean everywhere; expected a corrective model's samples")
    return float(np.clip((d * (t - x)).sum() / den, 0.0, 1.0))


CORRECTION_MEANING = ("the mean of the K samples is moved only this fraction of the way from the spatial mean "
                      "towards it (least squares on the training scenes; σ is the samples' own spread)")

__all__ = ["CORRECTION_MEANING", "SIGMA_MEANING", "fit_correction_gain", "fit_sigma_scale", "uncertainty_scores"]
