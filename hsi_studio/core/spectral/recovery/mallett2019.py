"""``physics:mallett2019`` — spectral primary decomposition: linear sRGB × three basis reflectances.

Linear sRGB × the three sRGB basis spectra of ``colour.recovery.MSDS_BASIS_FUNCTIONS_sRGB_MALLETT2019`` (one
matrix product), sampled on the standard grid (the basis is on 380–780 nm / 5 nm: a selection, no smoothing).
Returns reflectance under D65, within [0, 1] for in-gamut colours.

Reference: I. Mallett and C. Yuksel, "Spectral Primary Decomposition for Rendering with sRGB Reflectance",
Eurographics Symposium on Rendering — DL-only and Industry Track (2019). DOI: 10.2312/SR.20191216.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hsi_studio.core.spectral.methods import TRAINING_FREE, Method
from hsi_studio.core.spectral.recovery._common import colour, sample, xyz_to_rgb

#: this method, registered by the package (in the order of its ``MODULES``)
METHOD = Method("physics:mallett2019", "Mallett 2019", TRAINING_FREE,
                "hsi_studio.core.spectral.recovery.mallett2019:spectra", baseline=True,
                quantity="reflectance", colour_name="Mallett 2019")


@lru_cache(maxsize=1)
def mallett_basis() -> np.ndarray:
    """(3, 31): the R, G, B basis reflectances on the standard grid; spectrum = linear sRGB @ basis."""
    msds = colour().recovery.MSDS_BASIS_FUNCTIONS_sRGB_MALLETT2019
    basis = sample(np.asarray(msds.values, dtype=np.float64), msds.wavelengths).T
    basis.setflags(write=False)
    return basis


def spectra(rgb: np.ndarray, split=None) -> np.ndarray:
    """(N, 3) linear sRGB (float32) → (N, 31) float32 reflectance (``split`` is not used)."""
    return rgb @ mallett_basis().astype(np.float32)


def xyz_spectra(xyz: np.ndarray) -> np.ndarray:
    """(N, 3) CIE XYZ (scale 1, D65), float64 → (N, 31), as ``colour.XYZ_to_sd(xyz, method="Mallett 2019")``."""
    return xyz @ xyz_to_rgb() @ mallett_basis()


__all__ = ["METHOD", "mallett_basis", "spectra", "xyz_spectra"]
