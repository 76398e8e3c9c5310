"""A tiny training stage for the reliability tests (imported by them and by their killed subprocesses)."""

import numpy as np
import torch

from hsi_studio.core.checkpoint import save_checkpoint
from hsi_studio.core.training import TrainConfig


class ToyStage:
    """Fit y = x W: data a pure function of the step, so runs are reproducible."""

    name = "toy"
    best_metric = "mse"

    def __init__(self, hidden: int = 16):
        self.hidden = hidden

    def build(self, cfg):
        torch.manual_seed(cfg.seed)
        return torch.nn.Sequential(torch.nn.Linear(8, self.hidden), torch.nn.Linear(self.hidden, 4))

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
        return {"mse": 0.0}

    def export(self, model, dest, cfg, best):
        save_checkpoint(dest, {"model": model.state_dict()})


def toy_config(**kw) -> TrainConfig:
    base = dict(steps=4, batch_size=4, lr=1e-2, warmup_steps=1, val_every=2, ckpt_every=2, keep_last=2,
                device="cpu", ema_decay=0.9, threads=1)
    base.update(kw)
    return TrainConfig.from_dict(base)
