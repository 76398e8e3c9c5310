"""ULDM model pieces with tiny random weights (fixed seeds, CPU, no network): SpeUAE's exact reprojection,
zero-initialised ``conv_in`` expansion, sampling (mean + uncertainty, progress, cancel), a local SD base."""

import json
import socket

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel, UNet2DModel
from factories import tiny_speuae, tiny_uldm

from hsi_studio.core.errors import InputError, NonFiniteError, ShapeError, UnsafeFileError
from hsi_studio.core.jobs import Cancelled, CancelToken
from hsi_studio.core.ml.models import RGBLDM, ULDM, SpeUAE, expand_conv_in, load_base
from hsi_studio.core.ml.models.rgb_base import CondUNet, small_unet_config, tiny_unet_config, tiny_vae_config
from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline
from hsi_studio.core.ml.training import losses
from hsi_studio.core.spectral.responses import camera_response

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def response():
    return camera_response("cie1964-srgb")


@pytest.fixture
def speuae():
    return tiny_speuae()


@pytest.fixture
def uldm(speuae):
    return tiny_uldm(speuae=speuae)


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).uniform(0.02, 0.9, (h, w, 3)).astype(np.float32)


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


# -- SpeUAE ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,spatial", [(0, True), (1, False), (2, True)])
def test_speuae_reprojects_to_the_input_rgb_for_random_weights(response, seed, spatial):
    torch.manual_seed(seed)
    model = SpeUAE.from_response(response, hidden=16, layers=3, spatial=spatial)
    x = torch.rand(2, 31, 7, 9) * 3
    y = model.project(x)
    with torch.no_grad():
        xh, u = model(x, y)
        any_code = model.decode(y, torch.rand_like(u) * 2 - 1)
    assert u.shape == (2, 3, 7, 9) and float(u.abs().max()) <= 1.0
    assert xh.shape == x.shape
    assert _rel_err(model.project(xh), y) <= 1e-4
    assert _rel_err(model.project(any_code), y) <= 1e-4  # the code only moves x̂ inside the null space


def test_speuae_buffers_and_config_describe_the_camera(speuae, response):
    assert speuae.S.dtype == speuae.pinv.dtype == speuae.N.dtype == torch.float32
    assert speuae.S.shape == (31, 3) and speuae.pinv.shape == (3, 31) and speuae.N.shape == (31, 28)
    names = {n for n, _ in speuae.named_buffers()}
    assert {"S", "pinv", "N"} <= names
    np.testing.assert_allclose(np.asarray(speuae.config.response), response.matrix)
    np.testing.assert_allclose(speuae.response.wavelengths, response.wavelengths)
    torch.testing.assert_close(speuae.N.T @ speuae.N, torch.eye(28), atol=1e-5, rtol=0)
    torch.testing.assert_close(speuae.N.T @ speuae.S, torch.zeros(28, 3), atol=1e-5, rtol=0)


def test_speuae_scales_with_exposure(speuae):
    x = torch.rand(1, 31, 5, 5) + 0.1
    with torch.no_grad():
        a, ua = speuae(x)
        b, ub = speuae(x * 4)
    torch.testing.assert_close(b, a * 4, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ub, ua, rtol=1e-4, atol=1e-5)


def test_speuae_loss_trains_both_halves(speuae):
    x = torch.rand(2, 31, 6, 6) + 0.05
    loss, logs = losses.speuae_loss(speuae, x, speuae.project(x))
    loss.backward()
    assert np.isfinite(loss.item()) and logs["rel_l1"] > 0
    assert speuae.encoder[0].weight.grad.abs().sum() > 0
    assert speuae.decoder[0].weight.grad.abs().sum() > 0


def test_speuae_region_codes_are_smooth_and_still_rgb_exact(response):
    """code_pool=8: the code image is a block average interpolated back — no detail finer than the SpaAE's
    1/8 grid — while the spectrum still reprojects exactly to y; prior_weight trains D(y, 0) as a prior."""
    torch.manual_seed(0)
    pixel = SpeUAE.from_response(response, hidden=8, layers=2, spatial=False)
    pooled = SpeUAE.from_response(response, hidden=8, layers=2, spatial=False, code_pool=8, prior_weight=1.0)
    pooled.load_state_dict(pixel.state_dict())
    x = torch.rand(1, 31, 29, 35) + 0.05  # not a multiple of 8: padded and cropped back
    u_pix, u_pool = pixel.encode(x), pooled.encode(x)
    assert u_pool.shape == u_pix.shape
    tv = lambda u: float((u[..., 1:] - u[..., :-1]).abs().mean())  # noqa: E731
    assert tv(u_pool) < 0.2 * tv(u_pix)
    y = pooled.project(x)
    assert _rel_err(pooled.project(pooled.decode(y, u_pool)), y) < 1e-5
    loss, logs = losses.speuae_loss(pooled, x, y)
    loss.backward()
    assert logs["prior_l1"] > 0 and pooled.decoder[0].weight.grad.abs().sum() > 0
    with pytest.raises(ShapeError, match="power of two"):
        SpeUAE.from_response(response, code_pool=6)


def test_speuae_rejects_wrong_band_counts(speuae):
    with pytest.raises(ShapeError, match="31"):
        speuae.encode(torch.rand(1, 30, 4, 4))
    with pytest.raises(ShapeError):
        speuae.decode(torch.rand(1, 4, 4, 4), torch.rand(1, 3, 4, 4))


# -- conv_in expansion --------------------------------------------------------------------------------------
def _tiny_sd_unet():
    return UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(8, 16), norm_num_groups=4, cross_attention_dim=8,
                                attention_head_dim=2, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))


@pytest.mark.parametrize("config", [tiny_unet_config, small_unet_config])
def test_conv_in_expansion_keeps_the_own_unet_output(config):
    torch.manual_seed(2)
    unet = UNet2DModel(**config()).eval()
    z, t = torch.randn(2, 4, 8, 8), torch.tensor([10, 700])
    old_weight = unet.conv_in.weight.detach().clone()
    with torch.no_grad():
        before = unet(z, t).sample
        expand_conv_in(unet, 4)
        after = unet(torch.cat([z, torch.randn_like(z) * 5], 1), t).sample
    assert unet.config.in_channels == 8 and unet.conv_in.in_channels == 8
    torch.testing.assert_close(unet.conv_in.weight[:, :4], old_weight, rtol=0, atol=0)
    assert float(unet.conv_in.weight[:, 4:].abs().sum()) == 0.0
    torch.testing.assert_close(after, before)


def test_conv_in_expansion_keeps_the_sd_unet_output():
    torch.manual_seed(3)
    inner = _tiny_sd_unet().eval()
    z, t = torch.randn(1, 4, 8, 8), torch.tensor([3])
    with torch.no_grad():
        before = inner(z, t, encoder_hidden_states=torch.zeros(1, 77, 8)).sample
        wrapped = expand_conv_in(CondUNet(inner), 4)
        after = wrapped(torch.cat([z, torch.randn_like(z)], 1), t).sample
    assert wrapped.null_embedding.shape == (1, 77, 8) and float(wrapped.null_embedding.abs().sum()) == 0
    assert inner.config.in_channels == 8
    torch.testing.assert_close(after, before)


# -- sampling (ULDMPipeline) -----------------------------------------------------------------------------------------------
def test_reconstruct_end_to_end_mean_std_progress(uldm):
    rgb = _rgb(13, 21)  # not a multiple of 8: reflect-padded, then cropped back
    fracs = []
    mean, std = ULDMPipeline(uldm)(rgb, steps=2, samples=2, seed=5, progress=lambda f, m="": fracs.append(f))
    assert mean.shape == std.shape == (13, 21, 31)
    assert mean.dtype == std.dtype == np.float32 and (std >= 0).all() and float(std.max()) > 0
    s = uldm.speuae.S.numpy()
    assert np.abs(mean @ s - rgb).max() / rgb.max() <= 1e-4
    assert fracs and fracs[-1] == pytest.approx(1.0) and fracs == sorted(fracs)
    again, _ = ULDMPipeline(uldm)(torch.from_numpy(rgb), steps=2, samples=2, seed=5)  # tensors work too
    np.testing.assert_array_equal(mean, again)  # seeded
    uldm.train()
    one, none = ULDMPipeline(uldm)(rgb, steps=2, samples=1, seed=5)
    assert none is None and one.shape == mean.shape
    assert uldm.training  # the caller's train/eval mode is restored
    uldm.eval()


def test_reconstruct_with_ddim(uldm):
    rgb = _rgb(16, 16, seed=1)
    mean, std = ULDMPipeline(uldm)(rgb, steps=2, samples=2, scheduler="ddim")
    assert mean.shape == std.shape == (16, 16, 31)
    assert np.abs(mean @ uldm.speuae.S.numpy() - rgb).max() / rgb.max() <= 1e-4


def test_sample_returns_code_latents(uldm):
    z_y = uldm.rgb_latents(torch.from_numpy(_rgb(16, 16)).permute(2, 0, 1)[None])
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        z = ULDMPipeline(uldm).sample(z_y, steps=2, generator=gen)
    assert z.shape == z_y.shape and torch.isfinite(z).all()


def test_schedulers_start_from_pure_noise(uldm):
    for name in ("dpmsolver++", "ddim"):
        sched = ULDMPipeline(uldm).make_scheduler(name)
        sched.set_timesteps(2)
        assert int(sched.timesteps[0]) >= 990, name


def test_cancel_stops_sampling(uldm):
    token = CancelToken()
    calls = []

    def progress(frac, msg=""):
        calls.append(frac)
        token.cancel()

    with pytest.raises(Cancelled):
        ULDMPipeline(uldm)(_rgb(16, 16), steps=4, samples=2, progress=progress, cancel=token)
    assert len(calls) == 1


def test_reconstruct_validates_its_input(uldm):
    with pytest.raises(ShapeError, match="3"):
        ULDMPipeline(uldm)(np.zeros((8, 8, 4), np.float32), steps=1)
    bad = _rgb(8, 8)
    bad[0, 0, 0] = np.nan
    with pytest.raises(NonFiniteError):
        ULDMPipeline(uldm)(bad, steps=1)
    with pytest.raises(InputError, match="scheduler"):
        ULDMPipeline(uldm)(_rgb(8, 8), steps=1, scheduler="euler")


def test_training_losses_backpropagate(uldm):
    x = torch.rand(2, 31, 16, 16) * 0.5 + 0.05
    y = uldm.speuae.project(x)
    gen = torch.Generator().manual_seed(0)
    loss = losses.uldm_loss(uldm, x, y, generator=gen)
    loss.backward()
    assert np.isfinite(loss.item()) and uldm.unet.conv_in.weight.grad[:, 4:].abs().sum() > 0
    rgb = RGBLDM.create(tiny=True)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    assert float(losses.vae_loss(rgb, images)) > 0
    lat = rgb.encode_latents(images)
    assert bool(rgb.latent_scale_set) and abs(float(lat.std()) - 1) < 0.2
    losses.denoise_loss(rgb, lat).backward()


# -- a Stable Diffusion base on disk --------------------------------------------------------------------------
def _tiny_sd_folder(root):
    torch.manual_seed(3)
    vae, unet = AutoencoderKL(**tiny_vae_config()), _tiny_sd_unet()
    vae.save_pretrained(root / "vae", safe_serialization=True)
    unet.save_pretrained(root / "unet", safe_serialization=True)
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text(json.dumps(
        {"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
         "beta_end": 0.012, "num_train_timesteps": 1000}))
    (root / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionPipeline", "vae": ["diffusers", "AutoencoderKL"],
         "unet": ["diffusers", "UNet2DConditionModel"], "scheduler": ["diffusers", "PNDMScheduler"]}))
    return root, unet.eval()


def test_local_stable_diffusion_base_loads_offline(tmp_path, monkeypatch, speuae):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    path, unet = _tiny_sd_folder(tmp_path / "sd")
    base = load_base(path)
    assert isinstance(base.unet, CondUNet)
    assert base.scheduler_config["beta_schedule"] == "scaled_linear"
    model = ULDM.from_base(load_base(path), speuae)
    z, t = torch.randn(1, 4, 8, 8), torch.tensor([3])
    with torch.no_grad():
        ref = unet(z, t, encoder_hidden_states=torch.zeros(1, 77, 8)).sample
        out = model.unet(torch.cat([z, torch.randn_like(z)], 1), t).sample
    torch.testing.assert_close(out, ref)
    rgb = _rgb(12, 10)
    mean, std = ULDMPipeline(model)(rgb, steps=2, samples=2)
    assert mean.shape == std.shape == (12, 10, 31)
    assert np.abs(mean @ speuae.S.numpy() - rgb).max() / rgb.max() <= 1e-4


def test_stable_diffusion_base_refuses_pickles_and_foreign_folders(tmp_path):
    path, _ = _tiny_sd_folder(tmp_path / "sd")
    (path / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(UnsafeFileError, match="safetensors"):
        load_base(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        load_base(tmp_path / "empty")


def test_stable_diffusion_inpainting_unets_are_refused(tmp_path):
    path, _ = _tiny_sd_folder(tmp_path / "sd")
    unet = UNet2DConditionModel.from_config({**_tiny_sd_unet().config, "in_channels": 9})
    unet.save_pretrained(path / "unet", safe_serialization=True)
    with pytest.raises(InputError, match="9 channels"):
        load_base(path)
