"""RegressionPipeline — RGB → cube with a learned per-pixel baseline (:class:`~..models.regression.PixelRegression`).

Deterministic: sampling options do not apply and are ignored; the image is processed in chunks of 65,536
pixels (cancel is checked before each, progress reported after each); the result is RGB-consistent and never
negative (:func:`~..models.regression.nonnegative_consistent`)."""

from __future__ import annotations

import numpy as np
import torch

from ..models.regression import nonnegative_consistent
from .base import OnePassPipeline

CHUNK = 1 << 16


class RegressionPipeline(OnePassPipeline):
    def _reconstruct(self, rgb: np.ndarray, device: str, progress, cancel):
        model = self.model
        h, w, _ = rgb.shape
        model.to(device).eval()
        out = np.empty((h, w, model.S.shape[0]), np.float32)
        flat_in = rgb.reshape(-1, 3)
        flat_out = out.reshape(-1, out.shape[-1])
        with torch.inference_mode():
            for i in range(0, len(flat_in), CHUNK):
                if cancel is not None:
                    cancel.check()
                y = torch.from_numpy(flat_in[i:i + CHUNK]).to(device)
                x = nonnegative_consistent(model(y), y, model.pinv, model.S)
                flat_out[i:i + CHUNK] = x.cpu().numpy()
                if progress is not None:
                    progress(min(1.0, (i + CHUNK) / len(flat_in)), "regression")
        return out, None


__all__ = ["RegressionPipeline"]
