"""The fast model (issue 21): a residual spatial CNN over the per-pixel MLP prior — one deterministic pass.

:class:`SpatialResidual` is a 3-level U-Net (``width``, 2×``width``, 4×``width`` channels; two 3×3
convolutions per level, GELU, average-pool down, nearest up, skip concatenation). Its input per pixel is the
chromaticity ``y / Σy`` (3), ``log Σy`` (1) and the prior's spectrum divided by ``Σy`` (B); its output (B
channels, the last convolution zero-initialised) times ``Σy`` is a residual added to the prior — the spectral
scale follows the exposure, and an untrained (zero) residual returns the prior exactly.

The residual is kept to the response's null space (``r N Nᵀ``), so the sum stays RGB-consistent; the
pipeline (:class:`hsi_studio.core.pipelines.spatial.SpatialPipeline`) then removes negative values with the
same active-set projection as the per-pixel baselines (:func:`.regression.nonnegative_consistent`).

:class:`FastModel` pairs the prior (a :class:`~.regression.PixelRegression`, embedded in the bundle so it is
self-contained) with the CNN; it is saved as a ``SpatialResidual`` bundle by :func:`.bundle.save_fast`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from ..errors import InputError
from ..spectral import CameraResponse
from .regression import PixelRegression, nonnegative_consistent
from .speuae import register_split

EPS = 1e-4
#: the U-Net halves the size twice: inputs are padded to a multiple of this
MULTIPLE = 4


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GELU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.GELU())


class SpatialResidual(ModelMixin, ConfigMixin):
    """The residual U-Net (forward pass only); ``response`` fixes the band count and the null space."""

    config_name = "config.json"

    @register_to_config
    def __init__(self, wavelengths: list[float], response: list[list[float]], response_name: str = "custom",
                 width: int = 32):
        super().__init__()
        if not 4 <= int(width) <= 512:
            raise InputError(f"width {width}; expected 4–512 channels")
        b = register_split(self, response)
        w = int(width)
        self.enc1 = _block(3 + 1 + b, w)
        self.enc2 = _block(w, 2 * w)
        self.mid = _block(2 * w, 4 * w)
        self.dec2 = _block(4 * w + 2 * w, 2 * w)
        self.dec1 = _block(2 * w + w, w)
        self.out = nn.Conv2d(w, b, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def bands(self) -> int:
        return int(self.S.shape[0])

    def features(self, y: torch.Tensor, prior: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3+1+B, H, W) inputs and Σy (N, 1, H, W) from linear RGB (N, 3, H, W) and the prior (N, B, H, W)."""
        total = y.sum(dim=1, keepdim=True).clamp_min(EPS)
        return torch.cat([y / total, torch.log(total), prior / total], dim=1), total

    def forward(self, y: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """Spectra (N, B, H, W): the prior plus the null-space residual; H and W must be multiples of 4."""
        feats, total = self.features(y, prior)
        e1 = self.enc1(feats)
        e2 = self.enc2(F.avg_pool2d(e1, 2))
        m = self.mid(F.avg_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([F.interpolate(m, scale_factor=2.0, mode="nearest"), e2], dim=1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0, mode="nearest"), e1], dim=1))
        r = self.out(d1) * total
        r = torch.einsum("nbhw,bc->nchw", r, self.N @ self.N.T)  # the null-space part: RGB stays exact
        return prior + r


class FastModel(nn.Module):
    """The per-pixel prior and the spatial residual CNN, as one model (the ``SpatialResidual`` bundle)."""

    def __init__(self, prior: PixelRegression, spatial: SpatialResidual):
        super().__init__()
        if prior.S.shape != spatial.S.shape or not torch.allclose(prior.S, spatial.S, atol=1e-6):
            raise InputError("the prior and the spatial CNN were made for different camera responses; expected "
                             "the same response")
        self.prior = prior
        self.spatial = spatial

    @classmethod
    def from_prior(cls, prior: PixelRegression, width: int = 32) -> FastModel:
        r = prior.response
        return cls(prior, SpatialResidual(wavelengths=r.wavelengths.tolist(), response=r.matrix.tolist(),
                                          response_name=r.name, width=int(width)))

    # -- description (the same as the prior's, so --reflectance, relight and the scorer treat it alike) -------
    @property
    def response(self) -> CameraResponse:
        return self.prior.response

    @property
    def wavelengths(self) -> np.ndarray:
        return self.prior.wavelengths

    @property
    def S(self) -> torch.Tensor:  # noqa: N802 - the split's name everywhere in the project
        return self.spatial.S

    @property
    def label(self) -> str:
        return f"fast: spatial residual U-Net ({self.spatial.config.width} ch) over a {self.prior.label}"

    def spectral_info(self) -> dict:
        info = self.prior.spectral_info()
        info["rgb"]["regression"] = (self.label + "; exposure-equivariant residual; RGB-consistent (x_obs(y) kept); "
                                     "never negative")
        return info

    # -- prediction ----------------------------------------------------------------------------------------
    def prior_of(self, y: torch.Tensor) -> torch.Tensor:
        """The prior (N, B, H, W) from linear RGB (N, 3, H, W): the per-pixel baseline, RGB-consistent and
        never negative (what ``--model mlp`` returns)."""
        n, _, h, w = y.shape
        flat = y.permute(0, 2, 3, 1).reshape(-1, 3)
        x = nonnegative_consistent(self.prior(flat), flat, self.prior.pinv, self.prior.S)
        return x.reshape(n, h, w, -1).permute(0, 3, 1, 2)

    def forward(self, y: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        """RGB-consistent spectra (N, B, H, W) from linear RGB (N, 3, H, W) of any size (padded by reflection to
        a multiple of 4 and cropped back); negative values are left to the caller (the pipeline removes them)."""
        if prior is None:
            prior = self.prior_of(y)
        h, w = y.shape[-2:]
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        if ph or pw:
            mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
            y = F.pad(y, (0, pw, 0, ph), mode=mode)
            prior = F.pad(prior, (0, pw, 0, ph), mode=mode)
        return self.spatial(y, prior)[..., :h, :w]


__all__ = ["FastModel", "SpatialResidual", "MULTIPLE"]
