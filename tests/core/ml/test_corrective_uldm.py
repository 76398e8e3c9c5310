"""Corrective diffusion: a ULDM around a spatial mean — a zero correction returns the mean exactly,
the UNet starts where it was, RGB stays exact, the bundle round-trips with its mean and refuses mismatches, and
stage 2 trains one with ``--mean``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from factories import blocky_photo, tiny_fast, tiny_uldm

from hsi_studio.core.errors import FileFormatError, InputError
from hsi_studio.core.ml.models import ULDM, load_bundle, save_fast
from hsi_studio.core.ml.models.bundle import save_uldm
from hsi_studio.core.ml.models.regression import PixelRegression
from hsi_studio.core.ml.models.spatial import FastModel
from hsi_studio.core.ml.pipelines.spatial_pipeline import SpatialPipeline
from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline
from hsi_studio.core.spectral.responses import camera_response


def _fast(seed: int = 0) -> FastModel:
    return tiny_fast(seed, weight_std=0.3)  # a trained-looking, non-zero residual


def _uldm(seed: int = 0) -> ULDM:
    return tiny_uldm(seed)


def _photo(h=24, w=40, seed=3) -> np.ndarray:
    return blocky_photo(h, w, seed, block=8, scale=0.85)


@pytest.fixture()
def corrective():
    return _uldm().add_mean(_fast())


def test_a_zero_correction_returns_the_mean_exactly(corrective, one_torch_thread):
    y = torch.from_numpy(_photo().transpose(2, 0, 1))[None]
    with torch.inference_mode():
        cond, extra = corrective.condition(y)
        x = corrective.spectra_from_latents(extra["z_mean"], y, extra)
    assert cond.shape[1] == 2 * int(corrective.vae.config.latent_channels)
    np.testing.assert_array_equal(x.numpy(), extra["x_mean"].numpy())
    fast, _ = SpatialPipeline(corrective.mean)(_photo())
    np.testing.assert_allclose(extra["x_mean"][0].permute(1, 2, 0).numpy(), fast, atol=1e-6)


def test_corrective_samples_reproject_and_the_widened_unet_starts_unchanged(one_torch_thread):
    plain = _uldm()
    rgb = _photo()
    before, _ = ULDMPipeline(plain)(rgb, steps=2, samples=1, seed=4)
    corr = _uldm().add_mean(_fast())
    inner = corr.unet
    w = inner.conv_in.weight
    assert w.shape[1] == 3 * int(corr.vae.config.latent_channels) and not w[:, -4:].any()
    mean, std = ULDMPipeline(corr)(rgb, steps=2, samples=3, seed=4)
    assert std is not None and std.shape == mean.shape == (*rgb.shape[:2], 31)
    s = camera_response("cie1964-srgb").matrix
    assert np.abs(mean @ s - rgb).max() < 1e-4 * rgb.max()
    assert mean.min() >= 0
    # the UNet ignores the new channels until trained: each sample is the plain model's correction
    one, _ = ULDMPipeline(corr)(rgb, steps=2, samples=1, seed=4)
    x_mean, _ = SpatialPipeline(corr.mean)(rgb)
    assert not np.allclose(one, before) and np.isfinite(one).all()
    assert np.abs(one - x_mean).mean() < np.abs(before - x_mean).mean() * 3


def test_bundle_round_trip_keeps_the_mean_and_refuses_a_mismatch(corrective, tmp_path, one_torch_thread):
    save_uldm(corrective, tmp_path / "c")
    back = load_bundle(tmp_path / "c")
    assert isinstance(back, ULDM) and back.corrective
    rgb = _photo()
    a, _ = ULDMPipeline(corrective)(rgb, steps=2, samples=1, seed=1)
    b, _ = ULDMPipeline(back)(rgb, steps=2, samples=1, seed=1)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert "corrective" in json.loads((tmp_path / "c" / "spectral.json").read_text())
    # a plain ULDM's UNet with a mean's parts listed (or the reverse) is refused, not crashed on
    save_uldm(_uldm(), tmp_path / "plain")
    index = json.loads((tmp_path / "c" / "model_index.json").read_text())
    assert index["spatial"] == ["hsi_studio", "SpatialResidual"] and index["prior"] == ["hsi_studio", "PixelRegression"]
    with pytest.raises(InputError, match="already has a spatial mean"):
        back.add_mean(_fast())


def test_a_unet_that_does_not_fit_the_bundle_is_refused(tmp_path, one_torch_thread):
    from hsi_studio.core.ml.models import bundle

    corr = _uldm().add_mean(_fast())
    corr.mean = None  # a 12-channel UNet saved without its mean
    save_uldm(corr, tmp_path / "bad")
    with pytest.raises(FileFormatError, match="input channels"):
        bundle.load_bundle(tmp_path / "bad")


def test_a_mean_for_another_camera_is_refused():
    torch.manual_seed(0)
    other = PixelRegression.from_response(camera_response("cie1931-srgb"), kind="mlp", hidden=16)
    with pytest.raises(InputError, match="camera response"):
        _uldm().add_mean(FastModel.from_prior(other, width=8))


def test_stage2_trains_a_corrective_model_with_mean(tmp_path, one_torch_thread):
    from hsi_studio.cli import main

    base = tmp_path / "base"
    save_uldm(_uldm(), base)
    save_fast(_fast(), tmp_path / "fast")
    out = tmp_path / "run"
    rc = main(["train", "stage2", "--tiny", "--init", str(base), "--mean", str(tmp_path / "fast"),
               "--out", str(out), "--generated", "1", "--steps", "2"])
    assert rc == 0
    model = load_bundle(out / "model")
    assert isinstance(model, ULDM) and model.corrective
    rec = json.loads((out / "model" / "training.json").read_text())
    assert "mean" in json.dumps(rec)
    rc = main(["train", "stage2", "--tiny", "--init", str(out / "model"), "--mean", str(tmp_path / "fast"),
               "--out", str(tmp_path / "again"), "--generated", "1", "--steps", "2"])
    assert rc == 2
