"""Everything learned, and the only place HSI Studio imports torch, diffusers or accelerate (an import-linter
contract in ``.importlinter``): model components (:mod:`.models`), inference pipelines (:mod:`.pipelines`) and
their front end (:mod:`.reconstruct`), device choice (:mod:`.devices`), training (:mod:`.training`), training
data (:mod:`.data`) and the scoring of methods on known spectra (:mod:`.evaluation`).

Importing this package imports no torch: modules import it where a learned model is built or run."""
