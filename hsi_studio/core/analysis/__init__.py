"""Analysing cubes (no Qt, no torch): reconstruction metrics (:mod:`.metrics`), similarity, class and index
maps (:mod:`.maps`), spectral libraries (:mod:`.library`) and the honesty of a sampled model's σ
(:mod:`.uncertainty`)."""
