"""RegressionPipeline — RGB → cube with a learned per-pixel baseline (:class:`~..models.regression.PixelRegression`).

Deterministic: sampling options do not apply and are ignored; the image is processed in chunks of 65,536
pixels (cancel is checked before each, progress reported after each) with the model's inference path
(:meth:`~..models.regression.PixelRegression.predict`); the result is RGB-consistent and never negative
(:func:`~..models.regression.nonnegative_consistent`, once over the image or tile, in place), and no band
brighter than a surface can be (:func:`~..models.bounds.upper_bounded_consistent`)."""

from __future__ import annotations

import numpy as np
import torch

from hsi_studio.core.ml.models.bounds import raw_peak, upper_bounded_consistent
from hsi_studio.core.ml.models.regression import nonnegative_consistent
from hsi_studio.core.ml.pipelines.base_pipeline import OnePassPipeline

CHUNK = 1 << 16


class RegressionPipeline(OnePassPipeline):
    def _reconstruct(self, rgb: np.ndarray, device: str, progress, cancel):
        model = self.model
        h, w, _ = rgb.shape
        model.to(device).eval()
        flat_in = torch.from_numpy(rgb.reshape(-1, 3)).to(device)
        with torch.inference_mode():
            x = torch.empty((len(flat_in), model.S.shape[0]), dtype=torch.float32, device=device)
            for i in range(0, len(flat_in), CHUNK):
                if cancel is not None:
                    cancel.check()
                x[i:i + CHUNK] = model.predict(flat_in[i:i + CHUNK])
                if progress is not None:
                    progress(min(1.0, (i + CHUNK) / len(flat_in)) * 0.95, "regression")
            if cancel is not None:
                cancel.check()
            # one projection over the whole image: it gathers only the pixels with a negative band
            peak = raw_peak(x)  # the model's own output: a broken model is refused, never capped
            x = nonnegative_consistent(x, flat_in, model.pinv, model.S, inplace=True)
            x = upper_bounded_consistent(x, flat_in, model.S, self.light, raw_peak=peak)  # plausible highlights
            out = x.cpu().numpy().reshape(h, w, -1)
        if progress is not None:
            progress(1.0, "regression")
        return out, None


__all__ = ["RegressionPipeline"]
