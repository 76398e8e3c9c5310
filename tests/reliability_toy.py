"""A tiny training stage for the engine and reliability tests (imported by them and by their killed
subprocesses): the training engine tested alone."""

import numpy as np
import torch

from hsi_studio.core.ml.training.checkpoint import save_checkpoint
from hsi_studio.core.ml.training.engine import TrainConfig


class ToyStage:
    """Fit y = x W: data a pure function of the step, so runs are reproducible. ``dropout`` > 0 makes the torch
    RNG matter (exact resume must restore it); ``scored`` validates on a fixed set instead of returning 0."""

    name = "toy"
    best_metric = "mse"

    def __init__(self, hidden: int = 16, dropout: float = 0.0, scored: bool = False):
        self.hidden, self.dropout, self.scored = hidden, dropout, scored

    def build(self, cfg):
        torch.manual_seed(cfg.seed)
        drop = [torch.nn.Dropout(self.dropout)] if self.dropout else []
        return torch.nn.Sequential(torch.nn.Linear(8, self.hidden), *drop, torch.nn.Linear(self.hidden, 4))

    def prepare_data(self, cfg, rank, world):
        self.cfg, self.rank = cfg, rank
        self.w = np.random.default_rng(123).normal(size=(8, 4)).astype(np.float32)

    def batch(self, step, micro, device):
        rng = np.random.default_rng([self.cfg.seed, step, micro, self.rank])
        x = rng.normal(size=(self.cfg.batch_size, 8)).astype(np.float32)
        return torch.from_numpy(x).to(device), torch.from_numpy(x @ self.w).to(device)

    def loss(self, model, batch, step):
        x, y = batch
        return torch.nn.functional.mse_loss(model(x), y)

    def phase(self, step):
        return "fit"

    def validate(self, model, device, step):
        if not self.scored:
            return {"mse": 0.0}
        x = torch.from_numpy(np.random.default_rng(7).normal(size=(64, 8)).astype(np.float32))
        return {"mse": float(torch.nn.functional.mse_loss(model(x), x @ torch.from_numpy(self.w)))}

    def export(self, model, dest, cfg, best):
        save_checkpoint(dest, {"model": model.state_dict()})


def toy_config(**kw) -> TrainConfig:
    base = dict(steps=4, batch_size=4, lr=1e-2, warmup_steps=1, val_every=2, ckpt_every=2, keep_last=2,
                device="cpu", ema_decay=0.9, threads=1)
    base.update(kw)
    return TrainConfig.from_dict(base)
