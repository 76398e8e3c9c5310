"""The latent-resolution code head (the default's speed): a corrective ULDM that decodes through it
still returns the mean exactly for a zero correction and reprojects to the photo; distillation brings the head
to the SpaAE decoder's block codes; stage 2's ``head_steps`` trains one (nothing else) into the bundle; the
batched sampler draws the same samples as one call per sample."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from factories import blocky_photo, tiny_fast, tiny_uldm

from hsi_studio.core.errors import ShapeError
from hsi_studio.core.ml.models import load_bundle
from hsi_studio.core.ml.models.bundle import save_uldm
from hsi_studio.core.ml.models.code_head import CodeHead
from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline
from hsi_studio.core.ml.training.losses import code_head_loss


def _photo(h=32, w=48, seed=3) -> np.ndarray:
    return blocky_photo(h, w, seed, block=8, scale=0.85)


def _corrective_with_head(decode_pool: int = 2):
    model = tiny_uldm(0).add_mean(tiny_fast(0, weight_std=0.3))
    torch.manual_seed(5)
    model.add_code_head(hidden=8, layers=2, decode_pool=decode_pool)
    return model.eval()


@pytest.mark.parametrize("decode_pool", [1, 2])
def test_fast_decoding_keeps_the_mean_for_a_zero_correction_and_reprojects(decode_pool, one_torch_thread):
    model = _corrective_with_head(decode_pool)
    assert model.fast_decoding and model.code_head.config.pool == model.vae_factor
    rgb = _photo()
    y = torch.from_numpy(rgb.transpose(2, 0, 1))[None]
    with torch.inference_mode():
        _, extra = model.condition(y)
        x0 = model.spectra_from_latents(extra["z_mean"], y, extra)
        x1 = model.spectra_from_latents(extra["z_mean"] + 0.5, y, extra)
    np.testing.assert_array_equal(x0.numpy(), extra["x_mean"].numpy())
    assert x1.shape == x0.shape and not torch.allclose(x0, x1)
    s = model.speuae.S.numpy()
    assert np.abs(x1[0].permute(1, 2, 0).numpy() @ s - rgb).max() <= 1e-4 * rgb.max()  # a null-space correction
    mean, std = ULDMPipeline(model)(rgb, steps=2, samples=3, seed=1)
    assert std is not None and np.abs(mean @ s - rgb).max() <= 1e-4 * rgb.max() and mean.min() >= 0
    model.code_head = None  # the SpaAE decoder again: a different (slower) decoding of the same samples
    slow, _ = ULDMPipeline(model)(rgb, steps=2, samples=3, seed=1)
    assert not np.allclose(slow, mean)


def test_distillation_brings_the_head_to_the_spaae_block_codes(one_torch_thread):
    model = _corrective_with_head()
    rgb = torch.from_numpy(_photo(16, 16).transpose(2, 0, 1))[None]
    x = model.mean_spectra(rgb).detach()
    opt = torch.optim.Adam(model.code_head.parameters(), 3e-3)
    losses = []
    torch.manual_seed(0)
    for _ in range(150):
        loss = code_head_loss(model, x, rgb, steps=2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


def test_stage2_head_steps_train_only_the_head_into_the_bundle(tmp_path, one_torch_thread, capsys):
    from hsi_studio.cli import main

    plain = tiny_uldm(0).add_mean(tiny_fast(0, weight_std=0.3))
    plain.correction_gain, plain.sigma_scale = 0.3, 2.0  # calibrated for these weights, not the trained ones
    save_uldm(plain, tmp_path / "base")
    cfg = tmp_path / "head.json"
    cfg.write_text(json.dumps({"steps": 3, "batch_size": 2, "crop": 16, "val_every": 3, "ckpt_every": 3,
                               "warmup_steps": 1, "stage": {"spaae_steps": 0, "refine_steps": 0, "head_steps": 2, "val_crop": 16,
                                                            "val_steps": 2, "generated": 1}}))
    out = tmp_path / "run"
    assert main(["train", "stage2", "--tiny", "--init", str(tmp_path / "base"), "--config", str(cfg),
                 "--out", str(out), "--device", "cpu", "--threads", "1", "--jsonl"]) == 0
    phases = [json.loads(line).get("phase") for line in capsys.readouterr().out.splitlines()
              if '"event": "step"' in line]
    assert phases == ["uldm", "head", "head"]
    index = json.loads((out / "model" / "model_index.json").read_text())
    assert index["code_head"] == ["hsi_studio", "CodeHead"]
    model = load_bundle(out / "model")
    assert isinstance(model.code_head, CodeHead) and model.fast_decoding
    assert model.correction_gain == 1.0 and model.sigma_scale == 1.0  # to be calibrated again
    mean, _ = ULDMPipeline(model)(_photo(), steps=2, samples=2, seed=0)
    assert np.isfinite(mean).all()


def test_batched_samples_equal_one_call_per_sample(one_torch_thread):
    model = tiny_uldm(1)
    pipe = ULDMPipeline(model)
    y = torch.from_numpy(_photo().transpose(2, 0, 1))[None]
    with torch.inference_mode():
        z_y, _ = model.condition(y)
        both = pipe.sample(z_y, steps=2, generator=[torch.Generator().manual_seed(s) for s in (7, 8)])
        one = [pipe.sample(z_y, steps=2, generator=torch.Generator().manual_seed(s)) for s in (7, 8)]
    np.testing.assert_allclose(both.numpy(), torch.cat(one).numpy(), atol=1e-5)


def test_a_head_config_that_cannot_work_is_refused():
    with pytest.raises(ShapeError, match="decode_pool"):
        CodeHead(pool=4, decode_pool=8)
    with pytest.raises(ShapeError, match="power of two"):
        CodeHead(pool=6)
