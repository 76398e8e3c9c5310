"""Regenerate hsi_studio/resources/libraries/colorchecker_ohta.sli/.hdr: the 24 ColorChecker patches'
reflectances (colour-science's "ColorChecker N Ohta", 380–780 nm at 5 nm) as an ENVI spectral library, the
small library HSI Studio ships for matching ("builtin:colorchecker").

Run: .venv/bin/python resources/make_analysis_library.py
"""

from __future__ import annotations

import numpy as np

from hsi_studio.core.analysis.library import BUILTIN, SpectralLibrary, write_library
from hsi_studio.core.spectral._colour import colour


def colorchecker_library() -> SpectralLibrary:
    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    names = list(sds)
    wl = np.asarray(sds[names[0]].wavelengths, dtype=np.float64)
    spectra = np.stack([np.asarray(sds[n].values, dtype=np.float64) for n in names])
    return SpectralLibrary(names, wl, spectra, "ColorChecker N Ohta reflectances (colour-science), made by HSI Studio")


if __name__ == "__main__":
    path = BUILTIN["colorchecker"]
    path.parent.mkdir(parents=True, exist_ok=True)
    lib = colorchecker_library()
    print(write_library(lib, path), len(lib), "spectra", lib.wavelengths[0], "-", lib.wavelengths[-1], "nm")
