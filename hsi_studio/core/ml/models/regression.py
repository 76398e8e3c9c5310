"""Learned per-pixel baselines: root-polynomial regression and a small per-pixel MLP.

Both map one pixel's linear RGB ``y`` to a spectrum and are **exposure-equivariant** (scaling the RGB scales
the spectrum — a photo's absolute level is unknown, and CAVE scenes differ in level by almost 2×):

- ``rootpoly`` — Lin & Finlayson (2020), "Physically plausible spectral reconstruction from RGB images":
  the root-polynomial terms of degree ``degree`` (2: r, g, b, √rg, √gb, √rb; 3 adds the cube roots
  ∛(r²g) … ∛(rgb)) are homogeneous of degree one, times a least-squares matrix (ridge ``ridge``).
- ``mlp`` — 3 → hidden → hidden → B−3 on the chromaticity ``y / I`` (``I = mean(y)``); the output, times
  ``I``, is the null-space coordinates of the spectrum.

Every prediction is made **RGB-consistent** the way the ULDM is (:class:`hsi_studio.core.spectral.responses.ObservableSplit`): its observable part is
replaced by ``x_obs(y)``, so ``x̂ S = y`` exactly — for noise-free RGB this can only lower the error (an
orthogonal projection onto an affine set that holds the truth). :func:`nonnegative_consistent` then removes
negative values. The model is a diffusers ``ModelMixin`` (config + safetensors), saved as a
``PixelRegression`` bundle (:func:`.bundle.save_regression`); :class:`hsi_studio.core.ml.pipelines.regression_pipeline.RegressionPipeline`
runs it on an image; :func:`hsi_studio.core.ml.training.regression_fit.fit_regression` fits it.

References: root-polynomial regression — G. D. Finlayson, M. Mackiewicz and A. Hurlbert, "Color Correction Using
Root-Polynomial Regression", IEEE Transactions on Image Processing 24(5), 1460–1470 (2015). DOI:
10.1109/TIP.2015.2405336. Physically plausible (RGB-consistent) spectral reconstruction — Y.-T. Lin and
G. D. Finlayson, "Physically Plausible Spectral Reconstruction from RGB Images", CVPR Workshops 2020; extended as
"Physically Plausible Spectral Reconstruction", Sensors 20(21), 6399 (2020). DOI: 10.3390/s20216399.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.models.speuae import register_split
from hsi_studio.core.spectral.responses import CameraResponse

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


def _solve3(gram: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``gram⁻¹ rhs`` for a batch of symmetric positive (semi)definite 3×3 matrices (n, 9, row-major) and
    right-hand sides (n, 3). Well-conditioned matrices are solved in closed form (the adjugate over the
    determinant: elementwise over the batch, no per-matrix LAPACK call); the nearly singular ones (a pixel with
    fewer than three free bands, where the adjugate loses every digit) by LU, as ``torch.linalg.solve`` does."""
    a, b, c, d, e, f = (gram[:, i] for i in (0, 1, 2, 4, 5, 8))
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    r0, r1, r2 = rhs[:, 0], rhs[:, 1], rhs[:, 2]
    out = torch.stack([c00 * r0 + c01 * r1 + c02 * r2, c01 * r0 + c11 * r1 + c12 * r2,
                       c02 * r0 + c12 * r1 + c22 * r2], dim=1) / det[:, None]
    hard = ~(det > _WELL_CONDITIONED * (a * d * f))  # det ≤ a·d·f for these matrices (Hadamard); NaN → hard
    if bool(hard.any()):
        rows = hard.nonzero()[:, 0]
        out[rows] = torch.linalg.solve(gram[rows].reshape(-1, 3, 3), rhs[rows, :, None])[..., 0]
    return out


#: the closed-form solve is used where det(G) > this × the product of G's diagonal (an error of at most
#: ~1e-16 / this relative, far below float32's rounding); the others go to LU
_WELL_CONDITIONED = 1e-6


def nonnegative_consistent(x: torch.Tensor, y: torch.Tensor, pinv: torch.Tensor, S: torch.Tensor,
                           iters: int = 12, *, inplace: bool = False) -> torch.Tensor:
    """Spectra (…, B) without negative values that still reproduce linear RGB ``y`` (…, 3) exactly wherever
    a non-negative spectrum can: on the pixels with a negative band, an active-set projection — the bands
    that went negative are fixed at 0 and the others take the least change (in L2) that restores ``x S = y``
    (a 3×3 solve per pixel), repeated until no band is negative. Other pixels are untouched. ``pinv`` is
    unused (kept for a uniform signature with the split's other helpers). ``inplace``: write the result into
    ``x`` (when it is contiguous and needs no gradient) instead of a copy.

    Vectorised: only the pixels with a negative band are gathered (in float64); each round is two small
    matrix products and a closed-form 3×3 solve over the batch, and a pixel leaves the loop as soon as it has
    no negative band (another round would give it the same values). A black pixel (``y = 0``) gets 0 at once
    when every band has some response (the rounds would only walk it there)."""
    del pinv
    bands = x.shape[-1]
    flat = x.reshape(-1, bands)
    idx = (flat < 0).any(dim=-1).nonzero()[:, 0]
    if idx.numel() == 0:
        return x
    s = S.to(device=x.device, dtype=torch.float64)                         # (B, 3)
    outer = (s[:, :, None] * s[:, None, :]).reshape(bands, 9)              # (B, 9): each band's s sᵀ
    eye = torch.eye(3, dtype=torch.float64, device=x.device).reshape(1, 9) * 1e-12
    x0 = flat.index_select(0, idx).double()
    ys = y.reshape(-1, 3).index_select(0, idx).to(torch.float64)
    done_idx, done_x = [], []
    if bool((s != 0).any(dim=1).all()):  # every band seen: black (y = 0) has one non-negative spectrum, 0
        black = (ys == 0).all(dim=1)
        if bool(black.any()):
            done_idx.append(idx[black])
            done_x.append(torch.zeros_like(x0[black]))
            keep = ~black
            x0, ys, idx = x0[keep], ys[keep], idx[keep]
    xs, todo = x0, idx
    free = torch.ones_like(x0)                                             # 1 on the free bands, 0 on the fixed
    for _ in range(int(iters)):
        free.masked_fill_(xs < 0, 0.0)
        gram = torch.addmm(eye, free, outer)                               # (n, 9): Sᵀ diag(free) S
        resid = torch.addmm(ys, x0 * free, s, alpha=-1)                    # what the free bands must still add
        xs = torch.addmm(x0, _solve3(gram, resid), s.T).mul_(free)
        ok = xs.amin(dim=-1) >= 0
        if bool(ok.all()):
            break
        if bool(ok.any()):                                                 # finished pixels leave the loop
            done_idx.append(todo[ok])
            done_x.append(xs[ok])
            keep = ~ok
            xs, free, x0, ys, todo = xs[keep], free[keep], x0[keep], ys[keep], todo[keep]
    own = inplace and x.is_contiguous() and not x.requires_grad
    out = flat if own else flat.clone()
    out.index_copy_(0, torch.cat([*done_idx, todo]), torch.cat([*done_x, xs]).clamp_min(0).to(x.dtype))
    return x if own else out.reshape(x.shape)


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

    def predict(self, y: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` for inference — the same spectra to float32 rounding, faster: the projections are
        folded into the last layer (``y A + T(y) W N Nᵀ`` for the root polynomial, ``y A + I · (h W₃ + b₃) Nᵀ N Nᵀ``
        for the MLP, ``A = pinv (1 + N Nᵀ)``, ``h`` the last hidden layer, ``I`` the intensity), the MLP runs in
        blocks of :data:`PREDICT_ROWS` pixels (its hidden layers stay in cache) with each linear layer and its
        GELU as one oneDNN call on a CPU (:func:`linear_gelu`). :meth:`forward` (training) is unchanged."""
        n64 = self.N.double()
        null = n64 @ n64.T                                                  # (B, B): the null-space projector
        obs = (self.pinv.double() @ (torch.eye(len(null), dtype=null.dtype, device=null.device) + null)).to(y.dtype)
        lead = y.shape[:-1]
        y2 = y.reshape(-1, 3)
        if self.config.kind == "rootpoly":                                   # (folded in float64, then cast)
            out = torch.addmm(y2 @ obs, rootpoly_terms(y2, int(self.config.degree)),
                              (self.weight.double() @ null).to(y.dtype))
            return out.reshape(*lead, -1)
        *hidden, last = self.net
        fold = n64.T @ null                                                 # (B−3, B)
        w_last = (last.weight.double().T @ fold).to(y.dtype)
        b_last = (last.bias.double() @ fold).to(y.dtype)
        grad = torch.is_grad_enabled()                                     # (out= has no autograd)
        out = None if grad else torch.empty((y2.shape[0], null.shape[0]), dtype=y2.dtype, device=y2.device)
        parts = []
        for i in range(0, y2.shape[0], PREDICT_ROWS):
            yb = y2[i:i + PREDICT_ROWS]
            inten = yb.mean(dim=-1, keepdim=True).clamp_min(EPS)
            h = yb / inten
            for lin, act in zip(hidden[0::2], hidden[1::2], strict=True):
                h = linear_gelu(lin, act, h)
            dest = None if out is None else out[i:i + PREDICT_ROWS]
            parts.append(torch.addcmul(yb @ obs, torch.addmm(b_last, h, w_last), inten, out=dest))
        if out is None:
            out = torch.cat(parts) if parts else y2.new_zeros((0, null.shape[0]))
        return out.reshape(*lead, -1)


#: pixels per block in :meth:`PixelRegression.predict` (the MLP's 128-wide hidden layers: 8 MiB each, in cache)
PREDICT_ROWS = 16384


def fused_ok(x: torch.Tensor) -> bool:
    """Whether oneDNN's fused (convolution or linear) + activation kernels can run on ``x``: a float32 CPU tensor,
    outside autograd (they have no backward), in a torch built with them."""
    return (_FUSED_OPS and x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()
            and torch.backends.mkldnn.is_available())


def linear_gelu(lin: nn.Linear, act: nn.GELU, x: torch.Tensor) -> torch.Tensor:
    """``act(lin(x))`` — one oneDNN call (the GELU applied as the matrix product's post-op, float32 rounding
    apart) where :func:`fused_ok`, else the two modules."""
    if fused_ok(x):
        return torch.ops.mkldnn._linear_pointwise(x, lin.weight, lin.bias, "gelu", [], act.approximate)
    return act(lin(x))


_FUSED_OPS = all(hasattr(torch.ops.mkldnn, name) for name in ("_linear_pointwise", "_convolution_pointwise"))


__all__ = ["KINDS", "PREDICT_ROWS", "PixelRegression", "fused_ok", "linear_gelu", "nonnegative_consistent",
           "rootpoly_terms"]
