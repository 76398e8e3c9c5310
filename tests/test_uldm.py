"""ULDM models with tiny random weights: exact RGB reprojection, zero-init conv_in expansion, sampling with
progress/cancel/uncertainty, bundles (manifest, allow-list, pickle refusal), a local SD-layout base."""

import json

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel, UNet2DModel

from hsi_studio.core.errors import FileFormatError, InputError, UnsafeFileError
from hsi_studio.core.jobs import Cancelled, CancelToken
from hsi_studio.core.models import RGBLDM, ULDM, SpeUAE, expand_conv_in, load_base, load_bundle, save_speuae
from hsi_studio.core.models.base import CondUNet, tiny_unet_config, tiny_vae_config
from hsi_studio.core.spectral import camera_response


@pytest.fixture
def speuae():
    torch.manual_seed(0)
    return SpeUAE.from_response(camera_response("nikon-d5100"), hidden=8, layers=2)


@pytest.fixture
def uldm(speuae):
    torch.manual_seed(1)
    return ULDM.from_parts(speuae, RGBLDM.create(tiny=True))


def test_speuae_reprojects_exactly_and_codes_are_bounded(speuae):
    x = torch.rand(3, 31, 9, 11) * 2
    y = speuae.project(x)
    xh, u = speuae(x, y)
    assert u.shape == (3, 3, 9, 11) and u.abs().max() <= 1
    rel = (speuae.project(xh) - y).abs().max() / y.abs().max()
    assert rel <= 1e-4
    # Any code reprojects exactly, too: the code only moves the spectrum inside the null space.
    xr = speuae.decode(y, torch.rand_like(u) * 2 - 1)
    assert (speuae.project(xr) - y).abs().max() / y.abs().max() <= 1e-4
    loss, logs = speuae.loss(x, y)
    loss.backward()
    assert np.isfinite(float(loss.detach())) and "rel_l1" in logs


def test_speuae_is_exposure_equivariant(speuae):
    x = torch.rand(1, 31, 4, 4) + 0.1
    a, _ = speuae(x)
    b, _ = speuae(x * 4)
    torch.testing.assert_close(b, a * 4, rtol=1e-4, atol=1e-5)


def test_conv_in_expansion_keeps_the_pretrained_output():
    torch.manual_seed(2)
    unet = UNet2DModel(**tiny_unet_config())
    z = torch.randn(2, 4, 8, 8)
    t = torch.tensor([10, 500])
    before = unet(z, t).sample
    expand_conv_in(unet, 4)
    assert unet.config.in_channels == 8 and unet.conv_in.weight[:, 4:].abs().sum() == 0
    after = unet(torch.cat([z, torch.randn_like(z)], 1), t).sample
    torch.testing.assert_close(after, before)


def _tiny_sd(tmp_path):
    torch.manual_seed(3)
    vae = AutoencoderKL(**tiny_vae_config())
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(8, 16), norm_num_groups=4, cross_attention_dim=8,
                                attention_head_dim=2,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    vae.save_pretrained(tmp_path / "sd" / "vae", safe_serialization=True)
    unet.save_pretrained(tmp_path / "sd" / "unet", safe_serialization=True)
    (tmp_path / "sd" / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionPipeline", "vae": ["diffusers", "AutoencoderKL"],
         "unet": ["diffusers", "UNet2DConditionModel"]}))
    return tmp_path / "sd", unet


def test_local_stable_diffusion_base_offline(tmp_path, monkeypatch, speuae):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path, unet = _tiny_sd(tmp_path)
    base = load_base(path)
    assert isinstance(base.unet, CondUNet)
    z, t = torch.randn(1, 4, 8, 8), torch.tensor([3])
    ref = unet(z, t, encoder_hidden_states=torch.zeros(1, 77, 8)).sample
    model = ULDM.from_parts(speuae, base)
    out = model.unet(torch.cat([z, torch.randn_like(z)], 1), t).sample
    torch.testing.assert_close(out, ref)  # zero-initialised condition channels
    mean, _ = model.reconstruct(np.random.default_rng(0).uniform(0.05, 0.8, (16, 16, 3)).astype(np.float32),
                                steps=2)
    assert mean.shape == (16, 16, 31)
    model.save(tmp_path / "sd-uldm")
    again = load_bundle(tmp_path / "sd-uldm")
    assert isinstance(again.unet, CondUNet)
    (tmp_path / "sd" / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(UnsafeFileError, match="safetensors"):
        load_base(path)


def test_reconstruct_end_to_end_with_uncertainty(uldm):
    rgb = np.random.default_rng(0).uniform(0.02, 0.9, (13, 21, 3)).astype(np.float32)
    fracs = []
    mean, std = uldm.reconstruct(rgb, steps=2, samples=2, seed=5, progress=lambda f, m="": fracs.append(f))
    assert mean.shape == std.shape == (13, 21, 31) and (std >= 0).all()
    rel = np.abs(mean @ uldm.speuae.S.numpy() - rgb).max() / rgb.max()
    assert rel <= 1e-4
    assert fracs[-1] == pytest.approx(1.0) and fracs == sorted(fracs)
    again, _ = uldm.reconstruct(rgb, steps=2, samples=2, seed=5)
    np.testing.assert_array_equal(mean, again)  # seeded
    ddim, _ = uldm.reconstruct(rgb, steps=2, scheduler="ddim")
    assert ddim.shape == mean.shape


def test_cancel_stops_sampling(uldm):
    token = CancelToken()

    def progress(frac, msg=""):
        token.cancel()

    with pytest.raises(Cancelled):
        uldm.reconstruct(np.full((16, 16, 3), 0.3, np.float32), steps=4, progress=progress, cancel=token)


def test_bundle_roundtrip_manifest_and_allow_list(uldm, tmp_path):
    rgb = np.full((16, 16, 3), 0.4, np.float32)
    path = uldm.save(tmp_path / "m")
    assert {"model_index.json", "manifest.json", "spectral.json"} <= {p.name for p in path.iterdir()}
    loaded = load_bundle(path)
    np.testing.assert_allclose(loaded.reconstruct(rgb, steps=2)[0], uldm.reconstruct(rgb, steps=2)[0],
                               rtol=1e-5, atol=1e-6)
    # tampering is detected
    weights = path / "unet" / "diffusion_pytorch_model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0x55
    weights.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="sha256"):
        load_bundle(path)
    # an unknown class name is refused by the allow-list (checked before anything is imported)
    path2 = uldm.save(tmp_path / "m2")
    index = json.loads((path2 / "model_index.json").read_text())
    index["unet"] = ["os", "system"]
    (path2 / "model_index.json").write_text(json.dumps(index))
    from hsi_studio.core.checkpoint import write_manifest

    (path2 / "manifest.json").unlink()
    write_manifest(path2)
    with pytest.raises(FileFormatError, match="allow-list"):
        load_bundle(path2)
    path3 = uldm.save(tmp_path / "m3")
    (path3 / "unet" / "extra.ckpt").write_bytes(b"x")
    with pytest.raises(UnsafeFileError, match="pickle"):
        load_bundle(path3)
    with pytest.raises(InputError):
        load_bundle(tmp_path / "nope")


def test_speuae_bundle(speuae, tmp_path):
    path = save_speuae(speuae, tmp_path / "s1")
    loaded = load_bundle(path)
    x = torch.rand(1, 31, 4, 4)
    torch.testing.assert_close(loaded(x)[0], speuae(x)[0])
    assert loaded.response.name == "nikon-d5100"


def test_rgb_ldm_losses_and_bundle(tmp_path):
    torch.manual_seed(4)
    m = RGBLDM.create(tiny=True)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    assert float(m.vae_loss(images).detach()) > 0
    lat = m.encode_latents(images)
    assert bool(m.latent_scale_set) and abs(float(lat.std()) - 1) < 0.2
    m.denoise_loss(lat).backward()
    path = m.save(tmp_path / "rgb")
    assert isinstance(load_base(path), RGBLDM)
