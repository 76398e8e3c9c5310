"""A bundle's ``model_index.json``, read in one place (no torch: the model list, ``--model NAME`` and ``--help``
read it without loading a model).

- :func:`read_index` — the index as a dict; checked (the default) against the allow-lists: the bundle class
  (:data:`ALLOWED_BUNDLES`), each component's class (:data:`COMPONENT_CLASSES`) and the classes its role may
  hold (:data:`ROLE_CLASSES`); ``check=False`` only asks for a JSON object (a Stable Diffusion folder's index);
- :func:`bundle_class` — its ``_class_name``, or None when there is no readable index (for listing);
- :func:`is_bundle` — whether a folder holds a ``model_index.json``.

:mod:`hsi_studio.core.ml.models.bundle` loads bundles through :func:`read_index` and maps the allowed class names
to the classes themselves.
"""

from __future__ import annotations

from pathlib import Path

from hsi_studio.core.errors import FileFormatError, InputError
from hsi_studio.core.storage.files import read_json

INDEX = "model_index.json"
ALLOWED_BUNDLES = ("ULDM", "RGBLDM", "SpeUAE", "PixelRegression", "SpatialResidual")
#: the component classes a bundle may name (never imported by name: :mod:`.models.bundle` maps each to its class)
COMPONENT_CLASSES = ("SpeUAE", "CodeRefiner", "PixelRegression", "SpatialResidual", "AutoencoderKL", "UNet2DModel",
                     "UNet2DConditionModel", "CodeHead")
# The classes each component role may hold (a class on the allow-list in another role is refused too).
ROLE_CLASSES = {"speuae": ("SpeUAE",), "refiner": ("CodeRefiner",), "code_head": ("CodeHead",), "vae": ("AutoencoderKL",),
                "unet": ("UNet2DModel", "UNet2DConditionModel"), "regression": ("PixelRegression",),
                "prior": ("PixelRegression",), "spatial": ("SpatialResidual",)}


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a ``model_index.json`` (its contents are not read)."""
    return (Path(path) / INDEX).is_file()


def read_index(path: str | Path, *, check: bool = True) -> dict:
    """The ``model_index.json`` of the bundle folder ``path``. With ``check`` (the default) the bundle class and
    every component's class must be on the allow-lists (a :class:`FileFormatError` otherwise); without it the index
    only has to be a JSON object. A missing folder is an :class:`InputError`; a missing, unreadable or oversized
    index a :class:`FileFormatError`."""
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; expected a model bundle folder")
    index_file = root / INDEX
    if not index_file.is_file():
        raise FileFormatError(f"{INDEX} is missing; expected a model bundle", path=str(root))
    index = read_json(index_file, INDEX, expect=object)
    if not check:
        if not isinstance(index, dict):
            raise FileFormatError(f"{INDEX} holds a JSON {type(index).__name__}; expected a JSON object",
                                  path=str(root))
        return index
    if not isinstance(index, dict) or index.get("_class_name") not in ALLOWED_BUNDLES:
        got = index.get("_class_name") if isinstance(index, dict) else type(index).__name__
        raise FileFormatError(f"unknown bundle class {got!r}; expected one of {', '.join(ALLOWED_BUNDLES)} "
                              "(allow-list)", path=str(root))
    for name, entry in index.items():
        if not name.startswith("_") and name != "scheduler":
            component_class(root, name, entry)
    return index


def component_class(root: Path, name: str, entry) -> str:
    """The class name of a ``model_index.json`` entry ``[library, class]``, checked against
    :data:`COMPONENT_CLASSES` and the role's :data:`ROLE_CLASSES`."""
    cls_name = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
    if not isinstance(cls_name, str) or cls_name not in COMPONENT_CLASSES:
        raise FileFormatError(f"component {name!r} has class {' '.join(repr(entry).split())[:80]}; expected one "
                              f"of {', '.join(sorted(COMPONENT_CLASSES))} (allow-list)", path=str(root))
    if name in ROLE_CLASSES and cls_name not in ROLE_CLASSES[name]:
        raise FileFormatError(f"component {name!r} has class {cls_name}; expected "
                              f"{' or '.join(ROLE_CLASSES[name])} in that role", path=str(root))
    return cls_name


def bundle_class(path: str | Path) -> str | None:
    """The ``_class_name`` a bundle's ``model_index.json`` declares (None when there is none, or no readable index)."""
    try:
        value = read_index(path, check=False).get("_class_name")
    except (InputError, OSError):
        return None
    return value if isinstance(value, str) else None


__all__ = ["ALLOWED_BUNDLES", "COMPONENT_CLASSES", "INDEX", "ROLE_CLASSES", "bundle_class", "component_class",
           "is_bundle", "read_index"]
