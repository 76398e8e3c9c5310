"""Training-free RGB → spectrum methods, vectorised over whole images: one module per method, each registered
once in :mod:`hsi_studio.core.spectral.methods` (name, label, kind, loader).

=====================  ===================  ==============================================================
method                 module               reference
=====================  ===================  ==============================================================
``mallett2019``        :mod:`.mallett2019`  Mallett & Yuksel 2019, doi:10.2312/SR.20191216 (reflectance, D65)
``otsu2018``           :mod:`.otsu2018`     Otsu, Yamamoto & Hachisuka 2018, doi:10.1111/cgf.13332 (reflectance, D65)
``minnorm``            :mod:`.cohen1982`    Cohen & Kappauf 1982 (fundamental metamer), doi:10.2307/1422186
                                            (relative radiance, any camera response)
=====================  ===================  ==============================================================

Public API
----------
``METHODS = ("mallett2019", "otsu2018", "minnorm")`` (the registered training-free methods, in order) and their
``METHOD_LABELS``.
``recover(rgb, method, *, response=None, progress=None, cancel=None) -> HSCube``
    ``rgb``: an :class:`RGBImage` (sRGB-encoded photos are linearised first) or an H×W×3 array (float in
    [0, 1] or uint8/uint16, taken as sRGB-encoded unless ``encoding="linear"``). The cube has 31 bands on
    ``STANDARD_WAVELENGTHS`` (400–700 nm / 10 nm); ``metadata["method"]`` records ``physics:<method>``.
``xyz_to_spectra(xyz, method) -> (..., 31)``: the same for CIE XYZ (scale 1, D65) input, float64 — the
per-pixel counterpart of ``colour.XYZ_to_sd(xyz, method=...)`` sampled on the standard grid.
``linear_srgb(rgb) -> (H, W, 3) float32``: the linear sRGB values ``recover`` works from.

Both colour-science methods produce spectra on their own grids (Mallett 380–780 nm / 5 nm, Otsu 380–730 nm /
10 nm); the standard grid's wavelengths are sampled from them (a selection, no smoothing), so every value
equals colour-science's spectral distribution at that wavelength.
"""

from __future__ import annotations

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError, ShapeError
from hsi_studio.core.jobs import CancelToken, ProgressTracker
from hsi_studio.core.spectral import methods
from hsi_studio.core.spectral.recovery import cohen1982, mallett2019, otsu2018
from hsi_studio.core.spectral.recovery._common import response_split
from hsi_studio.core.spectral.recovery.mallett2019 import mallett_basis
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, srgb_decode

#: one module per method, in the order the methods are listed; each declares its ``METHOD``, registered here
MODULES = (mallett2019, otsu2018, cohen1982)
for _module in MODULES:
    methods.register(_module.METHOD)
METHODS = methods.training_free_keys()
#: what the GUI and reports call each method
METHOD_LABELS = {m.key: m.label for m in methods.registered(methods.TRAINING_FREE)}
#: each method's name in colour-science (``colour.XYZ_to_sd(..., method=...)``), where it has one
COLOUR_METHOD_NAMES = {m.key: m.colour_name for m in methods.registered(methods.TRAINING_FREE) if m.colour_name}
_CHUNK_PIXELS = 65536


def check_method(method: str) -> str:
    key = str(method).strip().lower().removeprefix(methods.PHYSICS)
    if key not in METHODS:
        raise InputError(f"unknown recovery method {method!r}; expected one of {', '.join(METHODS)}")
    return key


def _method(key: str) -> methods.Method:
    return methods.get(methods.PHYSICS + key)


def xyz_to_spectra(xyz, method: str) -> np.ndarray:
    """CIE XYZ (..., 3), scale 1, D65 → reflectance (..., 31) on the standard grid (``mallett2019`` or
    ``otsu2018``); agrees with ``colour.XYZ_to_sd(xyz, method=...)`` at those wavelengths."""
    key = check_method(method)
    from_xyz = getattr(_method(key).module(), "xyz_spectra", None)
    if from_xyz is None:
        raise InputError(f"{key} works from camera RGB, not XYZ; use recover() with a linear RGB image")
    arr = np.asarray(xyz, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ShapeError(f"XYZ array has shape {arr.shape}; expected (..., 3)")
    out = from_xyz(arr.reshape(-1, 3))
    return out.reshape(arr.shape[:-1] + (STANDARD_WAVELENGTHS.size,))


def linear_srgb(rgb, encoding: str = "srgb") -> tuple[np.ndarray, dict]:
    """(linear RGB float32 (H, W, 3), metadata) from an :class:`RGBImage` or an array."""
    if isinstance(rgb, RGBImage):
        img = rgb
    else:
        arr = np.asarray(rgb)
        if arr.dtype == np.uint8 or arr.dtype == np.uint16:
            arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
        img = RGBImage(arr, encoding)
    data = srgb_decode(img.data) if img.encoding == "srgb" else img.data
    return np.ascontiguousarray(data, dtype=np.float32), img.metadata


def recover(rgb, method: str, *, response=None, progress=None, cancel: CancelToken | None = None,
            encoding: str = "srgb") -> HSCube:
    """Reconstruct a 31-band cube from an RGB image with a training-free method (see the module doc).

    Works in chunks of rows; ``progress(fraction, message)`` is called after each and ``cancel`` is checked
    between them (raising :class:`~hsi_studio.core.jobs.Cancelled`)."""
    key = check_method(method)
    meth = _method(key)
    spectra = meth.load()
    linear, meta = linear_srgb(rgb, encoding)
    split = response_split(response) if meth.takes_response else None
    if split is not None and split.bands != STANDARD_WAVELENGTHS.size:
        raise ShapeError(f"camera response has {split.bands} bands; expected {STANDARD_WAVELENGTHS.size}")
    h, w, _ = linear.shape
    out = np.empty((h, w, STANDARD_WAVELENGTHS.size), dtype=np.float32)
    rows = max(1, _CHUNK_PIXELS // w)
    tracker = ProgressTracker((h + rows - 1) // rows, progress, cancel)
    tracker.cancel.check()
    for top in range(0, h, rows):
        block = linear[top:top + rows].reshape(-1, 3)
        out[top:top + rows] = spectra(block, split).reshape(-1, w, STANDARD_WAVELENGTHS.size)
        tracker.step(f"{meth.colour_name or key}: rows {top}–{min(top + rows, h)} of {h}")
    md = {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}
    md["method"] = f"physics:{key}"
    if split is not None:
        md["response"] = split.response.name if split.response is not None else "custom"
    else:
        md["illuminant"] = "D65"
    return HSCube(out, STANDARD_WAVELENGTHS.copy(), md, kind=meth.quantity)


__all__ = ["COLOUR_METHOD_NAMES", "METHODS", "METHOD_LABELS", "MODULES", "check_method", "linear_srgb",
           "mallett_basis", "recover", "xyz_to_spectra"]
