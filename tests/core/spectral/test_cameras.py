"""Real cameras (core.spectral.cameras): reading the camspec database, the held-out split, the fitted
processing, and the photo protocol through a camera (core.ml.evaluation.camera_photo_matrix)."""

from __future__ import annotations

import numpy as np
import pytest
from factories import camspec_text, smooth_camera

from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral import cameras as cam
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, xyz_response


def test_read_camspec_keeps_400_to_700_and_scales_each_camera(tmp_path):
    cams = {"Maker A": smooth_camera(0) * 3.0, "Maker B 2": smooth_camera(1) * 0.2}
    p = tmp_path / "camspec.txt"
    p.write_text(camspec_text(cams))
    got = cam.read_camspec(p)
    assert list(got) == ["Maker A", "Maker B 2"]
    for name, s in cams.items():
        assert got[name].shape == (31, 3)
        assert got[name].max() == pytest.approx(1.0)
        np.testing.assert_allclose(got[name], s / s.max(), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("text, expected", [
    ("header only\n---\n", "holds no camera"),
    ("Cam\n" + "\t".join(["0.1"] * 31) + "\n" + "\t".join(["0.1"] * 12) + "\n", "line 3"),
    ("Cam\n" + "\n".join("\t".join(["-0.1"] * 31) for _ in range(3)) + "\n", "negative"),
])
def test_read_camspec_refuses_a_broken_file_with_the_line(tmp_path, text, expected):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(InputError, match=expected):
        cam.read_camspec(p)


def test_held_out_cameras_are_never_in_the_training_split():
    cams = {name: smooth_camera(i) for i, name in enumerate(("Canon 600D", "Canon 20D", "Nokia N900", "Maker X"))}
    train, test = cam.split(cams, "train"), cam.split(cams, "test")
    assert set(train) == {"Canon 20D", "Maker X"}
    assert set(test) == {"Canon 600D", "Nokia N900"}
    assert not set(train) & set(cam.HELD_OUT)
    with pytest.raises(InputError, match="expected 'train'"):
        cam.split(cams, "validation")


def test_processing_of_a_colorimetric_camera_is_exact():
    """A camera whose curves are a linear mix of the target's (the Luther condition) is processed exactly."""
    rng = np.random.default_rng(3)
    target = xyz_response("CIE 1964 10 Degree Standard Observer")
    mix = np.array([[1.0, 0.3, 0.1], [0.2, 1.0, 0.4], [0.05, 0.2, 1.0]])
    sens = target @ mix
    spectra = rng.uniform(0.02, 0.95, (200, 31))
    light = np.linspace(0.6, 1.2, 31)
    eff = cam.effective_response(sens, target, light, spectra)
    np.testing.assert_allclose(eff, target, atol=1e-9)


def test_processing_of_a_real_like_camera_keeps_white_and_approximates_colour():
    rng = np.random.default_rng(4)
    target = xyz_response("CIE 1964 10 Degree Standard Observer")
    spectra = np.clip(rng.normal(0.4, 0.2, (300, 31)).cumsum(axis=1) / 8 + 0.2, 0.01, 1.0)
    light = np.ones(31)
    eff = cam.effective_response(smooth_camera(5), target, light, spectra)
    white_ideal, white_cam = light @ target, light @ eff
    np.testing.assert_allclose(white_cam, white_ideal, rtol=2e-3)
    err = np.abs(spectra @ eff - spectra @ target).mean() / np.abs(spectra @ target).mean()
    assert 1e-4 < err < 0.1  # close, not exact: the camera is not colorimetric
    with pytest.raises(InputError, match="expected"):
        cam.processing_matrix(smooth_camera(5)[:20], target, light, spectra)


def test_photo_through_the_observer_itself_is_the_ideal_photo():
    """camera_photo_matrix of the CIE 1964 curves reproduces the photo protocol's own photo (to the 31-band sum
    against colour-science's integration of the protocol: < 0.3 %)."""
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.ml.evaluation import camera_photo_matrix, photo_linear, photo_of

    rng = np.random.default_rng(6)
    spectra = rng.uniform(0.02, 0.95, (200, 31))
    m = camera_photo_matrix(xyz_response("CIE 1964 10 Degree Standard Observer"), spectra)
    cube = HSCube(rng.uniform(0.05, 0.9, (8, 9, 31)).astype(np.float32), STANDARD_WAVELENGTHS, kind="reflectance")
    np.testing.assert_allclose(cube.data @ m, photo_linear(cube.data), atol=3e-3)
    assert np.abs(photo_of(cube, m).data - photo_of(cube).data).max() <= 1.5 / 255
    other = camera_photo_matrix(smooth_camera(7), spectra)
    assert np.abs(photo_of(cube, other).data - photo_of(cube).data).max() > 4 / 255
