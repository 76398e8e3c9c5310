"""The Analyse and Compare tabs: maps (SAM/SID, k-means, PCA, indices; :mod:`.analysis_panel`,
:mod:`.analysis_pages`, :mod:`.analysis_exports`), the spectral library (:mod:`.library_panel`) and two cubes side
by side (:mod:`.compare`)."""
