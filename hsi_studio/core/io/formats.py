"""One small reader and writer per cube format; :mod:`hsi_studio.core.io.api` dispatches to them by extension.

Readers take ``(path, key, wavelengths)`` and return an :class:`HSCube`; they check the header (shape, size
budget, band count, wavelengths) before decoding any data. Writers take ``(cube, path)`` and write atomically.
The heavy libraries (h5py, scipy.io, spectral, tifffile) are imported on first use.

Layouts on disk:

* ENVI ``.hdr`` + ``.img`` (:mod:`hsi_studio.core.io.envi`): BIP float32 after a 64-byte prefix holding the
  pair token (``header offset = 64``, ``hsi studio pair``), ``wavelength = {…}`` and ``wavelength units = nm``.
* HDF5: dataset ``cube`` (H×W×B float32) with attributes ``wavelengths``, ``wavelength_units``, ``kind``,
  ``layout`` = ``"HWB"`` and ``metadata_json``.
* MATLAB: ``cube`` (H×W×B single), ``wavelengths`` (1×B double), ``kind``, ``metadata_json``; v5 via
  scipy, or v7.3 (HDF5 with MATLAB's 512-byte header and column-major, i.e. transposed, datasets) when the
  cube is too large for v5's 2 GiB variable limit.
* ``.npy``: the bare H×W×B float32 array (no wavelengths: a 31-band file reads back on the standard grid).
* ``.npz``: ``cube``, ``wavelengths``, ``kind``, ``metadata_json`` (all loadable with ``allow_pickle=False``).
* TIFF: one float32 page per band, JSON ``{"wavelengths": […], …}`` in the first page's ImageDescription.
* PNG band folder (CAVE layout): ``<name>_01.png … <name>_31.png``, 16-bit grayscale; the sidecar
  ``hsi_studio_cube.json`` holds ``scale`` (value = counts / 65535 × scale), wavelengths, kind, metadata.
  A folder without the sidecar is read as counts / 65535 (8-bit PNGs: / 255).
"""

from __future__ import annotations

import json
import os
import re
import struct
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hsi_studio.core.cube import MAX_BANDS, MIN_BANDS, HSCube
from hsi_studio.core.errors import ColorModeError, FileFormatError, OutputError, ShapeError, UnsafeFileError
from hsi_studio.core.io.base import (
    KIND_BY_KEY,
    WAVELENGTH_KEYS,
    as_text,
    check_png_chunks,
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
    wavelength_list,
)
from hsi_studio.core.io.envi import ENVI_DATA_EXTS, envi_paths, read_envi, write_envi  # noqa: F401 — ENVI lives there
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.core.storage.atomic import atomic_folder, atomic_write

MAT_V5_MAX_BYTES = 2**31 - 1  # a MATLAB v5 variable cannot exceed this; larger cubes are written as v7.3
CAVE_SIDECAR = "hsi_studio_cube.json"
CAVE_BAND_RE = re.compile(r".*_(\d+)\.png", re.IGNORECASE)
CAVE_REPLACEABLE = re.compile(rf"(.*_\d+\.png|{re.escape(CAVE_SIDECAR)})", re.IGNORECASE)
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


# ---------------------------------------------------------------------------------------------------------
# HDF5 (.h5 / .hdf5) and MATLAB v7.3 (which is HDF5 with transposed arrays)
# ---------------------------------------------------------------------------------------------------------
def _h5_datasets(f: Any, skip_matlab: bool) -> dict[str, Any]:
    import h5py

    found: dict[str, Any] = {}

    def visit(name: str, obj: Any) -> None:  # names and shapes only: the datasets are reopened confined
        if isinstance(obj, h5py.Dataset) and len(found) < 1000:
            if not (skip_matlab and name.startswith("#")):
                found[name] = tuple(obj.shape or ())

    f.visititems(visit)
    return found


def _h5_wavelengths(ds: Any, f: Any, datasets: dict[str, Any], path: Path) -> np.ndarray | None:
    for attrs in (ds.attrs, f.attrs):
        lower = {k.lower(): k for k in attrs}
        for k in WAVELENGTH_KEYS:
            if k in lower:
                return np.asarray(attrs[lower[k]], dtype=np.float64).ravel()
    name = find_wavelength_key([n for n in datasets if n != ds.name.lstrip("/")])
    if name is not None and datasets[name].size <= 100_000:
        return np.asarray(read_values(f, datasets, name, path), dtype=np.float64).ravel()
    return None


def _inside(folder: Path, name: str) -> bool:
    """Whether a file named by an HDF5 file (external storage, a virtual dataset's source) lies inside
    ``folder``: a relative name without '..' that, symlinks resolved, stays in the folder."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not name:
        return False
    try:
        return (folder / rel).resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def check_confined(ds: Any, path: Path, depth: int = 0) -> bool:
    """Refuse a dataset whose external storage or virtual-dataset sources lie outside ``path``'s folder;
    True when it has any (its values must then be read through :func:`read_values`)."""
    import h5py

    folder, name = path.parent, ds.name
    external = ds.external or ()
    for ext_name, _offset, _size in external:
        text = ext_name.decode("utf-8", "replace") if isinstance(ext_name, bytes) else str(ext_name)
        if not _inside(folder, text):
            raise UnsafeFileError(f"dataset '{name}' keeps its data in external file {text!r} outside the file's "
                                  "folder; expected data stored in the file (or beside it)")
    if not ds.is_virtual:
        return bool(external)
    for src in ds.virtual_sources():
        if src.file_name == ".":
            continue
        if depth >= 2 or not _inside(folder, src.file_name):
            raise UnsafeFileError(f"virtual dataset '{name}' reads from {src.file_name!r} outside the file's "
                                  "folder; expected data stored in the file (or beside it)")
        other = folder / src.file_name
        with h5py.File(other, "r") as g:
            if src.dset_name in g:
                check_confined(g[src.dset_name], other, depth + 1)
    return True


def read_values(f: Any, datasets: dict[str, Any], name: str, path: Path) -> np.ndarray:
    """All values of ``datasets[name]``; external storage and virtual sources (already checked to lie in the
    file's folder) are resolved against that folder, never the working directory."""
    import h5py

    ds = datasets.pop(name)
    if not check_confined(ds, path):
        return ds[()]
    del ds  # HDF5 refuses to open a dataset again with another prefix while it is open
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_efile_prefix(b"${ORIGIN}")
    dapl.set_virtual_prefix(b"${ORIGIN}")
    return h5py.Dataset(h5py.h5d.open(f.id, name.encode("utf-8", "surrogateescape"), dapl))[()]


def read_hdf5(path: Path, key: str | None, wavelengths: Any, *, matlab: bool = False) -> HSCube:
    import h5py

    fmt = "MATLAB v7.3" if matlab else "HDF5"
    require_file(path, fmt)
    if not h5py.is_hdf5(str(path)):
        raise FileFormatError(f"not an HDF5 file; expected {fmt} content")
    with h5py.File(path, "r") as f:
        found = _h5_datasets(f, matlab)
        shapes = {n: (s[::-1] if matlab else s) for n, s in found.items()}
        name = pick_key(shapes, key, "dataset")
        datasets = {n: f[n] for n in found
                    if n == name or n.lower().rsplit("/", 1)[-1] in (*WAVELENGTH_KEYS, "kind", "metadata_json")}
        ds = datasets[name]
        check_confined(ds, path)  # before anything else is read from the file
        file_wl = _h5_wavelengths(ds, f, datasets, path)
        layout = as_text(ds.attrs.get("layout"))
        axis = cube_layout(shapes[name], None if file_wl is None else file_wl.size,
                           band_axis={"HWB": 2, "BHW": 0}.get(layout or ""), what=f"{fmt} dataset '{name}'")
        meta: dict[str, Any] = {"format": fmt, "key": name}
        wl = resolve_wavelengths(file_wl, shapes[name][axis], wavelengths, meta)
        kind = _stored_kind(f, datasets, ds, name, path)
        stored = parse_meta_json(ds.attrs["metadata_json"] if "metadata_json" in ds.attrs
                                 else _h5_text(f, datasets, "metadata_json", path))
        del ds
        arr = read_values(f, datasets, name, path)
        arr = arr.T if matlab else arr
    return finish_cube(to_hwb(arr, axis, meta), wl, meta, kind, stored)


def _h5_text(f: Any, datasets: dict[str, Any], name: str, path: Path) -> str | None:
    """A string attribute or a MATLAB char dataset (uint16 code units)."""
    ds = datasets.get(name)
    if ds is None or ds.size > 1_000_000:
        return None
    char = as_text(ds.attrs.get("MATLAB_class")) == "char"
    del ds
    value = read_values(f, datasets, name, path)
    if char:
        return np.asarray(value, dtype=np.uint16).T.ravel().tobytes().decode("utf-16-le", "replace")
    return as_text(value)


def _stored_kind(f: Any, datasets: dict[str, Any], ds: Any, name: str, path: Path) -> str:
    kind = ds.attrs["kind"] if "kind" in ds.attrs else _h5_text(f, datasets, "kind", path)
    return kind_of(kind, KIND_BY_KEY.get(name.lower().rsplit("/", 1)[-1], "unknown"))


def write_hdf5(cube: HSCube, path: Path) -> Path:
    import h5py

    h, w, b = cube.data.shape
    # Chunked, lossless: shuffle + gzip (deflate, built into every HDF5 library, so MATLAB, HDFView, h5py and
    # the ENVI/Python tools read it); level 1 halves a reconstruction at ~0.4 s per 32 MB written.
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        ds = f.create_dataset("cube", data=cube.data, chunks=(min(h, 128), min(w, 128), b), shuffle=True,
                              compression="gzip", compression_opts=1)
        ds.attrs["wavelengths"] = cube.wavelengths
        ds.attrs["wavelength_units"] = "nm"
        ds.attrs["kind"] = cube.kind
        ds.attrs["layout"] = "HWB"
        ds.attrs["metadata_json"] = meta_json(cube.metadata)
        f.attrs["creator"] = "HSI Studio"
    return path


# ---------------------------------------------------------------------------------------------------------
# MATLAB .mat: v5 through scipy.io, v7.3 through h5py
# ---------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------
# NumPy .npy / .npz (never with pickle)
# ---------------------------------------------------------------------------------------------------------
def read_npy(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    require_file(path, ".npy", (b"\x93NUMPY",))
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
    require_file(path, ".npz", (b"PK\x03\x04", b"PK\x05\x06"))
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


# ---------------------------------------------------------------------------------------------------------
# Multi-page TIFF (tifffile)
# ---------------------------------------------------------------------------------------------------------
def tiff_description(tf: Any) -> dict[str, Any]:
    desc = tf.pages[0].description if len(tf.pages) else ""
    try:
        info = json.loads(desc) if desc.lstrip().startswith("{") else {}
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def tiff_layout(tf: Any) -> str:
    """'20000 pages, 1 series of shape (…) axes IYX' — what a TIFF holds, for messages."""
    series = tf.series
    first = f"first series of shape {tuple(series[0].shape)} (axes {series[0].axes})" if series else "no series"
    return f"{len(tf.pages)} page(s), {len(series)} series, {first}"


def tiff_band_axis(axes: str) -> int:
    """Index of the one axis that is not Y or X (pages, samples or planes)."""
    return next(i for i, a in enumerate(axes) if a not in "YX")


def read_tiff_cube(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    import tifffile

    require_file(path, "TIFF", TIFF_MAGIC)
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        shape, axes = tuple(series.shape), series.axes
        if len(shape) != 3:
            raise ShapeError(f"TIFF holds {tiff_layout(tf)}; expected one page or channel per band, all of "
                             "one size")
        bax = tiff_band_axis(axes)
        hw = [s for i, s in enumerate(shape) if i != bax]
        cube_layout((hw[0], hw[1], shape[bax]), band_axis=2, what="TIFF cube")
        info = tiff_description(tf)
        meta: dict[str, Any] = {"format": "TIFF"}
        wl = resolve_wavelengths(info.get("wavelengths"), shape[bax], wavelengths, meta)
        arr = np.moveaxis(series.asarray(), bax, -1)
    stored = info.get("metadata") if isinstance(info.get("metadata"), dict) else {}
    return finish_cube(arr, wl, meta, kind_of(info.get("kind")), stored)


def write_tiff(cube: HSCube, path: Path) -> Path:
    import tifffile

    desc = json.dumps({"wavelengths": wavelength_list(cube), "wavelength_units": "nm", "kind": cube.kind,
                       "layout": "one page per band", "metadata": json.loads(meta_json(cube.metadata))})
    pages = np.ascontiguousarray(np.moveaxis(cube.data, -1, 0))
    with atomic_write(path) as tmp:
        tifffile.imwrite(tmp, pages, photometric="minisblack", description=desc, metadata=None)
    return path


# ---------------------------------------------------------------------------------------------------------
# CAVE-style folder of per-band PNGs
# ---------------------------------------------------------------------------------------------------------
def _cave_bands(folder: Path) -> list[Path]:
    numbered: dict[int, Path] = {}
    for p in folder.iterdir():
        m = CAVE_BAND_RE.fullmatch(p.name)
        if m and p.is_file():
            n = int(m.group(1))
            if n in numbered:
                raise ShapeError(f"two band PNGs are numbered {n} ({numbered[n].name}, {p.name}); expected one "
                                 "file per band")
            numbered[n] = p
    if not numbered:
        raise FileFormatError("folder holds no band PNGs; expected a CAVE-style folder of PNGs named "
                              "<name>_01.png … <name>_31.png")
    if len(numbered) > MAX_BANDS:
        raise ShapeError(f"folder holds {len(numbered)} band PNGs; expected {MIN_BANDS} to {MAX_BANDS} bands")
    lo, hi = min(numbered), max(numbered)
    if hi - lo + 1 > MAX_BANDS:  # never enumerate a range a hostile name made huge
        raise ShapeError(f"band PNG numbers run from {lo} to {hi} for {len(numbered)} files; expected "
                         "consecutively numbered band files")
    missing = sorted(set(range(lo, hi + 1)) - set(numbered))
    if missing:
        raise ShapeError(f"band PNG numbers {lo}–{hi} lack {missing[:8]}; expected consecutively numbered "
                         "band files")
    return [numbered[n] for n in sorted(numbered)]


def _cave_band(p: Path, size: tuple[int, int]) -> np.ndarray:
    if p.suffix.lower() == ".png":
        check_png_chunks(p)
    with Image.open(p) as im:
        if im.size != size:
            raise ShapeError(f"band PNGs have mixed sizes ({p.name} is {im.size[0]}×{im.size[1]}, others "
                             f"{size[0]}×{size[1]}); expected one size")
        arr = np.asarray(im)
        mode = im.mode
    if arr.ndim == 3:
        if not (arr[..., :3] == arr[..., :1]).all():
            raise ColorModeError(f"band PNG {p.name} holds colour ({mode}); expected grayscale band images")
        arr = arr[..., 0]
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.bool_): 1.0}.get(arr.dtype, 65535.0)
    return arr.astype(np.float32) / np.float32(top)


def read_cave_folder(path: Path, key: str | None, wavelengths: Any) -> HSCube:
    files = _cave_bands(path)
    sizes = set()
    for p in files:
        with Image.open(p) as im:  # lazy: only the header is read
            sizes.add(im.size)
    if len(sizes) > 1:
        raise ShapeError(f"band PNGs have mixed sizes ({sorted(sizes)[:4]}); expected one width×height")
    (w, h), = sizes
    cube_layout((h, w, len(files)), band_axis=2, what="PNG band folder")
    side = _cave_sidecar(path / CAVE_SIDECAR)
    meta: dict[str, Any] = {"format": "PNG band folder", "png_scale": float(side.get("scale", 1.0))}
    wl = resolve_wavelengths(side.get("wavelengths"), len(files), wavelengths, meta)
    data = np.empty((h, w, len(files)), dtype=np.float32)
    for i, p in enumerate(files):
        data[:, :, i] = _cave_band(p, (w, h))
    data *= np.float32(meta["png_scale"])
    stored = side.get("metadata") if isinstance(side.get("metadata"), dict) else {}
    return finish_cube(data, wl, meta, kind_of(side.get("kind")), stored)


def _cave_sidecar(p: Path) -> dict[str, Any]:
    if not p.is_file():
        return {}
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
        scale = float(info.get("scale", 1.0))
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"sidecar {p.name} is not valid ({exc}); expected JSON with 'scale' and "
                              "'wavelengths'") from None
    if not (np.isfinite(scale) and scale > 0):
        raise FileFormatError(f"sidecar {p.name} has scale {scale}; expected a positive number")
    return info


def write_cave_folder(cube: HSCube, path: Path) -> Path:
    folder = Path(path)  # Path drops a trailing "/"
    lo, peak = float(cube.data.min()), float(cube.data.max())
    if lo < 0:
        raise OutputError(f"cube has negative values (min {lo:g}); expected values ≥ 0 for 16-bit PNG bands "
                          "(write .h5, .npz or .hdr instead)")
    scale = peak if peak > 1.0 else 1.0
    counts = np.round(cube.data * np.float32(65535.0 / scale)).astype(np.uint16)
    digits = max(2, len(str(cube.bands)))
    longest = len(os.fsencode(f"{folder.name}_{cube.bands:0{digits}d}.png"))
    if longest > 255:
        raise OutputError(f"band folder name is {len(os.fsencode(folder.name))} bytes, so its band files "
                          f"(<name>_{1:0{digits}d}.png …) would be {longest} bytes; expected a folder name of at most "
                          f"{255 - (longest - len(os.fsencode(folder.name)))} bytes (the limit of a file name is 255)")
    side = {"format": "hsi-studio PNG band folder", "version": 1, "scale": scale,
            "value": "counts / 65535 * scale", "wavelengths": wavelength_list(cube), "wavelength_units": "nm",
            "kind": cube.kind, "metadata": json.loads(meta_json(cube.metadata))}
    with atomic_folder(folder, CAVE_REPLACEABLE) as tmp:
        for i in range(cube.bands):
            Image.fromarray(np.ascontiguousarray(counts[:, :, i])).save(
                tmp / f"{folder.name}_{i + 1:0{digits}d}.png", format="PNG")
        (tmp / CAVE_SIDECAR).write_text(json.dumps(side, indent=1), encoding="utf-8")
    return folder


CUBE_READERS = {
    ".hdr": read_envi, ".img": read_envi, ".h5": read_hdf5, ".hdf5": read_hdf5, ".mat": read_mat,
    ".npy": read_npy, ".npz": read_npz, ".tif": read_tiff_cube, ".tiff": read_tiff_cube,
}
CUBE_WRITERS = {
    ".hdr": write_envi, ".img": write_envi, ".h5": write_hdf5, ".hdf5": write_hdf5, ".mat": write_mat,
    ".npy": write_npy, ".npz": write_npz, ".tif": write_tiff, ".tiff": write_tiff,
}
FORMAT_NAMES = {".hdr": "ENVI", ".img": "ENVI", ".h5": "HDF5", ".hdf5": "HDF5", ".mat": "MATLAB",
                ".npy": "NumPy .npy", ".npz": "NumPy .npz", ".tif": "TIFF", ".tiff": "TIFF"}
