"""Training a model from the GUI: the wizard (:mod:`.wizard`, one module per page), the ``hsi-studio train``
subprocesses it runs (:mod:`.training_runner`) and the user's model folders (:mod:`.model_folders`)."""
