"""Qt-free orchestration shared by the GUI and the CLI: each function is a thin sequence of core calls taking
``progress`` and ``cancel`` (:mod:`hsi_studio.core.jobs`), run by the GUI on worker threads. Imports core, never Qt. The CLI and the GUI call core only through these
modules (plus the plain types core.cube, core.errors, core.jobs): import contracts ``cli-through-services`` and
``gui-through-services`` in ``.importlinter``.

* :mod:`.files` — reading a photo or a cube, writing a cube or its reflectance, the display render;
* :mod:`.reconstruction` — RGB → cube, accelerators;
* :mod:`.comparison` — comparison with a ground truth or another cube (no torch);
* :mod:`.models` — the model list (the default model, bundles that reconstruct, the baselines);
* :mod:`.training_plan` — the ``hsi-studio train …`` stages the training wizard runs;
* :mod:`.training_data` — the report of a folder of training cubes;
* :mod:`.scoring` — scoring a trained model against the baselines;
* :mod:`.cubes` — cube and image files: read, describe, convert, evaluate (``info``, ``convert``, ``evaluate``);
* :mod:`.spectra` — camera responses and grids, ``simulate-rgb``;
* :mod:`.relighting` — a cube under another light (``relight``, ``illuminants``, the Relight panel);
* :mod:`.analysis` — SAM/SID, library matching, k-means, PCA, index maps and their all-or-nothing writer;
* :mod:`.calibration` — white-balance and chart options, the chart report of a streamed run;
* :mod:`.outputs` — checked, locked, staged outputs (``--force``, one writer per output);
* :mod:`.settings` — the user's settings and the run environment (``accelerate launch``'s processes);
* :mod:`.reconstruct_files` — photo files → cube files (``reconstruct``: inputs, names, memory, writes);
* :mod:`.training` — the training stages from typed, merged configs; the regression and fast-model runs.
"""
