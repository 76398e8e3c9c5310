"""Training-free RGB → spectrum: agreement with colour.XYZ_to_sd per pixel, speed on whole images, the
minimum-norm estimate's exact reprojection, progress and cancel."""

import time
import warnings

import numpy as np
import pytest

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import Cancelled, CancelToken
from hsi_studio.core.spectral import recovery, relight
from hsi_studio.core.spectral._colour import colour
from hsi_studio.core.spectral.recovery import otsu2018
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL
from hsi_studio.core.spectral.responses import camera_response, project, srgb_decode, srgb_encode


@pytest.fixture(scope="module")
def in_gamut():
    """1,000 random in-gamut colours: linear sRGB uniformly in [0, 1]³ and their CIE XYZ (D65, scale 1)."""
    rgb = np.random.default_rng(0).random((1000, 3))
    return rgb, colour.sRGB_to_XYZ(rgb, apply_cctf_decoding=False)


@pytest.fixture(scope="module")
def colour_reference(in_gamut):
    """colour.XYZ_to_sd per pixel, sampled at 400, 410, …, 700 nm."""
    _, xyz = in_gamut
    ref = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("mallett2019", "otsu2018"):
            name = recovery.COLOUR_METHOD_NAMES[method]
            ref[method] = np.stack([colour.XYZ_to_sd(x, method=name)[WL] for x in xyz])
    return ref


@pytest.mark.parametrize("method", ["mallett2019", "otsu2018"])
def test_agrees_with_colour_xyz_to_sd_per_pixel(method, in_gamut, colour_reference):
    rgb, xyz = in_gamut
    ref = colour_reference[method]
    np.testing.assert_allclose(recovery.xyz_to_spectra(xyz, method), ref, atol=1e-9)
    # The whole-image path from a float32 linear RGB image (colour's sRGB↔XYZ matrices are not exact
    # inverses, so Mallett through RGB differs from Mallett through XYZ by ~6e-5).
    cube = recovery.recover(RGBImage(rgb.reshape(20, 50, 3).astype(np.float32), "linear"), method)
    assert np.abs(cube.data.reshape(-1, 31) - ref).max() <= 1e-3


def test_otsu_handles_black_and_the_whole_chromaticity_tree():
    xyz = np.array([[0, 0, 0], [0.95047, 1.0, 1.08883], [0.6, 0.3, 0.02], [0.1, 0.5, 0.9], [0.2, 0.2, 0.2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.stack([colour.XYZ_to_sd(x, method="Otsu 2018")[WL] for x in xyz])
    np.testing.assert_allclose(recovery.xyz_to_spectra(xyz, "otsu2018"), ref, atol=1e-9)
    tables = otsu2018.otsu_tables()
    xy = np.random.default_rng(1).uniform(0, 0.8, (2000, 2))
    dataset = colour.recovery.otsu2018.Dataset_Otsu2018(
        colour.recovery.SPECTRAL_SHAPE_OTSU2018, colour.recovery.BASIS_FUNCTIONS_OTSU2018,
        colour.recovery.CLUSTER_MEANS_OTSU2018, colour.recovery.SELECTOR_ARRAY_OTSU2018)
    expected = np.array([dataset.select(p) for p in xy])
    np.testing.assert_array_equal(tables.select(xy), expected)
    assert len(np.unique(expected)) == 8


def test_recover_output_grid_kind_and_metadata():
    rgb = RGBImage(np.random.default_rng(2).random((6, 7, 3)).astype(np.float32), metadata={"path": "x.png"})
    for method in recovery.METHODS:
        cube = recovery.recover(rgb, f"physics:{method}" if method == "otsu2018" else method)
        assert cube.shape == (6, 7, 31) and cube.data.dtype == np.float32
        np.testing.assert_array_equal(cube.wavelengths, WL)
        assert cube.metadata["method"] == f"physics:{method}" and cube.metadata["path"] == "x.png"
        assert cube.kind == ("radiance" if method == "minnorm" else "reflectance")
    with pytest.raises(InputError, match="mallett2019"):
        recovery.recover(rgb, "jakob2019")


def test_srgb_input_is_linearised_and_arrays_accepted():
    rng = np.random.default_rng(3)
    linear = rng.random((4, 5, 3)).astype(np.float32)
    encoded = srgb_encode(linear)
    a = recovery.recover(RGBImage(linear, "linear"), "mallett2019")
    b = recovery.recover(RGBImage(encoded, "srgb"), "mallett2019")
    c = recovery.recover(encoded, "mallett2019")  # a float array is taken as sRGB-encoded
    np.testing.assert_allclose(b.data, a.data, atol=1e-5)
    np.testing.assert_allclose(c.data, a.data, atol=1e-5)
    u8 = np.round(encoded * 255).astype(np.uint8)
    d = recovery.recover(u8, "mallett2019")
    np.testing.assert_allclose(d.data, recovery.recover(srgb_decode(u8 / 255.0), "mallett2019",
                                                        encoding="linear").data, atol=1e-6)


def test_minnorm_reprojects_exactly_to_the_input():
    rng = np.random.default_rng(4)
    linear = rng.random((8, 8, 3)).astype(np.float32)
    for name in ("cie1964-srgb", "nikon-d5100"):
        cube = recovery.recover(RGBImage(linear, "linear"), "minnorm", response=name)
        np.testing.assert_allclose(project(cube, camera_response(name)), linear, atol=1e-5)
        assert cube.metadata["response"] == name
    custom = camera_response("sigma-sdmerill", np.arange(380, 781, 5.0))
    cube = recovery.recover(RGBImage(linear, "linear"), "minnorm", response=custom)
    np.testing.assert_allclose(project(cube, custom.resampled(WL)), linear, atol=1e-5)


def test_reflectance_methods_relight_back_to_the_photo():
    """Mallett/Otsu reflectances rendered under D65 reproduce the input colours (ΔE2000 ≪ 1 in gamut)."""
    rng = np.random.default_rng(5)
    srgb = srgb_encode(rng.uniform(0.05, 0.9, (10, 10, 3))).astype(np.float32)
    for method in ("mallett2019", "otsu2018"):
        rendered = relight.render_srgb(recovery.recover(RGBImage(srgb), method), "D65")
        assert relight.delta_e_map(rendered, srgb).mean() < 1.0, method


def test_progress_and_cancel(monkeypatch):
    monkeypatch.setattr(recovery, "_CHUNK_PIXELS", 64)
    rgb = RGBImage(np.random.default_rng(6).random((20, 16, 3)).astype(np.float32))
    seen = []
    recovery.recover(rgb, "otsu2018", progress=lambda f, m="": seen.append(f))
    assert len(seen) == 5 and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    token = CancelToken()

    def cancel_after_two(fraction, message=""):
        if fraction >= 0.4:
            token.cancel()

    with pytest.raises(Cancelled):
        recovery.recover(rgb, "mallett2019", progress=cancel_after_two, cancel=token)


def test_whole_image_in_seconds():
    rgb = RGBImage(np.random.default_rng(7).random((512, 512, 3)).astype(np.float32))
    for method in recovery.METHODS:
        t0 = time.perf_counter()
        cube = recovery.recover(rgb, method)
        assert cube.shape == (512, 512, 31)
        assert time.perf_counter() - t0 < 10.0, method  # ~0.05–0.3 s here; per-pixel colour calls take minutes
