"""Plausible highlights (issue 21): no band of a reconstruction brighter than a surface can be.

The learned models return radiance on the photo's scale under the D65 photo convention (a white reflector's
brightest RGB channel is 1; :func:`hsi_studio.core.ml.data.source.light_spectrum`). Where the camera response is
nearly blind — 400 nm, 700 nm — an RGB-exact output can put almost anything, and near-white or clipped
highlights came out with reflectances up to 3.7 at 400 nm. A surface reflects at most what falls on it (no
fluorescence), and the photo's exposure bounds what it can show: here every band's reflectance is capped at
``REFLECTANCE_CAP × max(1, brightest RGB channel of the pixel)`` — 1.2 for anything the photo did not push above
white, more for HDR input.

:func:`upper_bounded_consistent` enforces it with the same kind of active-set projection as
:func:`~.regression.nonnegative_consistent`: the bands above their cap are fixed at it, negative bands at 0, and
the free bands take the least change (in L2) that keeps ``x S = y`` — so the RGB stays exact wherever a spectrum
within [0, cap] can give it. Only the pixels with a band above the cap are touched. The cap is a physical
bound in the photo's units (white = 1), so it is not exposure-equivariant where it acts: doubling a photo's
exposure makes a grey pixel white and moves its bound. An output far above the cap (:data:`BROKEN_FACTOR`)
is a broken model and is left for the range check to refuse.
"""

from __future__ import annotations

import numpy as np
import torch

from hsi_studio.core.ml.data.source import light_spectrum

#: a reflectance above this × max(1, the pixel's brightest RGB channel) is not a surface the photo can show
REFLECTANCE_CAP = 1.2
#: an output this many times above its cap is a broken model, not a highlight: it is left as it is, for the
#: physical-range check of :func:`hsi_studio.core.ml.reconstruct.reconstruct` to refuse (never hidden by the cap)
BROKEN_FACTOR = 50.0


#: the share of pixels a broken model's output must exceed the limit on: one wild pixel is a hard input (an
#: out-of-gamut colour of a chart-calibrated photo), not broken weights, and the cap makes it plausible
BROKEN_SHARE = 0.01


def raw_peak(x: torch.Tensor, share: float = BROKEN_SHARE) -> float:
    """The peak that judges a model's own output (…, B) before any projection: the value all but ``share`` of the
    pixels keep their largest band under. A broken model (absurd weights) is wild everywhere, so this is as large
    as its maximum; a working one that meets a single out-of-gamut pixel is not refused for it. Non-finite
    output gives ``inf`` (refused)."""
    per_pixel = x.reshape(-1, x.shape[-1]).amax(dim=-1)
    if per_pixel.numel() == 0:
        return 0.0
    if not bool(torch.isfinite(per_pixel).all()):
        return float("inf")
    k = max(1, min(per_pixel.numel(), int(np.ceil((1.0 - share) * per_pixel.numel()))))
    return float(per_pixel.float().kthvalue(k).values)


def photo_light(response) -> np.ndarray:
    """D65 on the response's grid, scaled so that a white reflector's brightest RGB channel is 1 — the photo
    convention the learned models' radiance is on."""
    return light_spectrum("D65", response)


def reflectance_cap(y: torch.Tensor, light, cap: float = REFLECTANCE_CAP) -> torch.Tensor:
    """Per-pixel, per-band upper bound (…, B) on radiance for linear RGB ``y`` (…, 3) and the light (B,)."""
    top = y.amax(dim=-1, keepdim=True).clamp_min(1.0)
    light = torch.as_tensor(np.asarray(light), device=y.device, dtype=y.dtype)
    return top * (float(cap) * light)


def upper_bounded_consistent(x: torch.Tensor, y: torch.Tensor, S: torch.Tensor, light, *,
                             cap: float = REFLECTANCE_CAP, iters: int = 16,
                             raw_peak: float | None = None) -> torch.Tensor:
    """Spectra (…, B) within [0, :func:`reflectance_cap`] that reproduce ``y`` (…, 3) wherever such a spectrum
    exists; pixels already within their cap are returned unchanged (and so is ``x`` when none exceeds it).

    ``raw_peak``: the model's output peak before the non-negative projection (:func:`raw_peak`). Above :data:`BROKEN_FACTOR` ×
    the largest cap, the model is broken and ``x`` is returned as it is, for the range check to refuse. (Not
    ``x``'s own peak: on an out-of-gamut pixel that no non-negative spectrum reproduces — a chart-calibrated
    photo's negative channel — the projection itself can leave a spike of ~70, which the cap must remove.)"""
    bands = x.shape[-1]
    flat = x.reshape(-1, bands)
    yf = y.reshape(-1, 3)
    upper = reflectance_cap(yf, light, cap)
    if raw_peak is not None and raw_peak > BROKEN_FACTOR * float(upper.max()):
        return x
    idx = (flat > upper).any(dim=-1).nonzero()[:, 0]
    if idx.numel() == 0:
        return x
    s = S.to(device=x.device, dtype=torch.float64)
    x0 = flat.index_select(0, idx).double()
    ys = yf.index_select(0, idx).double()
    ub = upper.index_select(0, idx).double()
    lo = torch.zeros_like(x0, dtype=torch.bool)
    hi = torch.zeros_like(x0, dtype=torch.bool)
    xs = x0
    eye = torch.eye(3, dtype=torch.float64, device=x.device) * 1e-12
    for _ in range(int(iters)):
        lo |= xs < 0
        hi |= (xs > ub) & ~lo
        free = ~(lo | hi)
        fixed = torch.where(hi, ub, torch.zeros_like(ub))
        sf = s[None] * free[..., None]                                      # (n, B, 3)
        gram = sf.transpose(1, 2) @ sf + eye
        resid = ys - ((x0 * free + fixed)[:, None, :] @ s)[:, 0]
        lam = torch.linalg.solve(gram, resid[..., None])
        xs = (x0 + (sf @ lam)[..., 0]) * free + fixed
        if bool(((xs >= 0) & (xs <= ub * (1 + 1e-9))).all()):
            break
    out = flat.clone()
    out.index_copy_(0, idx, torch.minimum(xs.clamp_min(0), ub).to(x.dtype))
    return out.reshape(x.shape)


__all__ = ["BROKEN_FACTOR", "BROKEN_SHARE", "REFLECTANCE_CAP", "photo_light", "raw_peak", "reflectance_cap",
           "upper_bounded_consistent"]
