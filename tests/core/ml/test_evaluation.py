"""The two evaluation protocols (photo, camera): what the input is, how every method's output becomes
reflectance, which methods are out of convention, and the scores (incl. relit ΔE2000)."""

import warnings

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube
from hsi_studio.core.ml import evaluation as ev
from hsi_studio.core.ml.data import TrainingSource
from hsi_studio.core.ml.models.bundle import save_regression
from hsi_studio.core.ml.training.regression_fit import fit_regression
from hsi_studio.core.spectral._colour import colour
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL
from hsi_studio.core.spectral.responses import camera_response, srgb_decode


def _white(size=8):
    return HSCube(np.ones((size, size, 31), np.float32), WL, kind="reflectance")


def test_photo_of_a_white_reflector_is_white_and_its_radiance_divides_back_to_one():
    photo = ev.photo_of(_white())
    # daylight photo: white → (255, 255, 253) (D65 seen by the 10° observer is a hair yellower than sRGB's white)
    assert photo.data.min() >= 252 / 255
    d = ev.photo_divisor()
    # the radiance of white on the photo's scale reprojects to the photo's white through the model response
    rgb = d @ camera_response("cie1964-srgb").matrix
    np.testing.assert_allclose(rgb, ev.photo_linear(np.ones(31, np.float32)), atol=3e-3)
    np.testing.assert_allclose(ev.as_reflectance(HSCube(np.tile(d, (2, 2, 1)), WL, kind="radiance")), 1.0,
                               rtol=1e-6)


def test_photo_input_is_8_bit():
    rng = np.random.default_rng(0)
    cube = HSCube(rng.random((6, 6, 31)).astype(np.float32) * 0.8, WL, kind="reflectance")
    v = ev.photo_of(cube).data * 255
    np.testing.assert_allclose(v, np.round(v), atol=1e-3)


def test_a_method_that_returns_the_white_reflector_scores_perfectly(tmp_path, one_torch_thread):
    """A root-polynomial fitted on D65-lit white maps the white photo to D65 radiance: reflectance 1."""
    src = TrainingSource([_white(16)], None, 0.0, "cie1964-srgb", sim={"light": "D65"})
    save_regression(fit_regression(src, "rootpoly", degree=1, pixels=4096), tmp_path / "white")
    rows = ev.evaluate_cube("white", _white(16), ["uldm"], model=str(tmp_path / "white"), protocol="photo")
    r = rows[0]
    assert r["scored"] and r["sam"] < 0.2 and r["mrae"] < 3e-3 and r["psnr"] > 45  # 8-bit input
    assert r["de_a"] < 0.5 and r["de_fl11"] < 0.5 and r["ssim"] > 0.999


def test_otsu_in_the_photo_protocol_matches_colour_xyz_to_sd_on_a_patch():
    from hsi_studio.core.spectral import recovery

    refl = np.clip(0.2 + 0.6 * np.exp(-0.5 * ((WL - 600) / 50.0) ** 2), 0, 1).astype(np.float32)
    patch = HSCube(np.tile(refl, (4, 4, 1)), WL, kind="reflectance")
    photo = ev.photo_of(patch)
    out = ev._run("physics:otsu2018", photo, None, 8, 1, "cie1964-srgb", "cpu", None)
    got = ev.as_reflectance(out.cube)[0, 0]
    xyz = colour.sRGB_to_XYZ(srgb_decode(photo.data[0, 0]), apply_cctf_decoding=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = colour.XYZ_to_sd(xyz, method=recovery.COLOUR_METHOD_NAMES["otsu2018"])[WL]
    np.testing.assert_allclose(got, np.clip(want, 0, 1), atol=2e-3)


def test_camera_protocol_marks_d65_methods_out_of_convention_and_scores_at_the_input_exposure():
    rng = np.random.default_rng(2)
    cube = HSCube((rng.random((8, 8, 31)) * 3.0).astype(np.float32), WL, kind="radiance")  # any scale
    rows = ev.evaluate_cube("c", cube, ["physics:otsu2018", "physics:minnorm"], protocol="camera")
    otsu, mn = rows
    assert otsu["scored"] is False and "convention" in otsu["note"]
    assert mn["scored"] and mn["rgb_rel_err"] < 1e-5  # min-norm reprojects exactly at the same exposure
    assert 0 < mn["rmse"] < 0.5  # target scaled with the input (an unscaled target would be off by ~3×)
    summ = ev.summary(rows)
    assert [s["method"] for s in summ] == ["physics:minnorm"]


def test_scores_and_relit_delta_e():
    rng = np.random.default_rng(3)
    gt = rng.random((8, 8, 31)).astype(np.float32) * 0.8 + 0.1
    same = ev.scores(gt, gt)
    assert same["de_a"] == pytest.approx(0, abs=1e-6) and same["sam"] == pytest.approx(0, abs=1e-3)
    assert {"mrae_410", "psnr_410", "sam_410", "ssim", "ssim_410", "de_fl11"} <= set(same)
    worse = ev.scores(gt * np.linspace(0.8, 1.2, 31, dtype=np.float32), gt)
    assert worse["de_a"] > 0.5 and worse["sam"] > 1 and worse["psnr"] < same["psnr"]


def test_unknown_protocol_is_refused():
    from hsi_studio.core.errors import InputError

    with pytest.raises(InputError, match="protocol"):
        ev.evaluate_cube("w", _white(), ["physics:minnorm"], protocol="ntire")
