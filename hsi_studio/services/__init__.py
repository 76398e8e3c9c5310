"""Qt-free orchestration shared by the GUI and the CLI: each function is a thin sequence of core calls taking
``progress`` and ``cancel`` (:mod:`hsi_studio.core.jobs`), run by the GUI on worker threads. Imports core, never Qt.

* :mod:`.files` — reading a photo or a cube, writing a cube or its reflectance, the display render;
* :mod:`.reconstruction` — RGB → cube, accelerators;
* :mod:`.comparison` — comparison with a ground truth or another cube (no torch);
* :mod:`.models` — the model list (the default model, bundles that reconstruct, the baselines);
* :mod:`.training_plan` — the ``hsi-studio train …`` stages the training wizard runs;
* :mod:`.training_data` — the report of a folder of training cubes;
* :mod:`.scoring` — scoring a trained model against the baselines.
"""
