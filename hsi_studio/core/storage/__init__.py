"""Writing safely and knowing where things came from (no Qt, no torch): atomic writes, staged outputs and
locks (:mod:`.atomic`), sha256 manifests and the safe reads behind them (:mod:`.manifest`), provenance
(:mod:`.provenance`)."""
