"""Files and their display render: read an RGB photo or a cube, write a cube or its reflectance estimate, the
cube's sRGB view; and what the GUI and the CLI say about formats — dialog filters, extension lists, the formats
a cube can be written as — all derived from :mod:`hsi_studio.core.io.registry`. The readers themselves pull in
h5py, tifffile, …, on first use."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.io import registry
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress
from hsi_studio.core.storage.files import format_bytes, written_bytes

FOLDER_FILTER = next(f.filter for f in registry.formats("cube", writable=True) if f.folder)
"""The Save dialog's filter of the folder format (a CAVE-style folder of 16-bit PNG bands)."""


def open_filter() -> str:
    """The Open dialog's filters: images and cubes, photos (camera RAW included), cubes, all files."""
    return registry.read_filter()


def cube_filter() -> str:
    """The filters of a dialog that opens a cube (a ground truth, a comparison)."""
    return registry.cube_read_filter()


def cube_write_filters() -> list[str]:
    """One Save-dialog filter per cube writer, the default (HDF5) first, the PNG band folder last."""
    return registry.write_filters()


def cube_write_formats() -> dict[str, str]:
    """The formats a cube can be written as, name → extension (``{"h5": ".h5", "envi": ".hdr", …,
    "png-bands": "/"}``), for the CLI's choices and help."""
    return registry.writable_formats("cube")


def cube_extensions_text(*, writable: bool = False) -> str:
    """The cube extensions a reader (or, ``writable``, a writer) accepts, space-separated, for help and
    messages: ``".h5 .hdf5 .hdr .img .mat .npz .npy .tif .tiff"``."""
    return registry.extensions_text("cube", writable=writable)


def format_label(path: str | Path, default: str | None = None) -> str | None:
    """The label of the cube format of ``path`` (``"HDF5"``, ``"PNG band folder"`` for a folder …), else
    ``default``."""
    return registry.label_for(path, "cube", default)


def preview_render(cube: HSCube) -> np.ndarray | None:
    """The cube's sRGB uint8 view, core's ``render_view`` (radiance as captured, reflectance under D65); None
    when its wavelengths are outside the visible range."""
    from hsi_studio.core.spectral import relight

    try:
        return relight.render_view(cube)
    except InputError:
        return None


def warm_up(progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> list[str]:
    """Import colour-science and build the D65 render matrix off the GUI thread; returns the catalogue."""
    from hsi_studio.core.spectral import relight
    from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS

    names = relight.list_illuminants()
    cancel.check()
    relight.render_matrix(STANDARD_WAVELENGTHS, "D65")
    return names


@dataclass
class Loaded:
    """A file read by :func:`load_file`: exactly one of ``rgb`` / ``cube`` is set."""

    path: Path
    rgb: RGBImage | None = None
    cube: HSCube | None = None
    render: np.ndarray | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the reader warned about (e.g. an RGBA's alpha dropped)


def load_file(path: str | Path, *, want: str = "any", progress=no_progress,
              cancel: CancelToken = NEVER_CANCEL) -> Loaded:
    """Read an RGB image or a cube (``want``: ``"any"`` or ``"cube"``; a folder is a stack of PNG bands)
    and render a cube's preview."""
    from hsi_studio.core.io import api as io

    t0 = time.monotonic()
    p = Path(path)
    if not p.exists():
        raise InputError("no such file; expected an existing RGB image or cube file", path=str(p))
    progress(0.05, f"reading {p.name}")
    with warnings.catch_warnings(record=True) as caught:  # the reader's warnings go to the caller (a status bar)
        warnings.simplefilter("always", UserWarning)
        obj = io.read_cube(p) if want == "cube" else io.read_any(p)
    notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)))
    if getattr(obj, "metadata", {}).get("alpha_dropped") and not any("alpha" in n for n in notes):
        notes.append(f"{p.name}: alpha channel dropped (RGBA image); HSI Studio uses the RGB channels only")
    cancel.check()
    if isinstance(obj, RGBImage):
        return Loaded(p, rgb=obj, seconds=time.monotonic() - t0, notes=notes)
    progress(0.7, "rendering preview")
    render = preview_render(obj)
    return Loaded(p, cube=obj, render=render, seconds=time.monotonic() - t0, notes=notes)


def write_cube(cube: HSCube, path: str | Path, progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> Path:
    from hsi_studio.core.io import api as io

    progress(0.0, f"writing {Path(path).name}")
    return Path(io.write_cube(cube, path))


def write_reflectance(cube: HSCube, path: str | Path, progress=no_progress,
                      cancel: CancelToken = NEVER_CANCEL) -> Path:
    """Write the reflectance estimate of ``cube`` (a reconstruction divided by the capture illuminant it records;
    a reflectance cube as is) — what ``hsi-studio reconstruct --reflectance`` writes."""
    from hsi_studio.core.io import api as io
    from hsi_studio.core.spectral.relight import to_reflectance

    progress(0.0, f"writing {Path(path).name}")
    refl, _ = to_reflectance(cube)
    cancel.check()
    return Path(io.write_cube(refl, path))


def as_reflectance(cube: HSCube, std: HSCube | None = None) -> tuple[HSCube, HSCube | None]:
    """The cube (and its std) as reflectance for viewing and analysis — core's ``to_reflectance``: a reflectance
    cube as is, a reconstruction divided by the light it records; a cube with no reflectance estimate as is."""
    if not has_reflectance(cube):
        return cube, std
    from hsi_studio.core.spectral.relight import to_reflectance

    return to_reflectance(cube, std)


def has_reflectance(cube: HSCube | None) -> bool:
    """Whether :func:`write_reflectance` can write this cube (reflectance, or a reconstruction of a photo)."""
    if cube is None:
        return False
    from hsi_studio.core.spectral.relight import recorded_capture_illuminant

    return cube.kind == "reflectance" or recorded_capture_illuminant(cube) is not None


__all__ = ["FOLDER_FILTER", "Loaded", "as_reflectance", "cube_extensions_text", "cube_filter", "cube_write_filters",
           "cube_write_formats", "format_bytes", "format_label", "has_reflectance", "load_file", "open_filter",
           "preview_render", "warm_up", "write_cube", "write_reflectance", "written_bytes"]
