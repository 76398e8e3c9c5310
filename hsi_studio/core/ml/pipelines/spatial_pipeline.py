"""SpatialPipeline — RGB → cube with the fast model (:class:`~..models.spatial.FastModel`): the per-pixel prior,
then the residual U-Net over it, in one deterministic pass (issue 21's "spatial mean alone").

Sampling options do not apply and are ignored. Images larger than ``tile`` are processed in overlapping tiles
blended with ramps (:func:`.tiling.run_tiled`; the U-Net sees about ±40 pixels, so the default 32-pixel overlap
hides the seams). The result is RGB-consistent and never negative: the residual lives in the response's null
space and :func:`~..models.regression.nonnegative_consistent` removes negative values, as for the per-pixel
baselines. It runs the model's inference path (:meth:`~..models.spatial.FastModel.infer`: the same values
as its training forward to float32 rounding, faster)."""

from __future__ import annotations

import numpy as np
import torch

from hsi_studio.core.ml.models.bounds import raw_peak, upper_bounded_consistent
from hsi_studio.core.ml.models.regression import nonnegative_consistent
from hsi_studio.core.ml.pipelines.base_pipeline import OnePassPipeline


class SpatialPipeline(OnePassPipeline):
    def _reconstruct(self, rgb: np.ndarray, device: str, progress, cancel):
        model = self.model
        model.to(device).eval()
        if cancel is not None:
            cancel.check()
        h, w, _ = rgb.shape
        with torch.inference_mode():
            # pixel-major throughout: (1, 3, H, W) and the model's (1, B, H, W) output are channels-last views
            flat = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).to(device)
            y = flat.permute(2, 0, 1)[None]
            x = model.infer(y, progress=progress)[0].permute(1, 2, 0).reshape(-1, model.S.shape[0])
            peak = raw_peak(x)  # the model's own output: a broken model is refused, never capped
            x = nonnegative_consistent(x, flat.reshape(-1, 3), model.prior.pinv, model.S, inplace=True)
            x = upper_bounded_consistent(x, flat.reshape(-1, 3), model.S, self.light, raw_peak=peak)
            out = x.reshape(h, w, -1).float().cpu().numpy()
        if progress is not None:
            progress(1.0, "spatial residual")
        return out, None


__all__ = ["SpatialPipeline"]
