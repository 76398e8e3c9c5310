"""Plumbing shared by the readers and writers of :mod:`hsi_studio.core.io` (no Qt, no torch).

* :func:`reading` / :func:`writing`: the boundary where library exceptions (``OSError``, ``KeyError``,
  h5py/scipy/tifffile errors …) become the typed errors of :mod:`hsi_studio.core.errors`, with the path.
* Header helpers: choosing the band axis and checking the size budget before anything is decoded, picking
  the cube variable in a container, resolving wavelengths, scaling integer data; the stored-metadata JSON.

Writes are atomic through :mod:`hsi_studio.core.storage.atomic` (each writer calls it).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from hsi_studio.core.cube import MAX_BANDS, MIN_BANDS, HSCube, check_memory, check_size, validate_wavelengths
from hsi_studio.core.errors import (
    FileFormatError,
    InputError,
    OutputError,
    ShapeError,
    SizeLimitError,
    UnsafeFileError,
    WavelengthError,
    one_line,
)
from hsi_studio.core.jobs import Cancelled
from hsi_studio.core.spectral.responses import (
    STANDARD_WAVELENGTHS,  # the 31-band grid assumed for files without wavelengths
)

# Peak bytes per sample while a cube is decoded: the file's values plus the float32 cube (worst case 2 × 4).
DECODE_BYTES_PER_SAMPLE = 8

# Names tried (case-insensitively, in this order) when no ``key=`` is given: ARAD ``cube``, ICVL ``rad``,
# Harvard ``ref``, CAVE ``NRD`` / ``Omsi``, then common generic names.
CUBE_KEYS = ("cube", "rad", "ref", "nrd", "omsi", "hsi", "data", "img", "radiance", "reflectance", "msi")
WAVELENGTH_KEYS = ("wavelengths", "wavelength", "bands", "wl", "wave", "wavelengths_nm", "lambda")
KIND_BY_KEY = {"rad": "radiance", "radiance": "radiance", "ref": "reflectance", "reflectance": "reflectance"}
# Metadata a reader derives from the file: never copied into a written file's stored metadata.
READER_KEYS = frozenset({"source", "format", "key", "wavelengths_assumed", "wavelengths_source", "integer_scale",
                         "source_dtype", "layout", "png_scale", "reflectance_scale_factor",
                         "exif_orientation", "alpha_dropped"})


# ---------------------------------------------------------------------------------------------------------
# Messages and the error boundary
# ---------------------------------------------------------------------------------------------------------
def a_an(word: str) -> str:
    """'an ENVI file', 'an HDF5 file', 'a PNG file', 'a .npy file'."""
    return f"an {word}" if word[:1] in "AEIOHaeio" else f"a {word}"


def _with_path(exc: InputError, path: Path, plain: type[InputError]) -> InputError:
    cls = plain if type(exc) is InputError else type(exc)
    msg = str(exc)
    if exc.path is not None:
        msg = msg[len(exc.path) + 2:] if msg.startswith(exc.path + ": ") else msg
    return cls(one_line(msg, 400), path=str(path))


@contextmanager
def reading(path: Path, fmt: str) -> Iterator[None]:
    """Turn every exception of a reader into a typed :class:`InputError` that names ``path``."""
    try:
        yield
    except InputError as exc:
        raise _with_path(exc, path, FileFormatError) from exc
    except (Warning, Cancelled):
        raise
    except FileNotFoundError:
        raise FileFormatError(f"file not found; expected an existing {fmt} file", path=str(path)) from None
    except IsADirectoryError:
        raise FileFormatError(f"is a folder; expected {a_an(fmt)} file", path=str(path)) from None
    except PermissionError:
        raise FileFormatError(f"permission denied; expected a readable {fmt} file", path=str(path)) from None
    except MemoryError:
        raise SizeLimitError(f"not enough memory to decode it; expected a smaller {fmt} file",
                             path=str(path)) from None
    except Exception as exc:  # the boundary: library errors become FileFormatError
        raise FileFormatError(f"cannot read it as {fmt} ({type(exc).__name__}: {one_line(exc)}); "
                              f"expected a valid, complete {fmt} file", path=str(path)) from exc


@contextmanager
def writing(path: Path, fmt: str) -> Iterator[None]:
    """Turn every exception of a writer into :class:`OutputError` (or keep a typed one), naming ``path``."""
    try:
        yield
    except InputError as exc:
        raise _with_path(exc, path, OutputError) from exc
    except (Warning, Cancelled):  # a signal cancelled the job: not a write error
        raise
    except Exception as exc:  # the boundary
        raise OutputError(f"cannot write {fmt} ({type(exc).__name__}: {one_line(exc)}); expected a writable "
                          "location with enough free space", path=str(path)) from exc


def require_file(path: Path, fmt: str, magic: tuple[bytes, ...] = ()) -> None:
    """Refuse a missing, empty or wrong-content file before a library sees it."""
    if path.is_dir():
        raise FileFormatError(f"is a folder; expected {a_an(fmt)} file")
    size = path.stat().st_size  # FileNotFoundError → FileFormatError in reading()
    if size == 0:
        raise FileFormatError(f"file is empty (0 bytes); expected {a_an(fmt)} file")
    if magic:
        with open(path, "rb") as f:
            head = f.read(max(len(m) for m in magic))
        if not any(head.startswith(m) for m in magic):
            raise FileFormatError(f"not {a_an(fmt)} file (it starts with {head[:12]!r}); expected {fmt} content")


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png_chunks(p: Path) -> None:
    """Every chunk's CRC, in order up to IEND (Pillow does not check image data chunks)."""
    with open(p, "rb") as f:
        if f.read(8) != PNG_MAGIC:
            raise FileFormatError("not a PNG file; expected the PNG signature")
        first = True
        while True:
            head = f.read(8)
            if len(head) < 8:
                raise FileFormatError("PNG ends before its IEND chunk (truncated); expected a complete PNG file")
            length, kind = struct.unpack(">I4s", head)
            if first and kind != b"IHDR":
                raise FileFormatError(f"PNG starts with chunk {kind!r}; expected IHDR first")
            first = False
            crc = zlib.crc32(kind)
            left = length
            while left:
                piece = f.read(min(left, 1 << 20))
                if not piece:
                    raise FileFormatError(f"PNG chunk {kind.decode('latin-1')!r} is cut short (truncated); "
                                          "expected a complete PNG file")
                crc = zlib.crc32(piece, crc)
                left -= len(piece)
            stored = f.read(4)
            if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc & 0xFFFFFFFF:
                raise FileFormatError(f"PNG chunk {kind.decode('latin-1')!r} fails its CRC check (damaged "
                                      "file); expected an intact PNG file")
            if kind == b"IEND":
                return


# ---------------------------------------------------------------------------------------------------------
# The cube a reader returns
# ---------------------------------------------------------------------------------------------------------
def finish_cube(data: np.ndarray, wl: np.ndarray, meta: dict[str, Any], kind: str, stored: dict[str, Any]) -> HSCube:
    md = {**stored, **meta}
    return HSCube(to_float32(data, md), wl, md, kind)


def wavelength_list(cube: HSCube) -> list[float]:
    return [float(x) for x in cube.wavelengths]


# ---------------------------------------------------------------------------------------------------------
# Header checks (before decoding)
# ---------------------------------------------------------------------------------------------------------
def cube_layout(shape: tuple[int, ...], nwl: int | None = None, *, band_axis: int | None = None,
                what: str = "cube") -> int:
    """Check a 3-D header shape against the size budget and band limits; return the band axis (0 or 2).

    Bands are the last axis. A first axis equal to the wavelength count (31 when there are none) with a last
    axis that is not is read as bands-first (B×H×W), as stored by many MATLAB/HDF5 data sets.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ShapeError(f"{what} has shape {shape} ({len(shape)} axes); expected 3 axes (height, width, bands)")
    if band_axis is None:
        want = nwl or 31
        band_axis = 0 if (shape[2] != want and shape[0] == want) else 2
    h, w = (shape[1], shape[2]) if band_axis == 0 else (shape[0], shape[1])
    b = shape[band_axis]
    check_size(h, w, b, what=what)
    if not MIN_BANDS <= b <= MAX_BANDS:
        raise ShapeError(f"{what} has {b} bands (shape {shape}); expected {MIN_BANDS} to {MAX_BANDS} bands")
    check_memory(h * w * b * DECODE_BYTES_PER_SAMPLE, f"{what} of {h}×{w}×{b}")
    return band_axis


def to_hwb(arr: np.ndarray, band_axis: int, meta: dict[str, Any]) -> np.ndarray:
    if band_axis == 0:
        meta["layout"] = "BHW"
        return np.moveaxis(arr, 0, -1)
    return arr


def resolve_wavelengths(file_wl: Any, bands: int, override: Any, meta: dict[str, Any]) -> np.ndarray:
    """Caller's ``wavelengths=`` › the file's › the standard 31-band grid (recorded as assumed)."""
    if override is not None:
        meta["wavelengths_source"] = "argument"
        return validate_wavelengths(override, bands)
    if file_wl is not None:
        wl = validate_wavelengths(file_wl)
        if wl.size != bands:
            raise WavelengthError(f"the file gives {wl.size} wavelengths for {bands} bands; expected one "
                                  "wavelength per band")
        return wl
    if bands == STANDARD_WAVELENGTHS.size:
        meta["wavelengths_assumed"] = True
        return STANDARD_WAVELENGTHS.copy()
    raise WavelengthError(f"the file holds {bands} bands and no wavelengths; expected wavelengths in the file "
                          "or passed as wavelengths=… (only 31-band files get the 400–700 nm grid by default)")


def to_float32(arr: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """Integers → [0, 1] by their dtype's maximum (recorded in ``meta``); floats as they are."""
    kind = arr.dtype.kind
    if kind in "ui":
        top = np.iinfo(arr.dtype).max
        meta["integer_scale"] = int(top)
        meta["source_dtype"] = str(arr.dtype)
        out = arr.astype(np.float32)
        out /= np.float32(top)
        return out
    if kind == "b":
        return arr.astype(np.float32)
    if kind == "f":
        return np.asarray(arr, dtype=np.float32)
    raise FileFormatError(f"the data has dtype {arr.dtype}; expected integer or floating-point numbers")


def pick_key(entries: dict[str, tuple[int, ...]], key: str | None, what: str = "array") -> str:
    """Choose the cube variable among ``entries`` (name → shape)."""
    names = list(entries)
    if key is not None:
        if key in entries:
            return key
        raise FileFormatError(f"no {what} named {key!r} (found: {one_line(names[:12]) if names else 'none'}); "
                              f"expected one of the names found")
    by_lower = {n.lower().rsplit("/", 1)[-1]: n for n in reversed(names)}
    present = [by_lower[c] for c in CUBE_KEYS if c in by_lower]
    for name in present:
        if len(entries[name]) == 3:
            return name
    three_d = [n for n in names if len(entries[n]) == 3]
    if len(three_d) == 1:
        return three_d[0]
    if present:
        return present[0]  # not 3-D: the caller's layout check says so
    if three_d:
        raise FileFormatError(f"several 3-D {what}s ({one_line(three_d[:6])}) and none with a known name; "
                              "expected key=… to choose one")
    raise FileFormatError(f"no cube {what} found (found: {one_line(names[:12]) if names else 'nothing'}); "
                          f"expected a 3-D {what} named {', '.join(CUBE_KEYS[:5])}, … or key=…")


def find_wavelength_key(names: list[str]) -> str | None:
    by_lower = {n.lower().rsplit("/", 1)[-1]: n for n in names}
    return next((by_lower[k] for k in WAVELENGTH_KEYS if k in by_lower), None)


def as_text(value: Any) -> str | None:
    """A string from a str / bytes / 0-d or 1-element array / MATLAB char array, else None."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in "US" and arr.size >= 1:
        return as_text(arr.ravel()[0])
    return None


def kind_of(value: Any, default: str = "unknown") -> str:
    text = as_text(value)
    return text if text in ("radiance", "reflectance", "unknown") else default


# ---------------------------------------------------------------------------------------------------------
# Stored metadata (a JSON string inside the file) and .npy headers
# ---------------------------------------------------------------------------------------------------------
def meta_json(meta: dict[str, Any]) -> str:
    """The JSON-able, user-level part of a cube's metadata (reader-derived keys are dropped)."""
    out = {}
    for k, v in meta.items():
        if k in READER_KEYS:
            continue
        try:
            json.dumps(v, allow_nan=False)
        except (TypeError, ValueError):
            continue
        out[str(k)] = v
    text = json.dumps(out, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a non-UTF-8 file name (surrogate escapes): keep it, as JSON \u escapes
        text = json.dumps(out, ensure_ascii=True)
    return text


def parse_meta_json(text: Any) -> dict[str, Any]:
    s = as_text(text)
    if not s:
        return {}
    try:
        out = json.loads(s)
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def npy_header(f: BinaryIO, what: str = ".npy array") -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) from an open .npy stream, refusing anything that needs pickle."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise FileFormatError(f"{what} uses .npy format version {version}; expected version 1.0 or 2.0")
    if dtype.hasobject:
        raise UnsafeFileError(f"{what} holds Python objects (dtype {dtype}) that only pickle can load; expected a "
                              "numeric array (HSI Studio never unpickles files)")
    return tuple(int(s) for s in shape), dtype, f.tell()


__all__ = ["reading", "writing", "require_file", "cube_layout", "resolve_wavelengths", "to_float32",
           "pick_key", "npy_header", "CUBE_KEYS"]

