"""σ calibration: on a synthetic case with known error the fitted scale recovers it, the scores say
how honest σ is, and a bundle carries its scale to the pipeline's σ."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hsi_studio.core.analysis.uncertainty import fit_sigma_scale, uncertainty_scores
from hsi_studio.core.errors import FileFormatError, InputError


def _case(k: float, n: int = 20000, b: int = 31, seed: int = 0):
    """σ varies per pixel; the error is Gaussian with std k·σ (σ under-states it k times)."""
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.normal(-3, 0.7, (n, 1))) * np.ones((1, b))
    truth = rng.uniform(0, 1, (n, b))
    mean = truth + rng.normal(0, 1, (n, b)) * k * sigma
    return mean, sigma, truth


@pytest.mark.parametrize("k", [0.5, 1.0, 3.0])
def test_the_fitted_scale_recovers_a_known_error(k):
    mean, sigma, truth = _case(k)
    c = fit_sigma_scale(mean, sigma, truth)
    # mean ± 2cσ covers 95 %: for Gaussian error, 2c = 1.96 k
    assert c == pytest.approx(0.98 * k, rel=0.03)
    raw = uncertainty_scores(mean, sigma, truth)
    cal = uncertainty_scores(mean, sigma, truth, scale=c)
    assert cal["coverage_2sigma"] == pytest.approx(0.95, abs=0.005)
    if k > 1:
        assert raw["coverage_2sigma"] < 0.75  # σ as sampled under-states the error: coverage far below 95 %
    assert raw["spearman"] > 0.8  # per-pixel σ ranks the per-pixel error


def test_a_sigma_unrelated_to_the_error_scores_near_zero_rank_correlation():
    rng = np.random.default_rng(1)
    mean, sigma, truth = _case(1.0)
    shuffled = sigma[rng.permutation(len(sigma))]
    assert abs(uncertainty_scores(mean, shuffled, truth)["spearman"]) < 0.05


def test_bad_input_is_refused():
    mean, sigma, truth = _case(1.0, n=10)
    with pytest.raises(InputError):
        fit_sigma_scale(mean, np.zeros_like(sigma), truth)
    with pytest.raises(InputError):
        uncertainty_scores(mean, sigma[:5], truth)
    bad = sigma.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError):
        uncertainty_scores(mean, bad, truth)


def test_a_bundle_records_its_scale_and_the_pipeline_applies_it(tmp_path, one_torch_thread):
    from factories import tiny_uldm

    from hsi_studio.core.ml.models import load_bundle
    from hsi_studio.core.ml.models.bundle import save_uldm
    from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

    model = tiny_uldm()
    rgb = np.random.default_rng(0).uniform(0.05, 0.9, (16, 16, 3)).astype(np.float32)
    _, std1 = ULDMPipeline(model)(rgb, steps=2, samples=3, seed=2)
    model.sigma_scale = 2.5
    save_uldm(model, tmp_path / "m")
    info = json.loads((tmp_path / "m" / "spectral.json").read_text())
    assert info["uncertainty"]["sigma_scale"] == 2.5 and "95 %" in info["uncertainty"]["meaning"]
    back = load_bundle(tmp_path / "m")
    assert back.sigma_scale == 2.5
    mean2, std2 = ULDMPipeline(back)(rgb, steps=2, samples=3, seed=2)
    np.testing.assert_allclose(std2, std1 * 2.5, rtol=1e-5, atol=1e-7)
    # a scale that is not a positive number is a clear error, not a crash
    model.sigma_scale = 1e9
    save_uldm(model, tmp_path / "bad")
    with pytest.raises(FileFormatError, match="sigma_scale"):
        load_bundle(tmp_path / "bad")
