"""Files and their display render: read an RGB photo or a cube, write a cube or its reflectance estimate, the
cube's sRGB view. Readers pull in h5py, tifffile, …, so ``hsi_studio.core.io.api`` is imported on first use."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress


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


__all__ = ["Loaded", "as_reflectance", "has_reflectance", "load_file", "preview_render", "warm_up", "write_cube",
           "write_reflectance"]
