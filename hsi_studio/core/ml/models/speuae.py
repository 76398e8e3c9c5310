"""SpeUAE — the spectral unobservable-feature autoencoder.

Encoder ``E(x) → u ∈ [−1, 1]³`` per pixel (1×1 convolutions plus one 3×3 layer of spatial context);
decoder ``D(y, u) → ĉ ∈ R^(B−3)`` (null-space coordinates) and ``x̂ = x_obs(y) + ĉ Nᵀ``, so every
reconstruction reprojects exactly to its RGB ``y``.

Exposure: spectra scale linearly with exposure and a photo's absolute scale is unknown, so the model is
exposure-equivariant by construction — the per-pixel intensity ``I = mean(y)`` (clamped at 1e-4) divides the
spectrum (encoder) and the RGB (decoder), and ``ĉ`` is multiplied back by ``I``: scaling the input scales the
output, and ``u`` depends on the spectral shape only. A config stores the camera response and wavelengths the
model was trained with, and ``S``, ``pinv`` and ``N`` are float32 buffers built from it, so a saved model is
self-describing. Layout: N×C×H×W tensors (B spectral channels, 3 RGB / code channels). The training loss is
:func:`hsi_studio.core.ml.training.losses.speuae_loss`.

Reference: the ULDM's first stage — K. Deng, J. Nie and Y. Qian, "RGB Pre-Training Enhanced Unobservable Feature Latent Diffusion
Model for Spectral Reconstruction", arXiv:2507.12967 (2025). DOI: 10.48550/arXiv.2507.12967.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from hsi_studio.core.errors import ShapeError
from hsi_studio.core.spectral.responses import CameraResponse, ObservableSplit

EPS = 1e-4


def register_split(module: nn.Module, response) -> int:
    """Register the response's observable split as float32 buffers ``S`` (B×3), ``pinv`` (3×B) and ``N``
    (B×(B−3)) on ``module`` — a saved model is self-describing; returns the band count B."""
    split = ObservableSplit(np.asarray(response, dtype=np.float64))
    for name in ("S", "pinv", "N"):
        module.register_buffer(name, torch.tensor(getattr(split, name), dtype=torch.float32))
    return int(split.S.shape[0])


def _mlp(c_in: int, hidden: int, c_out: int, layers: int, spatial: bool) -> nn.Sequential:
    mods: list[nn.Module] = [nn.Conv2d(c_in, hidden, 1), nn.GELU()]
    for i in range(max(layers - 1, 0)):
        k = 3 if (spatial and i == 0) else 1
        mods += [nn.Conv2d(hidden, hidden, k, padding=k // 2, padding_mode="replicate"), nn.GELU()]
    mods.append(nn.Conv2d(hidden, c_out, 1))
    return nn.Sequential(*mods)


class SpeUAE(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(self, wavelengths: list[float], response: list[list[float]], response_name: str = "custom",
                 hidden: int = 64, layers: int = 3, spatial: bool = True, code_pool: int = 0,
                 prior_weight: float = 0.0):
        super().__init__()
        if int(code_pool) < 0 or int(code_pool) & (int(code_pool) - 1):
            raise ShapeError(f"code_pool {code_pool}; expected 0 (per-pixel codes) or a power of two")
        b = register_split(self, response)
        self.encoder = _mlp(b, hidden, 3, layers, spatial)
        self.decoder = _mlp(3 + 3, hidden, b - 3, layers, spatial)

    @classmethod
    def from_response(cls, response: CameraResponse, hidden: int = 64, layers: int = 3,
                      spatial: bool = True, code_pool: int = 0, prior_weight: float = 0.0) -> SpeUAE:
        return cls(wavelengths=response.wavelengths.tolist(), response=response.matrix.tolist(),
                   response_name=response.name, hidden=hidden, layers=layers, spatial=spatial,
                   code_pool=int(code_pool), prior_weight=float(prior_weight))

    @property
    def response(self) -> CameraResponse:
        return CameraResponse(self.config.response_name, np.asarray(self.config.wavelengths),
                              np.asarray(self.config.response))

    @property
    def bands(self) -> int:
        return int(self.S.shape[0])

    def spectral_info(self) -> dict:
        """What a bundle's ``spectral.json`` records: camera response, wavelengths, RGB normalisation."""
        resp = self.response
        return {"response": resp.to_dict(), "wavelengths": resp.wavelengths.tolist(),
                "rgb": {"input": "linear RGB through the response (photos are sRGB-decoded first)",
                        "speuae": f"per-pixel intensity I = mean(y) (clamped at {EPS:g}) divides x and y; "
                                  "ĉ is multiplied back by I"}}

    # -- pieces ------------------------------------------------------------------------------------------
    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Spectra N×B×H×W → linear RGB N×3×H×W through the camera response."""
        return torch.einsum("nbhw,bc->nchw", x, self.S)

    @staticmethod
    def intensity(y: torch.Tensor) -> torch.Tensor:
        return y.mean(dim=1, keepdim=True).clamp_min(EPS)

    def _check(self, t: torch.Tensor, channels: int, what: str) -> None:
        if t.ndim != 4 or t.shape[1] != channels:
            raise ShapeError(f"{what} has shape {tuple(t.shape)}; expected N×{channels}×H×W")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """u ∈ [−1, 1]³ per pixel (N×3×H×W) from spectra N×B×H×W."""
        self._check(x, self.bands, "spectra")
        inten = self.intensity(self.project(x))
        return self.smooth(torch.tanh(self.encoder(x / inten)))

    # ``prior_weight > 0`` (training only): the decoder is also trained with u = 0 and the codes are kept
    # centred, so D(y, 0) is a per-pixel prior and a code says how a region departs from it — an uncertain
    # code (the mean of many samples) falls back towards the prior instead of an arbitrary spectrum.

    def smooth(self, u: torch.Tensor) -> torch.Tensor:
        """With ``code_pool = p > 1``: the code image averaged over p×p blocks and bilinearly interpolated back
        to full size — a region-level code that a 1/8-resolution SpaAE round-trips almost losslessly, while
        the per-pixel detail comes from the RGB in the decoder. ``code_pool = 0``: u unchanged."""
        p = int(getattr(self.config, "code_pool", 0) or 0)
        if p <= 1:
            return u
        h, w = u.shape[-2:]
        ph, pw = (-h) % p, (-w) % p
        v = nn.functional.pad(u, (0, pw, 0, ph), mode="replicate") if ph or pw else u
        v = nn.functional.avg_pool2d(v, p)
        v = nn.functional.interpolate(v, scale_factor=p, mode="bilinear", align_corners=False)
        return v[..., :h, :w]

    def decode(self, y: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Spectra N×B×H×W from linear RGB y and codes u; reprojects exactly to y."""
        self._check(y, 3, "RGB")
        self._check(u, 3, "code image u")
        inten = self.intensity(y)
        c = self.decoder(torch.cat([y / inten, u], dim=1)) * inten
        x_obs = torch.einsum("nchw,cb->nbhw", y, self.pinv)
        return x_obs + torch.einsum("nkhw,bk->nbhw", c, self.N)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        y = self.project(x) if y is None else y
        u = self.encode(x)
        return self.decode(y, u), u


__all__ = ["SpeUAE"]
