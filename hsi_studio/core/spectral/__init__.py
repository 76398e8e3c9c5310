"""Spectra and colour (no Qt, no torch): wavelength grids, camera responses and projection to RGB
(:mod:`.responses`), relighting under any illuminant with colour-science (:mod:`.relight`) and the
training-free RGB → spectrum methods (:mod:`.recovery`)."""
