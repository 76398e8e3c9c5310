"""Camera RAW input through rawpy (LibRaw): DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF, SRW.

Public API::

    read_raw(path, *, white_balance="camera") -> RGBImage   # linear sRGB (D65), float32 in [0, 1]
    RAW_EXTENSIONS, WHITE_BALANCES

LibRaw demosaics the sensor data and converts it to linear sRGB (D65) with the camera's own colour matrix
(the DNG ColorMatrix, or LibRaw's table for the camera model); the tone curve is skipped (``gamma=(1, 1)``)
and no automatic brightening is applied, so the values are relative scene radiance: the raw white level maps
to 1 and highlights clip there. ``white_balance`` is ``"camera"`` (as shot; LibRaw's daylight multipliers,
with a note in the metadata, when the file records none), ``"daylight"`` (LibRaw's daylight multipliers for
the camera) or ``"auto"`` (LibRaw's grey-world estimate). The orientation LibRaw reads from the file is
applied.

Sizes are checked from the header (:func:`hsi_studio.core.cube.check_size`, :func:`check_memory`) before
the sensor data is decoded; every failure is a typed :mod:`hsi_studio.core.errors` exception with a one-line
message (LibRaw's exceptions never escape). rawpy is imported inside :func:`read_raw` only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import RGBImage, check_memory, check_size
from hsi_studio.core.errors import (
    ColorModeError,
    FileFormatError,
    InputError,
    SizeLimitError,
    UnsupportedFormatError,
    one_line,
)
from hsi_studio.core.io.base import reading, require_file
from hsi_studio.core.io.registry import CubeFormat

RAW_EXTENSIONS = (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw")
WHITE_BALANCES = ("camera", "daylight", "auto")
COLOUR_SPACE = "camera RAW → linear sRGB (D65) by the camera matrix (LibRaw)"
# Peak bytes per output pixel while decoding: LibRaw's 4×16-bit working image (8), its 16-bit RGB output and
# rawpy's copy of it (12), our float32 image (12), slack for the demosaic buffers (8). The sensor data
# (2 bytes per raw pixel) comes on top.
RAW_DECODE_BYTES = 40
_EXPECTED = "expected DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF or SRW"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_WB_LABELS = {
    "camera": "camera (as shot)",
    "daylight": "daylight (LibRaw's multipliers for this camera)",
    "auto": "auto (LibRaw's grey-world estimate)",
}


def read_raw(path: str | os.PathLike[str], *, white_balance: str = "camera") -> RGBImage:
    """Read a camera RAW file as a linear-sRGB (D65) float32 ``RGBImage`` in [0, 1] (``bit_depth=16``).

    ``metadata`` records ``format``, ``colour_space``, ``white_balance``, ``wb_multipliers`` (relative to
    green), ``raw_pattern`` (e.g. ``"RGGB"``, for mosaic sensors), ``camera`` (make and model, when the file
    is TIFF-based), ``raw_flip`` (LibRaw's orientation code, when not 0) and ``source``.
    """
    if white_balance not in WHITE_BALANCES:
        raise InputError(f"white balance {white_balance!r}; expected one of {', '.join(WHITE_BALANCES)}")
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in RAW_EXTENSIONS:
        raise UnsupportedFormatError(f"cannot read a camera RAW file with extension '{ext or '(none)'}'; "
                                     f"expected one of {' '.join(RAW_EXTENSIONS)}", path=str(p))
    fmt = f"camera RAW ({ext})"
    with reading(p, fmt):
        require_file(p, fmt)
        data, meta = _decode(p, white_balance)
        meta.update({"format": f"RAW ({ext[1:].upper()})", "source": str(p)})
        camera = _camera_name(p)
        if camera:
            meta["camera"] = camera
        return RGBImage(data, "linear", meta, bit_depth=16)


# ---------------------------------------------------------------------------------------------------------
# LibRaw
# ---------------------------------------------------------------------------------------------------------
def _decode(p: Path, white_balance: str) -> tuple[np.ndarray, dict[str, Any]]:
    import rawpy

    stage = "open"
    try:
        with rawpy.imread(str(p)) as raw:  # parses the header only
            colors = _check_header(raw)
            stage = "decode"
            raw.unpack()
            meta: dict[str, Any] = {"colour_space": COLOUR_SPACE}
            flags, source = _white_balance_params(raw, white_balance, meta)
            pattern = _pattern_name(raw)
            if pattern:
                meta["raw_pattern"] = pattern
            out = raw.postprocess(output_color=rawpy.ColorSpace.sRGB, gamma=(1, 1), no_auto_bright=True,
                                  output_bps=16, user_flip=None, **flags)
            used = getattr(raw, "auto_whitebalance", None)  # rawpy ≥ 0.25: the multipliers LibRaw applied
            meta["wb_multipliers"] = _relative_to_green(used if used is not None else source, colors)
            flip = int(raw.sizes.flip)
    except (rawpy.LibRawError, rawpy.NotSupportedError, OSError) as exc:
        raise _libraw_error(exc, stage, rawpy) from exc
    if flip:
        meta["raw_flip"] = flip
    if out.ndim != 3 or out.shape[2] != 3:
        raise ColorModeError(f"LibRaw produced {out.shape[-1] if out.ndim == 3 else 1} channel(s); expected an "
                             "RGB image with 3 channels (spectral reconstruction needs colour)")
    data = out.astype(np.float32)
    del out
    np.divide(data, np.float32(65535), out=data)
    return data, meta


def _check_header(raw: Any) -> int:
    """Size, memory and colour checks from the header, before any sensor data is decoded."""
    s = raw.sizes
    check_size(s.height, s.width, 3, what="RAW image")
    check_size(s.raw_height, s.raw_width, 1, what="RAW sensor data", itemsize=2)
    check_memory(int(s.raw_height) * int(s.raw_width) * 2 + int(s.height) * int(s.width) * RAW_DECODE_BYTES,
                 f"RAW image of {s.width}×{s.height}")
    colors = int(raw.num_colors)
    if colors < 3:
        raise ColorModeError(f"RAW image is monochrome ({colors} colour channel); expected a colour camera RAW "
                             "(Bayer, X-Trans or linear RGB sensor): spectral reconstruction needs colour")
    return colors


def _white_balance_params(raw: Any, white_balance: str, meta: dict[str, Any]) -> tuple[dict[str, bool], list]:
    """LibRaw's flags for the mode, and the multipliers it is expected to use (recorded if rawpy cannot say
    which it used)."""
    as_shot = [float(v) for v in raw.camera_whitebalance]
    daylight = [float(v) for v in raw.daylight_whitebalance]
    if white_balance == "auto":
        meta["white_balance"] = _WB_LABELS["auto"]
        return {"use_camera_wb": False, "use_auto_wb": True}, daylight
    if white_balance == "camera":
        if all(np.isfinite(v) and v > 0 for v in as_shot[:3]):
            meta["white_balance"] = _WB_LABELS["camera"]
            return {"use_camera_wb": True, "use_auto_wb": False}, as_shot
        meta["white_balance_note"] = ("the file records no as-shot white balance; LibRaw's daylight multipliers "
                                      "for this camera were used instead")
    meta["white_balance"] = _WB_LABELS["daylight"]
    return {"use_camera_wb": False, "use_auto_wb": False}, daylight


def _relative_to_green(multipliers: Any, colors: int) -> list[float]:
    m = [float(v) for v in multipliers][: max(colors, 3)]
    if len(m) == 4 and m[3] <= 0:  # LibRaw leaves the second green at 0 when it equals the first
        m = m[:3]
    green = m[1] if len(m) > 1 and np.isfinite(m[1]) and m[1] > 0 else 1.0
    return [round(v / green, 6) for v in m]


def _pattern_name(raw: Any) -> str | None:
    """The colour filter pattern as letters, row by row ("RGGB"; larger patterns as rows joined by "/");
    None for non-mosaic (linear RGB, Foveon) data."""
    try:
        pattern = raw.raw_pattern
    except NotImplementedError:  # exotic filter codes rawpy cannot describe
        return None
    if pattern is None:
        return None
    desc = bytes(raw.color_desc).decode("ascii", "replace")
    rows = ["".join(desc[int(v)] if 0 <= int(v) < len(desc) else "?" for v in row) for row in np.asarray(pattern)]
    return "".join(rows) if np.asarray(pattern).shape == (2, 2) else "/".join(rows)


def _libraw_message(exc: BaseException) -> str:
    parts = []
    for a in exc.args:
        if isinstance(a, bytes):
            parts.append(a.decode("utf-8", "replace"))
        elif isinstance(a, tuple) and len(a) == 2:  # rawpy raises OSError((errno, strerror))
            parts.append(str(a[1]))
        else:
            parts.append(str(a))
    return one_line(" ".join(parts) or type(exc).__name__, 120)


def _libraw_error(exc: BaseException, stage: str, rawpy: Any) -> InputError:
    detail = _libraw_message(exc)
    if isinstance(exc, (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError,
                        rawpy.LibRawMemPoolOverflowError)):
        return SizeLimitError(f"LibRaw cannot decode it within its memory limits ({detail}); expected a smaller "
                              "camera RAW file")
    if isinstance(exc, rawpy.LibRawIOError) or (isinstance(exc, OSError) and not isinstance(exc, rawpy.LibRawError)):
        detail += ": the file is truncated or unreadable"
    elif isinstance(exc, rawpy.LibRawDataError):
        detail += ": the file is damaged or truncated"
    if stage == "open":
        return FileFormatError(f"not a camera RAW file LibRaw can read ({detail}); {_EXPECTED}")
    return FileFormatError(f"LibRaw cannot decode its image data ({detail}); expected a complete, undamaged "
                           "camera RAW file")


# ---------------------------------------------------------------------------------------------------------
# Camera name (rawpy has no make/model API): IFD0 of TIFF-based RAWs (DNG, CR2, NEF, ARW, PEF, SRW)
# ---------------------------------------------------------------------------------------------------------
def _camera_name(p: Path) -> str | None:
    try:
        with open(p, "rb") as f:
            if f.read(4) not in _TIFF_MAGIC:
                return None
        import tifffile

        with tifffile.TiffFile(p) as tf:
            tags = tf.pages[0].tags
            make, model, unique = (_ascii(tags.get(code)) for code in (271, 272, 50708))
    except Exception:  # the name is optional: a header tifffile cannot parse just omits it
        return None
    if make and model:
        return model if model.lower().startswith(make.lower()) else f"{make} {model}"
    return model or unique or make or None


def _ascii(tag: Any) -> str:
    value = None if tag is None else tag.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return " ".join(value.replace("\x00", " ").split()) if isinstance(value, str) else ""


FORMAT = CubeFormat("raw", "camera RAW", RAW_EXTENSIONS, kind="image", read=read_raw)  # magic: one per maker

__all__ = ["FORMAT", "RAW_EXTENSIONS", "WHITE_BALANCES", "COLOUR_SPACE", "read_raw"]
