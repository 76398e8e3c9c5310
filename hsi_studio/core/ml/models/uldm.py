"""ULDM — the unobservable-feature latent diffusion model (docs/design.md §2.3): the container of its components.

The SpaAE (the RGB base's ``AutoencoderKL``) encodes the RGB condition ``y → z_y`` and the SpeUAE code image
``u → z_u``; the RGB-pretrained UNet, with ``conv_in`` widened for ``[z_t ‖ z_y]``, learns to predict the
noise added to ``z_u``; an optional :class:`~.refiner.CodeRefiner` restores detail after the SpaAE decoder.
Sampling and reconstruction: :class:`hsi_studio.core.ml.pipelines.uldm_pipeline.ULDMPipeline`; training losses:
:mod:`hsi_studio.core.ml.training.losses`; saving and loading: :mod:`.bundle`.

Choices:

- **RGB condition**: the linear RGB is clipped to [0, 1], sRGB-encoded and scaled to [−1, 1] before the
  VAE — the distribution an RGB-pretrained VAE (ours: sRGB photo crops; Stable Diffusion: sRGB images) knows.
  The code image ``u`` is already in [−1, 1] and is encoded as is. Latents are latent means × ``latent_scale``
  (the VAE's ``scaling_factor``). The SpeUAE decoder sees the unclipped linear RGB.
- **Prediction type**: the base's scheduler config decides (ours and SD 1.x: ``epsilon``); ``v_prediction``
  and ``sample`` bases are trained with the matching target, and the solvers read the same config.
- **Corrective diffusion** (issue 21, optional ``mean``): a deterministic full-resolution spatial predictor (a
  :class:`~.spatial.FastModel`: a residual U-Net over a per-pixel prior) carries the mean spectrum ``x̄``; its
  code ``ū = E(x̄)`` is encoded by the SpaAE like any code image (``z_ū``) and conditions the UNet beside the RGB
  latents (``conv_in`` widened again, zero-initialised), and a sampled code latent ``z`` becomes the spectrum
  ``x̄ + D(y, dec(z)) − D(y, dec(z_ū))`` — the diffusion models only what the mean misses, and a zero correction
  (``z = z_ū``) returns the mean exactly. As CorrDiff (Mardani et al. 2024) does for km-scale downscaling.

References: the ULDM — K. Deng, J. Nie and Y. Qian, "RGB Pre-Training Enhanced Unobservable Feature Latent Diffusion
Model for Spectral Reconstruction", arXiv:2507.12967 (2025). DOI: 10.48550/arXiv.2507.12967.
The latent diffusion it adapts — R. Rombach, A. Blattmann, D. Lorenz, P. Esser and B. Ommer, "High-Resolution
Image Synthesis with Latent Diffusion Models", CVPR 2022. DOI: 10.1109/CVPR52688.2022.01042.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import DDPMScheduler
from torch import nn

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.models.code_head import CodeHead
from hsi_studio.core.ml.models.refiner import CodeRefiner
from hsi_studio.core.ml.models.regression import nonnegative_consistent
from hsi_studio.core.ml.models.rgb_base import RGBLDM, expand_conv_in, srgb_encode_t
from hsi_studio.core.ml.models.speuae import SpeUAE


class ULDM(nn.Module):
    """SpeUAE + SpaAE (``vae``) + the adapted UNet + the DDPM noise schedule it was trained with."""

    def __init__(self, speuae: SpeUAE, vae, unet: nn.Module, sched_config: dict, latent_scale: float,
                 refiner: nn.Module | None = None, mean: nn.Module | None = None,
                 code_head: nn.Module | None = None):
        super().__init__()
        self.speuae, self.vae, self.unet = speuae, vae, unet
        self.refiner = refiner  # optional CodeRefiner: RGB-guided detail after the SpaAE decoder
        self.code_head = code_head  # optional CodeHead: latents → block codes without the SpaAE decoder
        self.mean = mean  # optional FastModel: the deterministic spatial mean of corrective diffusion
        #: σ of K samples × this = the calibrated σ (:mod:`hsi_studio.core.analysis.uncertainty`; spectral.json records it)
        self.sigma_scale = 1.0
        #: a corrective model's mean of K samples is x̄ + this × (mean − x̄) (core.uncertainty; spectral.json)
        self.correction_gain = 1.0
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

    @property
    def vae_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def fast_decoding(self) -> bool:
        """Whether codes come from the :class:`CodeHead` (the model has one and no refiner)."""
        return self.code_head is not None and self.refiner is None

    def codes_from_latents(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scaled latents → code image u, refined with the full-resolution RGB ``y`` when there is a refiner
        (from the latent-resolution :class:`CodeHead` when the model has one and no refiner)."""
        if self.fast_decoding:
            return self.code_head.codes(z, self.vae_factor)[..., :y.shape[-2], :y.shape[-1]]
        u = self.decode_codes(z)
        return self.refiner(u, y.expand(u.shape[0], -1, -1, -1)) if self.refiner is not None else u

    # -- corrective diffusion ----------------------------------------------------------------------------
    @property
    def corrective(self) -> bool:
        return self.mean is not None

    def add_mean(self, mean: nn.Module) -> ULDM:
        """Make this a corrective ULDM around ``mean`` (a :class:`~.spatial.FastModel` for the same response):
        the UNet's ``conv_in`` takes the mean's code latents too (new weights zero, so it starts where it was)."""
        if self.mean is not None:
            raise InputError("this ULDM already has a spatial mean; expected a plain ULDM to make corrective")
        s_mean = getattr(mean, "S", None)
        if s_mean is None or s_mean.shape != self.speuae.S.shape or not torch.allclose(s_mean, self.speuae.S,
                                                                                      atol=1e-5):
            raise InputError("the spatial mean was trained for another camera response than this ULDM; expected "
                             "the same response (CIE 1964 10° → linear sRGB for the shipped models)")
        expand_conv_in(self.unet, int(self.vae.config.latent_channels))
        self.mean = mean.to(self.latent_scale.device)
        for p in self.mean.parameters():
            p.requires_grad_(False)
        return self

    def mean_spectra(self, y: torch.Tensor) -> torch.Tensor:
        """The spatial mean x̄ (N×B×H×W): RGB-consistent and never negative (what ``--model fast`` returns)."""
        mean = self.mean
        x = mean.infer(y)  # the fast model's inference path: the same values to float32 rounding, quicker
        n, b, h, w = x.shape
        flat = nonnegative_consistent(x.permute(0, 2, 3, 1).reshape(-1, b), y.permute(0, 2, 3, 1).reshape(-1, 3),
                                      mean.prior.pinv, mean.S)
        return flat.reshape(n, h, w, b).permute(0, 3, 1, 2)

    def condition(self, y: torch.Tensor, x_mean: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """The UNet's condition for RGB ``y``: ``z_y``, and for a corrective model ``[z_y ‖ z_ū]``; with what
        decoding needs (``x_mean``, the mean's code latents ``z_mean`` and its decoded spectrum ``x_dec``)."""
        z_y = self.rgb_latents(y)
        if self.mean is None:
            return z_y, {}
        if x_mean is None:
            x_mean = self.mean_spectra(y)
        z_mean = self.code_latents(self.speuae.encode(x_mean))
        return torch.cat([z_y, z_mean], 1), {"x_mean": x_mean, "z_mean": z_mean}

    def spectra_from_latents(self, z: torch.Tensor, y: torch.Tensor, extra: dict) -> torch.Tensor:
        """Sampled code latents → spectra N×B×H×W (reprojecting to ``y``): ``D(y, dec(z))``, or for a corrective
        model ``x̄ + D(y, dec(z)) − D(y, dec(z_ū))`` (the mean's own SpaAE round trip cancels exactly). With a
        code head, a corrective model decodes the correction at the head's ``decode_pool`` resolution
        (:mod:`.code_head`); ``z`` may hold several samples (the batch), ``y`` one photo or as many."""
        if self.mean is not None and self.fast_decoding:
            return self._fast_correction(z, y, extra)
        x = self.speuae.decode(y.expand(z.shape[0], -1, -1, -1), self.codes_from_latents(z, y))
        if self.mean is None:
            return x
        if "x_base" not in extra:
            extra["x_base"] = self.speuae.decode(y, self.codes_from_latents(extra["z_mean"], y))
        return extra["x_mean"] + (x - extra["x_base"])

    def _null_coords(self, z: torch.Tensor, y_low: torch.Tensor, factor: int) -> torch.Tensor:
        """The SpeUAE decoder's normalised null-space coordinates for latents ``z`` at ``y_low``'s resolution."""
        sp = self.speuae
        u = self.code_head.codes(z, factor)[..., :y_low.shape[-2], :y_low.shape[-1]]
        y_low = y_low.expand(u.shape[0], -1, -1, -1)
        return sp.decoder(torch.cat([y_low / sp.intensity(y_low), u], 1))

    def _fast_correction(self, z: torch.Tensor, y: torch.Tensor, extra: dict) -> torch.Tensor:
        r = int(self.code_head.config.decode_pool)
        f = self.vae_factor
        h, w = y.shape[-2:]
        if "y_low" not in extra:  # the photo averaged over r×r blocks (sizes here are multiples of f ≥ r)
            extra["y_low"] = nn.functional.avg_pool2d(y, r) if r > 1 else y
            extra["c_base"] = self._null_coords(extra["z_mean"], extra["y_low"], f // r)
        dc = self._null_coords(z, extra["y_low"], f // r) - extra["c_base"]
        if r > 1:
            dc = nn.functional.interpolate(dc, scale_factor=r, mode="bilinear", align_corners=False)[..., :h, :w]
        dc = dc * self.speuae.intensity(y)
        return extra["x_mean"] + torch.einsum("nkhw,bk->nbhw", dc, self.speuae.N)

    def add_code_head(self, **config) -> nn.Module:
        """A new (untrained) :class:`CodeHead` for this model's SpaAE (``pool`` = its downsampling factor)."""
        config = {"latent_channels": int(self.vae.config.latent_channels),
                  "code_channels": int(self.vae.config.out_channels), "pool": self.vae_factor, **config}
        self.code_head = CodeHead(**config).to(self.latent_scale.device)
        return self.code_head

    def add_refiner(self, **config) -> nn.Module:
        self.refiner = CodeRefiner(**config).to(self.latent_scale.device)
        return self.refiner


__all__ = ["ULDM"]
