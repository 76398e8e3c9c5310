"""Cube and image files — the use cases of reading, describing, converting and scoring them: ``hsi-studio
info``, ``convert`` and ``evaluate``, and the GUI's open and save dialogs. Every format the readers and writers
of :mod:`hsi_studio.core.io` know, dispatched by extension; the checks of the inputs come first, with one line
saying what was expected. No torch, no Qt."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.io import registry
from hsi_studio.core.io.api import (
    CUBE_READ_EXTENSIONS,
    CUBE_WRITE_EXTENSIONS,
    PHOTO_EXTENSIONS,
    RAW_EXTENSIONS,
    RGB_EXTENSIONS,
    describe_rgb,
    read_any,
    read_cube,
    read_rgb,
    write_cube,
    write_rgb,
)
from hsi_studio.core.storage.files import format_bytes, read_json, written_bytes

RESAMPLE_GRIDS = ("standard",)
FORMAT_NAMES = {e: f.label for f in registry.formats("cube") for e in f.extensions}  # extension → format label


def open_file(path: str | os.PathLike, key: str | None = None) -> HSCube | RGBImage:
    """A cube or an RGB image, by its extension (``key``: the dataset / variable inside .h5/.mat/.npz)."""
    return read_any(path, key=key) if key else read_any(path)


def open_cube(path: str | os.PathLike, key: str | None = None) -> HSCube:
    return read_cube(path, key=key) if key else read_cube(path)


def describe(path: str | os.PathLike, key: str | None = None) -> dict[str, Any]:
    """What a file holds (shape, wavelengths, data type, metadata …). An RGB image is described from its header
    alone (no pixel decoded), except a TIFF, which may be a cube."""
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    if ext in RGB_EXTENSIONS and ext not in (".tif", ".tiff"):
        return describe_rgb(path)
    return open_file(path, key).summary()


def resample(cube: HSCube, grid: str) -> HSCube:
    """``cube`` on a named wavelength grid (``standard``: 400–700 nm in 10 nm steps)."""
    from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, resample_cube

    if grid not in RESAMPLE_GRIDS:
        raise InputError(f"--resample {grid!r}; expected 'standard' (400–700 nm in 10 nm steps)")
    return resample_cube(cube, STANDARD_WAVELENGTHS)


def convert(source: str | os.PathLike, dest: str | os.PathLike, *, key: str | None = None,
            grid: str | None = None) -> Path:
    """Read ``source`` and write it to ``dest`` in the format its extension names (a trailing slash: a folder of
    PNG bands); a cube may be resampled onto ``grid`` first, an RGB image keeps its bit depth (8 or 16)."""
    obj = open_file(source, key)
    if isinstance(obj, HSCube):
        if grid:
            obj = resample(obj, grid)
        return write_cube(obj, dest)
    return write_rgb(obj, dest, bit_depth=16 if obj.bit_depth > 8 else 8)


def evaluate_files(pred: str | os.PathLike, gt: str | os.PathLike, *, crop: int | None = None,
                   ntire: bool = False, min_nm: float | None = None) -> dict[str, Any]:
    """Metrics (MRAE, RMSE, PSNR, SAM, SSIM) of a reconstruction file against a ground-truth file."""
    from hsi_studio.core.analysis import metrics

    if min_nm is not None and not math.isfinite(min_nm):
        raise InputError(f"--min-nm {min_nm}; expected a finite wavelength in nm")
    if crop is not None and crop < 1:
        raise InputError(f"--crop {crop}; expected a positive number of pixels")
    p, g = read_cube(pred), read_cube(gt)
    if min_nm is not None and min_nm > g.wavelengths[-1] + 1e-6:
        raise InputError(f"--min-nm {min_nm:g} leaves no bands (the cubes span {g.wavelengths[0]:g}–"
                         f"{g.wavelengths[-1]:g} nm); expected a wavelength up to {g.wavelengths[-1]:g} nm")
    return metrics.evaluate(p, g, crop=crop, ntire=ntire, min_nm=min_nm)


def evaluate(pred: HSCube, gt: HSCube, **kw) -> dict[str, Any]:
    """Metrics of a reconstruction against ground truth (see :func:`hsi_studio.core.analysis.metrics.evaluate`)."""
    from hsi_studio.core.analysis import metrics

    return metrics.evaluate(pred, gt, **kw)


__all__ = ["CUBE_READ_EXTENSIONS", "CUBE_WRITE_EXTENSIONS", "FORMAT_NAMES", "PHOTO_EXTENSIONS", "RAW_EXTENSIONS",
           "RESAMPLE_GRIDS", "RGB_EXTENSIONS", "convert", "describe", "describe_rgb", "evaluate", "evaluate_files",
           "format_bytes", "open_cube", "open_file", "read_any", "read_cube", "read_json", "read_rgb", "resample",
           "write_cube", "write_rgb", "written_bytes"]
