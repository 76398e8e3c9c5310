"""ENVI ``.hdr`` + ``.img`` cubes: the header parsed by spectral (SPy), the data read and written here. What this
module writes: BIP float32 after a 64-byte prefix holding the pair token (``header offset = 64``, ``hsi studio
pair``), ``wavelength = {…}`` and ``wavelength units = nm``.

Every header field that decides how bytes become numbers is checked (data type, byte order, interleave,
header offset) and the data file must hold exactly the bytes the header describes. The files this module
writes carry a pair token (in the header and in the first bytes of the data, skipped by ``header offset``)
so that a header and a data file from two different writes — what a kill between the two renames of a
pair leaves — are refused instead of read.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import FileFormatError
from hsi_studio.core.io.base import (
    cube_layout,
    finish_cube,
    kind_of,
    require_file,
    resolve_wavelengths,
    wavelength_list,
)
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.core.storage.atomic import atomic_pair

ENVI_DTYPES = {"1": "u1", "2": "i2", "3": "i4", "4": "f4", "5": "f8", "6": "c8", "9": "c16", "12": "u2",
               "13": "u4", "14": "i8", "15": "u8"}
ENVI_DATA_EXTS = ("img", "IMG", "dat", "DAT", "raw", "RAW", "bin", "BIN", "bsq", "bil", "bip", "")
ENVI_INTERLEAVES = ("bsq", "bil", "bip")
# Our .img files start with this prefix (skipped through 'header offset') holding the token that the header
# records as 'hsi studio pair': a header and data file from different writes (a kill between the two renames
# of a pair) are refused instead of read.
ENVI_PAIR_PREFIX = b"HSI Studio ENVI data, pair "
ENVI_PAIR_OFFSET = 64
ENVI_MAGIC = b"ENVI"  # the first line of a header


def envi_paths(path: Path) -> tuple[Path, Path | None]:
    """(header, data file or None) for a ``.hdr`` or ``.img`` path."""
    if path.suffix.lower() == ".hdr":
        stem = str(path.with_suffix(""))
        for ext in ENVI_DATA_EXTS:
            data = Path(f"{stem}.{ext}" if ext else stem)
            if data.is_file():
                return path, data
        return path, None
    candidates = [path.with_suffix(".hdr"), path.with_suffix(".HDR"), Path(f"{path}.hdr")]
    hdr = next((c for c in candidates if c.is_file()), candidates[0])
    return hdr, path


def _envi_int(header: dict[str, Any], name: str, default: int | None = None, minimum: int = 1) -> int:
    raw = header.get(name, default)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise FileFormatError(f"ENVI header has no valid '{name}' ({raw!r}); expected an integer") from None
    if value < minimum:
        raise FileFormatError(f"ENVI header '{name}' is {value}; expected an integer ≥ {minimum}")
    return value


def _envi_wavelengths(header: dict[str, Any]) -> np.ndarray | None:
    if "wavelength" not in header:
        return None
    try:
        wl = np.array([float(v) for v in header["wavelength"]], dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError("ENVI header 'wavelength' is not a list of numbers; expected {v1, v2, …}") from None
    unit = str(header.get("wavelength units", "nm")).strip().lower()
    if unit in ("micrometers", "micrometer", "microns", "micron", "um", "µm"):
        wl = wl * 1000.0
    return wl


def _envi_dtype(header: dict[str, Any]) -> np.dtype:
    code = str(header.get("data type", "")).strip()
    if code not in ENVI_DTYPES:
        raise FileFormatError(f"ENVI 'data type' {code!r}; expected one of {', '.join(ENVI_DTYPES)}")
    if code in ("6", "9"):
        raise FileFormatError(f"ENVI 'data type' {code} is complex; expected real numbers")
    order = str(header.get("byte order", "0")).strip()
    if order not in ("0", "1"):
        raise FileFormatError(f"ENVI 'byte order' {order!r}; expected 0 (little-endian) or 1 (big-endian)")
    return np.dtype(("<" if order == "0" else ">") + ENVI_DTYPES[code])


def _envi_interleave(header: dict[str, Any]) -> str:
    inter = str(header.get("interleave", "")).strip().lower()
    if inter not in ENVI_INTERLEAVES:
        raise FileFormatError(f"ENVI 'interleave' {header.get('interleave')!r}; expected bsq, bil or bip")
    return inter


def _check_pair(header: dict[str, Any], data_file: Path, offset: int) -> None:
    token = str(header.get("hsi studio pair", "")).strip()
    if not token:
        return
    with open(data_file, "rb") as f:
        head = f.read(min(offset, 256))
    if head.rstrip(b"\n ") != ENVI_PAIR_PREFIX + token.encode("ascii", "replace"):
        raise FileFormatError(f"ENVI header and data file {data_file.name} come from different writes (an "
                              "interrupted replacement?); expected the data file written with this header")


def read_envi(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    from spectral.io import envi

    hdr, data_file = envi_paths(path)
    require_file(hdr, "ENVI header", (ENVI_MAGIC,))
    header = envi.read_envi_header(str(hdr))
    h, w, b = (_envi_int(header, k) for k in ("lines", "samples", "bands"))
    cube_layout((h, w, b), band_axis=2, what="ENVI cube")
    meta: dict[str, Any] = {"format": "ENVI"}
    wl = resolve_wavelengths(_envi_wavelengths(header), b, wavelengths, meta)
    if data_file is None or not data_file.is_file():
        raise FileFormatError(f"ENVI header without its data file; expected {hdr.with_suffix('.img').name} "
                              "next to it")
    dtype, inter = _envi_dtype(header), _envi_interleave(header)
    offset = _envi_int(header, "header offset", 0, minimum=0)
    need = offset + h * w * b * dtype.itemsize
    have = data_file.stat().st_size
    if have != need:
        what = "truncated?" if have < need else "more than the header describes: a different or mixed pair?"
        raise FileFormatError(f"ENVI data file {data_file.name} holds {have:,} bytes; expected exactly {need:,} "
                              f"for {h}×{w}×{b} {dtype.name} samples after a {offset}-byte offset ({what})")
    _check_pair(header, data_file, offset)
    file_shape, to_hwb_axes = {"bsq": ((b, h, w), (1, 2, 0)), "bil": ((h, b, w), (0, 2, 1)),
                               "bip": ((h, w, b), (0, 1, 2))}[inter]
    flat = np.fromfile(data_file, dtype=dtype, count=h * w * b, offset=offset)
    arr = np.transpose(flat.reshape(file_shape), to_hwb_axes)
    arr = arr.astype(dtype.newbyteorder("="), copy=False)
    kind = kind_of(header.get("hsi studio kind"))
    try:
        factor = float(header.get("reflectance scale factor", 0) or 0)
    except (TypeError, ValueError):
        raise FileFormatError(f"ENVI 'reflectance scale factor' {header.get('reflectance scale factor')!r}; "
                              "expected a number") from None
    if math.isfinite(factor) and factor > 0 and factor != 1:  # ENVI's own scaling (e.g. int16 × 10000)
        meta["reflectance_scale_factor"] = factor
        arr = arr.astype(np.float32) / np.float32(factor)
        kind = "reflectance"
    return finish_cube(np.ascontiguousarray(arr), wl, meta, kind, {})


def write_envi(cube: HSCube, path: Path) -> Path:
    from spectral.io import envi

    if path.suffix.lower() == ".hdr":
        hdr, img = path, path.with_suffix(".img")
    else:
        hdr, img = path.with_suffix(".hdr"), path
    token = secrets.token_hex(16)
    prefix = (ENVI_PAIR_PREFIX + token.encode("ascii")).ljust(ENVI_PAIR_OFFSET - 1, b" ") + b"\n"
    md = {"description": "HSI Studio cube", "samples": cube.width, "lines": cube.height, "bands": cube.bands,
          "header offset": ENVI_PAIR_OFFSET, "file type": "ENVI Standard", "data type": 4, "interleave": "bip",
          "byte order": 0, "wavelength": wavelength_list(cube), "wavelength units": "nm", "hsi studio kind": cube.kind,
          "hsi studio pair": token}
    with atomic_pair(img, hdr) as base:
        with open(f"{base}{img.suffix}", "wb") as f:
            f.write(prefix)
            f.write(np.ascontiguousarray(cube.data, dtype="<f4").tobytes())
        envi.write_envi_header(f"{base}{hdr.suffix}", md)
    return hdr


FORMAT = CubeFormat("envi", "ENVI", (".hdr", ".img"), (ENVI_MAGIC,), read=read_envi, write=write_envi)

__all__ = ["FORMAT", "read_envi", "write_envi", "envi_paths", "ENVI_DATA_EXTS"]
