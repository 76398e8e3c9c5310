"""RGB photos: PNG, JPEG, TIFF, BMP (and WebP when Pillow has it), 8 or 16 bits per channel, read as float32
:class:`~hsi_studio.core.cube.RGBImage` and written atomically; camera RAW is read by :mod:`.raw`.

Alpha is dropped with a ``UserWarning``; the EXIF orientation is applied; grayscale and colourless palette
images are refused. 16-bit RGB PNGs are decoded and encoded at full precision (Pillow itself keeps only 8 bits
of them). An embedded colour profile is converted to linear sRGB (:mod:`.profiles`). Each image format is one
:class:`~hsi_studio.core.io.base.CubeFormat` of kind ``"image"`` (:data:`FORMATS`), registered in
:mod:`.registry`.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, features

from hsi_studio.core.cube import MAX_PIXELS, RGBImage, check_memory, check_size
from hsi_studio.core.errors import (
    ColorModeError,
    FileFormatError,
    OutputError,
    ShapeError,
    SizeLimitError,
    UnsupportedFormatError,
    one_line,
)
from hsi_studio.core.io import profiles as colour_management
from hsi_studio.core.io import raw
from hsi_studio.core.io.base import PNG_MAGIC, a_an, check_png_chunks, reading, require_file, writing
from hsi_studio.core.io.registry import CubeFormat, by_extension
from hsi_studio.core.io.tiff import TIFF_MAGIC, tiff_band_axis, tiff_layout
from hsi_studio.core.storage.atomic import atomic_write

# Pillow refuses (DecompressionBombError) above 2 × this and warns above it; we refuse above MAX_PIXELS.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_SIXTEEN_BIT = (".png", ".tif", ".tiff")
RGB_DECODE_BYTES = 10  # peak bytes per sample while decoding: 8/16-bit values, two decodes (16-bit), float32


def _rgb_ext(p: Path, verb: str) -> str:
    ext = p.suffix.lower()
    if ext not in RGB_EXTENSIONS:
        what = f"'{ext or '(none)'}'" + (" (a cube format)" if by_extension(ext, "cube") is not None else "")
        raise UnsupportedFormatError(f"cannot {verb} an RGB image with extension {what}; expected one of "
                                     f"{' '.join(RGB_EXTENSIONS)}", path=str(p))
    return ext


def read_rgb(path: str | os.PathLike[str]) -> RGBImage:
    """Read a photo: PNG / JPEG / TIFF / BMP / WebP as float32 ``RGBImage`` — sRGB-encoded [0, 1], or linear sRGB
    when an embedded colour profile was converted (:mod:`.colour_management`) — or a camera RAW file as linear
    sRGB through LibRaw (:mod:`.raw`: camera white balance and matrix, no tone curve)."""
    p = Path(path)
    if p.suffix.lower() in raw.RAW_EXTENSIONS:
        return raw.read_raw(p)
    fmt = _RGB_FORMAT[_rgb_ext(p, "read")]
    with reading(p, fmt):
        require_file(p, fmt)
        actual = _sniff_rgb(p, fmt)  # a PNG named .jpg is still read (as PNG); text named .png is refused
        arr, meta = _read_rgb_tiff(p) if actual == "TIFF" else _read_rgb_pillow(p, actual)
        return _rgb_image(arr, meta, p)


def describe_rgb(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``info`` prints for an RGB image, from its header alone (no pixel is decoded): size, bit depth,
    colour mode, format. TIFFs are described by :func:`read_rgb` (their layout decides what they hold)."""
    p = Path(path)
    if p.suffix.lower() in raw.RAW_EXTENSIONS:
        return raw.read_raw(p).summary()
    fmt = _RGB_FORMAT[_rgb_ext(p, "read")]
    with reading(p, fmt):
        require_file(p, fmt)
        actual = _sniff_rgb(p, fmt)
        if actual == "TIFF":
            return read_rgb(p).summary()
        with _open_image(p, actual) as im:
            w, h = im.size
            check_size(h, w, 3, what=f"{actual} image")
            if actual == "PNG":
                check_png_chunks(p)  # reads the file, decodes nothing
            mode = im.mode
            icc = im.info.get("icc_profile")
            conv = colour_management.conversion_for(bytes(icc)) if icc else None
            space = conv.label if conv else \
                (colour_management.png_chunks_label(im.info) or "sRGB (assumed: no embedded colour profile)")
            encoding = "linear" if conv is not None and conv.kind == "matrix" else "srgb"
            if mode in _GRAY_MODES:
                raise ColorModeError(f"image is grayscale (mode {mode}); expected an RGB colour image (spectral "
                                     "reconstruction needs colour)")
            depth = _png_ihdr(p)[0] if actual == "PNG" else 8
            # EXIF sits in the header of JPEG/WebP/TIFF; a PNG's may follow its pixels (then it is not read)
            orientation = _exif_orientation(im) if actual != "PNG" or "exif" in im.info else 1
    meta: dict[str, Any] = {"format": actual, "source": str(p), "colour_space": space}
    if orientation != 1:
        meta["exif_orientation"] = orientation
        if orientation >= 5:  # read_rgb turns the image: height and width swap
            h, w = w, h
    return {"type": "rgb", "height": h, "width": w, "channels": 3, "encoding": encoding, "colour_space": space,
            "bit_depth": depth,
            "mode": mode, "metadata": meta}


def _sniff_rgb(p: Path, fmt: str) -> str:
    with open(p, "rb") as f:
        head = f.read(12)
    for name in (fmt, *_RGB_MAGIC):
        if any(head.startswith(m) for m in _RGB_MAGIC[name]) and (name != "WEBP" or head[8:12] == b"WEBP"):
            return name
    raise FileFormatError(f"not {a_an(fmt)} file (it starts with {head[:12]!r}); expected {fmt} content")


def _open_image(p: Path, fmt: str) -> Image.Image:
    try:
        return Image.open(p, formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise SizeLimitError(f"{fmt} header claims too many pixels ({one_line(exc, 120)}); expected at most "
                             f"{MAX_PIXELS:,} pixels") from None


def _read_rgb_pillow(p: Path, fmt: str) -> tuple[np.ndarray, dict[str, Any]]:
    with _open_image(p, fmt) as im:
        w, h = im.size
        check_size(h, w, 3, what=f"{fmt} image")  # from the header: nothing decoded yet
        check_memory(h * w * 3 * RGB_DECODE_BYTES, f"{fmt} image of {w}×{h}")
        if fmt == "PNG":
            check_png_chunks(p)  # Pillow skips IDAT checksums: a damaged stream must not decode as pixels
        im.load()  # decoding errors surface here (getexif below would load and swallow them)
        orientation = _exif_orientation(im)
        depth, colour_type = _png_ihdr(p) if fmt == "PNG" else (8, 2)
        if colour_type in (0, 4):
            raise ColorModeError(f"PNG is grayscale ({depth}-bit, colour type {colour_type}); expected an RGB "
                                 "colour image (spectral reconstruction needs colour)")
        arr = _decode_png16(p) if depth == 16 and im.mode in ("RGB", "RGBA") else None
        icc = im.info.get("icc_profile")
        if arr is None and im.mode == "CMYK":
            arr, icc = _cmyk_to_rgb(im, p), None
        if arr is None:
            arr = _pillow_rgb(im)
        if fmt == "JPEG":
            if im.info.get("progressive") or im.info.get("progression"):
                _check_progressive_scans(p)
            _refuse_grey_filler(im, arr)
        colour_info = {"icc": icc, "png_info": {"gamma": im.info.get("gamma")}}
    meta: dict[str, Any] = {"format": fmt, "_colour": colour_info}
    if orientation != 1:
        meta["exif_orientation"] = orientation
    return _orient(arr, orientation), meta


def _pillow_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in _GRAY_MODES:
        raise ColorModeError(f"image is grayscale (mode {mode}); expected an RGB colour image (spectral "
                             "reconstruction needs colour)")
    if mode in ("RGB", "RGBA"):
        return np.asarray(im)
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in im.info
        arr = np.asarray(im.convert("RGBA" if alpha else "RGB"))
        _refuse_gray_palette(arr)
        return arr
    if mode in ("RGBX", "YCbCr"):
        return np.asarray(im.convert("RGB"))
    if mode == "RGBa":
        return np.asarray(im.convert("RGBA"))
    raise ColorModeError(f"image is in {mode} colour mode; expected an RGB image (convert it to sRGB first)")


def _cmyk_to_rgb(im: Image.Image, p: Path) -> np.ndarray:
    """A CMYK image (print separations) as RGB, with a warning that says so: Pillow's plain formula
    (R = (1 − C)(1 − K) …), no colour management, so its colours are approximate."""
    warnings.warn(f"{p.name}: CMYK image converted to RGB by the plain formula (no CMYK colour profile is applied), "
                  "so its colours are approximate; for accurate colours convert it to sRGB first", UserWarning,
                  stacklevel=5)
    return np.asarray(im.convert("RGB"))


def _refuse_grey_filler(im: Image.Image, arr: np.ndarray) -> None:
    """A JPEG whose data stops early but still ends with an end-of-image marker decodes without an error: libjpeg
    fills the missing blocks with flat mid-grey (value 128 in every channel). Refuse a JPEG whose last row of
    blocks is that exact filler while the picture is not grey throughout (a cut-off file, not a grey picture)."""
    layers = getattr(im, "layer", None) or []
    mcu = 8 * max([int(v) for (_i, _h, v, _q) in layers] or [1])
    h = arr.shape[0]
    if h <= 2 * mcu or arr.dtype != np.uint8:
        return
    tail = arr[h - ((h % mcu) or mcu):, :, :3]
    if (tail == 128).all() and not (arr[: mcu, :, :3] == 128).all():
        raise FileFormatError(f"JPEG data ends early: its last {tail.shape[0]} rows are the decoder's flat grey "
                              "filler (the file was cut short, then given an end marker); expected a complete "
                              "JPEG file")


_SOF_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}


def _check_progressive_scans(p: Path) -> None:
    """A progressive JPEG builds each block's 64 coefficients over several scans; one cut short and closed with
    an end marker decodes without an error (the missing scans read as zero: a blurred or grey bottom). Every
    encoder's scan script ends with each coefficient of each component refined to full precision: refuse a
    file whose scans stop before that."""
    data = p.read_bytes()
    i, n = 2, len(data)
    components: list[int] = []
    best: dict[int, list[int]] = {}  # component → lowest successive-approximation bit reached per coefficient
    while i + 4 <= n:
        if data[i] != 0xFF:
            return  # not where a marker should be: leave it to the decoder
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD9:  # end of image
            break
        if marker in (0x01, *range(0xD0, 0xD8)):
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        seg = data[i + 4:i + 2 + length]
        if marker in _SOF_PROGRESSIVE and len(seg) >= 6:
            components = [seg[6 + 3 * k] for k in range(seg[5]) if 6 + 3 * k < len(seg)]
            best = {c: [99] * 64 for c in components}
        i += 2 + length
        if marker == 0xDA and len(seg) >= 1:  # a scan: its header, then entropy-coded data up to the next marker
            ns = seg[0]
            if len(seg) >= 1 + 2 * ns + 3:
                ss, se, al = seg[1 + 2 * ns], seg[2 + 2 * ns], seg[3 + 2 * ns] & 0x0F
                for k in range(ns):
                    for coef in range(ss, min(se, 63) + 1):
                        row = best.get(seg[1 + 2 * k])
                        if row is not None:
                            row[coef] = min(row[coef], al)
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= n:
                    i = n
                    break
                nxt = data[i + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    i += 1 if nxt == 0xFF else 2
                    continue
                break
    missing = [c for c in components if any(v != 0 for v in best[c])]
    if missing:
        raise FileFormatError(f"progressive JPEG stops before its last scans (component {missing[0]} never gets all "
                              "its coefficients): the file was cut short; expected a complete JPEG file")


def _refuse_gray_palette(arr: np.ndarray) -> None:
    if (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all():
        raise ColorModeError("palette image whose colours are all gray; expected an RGB colour image "
                             "(spectral reconstruction needs colour)")


def _png_ihdr(p: Path) -> tuple[int, int]:
    """(bit depth, colour type) from the IHDR chunk."""
    with open(p, "rb") as f:
        head = f.read(26)
    return (head[24], head[25]) if len(head) == 26 and head[12:16] == b"IHDR" else (8, 2)


def _rawmode(tile: Any) -> str:
    args = tile.args
    return args if isinstance(args, str) else str(args[0]) if isinstance(args, tuple) and args else ""


def _decode_png16(p: Path) -> np.ndarray | None:
    """Full-precision 16-bit RGB(A) PNG with Pillow's own C decoder: Pillow unpacks ``RGB;16B`` to the high
    bytes; decoding again with rawmode ``RGB;16L`` yields the low bytes. None if Pillow's internals differ."""
    with Image.open(p, formats=["PNG"]) as hi_im, Image.open(p, formats=["PNG"]) as lo_im:
        tiles = list(lo_im.tile)
        raw = {_rawmode(t) for t in tiles}
        if not tiles or not raw <= {"RGB;16B", "RGBA;16B"} or not all(hasattr(t, "_replace") for t in tiles):
            warnings.warn(f"{p.name}: 16-bit PNG read at 8-bit precision (this Pillow version is not supported "
                          "for full precision)", UserWarning, stacklevel=4)
            return None
        lo_im.tile = [t._replace(args=_rawmode(t).replace(";16B", ";16L")) if isinstance(t.args, str)
                      else t._replace(args=(_rawmode(t).replace(";16B", ";16L"),) + tuple(t.args[1:]))
                      for t in tiles]
        hi, lo = np.asarray(hi_im), np.asarray(lo_im)
    return (hi.astype(np.uint16) << 8) | lo.astype(np.uint16)


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except (TypeError, ValueError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1–8) the way ``PIL.ImageOps.exif_transpose`` does."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops[orientation](arr)) if orientation in ops else arr


def _read_rgb_tiff(p: Path) -> tuple[np.ndarray, dict[str, Any]]:
    import tifffile

    with tifffile.TiffFile(p) as tf:
        page, series = tf.pages[0], tf.series[0]
        shape, axes = tuple(series.shape), series.axes
        if "Y" not in axes or "X" not in axes:
            raise ShapeError(f"TIFF series has axes {axes}; expected an image with height and width")
        check_size(shape[axes.index("Y")], shape[axes.index("X")], 3, what="TIFF image")
        check_memory(shape[axes.index("Y")] * shape[axes.index("X")] * 3 * RGB_DECODE_BYTES, "TIFF image")
        photometric = int(page.photometric)
        if photometric in (5, 8, 9, 10):  # separated (CMYK), CIELab, ICCLab, ITULab
            raise ColorModeError(f"TIFF colour space is {page.photometric.name}; expected RGB")
        if len(shape) == 2 and photometric == 3 and page.colormap is not None:  # palette
            arr = np.moveaxis(page.colormap[:, series.asarray()], 0, -1)
            _refuse_gray_palette(arr)
        elif len(shape) == 2 and len(tf.series) > 1:
            raise ShapeError(f"TIFF holds pages of different shapes ({tiff_layout(tf)}); expected one RGB image")
        elif len(shape) == 2:
            raise ColorModeError(f"TIFF is grayscale ({shape[0]}×{shape[1]}, one channel); expected an RGB "
                                 "colour image (spectral reconstruction needs colour)")
        elif len(shape) == 3:
            bax = tiff_band_axis(axes)
            n = shape[bax]
            if not (n == 3 or (n == 4 and axes[bax] == "S")):
                raise ShapeError(f"TIFF image {tiff_layout(tf)} has {n} channels/pages; expected an RGB image "
                                 "with 3 channels (read it as a cube instead)")
            arr = np.moveaxis(series.asarray(), bax, -1)
        else:
            raise ShapeError(f"TIFF holds an array of shape {shape} ({tiff_layout(tf)}); expected one RGB image "
                             "(height, width, 3)")
        tag = page.tags.get("Orientation")
        icc_tag = page.tags.get("InterColorProfile")
        icc = bytes(icc_tag.value) if icc_tag is not None and isinstance(icc_tag.value, (bytes, bytearray)) else None
    orientation = int(tag.value) if tag is not None and 1 <= int(tag.value) <= 8 else 1
    meta: dict[str, Any] = {"format": "TIFF", "_colour": {"icc": icc, "png_info": {}}}
    if orientation != 1:
        meta["exif_orientation"] = orientation
    return _orient(arr, orientation), meta


def _rgb_image(arr: np.ndarray, meta: dict[str, Any], p: Path) -> RGBImage:
    if arr.shape[-1] == 4:
        warnings.warn(f"{p.name}: alpha channel dropped (RGBA image); HSI Studio uses the RGB channels only",
                      UserWarning, stacklevel=4)
        meta["alpha_dropped"] = True
        arr = arr[..., :3]
    meta["source"] = str(p)
    bit_depth = {255: 8, 65535: 16}.get(int(np.iinfo(arr.dtype).max), arr.dtype.itemsize * 8) \
        if arr.dtype.kind in "ui" else 32
    info = meta.pop("_colour", None) or {}
    arr, encoding, colour_meta = colour_management.manage(arr, info.get("icc"), png_info=info.get("png_info"))
    meta.update(colour_meta)
    if arr.dtype.kind in "ui":
        data = arr.astype(np.float32) / np.float32(np.iinfo(arr.dtype).max)
    else:
        data = np.asarray(arr, dtype=np.float32)
    return RGBImage(np.ascontiguousarray(data), encoding, meta, bit_depth)


# ---------------------------------------------------------------------------------------------------------
# RGB writing
# ---------------------------------------------------------------------------------------------------------
def write_rgb(image: RGBImage | np.ndarray, path: str | os.PathLike[str], bit_depth: int = 8) -> Path:
    """Write an ``RGBImage`` (or an H×W×3 array: floats in [0, 1], or uint8/uint16) atomically as 8- or
    16-bit PNG / TIFF, or 8-bit JPEG / BMP / WebP. The values are written as they are (no re-encoding)."""
    p = Path(path)
    ext = _rgb_ext(p, "write")
    fmt = _RGB_FORMAT[ext]
    if bit_depth not in (8, 16):
        raise OutputError(f"bit_depth {bit_depth!r}; expected 8 or 16", path=str(p))
    if bit_depth == 16 and ext not in _SIXTEEN_BIT:
        raise OutputError(f"{fmt} holds 8 bits per channel; expected bit_depth=8, or a .png/.tif path for 16 "
                          "bits", path=str(p))
    with writing(p, fmt):
        img = image if isinstance(image, RGBImage) else RGBImage(_unit_array(image))
        top, dtype = (255, np.uint8) if bit_depth == 8 else (65535, np.uint16)
        q = np.round(np.clip(img.data, 0.0, 1.0) * top).astype(dtype)
        with atomic_write(p) as tmp:
            _write_rgb_file(q, tmp, fmt)
    return p


def _unit_array(arr: Any) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind in "ui":
        return a.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
    return a


def _write_rgb_file(q: np.ndarray, tmp: Path, fmt: str) -> None:
    if fmt == "TIFF":
        import tifffile

        tifffile.imwrite(tmp, q, photometric="rgb")
    elif q.dtype == np.uint16:
        tmp.write_bytes(encode_png16(q))
    else:
        options = {"JPEG": {"quality": 95, "subsampling": 0}, "WEBP": {"lossless": True}}.get(fmt, {})
        Image.fromarray(q).save(tmp, format=fmt, **options)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png16(q: np.ndarray) -> bytes:
    """A 16-bit RGB PNG (Pillow cannot write one): every row uses the 'Up' filter, then zlib."""
    h, w, c = q.shape
    raw = np.ascontiguousarray(q, dtype=">u2").view(np.uint8).reshape(h, w * c * 2)
    up = raw.copy()
    up[1:] -= raw[:-1]  # uint8 arithmetic wraps modulo 256, as the PNG filter requires
    body = np.concatenate([np.full((h, 1), 2, np.uint8), up], axis=1)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, {3: 2, 4: 6}[c], 0, 0, 0)
    return (PNG_MAGIC + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"sRGB", b"\x00")
            + _png_chunk(b"IDAT", zlib.compress(body.tobytes(), 6)) + _png_chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------------------
# The image formats (each label is Pillow's format name)
# ---------------------------------------------------------------------------------------------------------
def _image(label: str, extensions: tuple[str, ...], magic: tuple[bytes, ...]) -> CubeFormat:
    return CubeFormat(f"{label.lower()}-image", label, extensions, magic, kind="image", read=read_rgb, write=write_rgb)


PNG = _image("PNG", (".png",), (PNG_MAGIC,))
JPEG = _image("JPEG", (".jpg", ".jpeg"), (b"\xff\xd8\xff",))
TIFF = _image("TIFF", (".tif", ".tiff"), TIFF_MAGIC)
BMP = _image("BMP", (".bmp",), (b"BM",))
WEBP = _image("WEBP", (".webp",), (b"RIFF",))  # then "WEBP" at byte 8
FORMATS = (PNG, JPEG, TIFF, BMP) + ((WEBP,) if features.check("webp") else ())
RGB_EXTENSIONS = tuple(e for f in FORMATS for e in f.extensions)
_RGB_FORMAT = {e: f.label for f in (PNG, JPEG, TIFF, BMP, WEBP) for e in f.extensions}
_RGB_MAGIC = {f.label: f.magic for f in (PNG, JPEG, TIFF, BMP, WEBP)}

__all__ = ["FORMATS", "RGB_EXTENSIONS", "read_rgb", "describe_rgb", "write_rgb", "encode_png16"]
