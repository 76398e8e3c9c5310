"""Fitting the learned per-pixel baselines (:class:`~.models.regression.PixelRegression`) on a
:class:`~hsi_studio.core.ml.data.TrainingSource`'s pixels — used by ``hsi-studio train regression``. The model
module holds the forward pass only; this is its training: ridge least squares (``rootpoly``) or a short Adam loop
with a relative-L1 loss (``mlp``)."""

from __future__ import annotations

import numpy as np
import torch

from hsi_studio.core.ml.models.regression import PixelRegression, rootpoly_terms


def _pixels(source, n_batches: int, per_batch: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for step in range(n_batches):
        p = source.pixels(offset + step, per_batch, crop=64)
        xs.append(p["cube"])
        ys.append(p["rgb"])
    return np.concatenate(xs), np.concatenate(ys)


def fit_regression(source, kind: str = "rootpoly", *, degree: int = 2, hidden: int = 128, steps: int = 3000,
                   batch: int = 8192, lr: float = 2e-3, ridge: float = 1e-6, pixels: int = 400_000, seed: int = 0,
                   progress=None, cancel=None) -> PixelRegression:
    """Fit a :class:`PixelRegression` on a :class:`~hsi_studio.core.ml.data.TrainingSource`'s pixels.

    ``rootpoly``: ridge least squares on ``pixels`` pixels (seconds). ``mlp``: Adam with a cosine schedule
    for ``steps`` steps of ``batch`` pixels drawn from the source (deterministic in ``seed``), relative L1 on
    the spectrum (a minute or two on a CPU core)."""
    progress = progress or (lambda f, m="": None)
    torch.manual_seed(int(seed))  # before the MLP's initial weights are drawn: the fit is a function of seed
    model = PixelRegression.from_response(source.response, kind=kind, degree=degree, hidden=hidden)
    if kind == "rootpoly":
        per = 8192
        x, y = _pixels(source, max(1, int(pixels) // per), per)
        if cancel is not None:
            cancel.check()
        t = rootpoly_terms(torch.from_numpy(y).double(), int(degree)).numpy()
        a = t.T @ t
        a += ridge * np.trace(a) / len(a) * np.eye(len(a))
        model.weight.data = torch.from_numpy(np.linalg.solve(a, t.T @ x.astype(np.float64))).float()
        progress(1.0, "root-polynomial fitted")
        return model
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # one-cycle with a 5 % warm-up; at exactly 20 steps that warm-up ends on step 0, which torch's OneCycleLR
    # divides by (ZeroDivisionError), so it gets two steps there instead (every other run is unchanged)
    pct = 0.1 if round(0.05 * int(steps), 9) == 1 else 0.05
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=int(steps), pct_start=pct)
    model.train()
    for step in range(int(steps)):
        if cancel is not None:
            cancel.check()
        p = source.pixels(step, batch, crop=64)
        x, y = torch.from_numpy(p["cube"]), torch.from_numpy(p["rgb"])
        pred = model(y)
        denom = x.mean(dim=-1, keepdim=True).clamp_min(1e-3)
        loss = ((pred - x).abs() / denom).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            progress((step + 1) / steps, f"step {step + 1}/{steps} loss {float(loss):.4f}")
    return model.eval()


__all__ = ["fit_regression"]
