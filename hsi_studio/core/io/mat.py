"""MATLAB ``.mat`` cubes: ``cube`` (H×W×B single), ``wavelengths`` (1×B double), ``kind``, ``metadata_json``;
v5 through scipy.io, or v7.3 (HDF5 with MATLAB's 512-byte header and column-major, i.e. transposed,
datasets, read through :mod:`.h5`) when the cube is too large for v5's 2 GiB variable limit.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube
from hsi_studio.core.io.base import (
    KIND_BY_KEY,
    cube_layout,
    find_wavelength_key,
    finish_cube,
    kind_of,
    meta_json,
    parse_meta_json,
    pick_key,
    require_file,
    resolve_wavelengths,
    to_hwb,
)
from hsi_studio.core.io.h5 import read_hdf5
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.core.storage.atomic import atomic_write

MAT_V5_MAX_BYTES = 2**31 - 1  # a MATLAB v5 variable cannot exceed this; larger cubes are written as v7.3
MAT_MAGIC = b"MATLAB"  # the text header of v5 and v7.3 files ("MATLAB 5.0 MAT-file…")


def read_mat(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    import h5py

    require_file(path, "MATLAB .mat")
    if h5py.is_hdf5(str(path)):
        return read_hdf5(path, key, wavelengths, matlab=True)
    import scipy.io

    variables = scipy.io.whosmat(str(path))
    shapes = {name: tuple(shape) for name, shape, _cls in variables}
    name = pick_key(shapes, key, "variable")
    wl_key = find_wavelength_key(list(shapes))
    meta: dict[str, Any] = {"format": "MATLAB v5", "key": name}
    wanted = [name] + [k for k in (wl_key, "kind", "metadata_json") if k in shapes]
    if wl_key is not None and int(np.prod(shapes[wl_key])) > 100_000:
        wanted.remove(wl_key)
    # the size check runs on whosmat's header shapes first, before loadmat decodes anything
    nwl = int(np.prod(shapes[wl_key])) if wl_key in wanted else None
    axis = cube_layout(shapes[name], nwl, what=f".mat variable '{name}'")
    mat = scipy.io.loadmat(str(path), variable_names=wanted)
    file_wl = np.asarray(mat[wl_key], dtype=np.float64).ravel() if wl_key in wanted else None
    wl = resolve_wavelengths(file_wl, shapes[name][axis], wavelengths, meta)
    arr = np.asarray(mat[name])
    kind = kind_of(mat.get("kind"), KIND_BY_KEY.get(name.lower(), "unknown"))
    return finish_cube(to_hwb(arr, axis, meta), wl, meta, kind, parse_meta_json(mat.get("metadata_json")))


def write_mat(cube: HSCube, path: Path) -> Path:
    if cube.data.nbytes > MAT_V5_MAX_BYTES:
        return _write_mat73(cube, path)
    import scipy.io

    variables = {"cube": cube.data, "wavelengths": cube.wavelengths[None, :], "kind": cube.kind,
                 "metadata_json": meta_json(cube.metadata)}
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        scipy.io.savemat(f, variables, format="5", do_compression=False, oned_as="row")
    return path


def _mat73_header() -> bytes:
    text = (f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {time.strftime('%a %b %d %H:%M:%S %Y')} "
            "HDF5 schema 1.00 .").encode("ascii")
    return text.ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0200) + b"IM"


def _write_mat73(cube: HSCube, path: Path) -> Path:
    """MATLAB v7.3: HDF5 with a 512-byte user block holding the MAT header; arrays stored column-major."""
    import h5py

    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=512, libver="earliest") as f:
            ds = f.create_dataset("cube", data=cube.data.T)  # MATLAB H×W×B single ⇒ HDF5 (B, W, H)
            ds.attrs["MATLAB_class"] = np.bytes_("single")
            wl = f.create_dataset("wavelengths", data=cube.wavelengths[None, :].T)  # 1×B double
            wl.attrs["MATLAB_class"] = np.bytes_("double")
            for name, text in (("kind", cube.kind), ("metadata_json", meta_json(cube.metadata))):
                codes = np.frombuffer(text.encode("utf-16-le"), dtype="<u2")[:, None] if text else np.zeros((0, 1))
                cd = f.create_dataset(name, data=codes.astype(np.uint16))
                cd.attrs["MATLAB_class"] = np.bytes_("char")
                cd.attrs["MATLAB_int_decode"] = np.int32(2)
        with open(tmp, "r+b") as raw:
            raw.write(_mat73_header())
    return path


FORMAT = CubeFormat("mat", "MATLAB", (".mat",), (MAT_MAGIC,), read=read_mat, write=write_mat)

__all__ = ["FORMAT", "MAT_V5_MAX_BYTES", "read_mat", "write_mat"]
