"""CodeRefiner: an RGB-guided refinement of the code image after the SpaAE decoder.

The SpaAE works at 1/8 resolution with 4 latent channels, so decoding a code image ``u`` loses detail that the
RGB photo still has at full resolution (edges, fine texture). The refiner sees the decoded ``û`` and the photo
``y`` (sRGB-encoded to [−1, 1], like the SpaAE's RGB input) and predicts a residual: ``u = clip(û + R([û, y]))``.
Its last layer starts at zero, so an untrained refiner is the identity. It is trained on SpaAE round trips of
stage-1 codes (VAE frozen), so the diffusion UNet, which works on the latents, needs no retraining. Whatever it
outputs, the SpeUAE decoder still reproduces the input RGB exactly (``x = x_obs(y) + c Nᵀ``).
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from hsi_studio.core.ml.models.rgb_base import srgb_encode_t


class CodeRefiner(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(self, hidden: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 1), code_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = code_channels + 3
        for d in dilations:
            layers += [nn.Conv2d(c_in, hidden, 3, padding=d, dilation=d, padding_mode="replicate"), nn.SiLU()]
            c_in = hidden
        out = nn.Conv2d(c_in, code_channels, 3, padding=1, padding_mode="replicate")
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        layers.append(out)
        self.net = nn.Sequential(*layers)

    def forward(self, u_hat: torch.Tensor, y_linear: torch.Tensor) -> torch.Tensor:
        guide = srgb_encode_t(y_linear) * 2 - 1
        return (u_hat + self.net(torch.cat([u_hat, guide.to(u_hat.dtype)], 1))).clamp(-1, 1)


__all__ = ["CodeRefiner"]
