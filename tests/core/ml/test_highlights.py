"""Near-white and clipped highlights get plausible spectra: no reflectance above the cap of
models/bounds.py on scikit-image's coffee highlights, a white surface reads ≈ 1, the RGB stays exact."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.ml.evaluation import photo_divisor
from hsi_studio.core.ml.models.bounds import REFLECTANCE_CAP, photo_light, upper_bounded_consistent
from hsi_studio.core.ml.reconstruct import models_dir, reconstruct
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL
from hsi_studio.core.spectral.responses import camera_response, srgb_decode

S = camera_response("cie1964-srgb").matrix


def _coffee_highlights() -> np.ndarray:
    """The brightest 64×64 window of the coffee photo (its cup's rim: RGB ≈ 253/243/224 and clipped blues)."""
    img = skimage.data.coffee()
    lum = img.astype(np.float32).min(axis=-1)
    best = max(((lum[y:y + 64, x:x + 64] > 215).sum(), y, x) for y in range(0, img.shape[0] - 64, 16)
               for x in range(0, img.shape[1] - 64, 16))
    return img[best[1]:best[1] + 64, best[2]:best[2] + 64].astype(np.float32) / 255


@pytest.mark.parametrize("model", ["mlp", "rootpoly", "fast", "default"])
def test_shipped_models_give_coffee_highlights_a_plausible_spectrum(model, one_torch_thread):
    if not (models_dir() / model / "model_index.json").is_file():
        pytest.skip(f"models/{model} not installed")
    crop = _coffee_highlights()
    res = reconstruct(RGBImage(crop, "srgb"), model, steps=2, samples=1, seed=0)
    refl = res.cube.data / photo_divisor(WL)
    assert refl.min() >= 0
    assert refl.max() <= REFLECTANCE_CAP + 1e-4  # was up to 3.7 at 400 nm before the cap
    lin = srgb_decode(crop)
    assert np.abs(res.cube.data @ S - lin).max() <= 1e-4 * lin.max()


def test_a_white_surface_reads_about_one_and_the_cap_keeps_rgb_exact():
    light = photo_light(camera_response("cie1964-srgb").resampled(WL))
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.uniform(0.6, 1.0, (500, 3))).float()
    spiky = torch.from_numpy(np.tile(light, (500, 1))).float() * 0.8
    spiky[:, 0] += 3.0 * light[0]  # a 400 nm spike far above any surface
    # make it RGB-consistent with y first, the way the models' outputs are
    s = torch.from_numpy(S).float()
    pinv = torch.linalg.pinv(s)
    spiky = spiky + (y - spiky @ s) @ pinv
    out = upper_bounded_consistent(spiky, y, s, light)
    refl = out.numpy() / light
    assert refl.max() <= REFLECTANCE_CAP * 1.0 + 1e-5 and refl.min() >= 0
    assert np.abs(out.numpy() @ S - y.numpy()).max() < 1e-4
    white = torch.from_numpy(np.tile(light, (4, 1))).float()
    wy = white @ s
    same = upper_bounded_consistent(white, wy, s, light)
    assert torch.equal(same, white)  # within the cap: untouched
    assert abs(float((same.numpy() / light).mean()) - 1.0) < 1e-5


def test_an_out_of_gamut_pixel_no_spectrum_can_give_is_capped_not_refused(one_torch_thread):
    """A chart-calibrated photo can hold a negative channel (here blue); the non-negative projection alone
    left a spike of ~72 on such a pixel of a real photo and the range check refused the whole photo."""
    from hsi_studio.core.ml.models import load_bundle
    from hsi_studio.core.ml.pipelines.regression_pipeline import RegressionPipeline

    img = np.full((8, 8, 3), 0.4, np.float32)
    img[2:4, 2:4] = [0.2107, 0.0213, -0.0246]  # the pixel from plantcv_test_target_img, chart-calibrated
    pipe = RegressionPipeline(load_bundle(models_dir() / "mlp"))
    cube, _ = pipe(img)
    refl = cube / photo_light(pipe.response)
    assert np.isfinite(cube).all() and cube.min() >= 0
    assert refl.max() <= REFLECTANCE_CAP + 1e-4
    res = reconstruct(RGBImage(img, "linear"), "mlp")  # the range check passes
    assert float(res.cube.data.max()) < 2
