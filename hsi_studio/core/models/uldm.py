"""ULDM — the unobservable-feature latent diffusion model (DESIGN §2.3): the container of its components.

The SpaAE (the RGB base's ``AutoencoderKL``) encodes the RGB condition ``y → z_y`` and the SpeUAE code image
``u → z_u``; the RGB-pretrained UNet, with ``conv_in`` widened for ``[z_t ‖ z_y]``, learns to predict the
noise added to ``z_u``; an optional :class:`~.refiner.CodeRefiner` restores detail after the SpaAE decoder.
Sampling and reconstruction: :class:`hsi_studio.core.pipelines.uldm.ULDMPipeline`; training losses:
:mod:`hsi_studio.core.losses`; saving and loading: :mod:`.bundle`.

Choices:

- **RGB condition**: the linear RGB is clipped to [0, 1], sRGB-encoded and scaled to [−1, 1] before the
  VAE — the distribution an RGB-pretrained VAE (ours: sRGB photo crops; Stable Diffusion: sRGB images) knows.
  The code image ``u`` is already in [−1, 1] and is encoded as is. Latents are latent means × ``latent_scale``
  (the VAE's ``scaling_factor``). The SpeUAE decoder sees the unclipped linear RGB.
- **Prediction type**: the base's scheduler config decides (ours and SD 1.x: ``epsilon``); ``v_prediction``
  and ``sample`` bases are trained with the matching target, and the solvers read the same config.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import DDPMScheduler
from torch import nn

from .base import RGBLDM, expand_conv_in, srgb_encode_t
from .refiner import CodeRefiner
from .speuae import SpeUAE


class ULDM(nn.Module):
    """SpeUAE + SpaAE (``vae``) + the adapted UNet + the DDPM noise schedule it was trained with."""

    def __init__(self, speuae: SpeUAE, vae, unet: nn.Module, sched_config: dict, latent_scale: float,
                 refiner: nn.Module | None = None):
        super().__init__()
        self.speuae, self.vae, self.unet = speuae, vae, unet
        self.refiner = refiner  # optional CodeRefiner: RGB-guided detail after the SpaAE decoder
        self.scheduler_config = dict(sched_config)
        self.noise_scheduler = DDPMScheduler(**self.scheduler_config)
        self.register_buffer("latent_scale", torch.tensor(float(latent_scale)))

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, speuae: SpeUAE, base: RGBLDM) -> ULDM:
        """Adapt an RGB LDM: widen its UNet's ``conv_in`` for the RGB latents (zero-initialised), and train it
        with v-prediction: with few trailing solver steps the first step sits at ᾱ ≈ 0, where turning an
        ε-prediction into a clean-latent estimate divides by √ᾱ and diverges; v-prediction stays stable."""
        unet = expand_conv_in(base.unet, int(base.vae.config.latent_channels))
        sched = {**base.scheduler_config, "prediction_type": "v_prediction"}
        return cls(speuae, base.vae, unet, sched, float(base.latent_scale))

    @classmethod
    def from_base(cls, base: RGBLDM, speuae: SpeUAE) -> ULDM:
        """Adapt the :class:`RGBLDM` ``base`` (its UNet in place). A folder is not accepted: the caller loads it
        first with :func:`.bundle.load_base` (an ``rgb-pretrain`` bundle or a local Stable Diffusion checkpoint)."""
        return cls.from_parts(speuae, base)

    # -- description -------------------------------------------------------------------------------------
    @property
    def response(self):
        return self.speuae.response

    @property
    def wavelengths(self) -> np.ndarray:
        return np.asarray(self.speuae.config.wavelengths, dtype=np.float64)

    @property
    def prediction_type(self) -> str:
        return str(self.noise_scheduler.config.prediction_type)

    @property
    def pad_multiple(self) -> int:
        """Input sizes must be multiples of this: the VAE's and the UNet's downsampling factors."""
        inner = getattr(self.unet, "unet", self.unet)
        vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return vae_factor * 2 ** (len(inner.config.block_out_channels) - 1)

    # -- latents -----------------------------------------------------------------------------------------
    def rgb_latents(self, y: torch.Tensor) -> torch.Tensor:
        """Linear RGB N×3×H×W → scaled latents of the sRGB-encoded image in [−1, 1]."""
        return self.vae.encode(srgb_encode_t(y) * 2 - 1).latent_dist.mean * self.latent_scale

    def code_latents(self, u: torch.Tensor) -> torch.Tensor:
        """Code image u ∈ [−1, 1] (N×3×H×W) → scaled latents."""
        return self.vae.encode(u).latent_dist.mean * self.latent_scale

    def decode_codes(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents → code image u, clipped to [−1, 1]."""
        return self.vae.decode(z / self.latent_scale).sample.clamp(-1, 1)

    def codes_from_latents(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scaled latents → code image u, refined with the full-resolution RGB ``y`` when there is a refiner."""
        u = self.decode_codes(z)
        return self.refiner(u, y) if self.refiner is not None else u

    def add_refiner(self, **config) -> nn.Module:
        self.refiner = CodeRefiner(**config).to(self.latent_scale.device)
        return self.refiner


__all__ = ["ULDM"]
