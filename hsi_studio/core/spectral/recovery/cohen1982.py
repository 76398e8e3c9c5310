"""``physics:minnorm`` — the minimum-norm spectrum: the fundamental metamer of the camera RGB.

``x_obs(y) = y (SᵀS)⁻¹Sᵀ`` of :class:`~hsi_studio.core.spectral.responses.ObservableSplit` for the camera
response ``S`` (default ``cie1964-srgb``): the shortest spectrum that the camera sees as ``y``, with no metameric
black; it reprojects exactly to the input RGB. Returns relative radiance.

Reference: J. B. Cohen and W. E. Kappauf, "Metameric Color Stimuli, Fundamental Metamers, and Wyszecki's
Metameric Blacks", The American Journal of Psychology 95(4), 537–564 (1982). DOI: 10.2307/1422186.
"""

from __future__ import annotations

import numpy as np

from hsi_studio.core.spectral.methods import TRAINING_FREE, Method
from hsi_studio.core.spectral.responses import ObservableSplit

#: this method, registered by the package (in the order of its ``MODULES``)
METHOD = Method("physics:minnorm", "Minimum norm", TRAINING_FREE,
                "hsi_studio.core.spectral.recovery.cohen1982:spectra", baseline=True,
                takes_response=True)


def spectra(rgb: np.ndarray, split: ObservableSplit) -> np.ndarray:
    """(N, 3) linear camera RGB (float32) → (N, 31) float32: the fundamental metamer through ``split``."""
    return split.x_obs(rgb).astype(np.float32, copy=False)


__all__ = ["METHOD", "spectra"]
