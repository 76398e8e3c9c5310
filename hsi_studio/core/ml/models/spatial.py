"""The fast model (issue 21): a residual spatial CNN over the per-pixel MLP prior — one deterministic pass.

:class:`SpatialResidual` is a 3-level U-Net (``width``, 2×``width``, 4×``width`` channels; two 3×3
convolutions per level, GELU, average-pool down, nearest up, skip concatenation). Its input per pixel is the
chromaticity ``y / Σy`` (3), ``log Σy`` (1) and the prior's spectrum divided by ``Σy`` (B); its output (B
channels, the last convolution zero-initialised) times ``Σy`` is a residual added to the prior — the spectral
scale follows the exposure, and an untrained (zero) residual returns the prior exactly.

The residual is kept to the response's null space (``r N Nᵀ``), so the sum stays RGB-consistent; the
pipeline (:class:`hsi_studio.core.ml.pipelines.spatial_pipeline.SpatialPipeline`) then removes negative values with the
same active-set projection as the per-pixel baselines (:func:`.regression.nonnegative_consistent`).

:class:`FastModel` pairs the prior (a :class:`~.regression.PixelRegression`, embedded in the bundle so it is
self-contained) with the CNN; it is saved as a ``SpatialResidual`` bundle by :func:`.bundle.save_fast`.

Reference: the U-Net — O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015, LNCS 9351, 234–241. DOI: 10.1007/978-3-319-24574-4_28.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.models.regression import PixelRegression, fused_ok, nonnegative_consistent
from hsi_studio.core.ml.models.speuae import register_split
from hsi_studio.core.spectral.responses import CameraResponse

EPS = 1e-4
#: the U-Net halves the size twice: inputs are padded to a multiple of this
MULTIPLE = 4


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GELU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.GELU())


#: along one axis, the taps of a 3×3 convolution over a nearest ×2 upsampling, as the four taps of a stride-2
#: transposed convolution over the small image (row k of the 4-tap kernel = this row · the 3 taps)
_UP_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))


def _upsampled_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv2d(interpolate(x, ×2, nearest), weight, padding=1)`` (no bias) without making the upsampled
    image: each output pixel's 3×3 window over the upsampled image reads 2×2 pixels of ``x``, so it is a
    stride-2 transposed convolution with a 4×4 kernel of summed taps — 4/9 of the multiply-adds."""
    taps = torch.tensor(_UP_TAPS, dtype=weight.dtype, device=weight.device)
    kernel = torch.einsum("kt,lu,oitu->iokl", taps, taps, weight)          # (C_in, C_out, 4, 4)
    return F.conv_transpose2d(x, kernel, stride=2, padding=1)


def _conv_gelu(conv: nn.Conv2d, act: nn.GELU, x: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
    """``act(conv(x) + other)`` (``other`` optional) — one oneDNN call (the GELU, or the sum, as the
    convolution's post-op, float32 rounding apart) where :func:`~.regression.fused_ok`, else eager ops."""
    return _conv_weight_gelu(x, conv.weight, conv.bias, act, other)


def _conv_weight_gelu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, act: nn.GELU,
                      other: torch.Tensor | None = None) -> torch.Tensor:
    if fused_ok(x):
        weight = weight.contiguous()
        if other is None:
            return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, [1, 1], [1, 1], [1, 1], 1, "gelu", [],
                                                           act.approximate)
        return act(torch.ops.mkldnn._convolution_pointwise.binary(   # (oneDNN fuses no GELU after an add)
            x, other.contiguous(memory_format=torch.channels_last), weight, bias, [1, 1], [1, 1], [1, 1], 1,
            "add", None, None, [], None))
    out = F.conv2d(x, weight, bias, padding=1)
    return act(out if other is None else out.add_(other))


def _block_infer(block: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """One U-Net level (conv, GELU, conv, GELU) for inference."""
    return _conv_gelu(block[2], block[3], _conv_gelu(block[0], block[1], x))


def _skip_block_infer(block: nn.Sequential, small: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """A decoder level, ``block(cat([interpolate(small, ×2, nearest), skip]))``, without the upsampled copy or
    the concatenation: the first convolution's weight is split in two, the half over the upsampled input is
    applied to ``small`` directly (:func:`_upsampled_conv`) and added to the other half's output."""
    conv = block[0]
    c = small.shape[1]
    up = _upsampled_conv(small, conv.weight[:, :c])
    first = _conv_weight_gelu(skip, conv.weight[:, c:], conv.bias, block[1], up)
    return _conv_gelu(block[2], block[3], first)


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

    def infer(self, y: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` for inference — the same spectra to float32 rounding, computed faster: channels-last
        activations (what oneDNN's convolutions want; the pipeline's pixel-major arrays are that layout
        already), each convolution and its GELU as one oneDNN call on a CPU, each decoder level's upsample +
        concatenation + convolution done without the upsampled copy or the concatenation
        (:func:`_skip_block_infer`: 4/9 of the multiply-adds on the upsampled half), and the null-space
        projection folded into the last 1×1 convolution, done as a matrix product over pixel-major
        activations. Returns a channels-last (N, B, H, W) tensor (``permute(0, 2, 3, 1)`` of it is pixel-major
        without a copy). :meth:`forward` (used for training) is unchanged."""
        n, _, h, w = y.shape
        bands = self.bands
        yp = y.permute(0, 2, 3, 1)                                          # pixel-major views (N, H, W, C)
        pp = prior.permute(0, 2, 3, 1)
        total = yp.sum(dim=-1, keepdim=True).clamp_min(EPS)
        feats = torch.empty((n, h, w, 3 + 1 + bands), dtype=y.dtype, device=y.device)
        torch.div(yp, total, out=feats[..., :3])                            # the inputs of features(), in place
        torch.log(total, out=feats[..., 3:4])
        torch.div(pp, total, out=feats[..., 4:])
        e1 = _block_infer(self.enc1, feats.permute(0, 3, 1, 2))
        e2 = _block_infer(self.enc2, F.avg_pool2d(e1, 2))
        m = _block_infer(self.mid, F.avg_pool2d(e2, 2))
        d2 = _skip_block_infer(self.dec2, m, e2)
        d1 = _skip_block_infer(self.dec1, d2, e1)
        n64 = self.N.double()
        proj = n64 @ n64.T                                                  # r ↦ r N Nᵀ (folded in float64)
        weight = (self.out.weight.flatten(1).double().T @ proj).to(y.dtype)  # (width, B)
        bias = (self.out.bias.double() @ proj).to(y.dtype)
        d1p = d1.permute(0, 2, 3, 1).reshape(-1, d1.shape[1])
        r = torch.addmm(bias, d1p, weight).reshape(n, h, w, bands)
        return torch.addcmul(pp, r, total).permute(0, 3, 1, 2)


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
    def S(self) -> torch.Tensor:  # the split's name everywhere in the project
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
        x = nonnegative_consistent(self.prior.predict(flat), flat, self.prior.pinv, self.prior.S, inplace=True)
        return x.reshape(n, h, w, -1).permute(0, 3, 1, 2)

    def forward(self, y: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        """RGB-consistent spectra (N, B, H, W) from linear RGB (N, 3, H, W) of any size (padded by reflection to
        a multiple of 4 and cropped back); negative values are left to the caller (the pipeline removes them)."""
        if prior is None:
            prior = self.prior_of(y)
        h, w = y.shape[-2:]
        return self.spatial(*_pad_to_multiple(y, prior))[..., :h, :w]

    def infer(self, y: torch.Tensor, progress=None) -> torch.Tensor:
        """:meth:`forward` with the prior for inference (:meth:`prior_of`, :meth:`SpatialResidual.infer`): the
        same spectra to float32 rounding, faster; the result is channels-last in memory (``permute(0, 2, 3, 1)``
        of it is pixel-major without a copy). ``progress(fraction, message)`` is told when the prior is done."""
        prior = self.prior_of(y)
        if progress is not None:
            progress(0.2, "per-pixel prior")
        h, w = y.shape[-2:]
        return self.spatial.infer(*_pad_to_multiple(y, prior))[..., :h, :w]


def _pad_to_multiple(y: torch.Tensor, prior: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB and prior padded (reflect; replicate when too small to reflect) to a multiple of :data:`MULTIPLE`."""
    h, w = y.shape[-2:]
    ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
    if not (ph or pw):
        return y, prior
    mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
    return F.pad(y, (0, pw, 0, ph), mode=mode), F.pad(prior, (0, pw, 0, ph), mode=mode)


__all__ = ["FastModel", "SpatialResidual", "MULTIPLE"]
