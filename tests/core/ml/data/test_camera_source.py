"""Training pairs seen through real cameras (TrainingSource(sim={"cameras": share})): the held-out cameras are
never used, a share of 0 changes nothing, and a camera's RGB is its processed RGB of the same spectrum."""

from __future__ import annotations

import numpy as np
import pytest
from factories import camspec_text, smooth_camera, smooth_cubes

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.data import TrainingSource
from hsi_studio.core.spectral.responses import camera_response, project


@pytest.fixture
def camera_file(tmp_path):
    p = tmp_path / "camspec.txt"
    p.write_text(camspec_text({"Canon 600D": smooth_camera(0), "Maker A": smooth_camera(1),
                               "Maker B": smooth_camera(2)}))
    return str(p)


def source(**sim):
    return TrainingSource(smooth_cubes(2, size=24), None, 0.0, camera_response("cie1964-srgb"), seed=3,
                          sim={"light": "D65", **sim})


def test_share_zero_is_the_ideal_observer_bit_for_bit(camera_file):
    a = source().batch(5, 3, 16)
    b = source(cameras=0.0, camera_file=camera_file).batch(5, 3, 16)
    assert np.array_equal(a["cube"], b["cube"]) and np.array_equal(a["rgb"], b["rgb"])


def test_camera_pairs_use_only_training_cameras_and_their_processing(camera_file):
    src = source(cameras=1.0, camera_file=camera_file)
    assert src.camera_names == ["Maker A", "Maker B"]  # Canon 600D is held out: never trained on
    p = src.pixels(0, 2048, crop=16)
    ideal = project(p["cube"], src.response)
    through = [p["cube"] @ m for m in src._cameras]
    # every pixel is one training camera's processed RGB of its own spectrum, none the ideal observer's
    best = np.min([np.abs(p["rgb"] - t).max(axis=1) for t in through], axis=0)
    assert best.max() < 1e-5
    assert np.abs(p["rgb"] - ideal).max() > 1e-3
    # and a batch stays a pure function of (seed, step): a resumed run continues the same stream
    q = source(cameras=1.0, camera_file=camera_file).pixels(0, 2048, crop=16)
    assert np.array_equal(p["rgb"], q["rgb"])


@pytest.mark.parametrize("share", [1.5, -0.1, "half"])
def test_a_bad_share_is_refused(share, camera_file):
    with pytest.raises(InputError, match="cameras"):
        source(cameras=share, camera_file=camera_file)


def test_only_held_out_cameras_is_refused(tmp_path):
    p = tmp_path / "held.txt"
    p.write_text(camspec_text({"Canon 600D": smooth_camera(0)}))
    with pytest.raises(InputError, match="only held-out"):
        source(cameras=0.5, camera_file=str(p))
