"""NumPy ``.npy`` cubes: the bare H×W×B float32 array, never with pickle. No wavelengths are stored: a 31-band
file reads back on the standard grid, any other needs ``wavelengths=…`` (the writer warns).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import FileFormatError
from hsi_studio.core.io.base import (
    cube_layout,
    finish_cube,
    npy_header,
    require_file,
    resolve_wavelengths,
    to_hwb,
)
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.core.storage.atomic import atomic_write

NPY_MAGIC = b"\x93NUMPY"


def read_npy(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    require_file(path, ".npy", (NPY_MAGIC,))
    with open(path, "rb") as f:
        shape, dtype, offset = npy_header(f)
    axis = cube_layout(shape, what=".npy array")
    need = offset + int(np.prod(shape)) * dtype.itemsize
    have = path.stat().st_size
    if have < need:
        raise FileFormatError(f".npy file holds {have:,} bytes; expected {need:,} for shape {shape} "
                              f"{dtype} (truncated?)")
    meta: dict[str, Any] = {"format": "NPY"}
    wl = resolve_wavelengths(None, shape[axis], wavelengths, meta)
    arr = np.load(path, allow_pickle=False)
    return finish_cube(to_hwb(arr, axis, meta), wl, meta, "unknown", {})


def write_npy(cube: HSCube, path: Path) -> Path:
    if not (cube.bands == STANDARD_WAVELENGTHS.size and np.allclose(cube.wavelengths, STANDARD_WAVELENGTHS)):
        warnings.warn(f"{path.name}: .npy stores no wavelengths; this {cube.bands}-band cube needs them passed "
                      "as wavelengths=… when read back (use .npz, .h5 or .hdr to keep them)",
                      UserWarning, stacklevel=3)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.save(f, cube.data, allow_pickle=False)
    return path


FORMAT = CubeFormat("npy", "NumPy .npy", (".npy",), (NPY_MAGIC,), read=read_npy, write=write_npy)

__all__ = ["FORMAT", "read_npy", "write_npy"]
