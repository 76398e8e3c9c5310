"""The fast model's training through real cameras (FastConfig.cameras): a crop seen through a training camera
gets that camera's processed RGB and the prior of that RGB; a share of 0 is the ideal observer, bit for bit."""

from __future__ import annotations

import numpy as np
import torch
from factories import camspec_text, smooth_camera, smooth_cubes, tiny_fast

from hsi_studio.core.ml.training.fast_fit import SceneCache


def _file(tmp_path):
    p = tmp_path / "camspec.txt"
    p.write_text(camspec_text({"Maker A": smooth_camera(1), "Nokia N900": smooth_camera(2)}))
    return str(p)


def test_share_zero_changes_no_batch(tmp_path):
    model = tiny_fast()
    cubes = smooth_cubes(2, size=32)
    a = SceneCache(cubes, model).batch(0, 3, 4, 16, (0.5, 1.0))
    b = SceneCache(cubes, model, cameras=0.0, camera_file=_file(tmp_path)).batch(0, 3, 4, 16, (0.5, 1.0))
    for u, v in zip(a, b, strict=True):
        assert torch.equal(u, v)


def test_a_crop_through_a_camera_gets_its_rgb_and_its_prior(tmp_path):
    model = tiny_fast()
    cache = SceneCache(smooth_cubes(2, size=32), model, cameras=1.0, camera_file=_file(tmp_path))
    assert cache.camera_names == ["Maker A"]  # the Nokia N900 is held out
    x, y, prior = cache.batch(0, 3, 4, 16, (0.5, 1.0))
    cam = torch.from_numpy(cache._cams[0])
    torch.testing.assert_close(y, torch.einsum("nbhw,bc->nchw", x, cam), rtol=1e-4, atol=1e-6)
    ideal = torch.einsum("nbhw,bc->nchw", x, torch.from_numpy(cache.response.matrix.astype(np.float32)))
    assert (y - ideal).abs().max() > 1e-3
    with torch.inference_mode():
        torch.testing.assert_close(prior, model.prior_of(y), rtol=1e-4, atol=1e-6)
