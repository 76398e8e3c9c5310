"""NumPy ``.npz`` cubes: ``cube``, ``wavelengths``, ``kind``, ``metadata_json``, all loadable with
``allow_pickle=False`` (a member that would need pickle is refused from its header).
"""

from __future__ import annotations

import zipfile
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
    npy_header,
    parse_meta_json,
    pick_key,
    require_file,
    resolve_wavelengths,
    to_hwb,
)
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.core.storage.atomic import atomic_write

NPZ_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (an empty one starts with its end record)


def _npz_headers(zf: zipfile.ZipFile) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    out = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with zf.open(info) as member:
            shape, dtype, _ = npy_header(member, what=f".npz member '{info.filename[:-4]}'")
        out[info.filename[:-4]] = (shape, dtype)
    return out


def read_npz(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    require_file(path, ".npz", NPZ_MAGIC)
    with zipfile.ZipFile(path) as zf:
        headers = _npz_headers(zf)  # refuses any member that would need pickle
    name = pick_key({k: v[0] for k, v in headers.items()}, key, "array")
    wl_key = find_wavelength_key([k for k in headers if int(np.prod(headers[k][0])) <= 100_000])
    axis = cube_layout(headers[name][0], int(np.prod(headers[wl_key][0])) if wl_key else None,
                       what=f".npz array '{name}'")
    meta: dict[str, Any] = {"format": "NPZ", "key": name}
    with np.load(path, allow_pickle=False) as npz:
        file_wl = np.asarray(npz[wl_key], dtype=np.float64).ravel() if wl_key else None
        wl = resolve_wavelengths(file_wl, headers[name][0][axis], wavelengths, meta)
        kind = kind_of(npz["kind"], KIND_BY_KEY.get(name.lower(), "unknown")) if "kind" in headers else "unknown"
        stored = parse_meta_json(npz["metadata_json"]) if "metadata_json" in headers else {}
        arr = npz[name]
    return finish_cube(to_hwb(arr, axis, meta), wl, meta, kind, stored)


def write_npz(cube: HSCube, path: Path) -> Path:
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, cube=cube.data, wavelengths=cube.wavelengths, kind=np.str_(cube.kind),
                 metadata_json=np.str_(meta_json(cube.metadata)))
    return path


FORMAT = CubeFormat("npz", "NumPy .npz", (".npz",), NPZ_MAGIC, read=read_npz, write=write_npz)

__all__ = ["FORMAT", "read_npz", "write_npz"]
