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


@pytest.mark.parametrize("gain", [0.0, 0.3, 1.0])
def test_the_correction_gain_recovers_how_much_of_a_correction_is_real(gain):
    """The sampled correction d = m − x̄ is part signal (``gain`` of it points to the truth), part noise."""
    from hsi_studio.core.analysis.uncertainty import fit_correction_gain

    rng = np.random.default_rng(2)
    x = rng.uniform(0.1, 0.9, (20000, 31))
    d = rng.normal(0, 0.05, x.shape)
    truth = x + gain * d + rng.normal(0, 0.02, x.shape)  # noise independent of d
    assert fit_correction_gain(x + d, x, truth) == pytest.approx(gain, abs=0.02)
    assert fit_correction_gain(x - d, x, truth + d) == 0.0  # a correction away from the truth is not trusted
    with pytest.raises(InputError, match="equal the spatial mean"):
        fit_correction_gain(x, x, truth)


def test_a_corrective_bundle_records_its_gain_and_the_pipeline_shrinks_towards_the_mean(tmp_path,
                                                                                       one_torch_thread):
    from factories import tiny_fast, tiny_uldm

    from hsi_studio.core.ml.models import load_bundle
    from hsi_studio.core.ml.models.bundle import save_uldm
    from hsi_studio.core.ml.pipelines.spatial_pipeline import SpatialPipeline
    from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

    model = tiny_uldm().add_mean(tiny_fast(0, weight_std=0.3))
    rgb = np.random.default_rng(0).uniform(0.05, 0.9, (32, 32, 3)).astype(np.float32)
    rgb[:4, :4] = [1.5, 0.0, 0.0]  # out of gamut and over-exposed: the spatial mean there must be capped too
    rgb[-4:, -4:] = [0.0, 0.0, 1.2]
    full, std_full = ULDMPipeline(model)(rgb, steps=2, samples=3, seed=2)
    x_bar, _ = SpatialPipeline(model.mean)(rgb)
    model.correction_gain = 0.0
    none, std_none = ULDMPipeline(model)(rgb, steps=2, samples=3, seed=2)
    np.testing.assert_allclose(none, x_bar, atol=1e-5)  # gain 0: the spatial mean; σ still the samples' spread
    np.testing.assert_allclose(std_none, std_full, rtol=1e-6)
    model.correction_gain = 0.25
    save_uldm(model, tmp_path / "g")
    assert json.loads((tmp_path / "g" / "spectral.json").read_text())["correction"]["gain"] == 0.25
    back = load_bundle(tmp_path / "g")
    assert back.correction_gain == 0.25
    quarter, _ = ULDMPipeline(back)(rgb, steps=2, samples=3, seed=2)
    np.testing.assert_allclose(quarter, x_bar + 0.25 * (full - x_bar), atol=1e-5)
    model.correction_gain = 1.5  # outside [0, 1]: refused with what is expected
    save_uldm(model, tmp_path / "bad")
    with pytest.raises(FileFormatError, match=r"correction.gain 1.5; expected a number in \[0, 1\]"):
        load_bundle(tmp_path / "bad")
