"""Spectra and colour (no Qt, no torch): wavelength grids, camera responses and projection to RGB
(:mod:`.responses`), illuminants (:mod:`.illuminants`) and relighting under any of them with colour-science
(:mod:`.relight`), the training-free RGB → spectrum methods (:mod:`.recovery`, one module per method) and the
methods registry every method is listed in once (:mod:`.methods`)."""
