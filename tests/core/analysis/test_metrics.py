"""Metrics checked against independent formulas on known arrays."""

import math

import numpy as np
import pytest

from hsi_studio.core.analysis import metrics as m
from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import ShapeError, WavelengthError


def known():
    g = np.full((4, 4, 3), 0.5)
    g[0, 0] = [1.0, 0.25, 0.5]
    p = g.copy()
    p[:, :, 0] += 0.1
    return p, g


def test_mrae_rmse_psnr_known_values():
    p, g = known()
    assert m.mrae(p, g) == pytest.approx(np.mean(np.abs(p - g) / g))
    assert m.rmse(p, g) == pytest.approx(math.sqrt(np.mean((p - g) ** 2)))
    mse = np.mean((p - g) ** 2)
    assert m.psnr(p, g, data_range=1.0) == pytest.approx(10 * math.log10(1 / mse))
    assert m.psnr(g, g, 1.0) == math.inf
    np.testing.assert_allclose(m.per_band_rmse(p, g), [0.1, 0.0, 0.0], atol=1e-12)


def test_sam_degrees_and_zero_safety():
    g = np.zeros((1, 3, 2))
    p = np.zeros((1, 3, 2))
    g[0, 0], p[0, 0] = [1, 0], [0, 1]  # 90°
    g[0, 1], p[0, 1] = [1, 1], [2, 2]  # 0°, scale-invariant
    # pixel 2: both zero → 0°
    np.testing.assert_allclose(m.sam_map(p, g)[0], [90.0, 0.0, 0.0], atol=1e-4)
    assert m.sam(p, g) == pytest.approx(30.0)
    g2 = np.zeros((2, 2, 3))
    assert np.isfinite(m.mrae(g2 + 0.1, g2))  # zeros in ground truth do not blow up


def test_one_spectral_angle_convention_for_metrics_charts_and_analysis():
    from hsi_studio.core.analysis import maps as analysis
    from hsi_studio.core.photo import correction as photo_correction

    x = np.array([[[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [2.0, 2.0]]])
    y = np.array([[[0.0, 1.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]])
    np.testing.assert_allclose(m.spectral_angle(x, y), [[90.0, 0.0, 90.0, 0.0]], atol=1e-4)
    refs = np.array([[1.0, 0.0], [1.0, 1.0]])
    pairs = m.spectral_angle(x[..., None, :], refs)  # each pixel against each reference, pair by pair …
    np.testing.assert_allclose(m.spectral_angles(x, refs), pairs, atol=1e-4)  # … equals the all-against-all
    assert "sam_degrees" not in dir(photo_correction) and not hasattr(analysis, "spy")
    cube = np.concatenate([x, np.ones((1, 4, 1))], axis=2).astype(np.float32)
    cube[0, 1] = 0
    got = analysis.sam_maps(cube, np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    assert np.isnan(got[0, 1]).all()  # the Analyse maps leave an all-zero pixel out (NaN) …
    keep = [0, 2, 3]
    want = m.spectral_angles(cube, [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])[0, keep]
    np.testing.assert_allclose(got[0, keep], want, atol=1e-4)  # … and agree with the metric elsewhere


def test_ssim_matches_skimage_definition():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    g = rng.uniform(0, 1, (32, 32, 5))
    p = np.clip(g + rng.normal(0, 0.05, g.shape), 0, 1)
    ref = structural_similarity(g, p, data_range=1.0, channel_axis=2)
    assert m.ssim(p, g, data_range=1.0) == pytest.approx(ref)
    assert m.ssim(g, g, 1.0) == pytest.approx(1.0)


def test_evaluate_ntire_crop_and_band_selection():
    rng = np.random.default_rng(1)
    wl = np.arange(400, 701, 10.0)
    g = HSCube(rng.uniform(0.1, 1, (20, 20, 31)).astype(np.float32), wl)
    pdata = g.data.copy()
    pdata[:2] += 0.5  # error only in the border rows
    pdata[:, :, 0] += 0.3  # and in the 400 nm band
    p = HSCube(pdata, wl)
    full = m.evaluate(p, g)
    cropped = m.evaluate(p, g, crop=10, ntire=True, min_nm=410)
    assert set(full) >= {"mrae", "rmse", "psnr", "sam", "ssim", "per_band_rmse"}
    assert cropped["rmse"] == pytest.approx(0.0, abs=1e-7) and full["rmse"] > 0.1
    assert len(cropped["per_band_rmse"]) == 30


def test_mismatches_are_reported():
    wl = np.arange(400, 701, 10.0)
    a = HSCube(np.ones((4, 4, 31), np.float32), wl)
    with pytest.raises(ShapeError, match="expected equal shapes"):
        m.rmse(np.ones((4, 4, 31)), np.ones((4, 5, 31)))
    with pytest.raises(WavelengthError, match="different wavelength grids"):
        m.evaluate(a, HSCube(np.ones((4, 4, 31), np.float32), wl + 5))
    with pytest.raises(ShapeError, match="crop"):
        m.evaluate(a, a, crop=10)


def test_error_maps_shapes():
    p, g = known()
    maps = m.error_maps(p, g)
    assert {k: v.shape for k, v in maps.items()} == {"mrae": (4, 4), "rmse": (4, 4), "sam": (4, 4)}
