"""CodeHead — a latent-resolution code decoder distilled from the SpaAE decoder (issue 21: the default's speed).

A region-level SpeUAE (``code_pool = p``, the shipped default's 8) only ever decodes codes averaged over p×p
blocks and bilinearly interpolated back (:meth:`.speuae.SpeUAE.smooth`), and the SpaAE's latents are at 1/p
resolution too. Decoding a sampled latent with the full-resolution SpaAE decoder and then throwing its detail
away is most of a corrective reconstruction's time (``benchmarks/default_parts.py``). The head maps latents
``z`` (N×4×h×w, scaled) straight to the block codes (N×3×h×w): a few 3×3 convolutions at latent resolution,
trained to match ``avg_pool_p(SpaAE.decode(z))`` on the latents the model meets — the spatial mean's code latents
and few-step samples given training photos (:func:`hsi_studio.core.ml.training.losses.code_head_loss`).

``decode_pool = r`` also lets a corrective ULDM decode its *correction* ``D(y, u_k) − D(y, ū)`` at 1/r
resolution (the photo averaged over r×r blocks, the result bilinearly interpolated back and multiplied by the
full-resolution intensity): the correction lives in the null space of the camera, so every result still
reprojects exactly to the photo, and a zero correction still returns the mean exactly (:meth:`.uldm.ULDM.
spectra_from_latents`). ``decode_pool = 1`` decodes at full resolution.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from hsi_studio.core.errors import ShapeError


class CodeHead(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(self, latent_channels: int = 4, code_channels: int = 3, hidden: int = 96, layers: int = 3,
                 pool: int = 8, decode_pool: int = 4):
        super().__init__()
        for key, v in (("pool", pool), ("decode_pool", decode_pool)):
            if int(v) < 1 or int(v) & (int(v) - 1):
                raise ShapeError(f"{key} {v}; expected a power of two ≥ 1")
        if int(decode_pool) > int(pool):
            raise ShapeError(f"decode_pool {decode_pool} is coarser than the code blocks ({pool}); expected ≤ pool")
        mods: list[nn.Module] = []
        c = int(latent_channels)
        for _ in range(max(int(layers), 1)):
            mods += [nn.Conv2d(c, int(hidden), 3, padding=1, padding_mode="replicate"), nn.GELU()]
            c = int(hidden)
        mods.append(nn.Conv2d(c, int(code_channels), 1))
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents N×C×h×w → block codes N×3×h×w (unclipped)."""
        if z.ndim != 4 or z.shape[1] != self.config.latent_channels:
            raise ShapeError(f"latents have shape {tuple(z.shape)}; expected N×{self.config.latent_channels}×h×w")
        return self.net(z)

    def codes(self, z: torch.Tensor, factor: int) -> torch.Tensor:
        """Block codes interpolated ``factor``× (bilinear, as :meth:`SpeUAE.smooth` does) and clipped to [−1, 1]."""
        c = self(z)
        if factor > 1:
            c = nn.functional.interpolate(c, scale_factor=factor, mode="bilinear", align_corners=False)
        return c.clamp(-1, 1)


__all__ = ["CodeHead"]
