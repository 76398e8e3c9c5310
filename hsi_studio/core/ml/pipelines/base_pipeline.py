"""What every inference pipeline shares: the model it runs and the spectral grid and camera response that
model was trained for (no torch import here)."""

from __future__ import annotations

import numpy as np

from hsi_studio.core.jobs import NEVER_CANCEL, no_progress
from hsi_studio.core.ml.pipelines.checks import check_rgb
from hsi_studio.core.ml.pipelines.tiling import run_tiled


class ModelPipeline:
    """Runs ``model`` (a component container from :mod:`hsi_studio.core.ml.models`) on inputs; subclasses define
    ``__call__(rgb_linear, …) -> (cube, std | None)``."""

    def __init__(self, model):
        self.model = model

    @property
    def wavelengths(self) -> np.ndarray:
        return self.model.wavelengths

    @property
    def response(self):
        return self.model.response

    @property
    def light(self) -> np.ndarray:
        """The photo convention's D65 on the model's grid (white → brightest RGB 1): what caps highlights."""
        if getattr(self, "_light", None) is None:
            from hsi_studio.core.ml.data.source import light_spectrum  # numpy only

            self._light = light_spectrum("D65", self.response)
        return self._light


class OnePassPipeline(ModelPipeline):
    """A deterministic model run in one pass (sampling options do not apply and are ignored): whole, or in
    overlapping tiles blended with ramps (:func:`.tiling.run_tiled`). Subclasses define
    ``_reconstruct(rgb, device, progress, cancel) -> (cube, None)``."""

    def __call__(self, rgb_linear, *, device: str = "cpu", progress=None, cancel=None, tile: int | None = None,
                 overlap: int = 32, **_ignored):
        """Linear RGB H×W×3 → ``(cube H×W×B float32, None)``, never negative; ``tile`` as in
        :class:`~.uldm.ULDMPipeline` (the tiles are blended the same way)."""
        rgb = check_rgb(rgb_linear)

        def one(part: np.ndarray, report):
            return self._reconstruct(part, device, report, cancel)

        if tile is None:
            return one(rgb, progress)
        return run_tiled(one, rgb, len(self.wavelengths), int(tile), int(overlap), progress or no_progress,
                         cancel or NEVER_CANCEL)

    def _reconstruct(self, rgb: np.ndarray, device: str, progress, cancel):
        raise NotImplementedError


__all__ = ["ModelPipeline", "OnePassPipeline"]
