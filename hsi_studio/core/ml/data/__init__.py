"""Training data for the ULDM stages and the per-pixel regressions (numpy only — no torch here).

- :mod:`.folders`: the cubes of a folder (:class:`CubeFolder`: every format :func:`io.read_cube` reads, ENVI by
  its ``.hdr``, PNG band folders; read lazily onto 400–700 nm / 10 nm with a report of what was refused and
  why) and :func:`split_validation`, the one train / validation rule.
- :mod:`.photos`: :class:`PhotoSource`, random sRGB crops of photos (RGB pre-training).
- :mod:`.source`: :class:`TrainingSource`, real cubes (weighted) + generated scenes → (cube, linear RGB) pairs
  seen through the model's camera response; :func:`validation_pairs`, the fixed validation set.
- :mod:`.crops`: the random crops and flips both sources share (the centre crop of the validation pairs is
  :func:`hsi_studio.core.cube.centre_crop`).

Generated scenes and their photos live in :mod:`.scenes`; the spectral libraries they draw from in
:mod:`.libraries`.
"""

from hsi_studio.core.ml.data.crops import augment, random_crop
from hsi_studio.core.ml.data.folders import CubeFolder, cube_paths, list_cube_files, split_validation
from hsi_studio.core.ml.data.photos import PhotoSource
from hsi_studio.core.ml.data.source import SIM_OPTIONS, TrainingSource, light_spectrum, validation_pairs

__all__ = ["CubeFolder", "cube_paths", "list_cube_files", "split_validation", "PhotoSource", "SIM_OPTIONS",
           "TrainingSource", "light_spectrum", "validation_pairs", "augment", "random_crop"]
