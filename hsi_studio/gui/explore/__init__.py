"""Looking at a cube: the band / RGB / σ image (:mod:`.band_view`), the spectra under the cursor
(:mod:`.spectrum_plot`) and the quantity they show, radiance or reflectance (:mod:`.view_quantity`)."""
