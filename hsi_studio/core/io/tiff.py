"""Multi-page TIFF cubes (tifffile): one float32 page per band, JSON ``{"wavelengths": […], …}`` in the first
page's ImageDescription. A TIFF is a cube or an RGB photo (:mod:`.rgb`): :func:`is_cube` tells them apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import ShapeError
from hsi_studio.core.io.base import (
    cube_layout,
    finish_cube,
    kind_of,
    meta_json,
    require_file,
    resolve_wavelengths,
    wavelength_list,
)
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.core.storage.atomic import atomic_write

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


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


FORMAT = CubeFormat("tiff", "TIFF", (".tif", ".tiff"), TIFF_MAGIC, read=read_tiff_cube, write=write_tiff)

__all__ = ["FORMAT", "TIFF_MAGIC", "read_tiff_cube", "write_tiff", "tiff_band_axis", "tiff_description",
           "tiff_layout"]
