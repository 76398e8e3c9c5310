"""A corpus of bad input files, generated here: each must raise its documented typed error with a one-line
message that says what was expected, and a failed read must never touch an existing output."""

from __future__ import annotations

import io as _bytesio
import os
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import (
    ColorModeError,
    FileFormatError,
    InputError,
    NonFiniteError,
    ShapeError,
    SizeLimitError,
    UnsafeFileError,
    UnsupportedFormatError,
    WavelengthError,
)
from hsi_studio.core.io import api as io

WL31 = np.arange(400.0, 701.0, 10.0)
# io's own messages say "expected …"; the two coming from hsi_studio.core.cube state the rule instead
SAYS_EXPECTED = re.compile(r"\bexpected\b|\bthe limit is\b|\bmust be\b")
RNG = np.random.default_rng(0)
CUBE = RNG.uniform(0.1, 0.9, (6, 5, 31)).astype(np.float32)
RGB8 = RNG.integers(0, 256, (16, 20, 3)).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------
# Builders: each writes its bad file(s) under `d` and returns the path to read
# ---------------------------------------------------------------------------------------------------------
def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path


def _empty(name: str) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        (d / name).write_bytes(b"")
        return d / name

    return build


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def truncated_png(d):
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3)).astype(np.uint8)).save(d / "t.png")
    return _truncate(d / "t.png", 0.6)


def truncated_jpeg(d):
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3)).astype(np.uint8)).save(d / "t.jpg", quality=90)
    return _truncate(d / "t.jpg", 0.5)


def truncated_h5(d):
    with h5py.File(d / "t.h5", "w") as f:
        f["cube"] = CUBE
    return _truncate(d / "t.h5", 0.5)


def truncated_mat(d):
    scipy.io.savemat(str(d / "t.mat"), {"cube": CUBE})
    return _truncate(d / "t.mat", 0.5)


def truncated_npy(d):
    np.save(d / "t.npy", CUBE)
    return _truncate(d / "t.npy", 0.5)


def truncated_tiff(d):
    tifffile.imwrite(d / "t.tif", np.moveaxis(CUBE, -1, 0), photometric="minisblack")
    return _truncate(d / "t.tif", 0.3)


def text_as_png(d):
    (d / "notes.png").write_text("hello, I am a text file\n")
    return d / "notes.png"


def text_as_h5(d):
    (d / "notes.h5").write_text("not an hdf5 file at all\n")
    return d / "notes.h5"


def two_channel_cube(d):
    np.save(d / "two.npy", CUBE[:, :, :2])
    return d / "two.npy"


def one_band_npz(d):
    np.savez(d / "one.npz", cube=CUBE[:, :, :1], wavelengths=[500.0])
    return d / "one.npz"


def npy_2d(d):
    np.save(d / "flat.npy", CUBE[:, :, 0])
    return d / "flat.npy"


def nan_cube(d):
    bad = CUBE.copy()
    bad[2, 3, 7] = np.nan
    np.savez(d / "nan.npz", cube=bad, wavelengths=WL31)
    return d / "nan.npz"


def inf_cube(d):
    bad = CUBE.copy()
    bad[0, 0, 0] = np.inf
    with h5py.File(d / "inf.h5", "w") as f:
        f["cube"] = bad
    return d / "inf.h5"


def zero_size_axis(d):
    np.save(d / "zero.npy", np.zeros((0, 5, 31), np.float32))
    return d / "zero.npy"


def envi_huge_header(d):
    (d / "huge.hdr").write_text("ENVI\nsamples = 100000\nlines = 100000\nbands = 31\nheader offset = 0\n"
                                "file type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n")
    (d / "huge.img").write_bytes(b"\0" * 1024)
    return d / "huge.hdr"


def npy_huge_header(d):
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1, 1), np.float32))
    header["shape"] = (100_000, 100_000, 31)
    buf = _bytesio.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    (d / "huge.npy").write_bytes(buf.getvalue() + b"\0" * 64)
    return d / "huge.npy"


def h5_huge_dataset(d):
    with h5py.File(d / "huge.h5", "w") as f:  # chunked and never written: a tiny file
        f.create_dataset("cube", shape=(100_000, 100_000, 31), dtype="f4", chunks=(1, 64, 31))
    return d / "huge.h5"


def png_huge_ihdr(d):
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 301))
            + _png_chunk(b"IEND", b""))
    (d / "bomb.png").write_bytes(data)
    return d / "bomb.png"


def pickle_npy(d):
    np.save(d / "pickle.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return d / "pickle.npy"


def npz_object(d):
    np.savez(d / "obj.npz", cube=CUBE, extra=np.array([print], dtype=object))
    return d / "obj.npz"


def mismatched_wavelengths(d):
    np.savez(d / "mis.npz", cube=CUBE, wavelengths=WL31[:-1])
    return d / "mis.npz"


def nonincreasing_wavelengths(d):
    wl = WL31.copy()
    wl[10], wl[11] = wl[11], wl[10]
    with h5py.File(d / "order.h5", "w") as f:
        f.create_dataset("cube", data=CUBE).attrs["wavelengths"] = wl
    return d / "order.h5"


def missing_wavelengths_16_bands(d):
    np.save(d / "b16.npy", CUBE[:, :, :16])
    return d / "b16.npy"


def grayscale_png(d):
    Image.fromarray(RGB8[:, :, 0]).save(d / "gray.png")
    return d / "gray.png"


def grayscale_png_16bit(d):
    Image.fromarray(RGB8[:, :, 0].astype(np.uint16) * 257).save(d / "gray16.png")
    return d / "gray16.png"


def gray_palette_png(d):
    Image.fromarray(RGB8[:, :, 0]).convert("P").save(d / "pal.png")
    return d / "pal.png"


def grayscale_tiff(d):
    tifffile.imwrite(d / "gray.tif", RGB8[:, :, 0])
    return d / "gray.tif"


def cube_tiff_as_rgb(d):
    tifffile.imwrite(d / "cube.tif", np.moveaxis(CUBE, -1, 0), photometric="minisblack")
    return d / "cube.tif"


def envi_without_img(d):
    io.write_cube(HSCube(CUBE, WL31), d / "lonely.hdr")
    (d / "lonely.img").unlink()
    return d / "lonely.hdr"


def envi_img_short(d):
    io.write_cube(HSCube(CUBE, WL31), d / "short.hdr")
    _truncate(d / "short.img", 0.5)
    return d / "short.hdr"


def envi_binary_header(d):
    (d / "bin.hdr").write_bytes(bytes(range(256)) * 4)
    return d / "bin.hdr"


def mat_without_array(d):
    scipy.io.savemat(str(d / "strings.mat"), {"comment": "no cube here", "author": "someone"})
    return d / "strings.mat"


def mat_ambiguous_arrays(d):
    scipy.io.savemat(str(d / "two.mat"), {"first": CUBE, "second": CUBE})
    return d / "two.mat"


def npz_without_cube(d):
    np.savez(d / "nocube.npz", a=np.arange(5), b=np.ones((3, 3)))
    return d / "nocube.npz"


def _cave(d: Path, sizes: list[tuple[int, int]], numbers: list[int]) -> Path:
    folder = d / "scene_ms"
    folder.mkdir()
    for n, (h, w) in zip(numbers, sizes, strict=True):
        Image.fromarray(np.full((h, w), 1000 * n, np.uint16)).save(folder / f"scene_ms_{n:02d}.png")
    return folder


def cave_missing_band(d):
    return _cave(d, [(4, 5)] * 30, [n for n in range(1, 32) if n != 17])


def cave_mixed_sizes(d):
    return _cave(d, [(4, 5)] * 30 + [(5, 4)], list(range(1, 32)))


def cave_empty_folder(d):
    (d / "empty").mkdir()
    return d / "empty"


def unknown_extension(d):
    (d / "scene.xyz").write_bytes(b"\0" * 100)
    return d / "scene.xyz"


def missing_file(d):
    return d / "does-not-exist.h5"


# --- files once read wrong, leaking or exploding without an error ----------------------------------------
def _envi(d: Path, name: str, **fields) -> Path:
    header = {"samples": 5, "lines": 6, "bands": 31, "header offset": 0, "file type": "ENVI Standard",
              "data type": 4, "interleave": "bip", "byte order": 0, **fields}
    (d / f"{name}.hdr").write_text("ENVI\n" + "".join(f"{k} = {v}\n" for k, v in header.items()))
    (d / f"{name}.img").write_bytes(CUBE.astype("<f4").tobytes())
    return d / f"{name}.hdr"


def envi_byte_order_2(d):
    return _envi(d, "order2", **{"byte order": 2})


def envi_unknown_interleave(d):
    return _envi(d, "inter", interleave="bsx")


def envi_negative_offset(d):
    return _envi(d, "neg", **{"header offset": -16})


def envi_data_longer_than_header(d):
    path = _envi(d, "long")
    with open(d / "long.img", "ab") as f:
        f.write(b"\0" * 124)
    return path


def envi_mixed_pair(d):
    """Old header + new data of the same size: what a kill between the pair's two renames leaves."""
    io.write_cube(HSCube(CUBE, WL31), d / "old.hdr")
    io.write_cube(HSCube(CUBE[::-1].copy(), WL31), d / "new.hdr")
    os.replace(d / "new.img", d / "old.img")
    return d / "old.hdr"


def _png_bytes() -> bytearray:
    buf = _bytesio.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3)).astype(np.uint8)).save(buf, format="PNG")
    return bytearray(buf.getvalue())


def png_idat_bad_crc(d):
    data = _png_bytes()
    data[data.index(b"IDAT") + 40] ^= 0xFF  # the stream decodes to garbage, only the CRC tells
    (d / "crc.png").write_bytes(bytes(data))
    return d / "crc.png"


def png_idat_broken_stream(d):
    """A damaged deflate stream whose chunk CRC was recomputed: decoding itself must fail loudly."""
    data = _png_bytes()
    i = data.index(b"IDAT")
    length = struct.unpack(">I", data[i - 4:i])[0]
    body = bytes(data[i + 4:i + 4 + length])
    body = body[:2] + b"\xff" * 16 + body[18:]
    chunk = _png_chunk(b"IDAT", body)
    (d / "stream.png").write_bytes(bytes(data[:i - 4]) + chunk + bytes(data[i + 8 + length:]))
    return d / "stream.png"


def _secret(d: Path) -> Path:
    outside = d.parent / f"{d.name}_outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.bin").write_bytes(CUBE.astype("<f4").tobytes())
    return outside / "secret.bin"


def h5_external_storage_absolute(d):
    with h5py.File(d / "ext.h5", "w") as f:
        f.create_dataset("cube", shape=CUBE.shape, dtype="f4", external=[(str(_secret(d)), 0, CUBE.nbytes)])
    return d / "ext.h5"


def h5_external_storage_dotdot(d):
    secret = _secret(d)
    with h5py.File(d / "dotdot.h5", "w") as f:
        f.create_dataset("cube", shape=CUBE.shape, dtype="f4",
                         external=[(f"../{secret.parent.name}/{secret.name}", 0, CUBE.nbytes)])
    return d / "dotdot.h5"


def h5_virtual_dataset_outside(d):
    other = _secret(d).parent / "other.h5"
    with h5py.File(other, "w") as f:
        f["cube"] = CUBE
    layout = h5py.VirtualLayout(shape=CUBE.shape, dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "cube", shape=CUBE.shape)
    with h5py.File(d / "vds.h5", "w") as f:
        f.create_virtual_dataset("cube", layout)
    return d / "vds.h5"


def h5_external_link_outside(d):
    other = _secret(d).parent / "linked.h5"
    with h5py.File(other, "w") as f:
        f["cube"] = CUBE
    with h5py.File(d / "link.h5", "w") as f:
        f["cube"] = h5py.ExternalLink(str(other), "/cube")
    return d / "link.h5"


def cave_band_number_huge(d):
    folder = _cave(d, [(4, 5)] * 3, [1, 2, 3])
    os.replace(folder / "scene_ms_03.png", folder / "scene_ms_1000000000.png")
    return folder


def tiff_20000_pages_as_rgb(d):
    with tifffile.TiffWriter(d / "pages.tif") as tw:
        for _ in range(20000):
            tw.write(np.zeros((2, 2), np.uint8), photometric="minisblack", metadata=None)
    return d / "pages.tif"


# name: (builder, reader, documented error class)
CASES: dict[str, tuple[Callable[[Path], Path], Callable[[Path], object], type[InputError]]] = {
    "truncated_png": (truncated_png, io.read_rgb, FileFormatError),
    "truncated_jpeg": (truncated_jpeg, io.read_rgb, FileFormatError),
    "truncated_h5": (truncated_h5, io.read_cube, FileFormatError),
    "truncated_mat": (truncated_mat, io.read_cube, FileFormatError),
    "truncated_npy": (truncated_npy, io.read_cube, FileFormatError),
    "truncated_tiff": (truncated_tiff, io.read_cube, FileFormatError),
    "zero_byte_png": (_empty("z.png"), io.read_any, FileFormatError),
    "zero_byte_jpeg": (_empty("z.jpg"), io.read_any, FileFormatError),
    "zero_byte_tiff": (_empty("z.tif"), io.read_any, FileFormatError),
    "zero_byte_h5": (_empty("z.h5"), io.read_any, FileFormatError),
    "zero_byte_mat": (_empty("z.mat"), io.read_any, FileFormatError),
    "zero_byte_npy": (_empty("z.npy"), io.read_any, FileFormatError),
    "zero_byte_npz": (_empty("z.npz"), io.read_any, FileFormatError),
    "zero_byte_hdr": (_empty("z.hdr"), io.read_any, FileFormatError),
    "text_as_png": (text_as_png, io.read_any, FileFormatError),
    "text_as_h5": (text_as_h5, io.read_any, FileFormatError),
    "two_channel_cube": (two_channel_cube, io.read_cube, ShapeError),
    "one_band_cube": (one_band_npz, io.read_cube, ShapeError),
    "npy_2d_array": (npy_2d, io.read_cube, ShapeError),
    "nan_in_cube": (nan_cube, io.read_cube, NonFiniteError),
    "inf_in_cube": (inf_cube, io.read_cube, NonFiniteError),
    "zero_size_axis": (zero_size_axis, io.read_cube, ShapeError),
    "envi_header_100k_by_100k": (envi_huge_header, io.read_cube, SizeLimitError),
    "npy_header_100k_by_100k": (npy_huge_header, io.read_cube, SizeLimitError),
    "h5_dataset_100k_by_100k": (h5_huge_dataset, io.read_cube, SizeLimitError),
    "png_ihdr_100k_by_100k": (png_huge_ihdr, io.read_rgb, SizeLimitError),
    "pickle_in_npy": (pickle_npy, io.read_cube, UnsafeFileError),
    "object_array_in_npz": (npz_object, io.read_cube, UnsafeFileError),
    "wavelength_count_mismatch": (mismatched_wavelengths, io.read_cube, WavelengthError),
    "wavelengths_not_increasing": (nonincreasing_wavelengths, io.read_cube, WavelengthError),
    "no_wavelengths_16_bands": (missing_wavelengths_16_bands, io.read_cube, WavelengthError),
    "grayscale_png_as_rgb": (grayscale_png, io.read_rgb, ColorModeError),
    "grayscale_16bit_png_as_rgb": (grayscale_png_16bit, io.read_rgb, ColorModeError),
    "gray_palette_png_as_rgb": (gray_palette_png, io.read_rgb, ColorModeError),
    "grayscale_tiff_as_rgb": (grayscale_tiff, io.read_rgb, ColorModeError),
    "cube_tiff_as_rgb": (cube_tiff_as_rgb, io.read_rgb, ShapeError),
    "envi_header_without_img": (envi_without_img, io.read_cube, FileFormatError),
    "envi_img_shorter_than_header": (envi_img_short, io.read_cube, FileFormatError),
    "envi_binary_header": (envi_binary_header, io.read_cube, FileFormatError),
    "mat_without_array_key": (mat_without_array, io.read_cube, FileFormatError),
    "mat_ambiguous_arrays": (mat_ambiguous_arrays, io.read_cube, FileFormatError),
    "npz_without_cube": (npz_without_cube, io.read_cube, FileFormatError),
    "cave_missing_band": (cave_missing_band, io.read_any, ShapeError),
    "cave_mixed_sizes": (cave_mixed_sizes, io.read_any, ShapeError),
    "cave_empty_folder": (cave_empty_folder, io.read_cube, FileFormatError),
    "unknown_extension": (unknown_extension, io.read_any, UnsupportedFormatError),
    "cube_file_as_rgb": (truncated_h5, io.read_rgb, UnsupportedFormatError),
    "missing_file": (missing_file, io.read_any, FileFormatError),
    # broken headers and PNG chunks, unsafe HDF5 storage and links, absurd sizes
    "envi_byte_order_2": (envi_byte_order_2, io.read_cube, FileFormatError),
    "envi_unknown_interleave": (envi_unknown_interleave, io.read_cube, FileFormatError),
    "envi_negative_header_offset": (envi_negative_offset, io.read_cube, FileFormatError),
    "envi_data_longer_than_header": (envi_data_longer_than_header, io.read_cube, FileFormatError),
    "envi_pair_from_two_writes": (envi_mixed_pair, io.read_cube, FileFormatError),
    "png_idat_bad_crc": (png_idat_bad_crc, io.read_rgb, FileFormatError),
    "png_idat_broken_stream": (png_idat_broken_stream, io.read_rgb, FileFormatError),
    "h5_external_storage_absolute": (h5_external_storage_absolute, io.read_cube, UnsafeFileError),
    "h5_external_storage_dotdot": (h5_external_storage_dotdot, io.read_cube, UnsafeFileError),
    "h5_virtual_dataset_outside": (h5_virtual_dataset_outside, io.read_cube, UnsafeFileError),
    "h5_external_link_outside": (h5_external_link_outside, io.read_cube, FileFormatError),
    "cave_band_number_1e9": (cave_band_number_huge, io.read_any, ShapeError),
    "tiff_20000_pages_as_rgb": (tiff_20000_pages_as_rgb, io.read_rgb, ShapeError),
}
# what the message must also say (a message must not mislead)
MESSAGE_SAYS = {"envi_negative_header_offset": "header offset", "tiff_20000_pages_as_rgb": "20000",
                "envi_byte_order_2": "byte order", "envi_unknown_interleave": "interleave",
                "h5_external_storage_absolute": "outside", "png_idat_bad_crc": "CRC"}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_documented_error(tmp_path, name):
    build, read, expected = CASES[name]
    path = build(tmp_path)
    with pytest.raises(InputError) as info:
        read(path)
    err = info.value
    assert type(err) is expected, f"{name}: got {type(err).__name__}: {err}"
    msg = str(err)
    assert "\n" not in msg and SAYS_EXPECTED.search(msg), msg
    assert path.name in msg, msg  # says which file
    assert MESSAGE_SAYS.get(name, "") in msg, msg
    assert "dtype object" not in msg or type(err) is UnsafeFileError, msg


def test_corpus_is_large_enough():
    assert len(CASES) >= 61


NOT_OVERWRITTEN = ["truncated_h5", "pickle_in_npy", "png_ihdr_100k_by_100k", "envi_header_without_img",
                   "nan_in_cube", "h5_dataset_100k_by_100k", "cave_missing_band", "grayscale_png_as_rgb",
                   "png_idat_bad_crc", "png_idat_broken_stream", "h5_external_storage_absolute"]


@pytest.mark.parametrize("name", NOT_OVERWRITTEN)
@pytest.mark.parametrize("out_name", ["out.h5", "out.png", "out.hdr"])
def test_failed_read_leaves_existing_output_untouched(tmp_path, name, out_name):
    """A ``convert``-style flow (read, then write): the read fails first, so the output keeps its bytes."""
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    out = outputs / out_name
    out.write_bytes(b"precious bytes")
    (outputs / "out.img").write_bytes(b"precious data")
    build, _, expected = CASES[name]
    bad = build(inputs)
    listing = sorted(os.listdir(outputs)), sorted(os.listdir(inputs))
    with pytest.raises(expected):
        obj = io.read_any(bad)
        if isinstance(obj, HSCube):
            io.write_cube(obj, out)
        else:
            io.write_rgb(obj, out)
    assert out.read_bytes() == b"precious bytes" and (outputs / "out.img").read_bytes() == b"precious data"
    assert (sorted(os.listdir(outputs)), sorted(os.listdir(inputs))) == listing  # no temporaries left


@pytest.mark.parametrize("target", ["scene.xyz", "missing/scene.h5"])
def test_bad_output_path_is_typed_and_writes_nothing(tmp_path, target):
    cube = HSCube(CUBE, WL31)
    with pytest.raises(InputError) as info:
        io.write_cube(cube, tmp_path / target)
    assert type(info.value).__name__ in ("UnsupportedFormatError", "OutputError")
    assert "\n" not in str(info.value) and "expected" in str(info.value)
    assert os.listdir(tmp_path) == []
