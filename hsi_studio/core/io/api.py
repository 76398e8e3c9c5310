"""Readers and writers for RGB images and hyperspectral cubes (no Qt, no torch).

Public API::

    read_any(path, *, key=None, wavelengths=None) -> HSCube | RGBImage
    read_cube(path, *, key=None, wavelengths=None) -> HSCube
    read_rgb(path) -> RGBImage
    write_cube(cube, path) -> Path
    write_rgb(image, path, bit_depth=8) -> Path
    atomic_write(path)  # context manager yielding a temporary path in the same folder
    CUBE_READ_EXTENSIONS, CUBE_WRITE_EXTENSIONS, RGB_EXTENSIONS, RAW_EXTENSIONS, PHOTO_EXTENSIONS

Cubes: ENVI ``.hdr``/``.img``, HDF5 ``.h5``/``.hdf5``, MATLAB ``.mat`` (v5 and v7.3), ``.npy``, ``.npz``,
multi-page TIFF, and CAVE-style folders of per-band 16-bit PNGs: one module per format (its docstring gives
the exact layout), each registered once in :mod:`hsi_studio.core.io.registry`, which this module dispatches
through; the extension lists below are derived from it. ``key=`` picks the dataset/variable in HDF5, ``.mat`` and ``.npz`` files; otherwise
``cube``, ``rad``, ``ref``, ``NRD``, ``Omsi``, ``hsi``, ``data``, ``img`` … are tried, then the only 3-D array.
A file without wavelengths is read on the 400–700 nm / 10 nm grid when it has 31 bands
(``metadata["wavelengths_assumed"] = True``), else :class:`WavelengthError` unless ``wavelengths=`` is
given. Integer data is scaled to [0, 1] by its dtype's maximum (``metadata["integer_scale"]``).

RGB (:mod:`.rgb`): PNG, JPEG, TIFF, BMP (and WebP when Pillow has it), 8 or 16 bits per channel; alpha is
dropped with a ``UserWarning``; the EXIF orientation is applied; grayscale and colourless palette images are
refused. Camera RAW (:mod:`.raw`) is read through LibRaw.

Every size is checked from the file's header against :func:`hsi_studio.core.cube.check_size` before any
pixel is decoded; every failure is a typed :mod:`hsi_studio.core.errors` exception with a one-line message;
every write is atomic (temporary file in the same folder, fsync, ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import OutputError, UnsupportedFormatError
from hsi_studio.core.io import raw, registry, rgb, tiff
from hsi_studio.core.io.base import reading, require_file, writing
from hsi_studio.core.io.rgb import describe_rgb, encode_png16, read_rgb, write_rgb
from hsi_studio.core.storage.atomic import atomic_write

CUBE_READ_EXTENSIONS = registry.extensions("cube")
# One entry per writer (aliases .img, .hdf5, .tiff also work); a folder path (ending in "/", an existing
# folder, or no extension) writes a CAVE-style folder of 16-bit PNG bands.
CUBE_WRITE_EXTENSIONS = registry.extensions("cube", writable=True, primary=True)
RGB_EXTENSIONS = rgb.RGB_EXTENSIONS
# Camera RAW (read only, through rawpy/LibRaw: see core.io.raw); PHOTO_EXTENSIONS is everything read as a photo.
RAW_EXTENSIONS = raw.RAW_EXTENSIONS
PHOTO_EXTENSIONS = registry.extensions("image")


def read_any(path: str | os.PathLike[str], *, key: str | None = None,
             wavelengths: Any = None) -> HSCube | RGBImage:
    """An RGB image or a cube, decided by extension and content: a folder is a PNG band stack; a TIFF is a
    cube when its description holds wavelengths or it has more than 3 pages/channels (4 for RGBA)."""
    p = Path(path)
    if p.is_dir():
        return read_cube(p, key=key, wavelengths=wavelengths)
    ext = p.suffix.lower()
    if ext in tiff.FORMAT.extensions:
        with reading(p, "TIFF"):
            is_cube = _tiff_is_cube(p)
        return read_cube(p, key=key, wavelengths=wavelengths) if is_cube else read_rgb(p)
    if registry.by_extension(ext, "image") is not None:
        return read_rgb(p)
    if registry.by_extension(ext, "cube") is not None:
        return read_cube(p, key=key, wavelengths=wavelengths)
    raise UnsupportedFormatError(f"extension '{ext or '(none)'}' is not supported; expected an RGB image "
                                 f"({registry.extensions_text('image')}) or a cube "
                                 f"({registry.extensions_text('cube')}, or a folder of PNG bands)", path=str(p))


def read_cube(path: str | os.PathLike[str], *, key: str | None = None, wavelengths: Any = None) -> HSCube:
    """Read a hyperspectral cube (H×W×B float32 + wavelengths in nm) from any registered cube format."""
    p = Path(path)
    fmt = registry.format_for(p, "cube")
    if fmt is None or fmt.read is None:
        ext = p.suffix.lower()
        what = "an RGB image format" if ext in RGB_EXTENSIONS else f"extension '{ext or '(none)'}'"
        raise UnsupportedFormatError(f"cannot read a cube from {what}; expected one of "
                                     f"{registry.extensions_text('cube')} or a folder of PNG bands", path=str(p))
    with reading(p, fmt.label):
        cube = fmt.read(p, key, wavelengths)
    cube.metadata["source"] = str(p)
    return cube


def write_cube(cube: HSCube, path: str | os.PathLike[str]) -> Path:
    """Write ``cube`` atomically in the format its extension names; return the path written (the ``.hdr``
    for ENVI, the folder for a PNG band folder)."""
    p = Path(path)
    if not isinstance(cube, HSCube):
        raise OutputError(f"write_cube got {type(cube).__name__}; expected an HSCube", path=str(p))
    fmt = registry.format_for(path, "cube", writing=True)
    if fmt is None or fmt.write is None:
        raise UnsupportedFormatError(f"cannot write a cube as '{p.suffix.lower()}'; expected one of "
                                     f"{registry.extensions_text('cube', writable=True, ordered=True)} or a folder "
                                     "path ending in '/' (16-bit PNG bands)", path=str(p))
    with writing(p, fmt.label):
        return fmt.write(cube, p)


def _tiff_is_cube(p: Path) -> bool:
    import tifffile

    require_file(p, "TIFF", tiff.TIFF_MAGIC)
    with tifffile.TiffFile(p) as tf:
        if "wavelengths" in tiff.tiff_description(tf):
            return True
        series = tf.series[0]
        if len(series.shape) != 3:
            return False
        bax = tiff.tiff_band_axis(series.axes)
        n = int(series.shape[bax])
        return n > 4 or (n == 4 and series.axes[bax] != "S")


__all__ = ["read_any", "read_cube", "read_rgb", "describe_rgb", "write_cube", "write_rgb", "atomic_write",
           "encode_png16", "CUBE_READ_EXTENSIONS", "CUBE_WRITE_EXTENSIONS", "RGB_EXTENSIONS", "RAW_EXTENSIONS",
           "PHOTO_EXTENSIONS"]
