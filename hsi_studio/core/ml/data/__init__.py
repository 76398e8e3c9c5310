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

# The names below are imported on first use (PEP 562), so that reading one light module of this package (the
# lightings of generated scenes for ``hsi-studio --help``) does not import every source and folder reader.
_WHERE = {"augment": "crops", "random_crop": "crops", "CubeFolder": "folders", "cube_paths": "folders",
          "list_cube_files": "folders", "split_validation": "folders", "PhotoSource": "photos",
          "SIM_OPTIONS": "source", "TrainingSource": "source", "light_spectrum": "source",
          "validation_pairs": "source"}

__all__ = ["CubeFolder", "cube_paths", "list_cube_files", "split_validation", "PhotoSource", "SIM_OPTIONS",
           "TrainingSource", "light_spectrum", "validation_pairs", "augment", "random_crop"]


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
