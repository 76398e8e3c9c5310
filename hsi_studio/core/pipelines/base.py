"""What every inference pipeline shares: the model it runs and the spectral grid and camera response that
model was trained for (no torch import here)."""

from __future__ import annotations

import numpy as np


class ModelPipeline:
    """Runs ``model`` (a component container from :mod:`hsi_studio.core.models`) on inputs; subclasses define
    ``__call__(rgb_linear, …) -> (cube, std | None)``."""

    def __init__(self, model):
        self.model = model

    @property
    def wavelengths(self) -> np.ndarray:
        return self.model.wavelengths

    @property
    def response(self):
        return self.model.response


__all__ = ["ModelPipeline"]
