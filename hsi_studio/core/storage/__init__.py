"""Writing safely and knowing where things came from (no Qt, no torch): atomic writes and staged outputs
(:mod:`.atomic`), one writer per output (:mod:`.locks`), hidden and printable file names (:mod:`.names`), small
files read safely and byte counts (:mod:`.files`), sha256 manifests and the safe reads behind them
(:mod:`.manifest`), provenance (:mod:`.provenance`)."""
