"""RGB pre-trained bases for the ULDM — components only (training losses: :mod:`..losses`;
loading from disk: :mod:`.bundle`).

(a) the project's own small RGB latent diffusion model (:class:`RGBLDM`: a compact 1/8-resolution
``AutoencoderKL`` + a small attention-free ``UNet2DModel``), pre-trained by ``hsi-studio train rgb-pretrain``;
(b) a Stable Diffusion checkpoint in diffusers layout that the user already has on disk
(:func:`.bundle.load_sd_base`: ``vae/`` + ``unet/``, loaded with ``local_files_only=True, use_safetensors=True``,
never downloaded), whose text-conditioned UNet (:class:`CondUNet`) gets a fixed null text embedding.

:func:`expand_conv_in` widens a UNet's ``conv_in`` for the ULDM's ``[z_t ‖ z_y]`` input, zero-initialising the
added input channels (as InstructPix2Pix does), so the adapted UNet starts as the pre-trained one.

References: extending an RGB-pretrained LDM to the unobservable feature — K. Deng, J. Nie and Y. Qian, "RGB Pre-Training Enhanced Unobservable Feature Latent Diffusion
Model for Spectral Reconstruction", arXiv:2507.12967 (2025). DOI: 10.48550/arXiv.2507.12967.
Latent diffusion — R. Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022.
DOI: 10.1109/CVPR52688.2022.01042.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel, UNet2DModel
from torch import nn

LATENT_CHANNELS = 4


def small_vae_config() -> dict:
    """2.29 M parameters (decoder 1.43 M, TAESD-sized), 4-channel latents at 1/8 resolution, no attention.

    Measured here (1 thread, another process on the other core): decode 512×512 ≈ 2.3–2.6 s, encode ≈ 0.8 s."""
    return dict(in_channels=3, out_channels=3, latent_channels=LATENT_CHANNELS, layers_per_block=1,
                block_out_channels=(32, 64, 96, 96), norm_num_groups=16,
                down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                mid_block_add_attention=False, sample_size=256)


def small_unet_config(in_channels: int = LATENT_CHANNELS) -> dict:
    """A small attention-free UNet over 1/8-resolution latents: 6.6 M parameters (8-channel ``conv_in``
    after ULDM expansion), ≈0.14 s a step at 64×64 latents on one CPU thread."""
    return dict(sample_size=32, in_channels=in_channels, out_channels=LATENT_CHANNELS, layers_per_block=1,
                block_out_channels=(64, 128, 192), norm_num_groups=16,
                down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "UpBlock2D", "UpBlock2D"), add_attention=False)


def tiny_vae_config() -> dict:
    return dict(in_channels=3, out_channels=3, latent_channels=LATENT_CHANNELS, layers_per_block=1,
                block_out_channels=(8, 8, 8, 8), norm_num_groups=4,
                down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                mid_block_add_attention=False, sample_size=32)


def tiny_unet_config(in_channels: int = LATENT_CHANNELS) -> dict:
    return dict(sample_size=8, in_channels=in_channels, out_channels=LATENT_CHANNELS, layers_per_block=1,
                block_out_channels=(8, 16), norm_num_groups=4, down_block_types=("DownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "UpBlock2D"), add_attention=False)


def scheduler_config() -> dict:
    return dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon",
                clip_sample=False)


class CondUNet(nn.Module):
    """A text-conditioned SD UNet called like an unconditional one, with a fixed null text embedding."""

    def __init__(self, unet: UNet2DConditionModel, null_embedding: torch.Tensor | None = None):
        super().__init__()
        self.unet = unet
        if null_embedding is None:
            null_embedding = torch.zeros(1, 77, int(unet.config.cross_attention_dim))
        self.register_buffer("null_embedding", null_embedding)

    @property
    def config(self):
        return self.unet.config

    def forward(self, sample: torch.Tensor, timestep):
        cond = self.null_embedding.to(sample.dtype).expand(sample.shape[0], -1, -1)
        return self.unet(sample, timestep, encoder_hidden_states=cond)


def unet_eps(unet: nn.Module, sample: torch.Tensor, timestep) -> torch.Tensor:
    """Noise prediction of an unconditional UNet2DModel or a :class:`CondUNet`."""
    return unet(sample, timestep).sample


def expand_conv_in(unet: nn.Module, extra_channels: int) -> nn.Module:
    """Widen ``conv_in`` by ``extra_channels`` inputs; new weights are zero so outputs are unchanged."""
    inner = unet.unet if isinstance(unet, CondUNet) else unet
    old = inner.conv_in
    new = nn.Conv2d(old.in_channels + extra_channels, old.out_channels, old.kernel_size, old.stride,
                    old.padding, bias=old.bias is not None)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, : old.in_channels] = old.weight
        if old.bias is not None:
            new.bias.copy_(old.bias)
    inner.conv_in = new
    inner.register_to_config(in_channels=old.in_channels + extra_channels)
    return unet


def srgb_encode_t(linear: torch.Tensor) -> torch.Tensor:
    x = linear.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8).pow(1 / 2.4) - 0.055)


class RGBLDM(nn.Module):
    """The project's own small RGB latent diffusion model: ``vae`` + unconditional ``unet`` + DDPM schedule.

    ``latent_scale`` (a buffer) is the factor that brings VAE latents to unit variance; it is measured once
    on the first UNet-phase batch (like Stable Diffusion's ``scaling_factor``) and stored with the weights.
    """

    def __init__(self, vae: AutoencoderKL, unet: nn.Module, sched_config: dict | None = None):
        super().__init__()
        self.vae, self.unet = vae, unet
        self.scheduler_config = dict(sched_config or scheduler_config())
        self.noise_scheduler = DDPMScheduler(**self.scheduler_config)
        self.register_buffer("latent_scale", torch.tensor(float(vae.config.scaling_factor)))
        self.register_buffer("latent_scale_set", torch.tensor(False))

    @classmethod
    def create(cls, tiny: bool = False) -> RGBLDM:
        vae = AutoencoderKL(**(tiny_vae_config() if tiny else small_vae_config()))
        unet = UNet2DModel(**(tiny_unet_config() if tiny else small_unet_config()))
        return cls(vae, unet)

    def encode_latents(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [−1, 1] → scaled latent means (no gradient into the VAE)."""
        with torch.no_grad():
            z = self.vae.encode(images).latent_dist.mean
            if not bool(self.latent_scale_set):
                self.latent_scale.fill_(1.0 / float(z.std().clamp_min(1e-3)))
                self.latent_scale_set.fill_(True)
        return z * self.latent_scale

    def decode_latents(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z / self.latent_scale).sample


__all__ = ["RGBLDM", "CondUNet", "expand_conv_in", "scheduler_config",
           "small_unet_config", "small_vae_config", "srgb_encode_t", "tiny_unet_config", "tiny_vae_config",
           "unet_eps", "LATENT_CHANNELS"]
