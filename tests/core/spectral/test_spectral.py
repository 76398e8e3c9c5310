"""Spectral science: grids, resampling, camera responses (checked against colour-science), the observable /
unobservable split, sRGB transfer, RGB simulation."""

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError, ShapeError, WavelengthError
from hsi_studio.core.spectral import responses as sp
from hsi_studio.core.spectral._colour import colour

WL = sp.STANDARD_WAVELENGTHS


def test_standard_grid_is_400_to_700_in_10nm():
    assert WL.shape == (31,) and WL[0] == 400 and WL[-1] == 700 and np.all(np.diff(WL) == 10)


@pytest.mark.parametrize("observer,name", [("CIE 1931 2 Degree Standard Observer", "cie1931-srgb"),
                                           ("CIE 1964 10 Degree Standard Observer", "cie1964-srgb")])
def test_projection_matches_colour_sd_to_xyz(observer, name):
    rng = np.random.default_rng(0)
    spectra = rng.uniform(0.02, 1.0, size=(20, 31))
    resp = sp.camera_response(name)
    ours = sp.project(spectra, resp).astype(np.float64)
    cmfs = colour.MSDS_CMFS[observer].copy().align(colour.SpectralShape(400, 700, 10))
    flat = colour.sd_ones(colour.SpectralShape(400, 700, 10))
    M = colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB
    for x, rgb in zip(spectra, ours, strict=True):
        sd = colour.SpectralDistribution(dict(zip(WL, x, strict=True)))
        xyz = colour.sd_to_XYZ(sd, cmfs, flat, method="Integration") / 100.0
        ref = M @ xyz
        np.testing.assert_allclose(rgb, ref, rtol=1e-5, atol=1e-6)


def test_camera_sensitivities_and_normalisation():
    for name in sp.RESPONSE_NAMES:
        r = sp.camera_response(name)
        assert r.matrix.shape == (31, 3)
        col = 1  # G / Y column sums to one for the xyz-based and camera responses
        if name.startswith("cie"):
            np.testing.assert_allclose(sp.xyz_response(wavelengths=WL)[:, 1].sum(), 1.0)
        else:
            np.testing.assert_allclose(r.matrix[:, col].sum(), 1.0)
    nikon = colour.MSDS_CAMERA_SENSITIVITIES["Nikon 5100 (NPL)"]
    raw = np.stack([np.interp(WL, nikon.wavelengths, nikon.values[:, i]) for i in range(3)], 1)
    ours = sp.camera_response("nikon-d5100").matrix
    np.testing.assert_allclose(ours / ours[:, 1].sum(), raw / raw[:, 1].sum(), rtol=1e-9)


def test_unknown_response_names_the_choices():
    with pytest.raises(InputError, match="cie1964-srgb"):
        sp.camera_response("canon-unknown")


def test_response_csv(tmp_path):
    wl = np.arange(400, 701, 5.0)
    rows = "\n".join(f"{w},{np.exp(-((w-600)/40)**2)},{np.exp(-((w-540)/40)**2)},{np.exp(-((w-450)/30)**2)}"
                     for w in wl)
    p = tmp_path / "cam.csv"
    p.write_text("nm,R,G,B\n" + rows + "\n")
    r = sp.camera_response(f"csv:{p}")
    assert r.matrix.shape == (31, 3) and abs(r.matrix[:, 1].sum() - 1) < 1e-9
    bad = tmp_path / "bad.csv"
    bad.write_text("nm,R,G\n400,1,2\n410,1,2\n")
    with pytest.raises(InputError, match="4 numbers"):
        sp.camera_response(f"csv:{bad}")


@pytest.mark.parametrize("name", sp.RESPONSE_NAMES)
def test_observable_split_reprojects_exactly(name):
    rng = np.random.default_rng(1)
    split = sp.ObservableSplit(sp.camera_response(name))
    assert split.N.shape == (31, 28)
    np.testing.assert_allclose(split.N.T @ split.N, np.eye(28), atol=1e-10)  # orthonormal
    np.testing.assert_allclose(split.S.T @ split.N, 0, atol=1e-12)  # in the null space of Sᵀ
    np.testing.assert_allclose(split.P @ split.P, split.P, atol=1e-10)  # a projector
    x = rng.uniform(0, 1, (500, 31))
    y = split.project(x)
    c = rng.normal(0, 3, (500, 28))  # anything in the null space
    for dtype in (np.float64, np.float32):
        xh = split.compose(y.astype(dtype), c.astype(dtype))
        rel = np.abs(split.project(xh.astype(np.float64)) - y).max() / np.abs(y).max()
        assert rel <= 1e-5, rel
    # x_obs + the metameric black gives back the spectrum
    np.testing.assert_allclose(split.x_obs(y) + split.unobservable(x), x, atol=1e-10)
    np.testing.assert_allclose(split.compose(y, split.null_coords(x)), x, atol=1e-10)


def test_split_rejects_wrong_shapes():
    split = sp.ObservableSplit()
    with pytest.raises(ShapeError):
        split.x_obs(np.zeros((4, 2)))
    with pytest.raises(ShapeError):
        split.null_coords(np.zeros((4, 30)))


def test_srgb_transfer_matches_colour():
    v = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(sp.srgb_encode(v), colour.models.eotf_inverse_sRGB(v), atol=2e-6)
    np.testing.assert_allclose(sp.srgb_decode(v), colour.models.eotf_sRGB(v), atol=2e-6)
    np.testing.assert_allclose(sp.srgb_decode(sp.srgb_encode(v)), v, atol=2e-6)


def test_resample_linear_and_coarsening():
    src = np.arange(400, 701, 5.0)
    spectra = 0.3 + 0.001 * (src - 400)  # linear in λ: every scheme must keep it
    out = sp.resample_spectra(spectra[None], src, WL)[0]
    np.testing.assert_allclose(out, 0.3 + 0.001 * (WL - 400), atol=1e-12)
    icvl = np.linspace(400, 700, 519)  # fine grid → triangle average
    cube = HSCube(np.tile(np.sin(icvl / 30.0)[None, None] + 2, (2, 3, 1)), icvl)
    res = sp.resample_cube(cube, WL)
    assert res.bands == 31 and np.allclose(res.wavelengths, WL)
    np.testing.assert_allclose(res.data[0, 0], np.sin(WL / 30.0) + 2, atol=0.02)


def test_resample_outside_range():
    harvard = np.arange(420, 721, 10.0)
    with pytest.raises(WavelengthError, match="outside"):
        sp.resample_spectra(np.ones(31), harvard, WL)
    out = sp.resample_spectra(np.arange(31.0), harvard, WL, outside="nearest")
    assert out[0] == 0 and out[1] == 0 and out[2] == 0 and out[-1] == 28


def test_simulate_rgb_recipe():
    rng = np.random.default_rng(2)
    cube = HSCube(rng.uniform(0, 2, (16, 16, 31)).astype(np.float32), WL)
    clean = sp.simulate_rgb(cube, exposure="max")
    assert clean.rgb.max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(clean.rgb, sp.project(cube.data * clean.scale), rtol=1e-5, atol=1e-6)
    noisy = sp.simulate_rgb(cube, shot_noise_photons=100, jpeg_quality=70, quantize_bits=8, rng=3)
    assert noisy.rgb.shape == (16, 16, 3) and 0 <= noisy.rgb.min() and noisy.rgb.max() <= 1
    assert not np.allclose(noisy.rgb, np.clip(sp.project(cube.data * noisy.scale), 0, 1))
    again = sp.simulate_rgb(cube, shot_noise_photons=100, jpeg_quality=70, quantize_bits=8, rng=3)
    np.testing.assert_array_equal(noisy.rgb, again.rgb)  # seeded
    with pytest.raises(InputError):
        sp.simulate_rgb(cube, exposure=-1.0)
