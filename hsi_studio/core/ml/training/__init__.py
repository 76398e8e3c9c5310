"""Training: the typed settings of every stage and their one merge (:mod:`.config`), the engine shared by the ULDM
stages on Hugging Face Accelerate (:mod:`.engine`), the stages (:mod:`.stages`) and their losses (:mod:`.losses`),
the fast model's and the per-pixel baselines' fits (:mod:`.fast_fit`, :mod:`.regression_fit`) and their runs
(:mod:`.runs`), and pickle-free checkpoints (:mod:`.checkpoint`)."""
