"""CAVE-style folders of per-band PNGs: ``<name>_01.png … <name>_31.png``, 16-bit grayscale; the sidecar
``hsi_studio_cube.json`` holds ``scale`` (value = counts / 65535 × scale), wavelengths, kind, metadata. A folder
without the sidecar is read as counts / 65535 (8-bit PNGs: / 255). The format is a folder, so it has no
extension: a folder path (ending in "/", an existing folder, or no extension) selects it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hsi_studio.core.cube import MAX_BANDS, MIN_BANDS, HSCube
from hsi_studio.core.errors import ColorModeError, FileFormatError, OutputError, ShapeError
from hsi_studio.core.io.base import (
    PNG_MAGIC,
    check_png_chunks,
    cube_layout,
    finish_cube,
    kind_of,
    meta_json,
    resolve_wavelengths,
    wavelength_list,
)
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.core.storage.atomic import atomic_folder

CAVE_SIDECAR = "hsi_studio_cube.json"
CAVE_BAND_RE = re.compile(r".*_(\d+)\.png", re.IGNORECASE)
CAVE_REPLACEABLE = re.compile(rf"(.*_\d+\.png|{re.escape(CAVE_SIDECAR)})", re.IGNORECASE)


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


FORMAT = CubeFormat("png-bands", "PNG band folder", (), (PNG_MAGIC,), read=read_cave_folder,
                    write=write_cave_folder, folder=True, description="Folder of 16-bit PNG bands")

__all__ = ["FORMAT", "CAVE_SIDECAR", "read_cave_folder", "write_cave_folder"]
