"""Learned per-pixel baselines (DESIGN §2.5): root-polynomial regression and a small per-pixel MLP.

Both map one pixel's linear RGB ``y`` to a spectrum and are **exposure-equivariant** (scaling the RGB scales
the spectrum — a photo's absolute level is unknown, and CAVE scenes differ in level by almost 2×):

- ``rootpoly`` — Lin & Finlayson (2016), "Physically plausible spectral reconstruction from RGB images":
  the root-polynomial terms of degree ``degree`` (2: r, g, b, √rg, √gb, √rb; 3 adds the cube roots
  ∛(r²g) … ∛(rgb)) are homogeneous of degree one, times a least-squares matrix (ridge ``ridge``).
- ``mlp`` — 3 → hidden → hidden → B−3 on the chromaticity ``y / I`` (``I = mean(y)``); the output, times
  ``I``, is the null-space coordinates of the spectrum.

Every prediction is made **RGB-consistent** the way the ULDM is (DESIGN §2.1): its observable part is
replaced by ``x_obs(y)``, so ``x̂ S = y`` exactly — for noise-free RGB this can only lower the error (an
orthogonal projection onto an affine set that holds the truth). :func:`nonnegative_consistent` then removes
negative values. The model is a diffusers ``ModelMixin`` (config + safetensors), saved as a
``PixelRegression`` bundle (:func:`.bundle.save_regression`); :class:`hsi_studio.core.pipelines.regression.RegressionPipeline`
runs it on an image; :func:`hsi_studio.core.regression_fit.fit_regression` fits it.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from ..errors import InputError
from ..spectral import CameraResponse
from .speuae import register_split

KINDS = ("rootpoly", "mlp")
EPS = 1e-4


def rootpoly_terms(y: torch.Tensor, degree: int) -> torch.Tensor:
    """Root-polynomial terms (…, T) of linear RGB (…, 3) (negative values clamped to 0), homogeneous of degree 1."""
    y = y.clamp_min(0)
    r, g, b = y[..., 0], y[..., 1], y[..., 2]
    terms = [r, g, b]
    if degree >= 2:
        terms += [torch.sqrt(r * g), torch.sqrt(g * b), torch.sqrt(r * b)]
    if degree >= 3:
        c = 1 / 3
        terms += [(r * g * g) ** c, (r * r * g) ** c, (g * b * b) ** c, (g * g * b) ** c, (r * b * b) ** c,
                  (r * r * b) ** c, (r * g * b) ** c]
    return torch.stack(terms, dim=-1)


def n_terms(degree: int) -> int:
    return {1: 3, 2: 6, 3: 13}[int(degree)]


def nonnegative_consistent(x: torch.Tensor, y: torch.Tensor, pinv: torch.Tensor, S: torch.Tensor,
                           iters: int = 12) -> torch.Tensor:
    """Spectra (…, B) without negative values that still reproduce linear RGB ``y`` (…, 3) exactly wherever
    a non-negative spectrum can: on the pixels with a negative band, an active-set projection — the bands
    that went negative are fixed at 0 and the others take the least change (in L2) that restores ``x S = y``
    (a 3×3 solve per pixel), repeated until no band is negative. Other pixels are untouched. ``pinv`` is
    unused (kept for a uniform signature with the split's other helpers)."""
    del pinv
    neg = (x < 0).any(dim=-1)
    if not bool(neg.any()):
        return x
    x0, ys = x[neg].double(), y[neg].double()
    s = S.double()
    free = torch.ones_like(x0, dtype=torch.bool)
    xs = x0
    eye = torch.eye(3, dtype=torch.float64) * 1e-12
    for _ in range(int(iters)):
        free = free & (xs >= 0)
        sf = s[None] * free[..., None]                      # (n, B, 3): clamped bands contribute nothing
        gram = sf.transpose(1, 2) @ sf + eye                 # (n, 3, 3)
        resid = ys - ((x0 * free)[:, None, :] @ s)[:, 0]     # what the free bands must still add
        lam = torch.linalg.solve(gram, resid[..., None])     # (n, 3, 1)
        xs = (x0 + (sf @ lam)[..., 0]) * free
        if bool((xs >= 0).all()):
            break
    out = x.clone()
    out[neg] = xs.clamp_min(0).to(x.dtype)
    return out


class PixelRegression(ModelMixin, ConfigMixin):
    """A per-pixel RGB → spectrum regression (``kind`` rootpoly or mlp) for one camera response."""

    config_name = "config.json"

    @register_to_config
    def __init__(self, wavelengths: list[float], response: list[list[float]], response_name: str = "custom",
                 kind: str = "rootpoly", degree: int = 2, hidden: int = 128):
        super().__init__()
        if kind not in KINDS:
            raise InputError(f"regression kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind == "rootpoly" and int(degree) not in (1, 2, 3):
            raise InputError(f"root-polynomial degree {degree}; expected 1, 2 or 3")
        if kind == "mlp" and not 4 <= int(hidden) <= 4096:
            raise InputError(f"hidden {hidden}; expected 4–4096 units")
        b = register_split(self, response)
        if kind == "rootpoly":
            self.weight = nn.Parameter(torch.zeros(n_terms(degree), b))
        else:
            self.net = nn.Sequential(nn.Linear(3, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                     nn.Linear(hidden, b - 3))

    @classmethod
    def from_response(cls, response: CameraResponse, kind: str = "rootpoly", degree: int = 2,
                      hidden: int = 128) -> PixelRegression:
        return cls(wavelengths=response.wavelengths.tolist(), response=response.matrix.tolist(),
                   response_name=response.name, kind=kind, degree=int(degree), hidden=int(hidden))

    # -- description -------------------------------------------------------------------------------------
    @property
    def response(self) -> CameraResponse:
        return CameraResponse(self.config.response_name, np.asarray(self.config.wavelengths),
                              np.asarray(self.config.response))

    @property
    def wavelengths(self) -> np.ndarray:
        return np.asarray(self.config.wavelengths, dtype=np.float64)

    @property
    def label(self) -> str:
        return (f"root-polynomial (degree {self.config.degree})" if self.config.kind == "rootpoly"
                else f"per-pixel MLP ({self.config.hidden} hidden)")

    def spectral_info(self) -> dict:
        return {"response": self.response.to_dict(), "wavelengths": self.response.wavelengths.tolist(),
                "rgb": {"input": "linear RGB through the response (photos are sRGB-decoded first)",
                        "regression": self.label + "; exposure-equivariant; RGB-consistent (x_obs(y) kept)"}}

    # -- prediction --------------------------------------------------------------------------------------
    def raw(self, y: torch.Tensor) -> torch.Tensor:
        """The regression's own prediction (…, B) from linear RGB (…, 3), before RGB consistency."""
        if self.config.kind == "rootpoly":
            return rootpoly_terms(y, int(self.config.degree)) @ self.weight
        inten = y.mean(dim=-1, keepdim=True).clamp_min(EPS)
        return y @ self.pinv + (self.net(y / inten) * inten) @ self.N.T

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """RGB-consistent spectra (…, B): ``x_obs(y)`` + the null-space part of :meth:`raw`."""
        x = self.raw(y)
        return y @ self.pinv + (x @ self.N) @ self.N.T


__all__ = ["KINDS", "PixelRegression", "nonnegative_consistent", "rootpoly_terms"]
