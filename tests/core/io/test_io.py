"""hsi_studio.core.io.api: every writer's output opened by the peer library, every reader round-trips, key and
layout auto-detection, RGB depth/alpha/EXIF handling, and atomic writes."""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import spectral
import tifffile
from PIL import Image, ImageOps

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import (
    ColorModeError,
    OutputError,
    ShapeError,
    UnsupportedFormatError,
    WavelengthError,
)
from hsi_studio.core.io import api as io
from hsi_studio.core.io import mat as io_mat
from hsi_studio.core.io import png_stack
from hsi_studio.core.io import rgb as io_rgb

WL31 = np.arange(400.0, 701.0, 10.0)
WL16 = np.linspace(420.0, 720.0, 16)
CUBE_EXTS = [".hdr", ".img", ".h5", ".hdf5", ".mat", ".npz", ".tif", ".tiff"]


def make_cube(bands: int = 31, wl=None, seed: int = 0, hw=(6, 7), kind="reflectance") -> HSCube:
    rng = np.random.default_rng(seed)
    data = rng.uniform(0.0, 1.0, (*hw, bands)).astype(np.float32)
    return HSCube(data, WL31 if wl is None else wl, {"note": "hello", "n": 3}, kind)


@pytest.fixture
def cube() -> HSCube:
    return make_cube()


@pytest.fixture
def rgb() -> RGBImage:
    rng = np.random.default_rng(1)
    return RGBImage(rng.random((9, 11, 3)).astype(np.float32))


def no_temps(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp" in p.name or p.name.endswith(".old")]


# ---------------------------------------------------------------------------------------------------------
# Writers, checked with the peer library itself
# ---------------------------------------------------------------------------------------------------------
def test_envi_opened_by_spectral(tmp_path, cube):
    hdr = io.write_cube(cube, tmp_path / "scene.hdr")
    assert hdr == tmp_path / "scene.hdr" and (tmp_path / "scene.img").is_file()
    img = spectral.open_image(str(hdr))
    np.testing.assert_allclose(img.bands.centers, WL31)
    assert img.bands.band_unit == "nm"
    np.testing.assert_array_equal(np.asarray(img.load()), cube.data)
    assert no_temps(tmp_path)


def test_hdf5_opened_by_h5py(tmp_path, cube):
    io.write_cube(cube, tmp_path / "scene.h5")
    with h5py.File(tmp_path / "scene.h5", "r") as f:
        ds = f["cube"]
        assert ds.dtype == np.float32 and ds.shape == (6, 7, 31)
        np.testing.assert_array_equal(ds[()], cube.data)
        np.testing.assert_allclose(ds.attrs["wavelengths"], WL31)
        assert ds.attrs["kind"] == "reflectance"


def test_mat_v5_opened_by_scipy(tmp_path, cube):
    io.write_cube(cube, tmp_path / "scene.mat")
    mat = scipy.io.loadmat(str(tmp_path / "scene.mat"))
    np.testing.assert_array_equal(mat["cube"], cube.data)
    np.testing.assert_allclose(mat["wavelengths"].ravel(), WL31)
    assert scipy.io.matlab.matfile_version(str(tmp_path / "scene.mat"))[0] == 1


def test_mat_v73_for_large_cubes_is_matlab_layout(tmp_path, cube, monkeypatch):
    monkeypatch.setattr(io_mat, "MAT_V5_MAX_BYTES", 1000)  # pretend the cube exceeds v5's 2 GiB limit
    path = io.write_cube(cube, tmp_path / "big.mat")
    assert scipy.io.matlab.matfile_version(str(path)) == (2, 0)
    assert path.read_bytes()[:19] == b"MATLAB 7.3 MAT-file"
    with h5py.File(path, "r") as f:
        assert f["cube"].shape == (31, 7, 6)  # column-major: MATLAB's 6×7×31 reversed
        assert f["cube"].attrs["MATLAB_class"] == b"single"
        np.testing.assert_array_equal(f["cube"][()].T, cube.data)
        np.testing.assert_allclose(f["wavelengths"][()].T.ravel(), WL31)
    back = io.read_cube(path)
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.kind == "reflectance" and back.metadata["note"] == "hello" and back.metadata["format"] == "MATLAB v7.3"


def test_tiff_opened_by_tifffile(tmp_path, cube):
    io.write_cube(cube, tmp_path / "scene.tif")
    with tifffile.TiffFile(tmp_path / "scene.tif") as tf:
        assert len(tf.pages) == 31
        info = json.loads(tf.pages[0].description)
        arr = tf.asarray()
    np.testing.assert_allclose(info["wavelengths"], WL31)
    np.testing.assert_array_equal(np.moveaxis(arr, 0, -1), cube.data)


def test_npy_and_npz_opened_by_numpy(tmp_path, cube):
    io.write_cube(cube, tmp_path / "scene.npy")
    io.write_cube(cube, tmp_path / "scene.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "scene.npy", allow_pickle=False), cube.data)
    with np.load(tmp_path / "scene.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["cube"], cube.data)
        np.testing.assert_allclose(z["wavelengths"], WL31)
        assert str(z["kind"]) == "reflectance"


def test_png_band_folder_opened_by_pil(tmp_path):
    cube = make_cube(bands=16, wl=WL16)
    cube = cube.with_data(cube.data * 3.0)  # above 1: the sidecar's scale keeps it
    out = io.write_cube(cube, str(tmp_path / "bands") + "/")
    files = sorted(out.glob("*.png"))
    assert [p.name for p in files][:2] == ["bands_01.png", "bands_02.png"] and len(files) == 16
    side = json.loads((out / png_stack.CAVE_SIDECAR).read_text())
    np.testing.assert_allclose(side["wavelengths"], WL16)
    with Image.open(files[4]) as im:
        assert im.mode == "I;16" and im.size == (7, 6)
        counts = np.asarray(im)
    np.testing.assert_allclose(counts / 65535 * side["scale"], cube.data[:, :, 4], atol=side["scale"] / 65535)


# ---------------------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", CUBE_EXTS)
def test_round_trip_keeps_data_wavelengths_kind(tmp_path, ext):
    cube = make_cube(bands=16, wl=WL16)
    written = io.write_cube(cube, tmp_path / f"scene{ext}")
    back = io.read_cube(written)
    np.testing.assert_array_equal(back.data, cube.data)
    np.testing.assert_allclose(back.wavelengths, WL16)
    assert back.kind == "reflectance" and not back.metadata.get("wavelengths_assumed")
    assert back.metadata["source"] == str(written)
    assert no_temps(tmp_path)


def test_round_trip_png_band_folder_within_16_bit(tmp_path, cube):
    out = io.write_cube(cube, tmp_path / "stack")  # no extension: a folder
    back = io.read_cube(out)
    np.testing.assert_allclose(back.data, cube.data, atol=0.5 / 65535 + 1e-7)
    np.testing.assert_allclose(back.wavelengths, WL31)
    assert back.kind == "reflectance" and back.metadata["note"] == "hello"
    assert isinstance(io.read_any(out), HSCube)
    io.write_cube(cube.with_data(cube.data * 0.5), out)  # an earlier export is replaced
    np.testing.assert_allclose(io.read_cube(out).data, cube.data * 0.5, atol=1e-4)
    assert no_temps(tmp_path)


def test_png_band_folder_refuses_foreign_folder_and_negative_values(tmp_path, cube):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.txt").write_text("precious")
    with pytest.raises(OutputError, match="other files"):
        io.write_cube(cube, tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.txt").read_text() == "precious"
    with pytest.raises(OutputError, match="negative"):
        io.write_cube(cube.with_data(cube.data - 0.5), tmp_path / "neg/")
    assert no_temps(tmp_path)


def test_npy_stores_no_wavelengths(tmp_path):
    cube = make_cube(bands=16, wl=WL16)
    with pytest.warns(UserWarning, match="no wavelengths"):
        path = io.write_cube(cube, tmp_path / "c.npy")
    with pytest.raises(WavelengthError, match="16 bands"):
        io.read_cube(path)
    back = io.read_cube(path, wavelengths=WL16)
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.metadata["wavelengths_source"] == "argument"


def test_31_bands_without_wavelengths_get_standard_grid(tmp_path, cube):
    io.write_cube(cube, tmp_path / "c.npy")
    back = io.read_cube(tmp_path / "c.npy")
    np.testing.assert_allclose(back.wavelengths, WL31)
    assert back.metadata["wavelengths_assumed"] is True
    io.write_cube(back, tmp_path / "c.h5")  # the assumption is not carried into a file that stores them
    assert "wavelengths_assumed" not in io.read_cube(tmp_path / "c.h5").metadata


@pytest.mark.parametrize("dtype,top", [(np.uint16, 65535), (np.uint8, 255)])
def test_integer_data_is_scaled_by_dtype_max(tmp_path, dtype, top):
    counts = np.random.default_rng(2).integers(0, top + 1, (5, 4, 31)).astype(dtype)
    np.save(tmp_path / "c.npy", counts)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        f["cube"] = counts
    for name in ("c.npy", "c.h5"):
        back = io.read_cube(tmp_path / name)
        np.testing.assert_allclose(back.data, counts / top, rtol=1e-6)
        assert back.metadata["integer_scale"] == top


def test_writer_aliases_and_returned_paths(tmp_path, cube):
    assert io.write_cube(cube, tmp_path / "e.img") == tmp_path / "e.hdr"
    assert (tmp_path / "e.img").is_file()
    assert set(io.CUBE_WRITE_EXTENSIONS) <= set(io.CUBE_READ_EXTENSIONS)
    assert {".png", ".jpg", ".tif"} <= set(io.RGB_EXTENSIONS)
    with pytest.raises(UnsupportedFormatError, match=r"\.h5"):
        io.write_cube(cube, tmp_path / "scene.xyz")


# ---------------------------------------------------------------------------------------------------------
# Key, wavelength and layout auto-detection
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["cube", "rad", "ref", "NRD", "Omsi", "hsi", "data", "img"])
def test_mat_v5_key_detection(tmp_path, key):
    data = make_cube().data.astype(np.float64)
    scipy.io.savemat(str(tmp_path / "x.mat"), {key: data, "bands": WL31[None, :], "comment": "scene"})
    back = io.read_cube(tmp_path / "x.mat")
    np.testing.assert_allclose(back.data, data, rtol=1e-6)
    assert back.metadata["key"] == key and not back.metadata.get("wavelengths_assumed")
    assert back.kind == {"rad": "radiance", "ref": "reflectance"}.get(key, "unknown")


def _matlab73(path: Path, arrays: dict, userblock: bool = True) -> None:
    """A MATLAB v7.3 file as MATLAB writes it: HDF5, 512-byte header, arrays stored transposed."""
    with h5py.File(path, "w", userblock_size=512 if userblock else 0) as f:
        for name, arr in arrays.items():
            ds = f.create_dataset(name, data=np.asarray(arr).T)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
    if userblock:
        with open(path, "r+b") as raw:
            raw.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\0" * 8 + b"\x00\x02IM")


@pytest.mark.parametrize("key", ["cube", "rad", "ref"])
@pytest.mark.parametrize("userblock", [True, False])
def test_mat_v73_key_detection_and_transpose(tmp_path, key, userblock):
    data = np.random.default_rng(3).random((5, 8, 31))  # H≠W so a wrong transpose is caught
    _matlab73(tmp_path / "x.mat", {key: data, "wl": WL31[None, :]}, userblock)
    back = io.read_cube(tmp_path / "x.mat")
    assert back.shape == (5, 8, 31) and back.metadata["key"] == key
    np.testing.assert_allclose(back.data, data, rtol=1e-6)
    np.testing.assert_allclose(back.wavelengths, WL31)


def test_explicit_key_chooses_among_several(tmp_path):
    a, b = make_cube(seed=1).data, make_cube(seed=2).data
    scipy.io.savemat(str(tmp_path / "two.mat"), {"first": a, "second": b})
    np.testing.assert_array_equal(io.read_cube(tmp_path / "two.mat", key="second").data, b)
    np.testing.assert_array_equal(io.read_any(tmp_path / "two.mat", key="first").data, a)
    np.savez(tmp_path / "two.npz", rad=a, other=b)
    np.testing.assert_array_equal(io.read_cube(tmp_path / "two.npz").data, a)


def test_hdf5_wavelength_dataset_and_band_first_layout(tmp_path):
    data = make_cube(bands=16, wl=WL16).data
    with h5py.File(tmp_path / "bhw.h5", "w") as f:
        f["rad"] = np.moveaxis(data, -1, 0)  # B×H×W
        f["wavelengths"] = WL16
    back = io.read_cube(tmp_path / "bhw.h5")
    np.testing.assert_array_equal(back.data, data)
    np.testing.assert_allclose(back.wavelengths, WL16)
    assert back.metadata["layout"] == "BHW" and back.kind == "radiance"


def test_envi_micrometre_units_are_converted(tmp_path):
    data = make_cube(bands=4, wl=np.array([450.0, 550.0, 650.0, 750.0])).data
    (tmp_path / "u.img").write_bytes(data.astype("<f4").tobytes())
    (tmp_path / "u.hdr").write_text("ENVI\nsamples = 7\nlines = 6\nbands = 4\nheader offset = 0\n"
                                    "file type = ENVI Standard\ndata type = 4\ninterleave = bip\nbyte order = 0\n"
                                    "wavelength units = Micrometers\nwavelength = {0.45, 0.55, 0.65, 0.75}\n")
    back = io.read_cube(tmp_path / "u.img")
    np.testing.assert_allclose(back.wavelengths, [450, 550, 650, 750])
    np.testing.assert_array_equal(back.data, data)


def test_envi_reflectance_scale_factor_is_honoured(tmp_path):
    counts = np.random.default_rng(8).integers(0, 10001, (6, 7, 31)).astype("<i2")
    (tmp_path / "r.img").write_bytes(counts.tobytes())
    (tmp_path / "r.hdr").write_text("ENVI\nsamples = 7\nlines = 6\nbands = 31\nheader offset = 0\n"
                                    "data type = 2\ninterleave = bip\nbyte order = 0\n"
                                    "reflectance scale factor = 10000\n")
    back = io.read_cube(tmp_path / "r.hdr")
    np.testing.assert_allclose(back.data, counts / 10000, rtol=1e-6)
    assert back.kind == "reflectance" and back.metadata["wavelengths_assumed"]


def test_mislabelled_rgb_is_read_by_its_content(tmp_path, rgb):
    io.write_rgb(rgb, tmp_path / "a.png")
    os.replace(tmp_path / "a.png", tmp_path / "really_png.jpg")
    img = io.read_rgb(tmp_path / "really_png.jpg")
    assert img.metadata["format"] == "PNG" and np.abs(img.data - rgb.data).max() <= 0.5 / 255 + 1e-7


def test_tiff_with_samples_per_band_is_a_cube(tmp_path, cube):
    tifffile.imwrite(tmp_path / "hwb.tif", cube.data, photometric="minisblack", planarconfig="contig")
    back = io.read_any(tmp_path / "hwb.tif")
    assert isinstance(back, HSCube) and back.metadata["wavelengths_assumed"]
    np.testing.assert_array_equal(back.data, cube.data)


def test_png_band_folder_without_sidecar_sorts_numerically(tmp_path):
    folder = tmp_path / "balloons_ms"
    folder.mkdir()
    counts = np.random.default_rng(4).integers(0, 65536, (31, 5, 6)).astype(np.uint16)
    for i in range(31):  # unpadded numbers: a text sort would put 10 before 2
        Image.fromarray(counts[i]).save(folder / f"balloons_ms_{i + 1}.png")
    (folder / "balloons_RGB.bmp").write_bytes(b"ignored")
    back = io.read_cube(folder)
    np.testing.assert_allclose(back.data, np.moveaxis(counts, 0, -1) / 65535, rtol=1e-6)
    assert back.metadata["wavelengths_assumed"] is True


def test_read_any_decides_rgb_or_cube(tmp_path, cube, rgb):
    io.write_rgb(rgb, tmp_path / "p.png")
    io.write_rgb(rgb, tmp_path / "p.tif")
    io.write_cube(cube, tmp_path / "c.tif")
    io.write_cube(cube, tmp_path / "c.h5")
    assert isinstance(io.read_any(tmp_path / "p.png"), RGBImage)
    assert isinstance(io.read_any(tmp_path / "p.tif"), RGBImage)
    assert isinstance(io.read_any(tmp_path / "c.tif"), HSCube)
    assert isinstance(io.read_any(tmp_path / "c.h5"), HSCube)
    with pytest.raises(UnsupportedFormatError, match="RGB image format"):
        io.read_cube(tmp_path / "p.png")


# ---------------------------------------------------------------------------------------------------------
# RGB
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,bits,tol", [
    ("a.png", 8, 0.5 / 255), ("a.png", 16, 0.5 / 65535), ("a.tif", 8, 0.5 / 255), ("a.tiff", 16, 0.5 / 65535),
    ("a.jpg", 8, 0.08), ("a.jpeg", 8, 0.08), ("a.bmp", 8, 0.5 / 255),
])
def test_rgb_round_trip(tmp_path, rgb, name, bits, tol):
    path = io.write_rgb(rgb, tmp_path / name, bit_depth=bits)
    back = io.read_rgb(path)
    assert back.shape == rgb.shape and back.bit_depth == bits and back.encoding == "srgb"
    assert np.abs(back.data - rgb.data).max() <= tol + 1e-7
    assert no_temps(tmp_path)


def test_16_bit_png_is_standard_and_full_precision(tmp_path):
    q = np.random.default_rng(5).integers(0, 65536, (7, 9, 3)).astype(np.uint16)
    io.write_rgb(q, tmp_path / "q.png", bit_depth=16)
    with Image.open(tmp_path / "q.png") as im:  # any decoder sees a valid 16-bit RGB PNG
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), (q >> 8).astype(np.uint8))
    assert np.array_equal(np.round(io.read_rgb(tmp_path / "q.png").data * 65535).astype(np.uint16), q)


def _paeth_png16(q: np.ndarray) -> bytes:
    """A 16-bit RGB PNG whose rows all use the Paeth filter (as libpng often chooses)."""
    h = q.shape[0]
    raw = q.astype(">u2").reshape(h, -1).view(np.uint8).astype(np.int16)
    a = np.zeros_like(raw)
    a[:, 6:] = raw[:, :-6]
    b = np.zeros_like(raw)
    b[1:] = raw[:-1]
    c = np.zeros_like(raw)
    c[1:, 6:] = raw[:-1, :-6]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    body = np.concatenate([np.full((h, 1), 4), (raw - pred) % 256], axis=1).astype(np.uint8)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", q.shape[1], h, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(body.tobytes()))
            + chunk(b"IEND", b""))


def test_16_bit_png_from_another_encoder(tmp_path):
    q = np.random.default_rng(6).integers(0, 65536, (12, 10, 3)).astype(np.uint16)
    (tmp_path / "paeth.png").write_bytes(_paeth_png16(q))
    img = io.read_rgb(tmp_path / "paeth.png")
    assert img.bit_depth == 16 and np.array_equal(np.round(img.data * 65535).astype(np.uint16), q)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_rgba_warns_and_drops_alpha(tmp_path, ext):
    rgba = np.random.default_rng(7).integers(0, 256, (6, 5, 4)).astype(np.uint8)
    if ext == ".png":
        Image.fromarray(rgba).save(tmp_path / f"a{ext}")
    else:
        tifffile.imwrite(tmp_path / f"a{ext}", rgba, photometric="rgb", extrasamples=["unassalpha"])
    with pytest.warns(UserWarning, match="alpha channel dropped"):
        img = io.read_rgb(tmp_path / f"a{ext}")
    np.testing.assert_allclose(img.data, rgba[..., :3] / 255, rtol=1e-6)
    assert img.metadata["alpha_dropped"] is True


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    arr = np.zeros((8, 5, 3), np.uint8)
    arr[:4, :2] = (250, 10, 10)  # a red corner makes every flip/rotation distinguishable
    arr[6:, 3:] = (10, 10, 250)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(arr).save(tmp_path / "o.jpg", quality=100, exif=exif)
    img = io.read_rgb(tmp_path / "o.jpg")
    with Image.open(tmp_path / "o.jpg") as im:
        expected = np.asarray(ImageOps.exif_transpose(im)) / 255
    assert img.shape == expected.shape
    np.testing.assert_allclose(img.data, expected, atol=1e-6)
    assert (img.shape[:2] == (5, 8)) == (orientation >= 5)


def test_palette_png_with_colour_is_accepted(tmp_path, rgb):
    Image.fromarray(np.round(rgb.data * 255).astype(np.uint8)).quantize(16).save(tmp_path / "p.png")
    img = io.read_rgb(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as im:
        assert im.mode == "P"
        expected = np.asarray(im.convert("RGB")) / 255
    assert img.shape == rgb.shape
    np.testing.assert_allclose(img.data, expected, atol=1e-6)


def test_write_rgb_refusals(tmp_path, rgb):
    with pytest.raises(OutputError, match="8 bits"):
        io.write_rgb(rgb, tmp_path / "a.jpg", bit_depth=16)
    with pytest.raises(OutputError, match="8 or 16"):
        io.write_rgb(rgb, tmp_path / "a.png", bit_depth=12)
    with pytest.raises(UnsupportedFormatError, match=r"\.png"):
        io.write_rgb(rgb, tmp_path / "a.h5")
    with pytest.raises(OutputError, match="does not exist"):
        io.write_rgb(rgb, tmp_path / "missing" / "a.png")
    with pytest.raises(ColorModeError):
        io.write_rgb(np.zeros((4, 4)), tmp_path / "gray.png")
    assert sorted(os.listdir(tmp_path)) == []


# ---------------------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------------------
def test_atomic_write_replaces_or_leaves_untouched(tmp_path):
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), io.atomic_write(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.txt"]
    with io.atomic_write(target) as tmp:
        assert tmp.parent == tmp_path
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def _boom_after_partial(*args, **kwargs):
    target = args[0]
    if hasattr(target, "write"):
        target.write(b"partial")
    raise RuntimeError("simulated failure midway")


@pytest.mark.parametrize("ext,module,attr", [
    (".mat", scipy.io, "savemat"),
    (".npy", np, "save"),
    (".tif", tifffile, "imwrite"),
    (".hdr", spectral.io.envi, "write_envi_header"),
])
def test_failed_cube_write_leaves_existing_file(tmp_path, cube, monkeypatch, ext, module, attr):
    io.write_cube(cube, tmp_path / f"out{ext}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(module, attr, _boom_after_partial)
    with pytest.raises(OutputError, match="simulated failure"):
        io.write_cube(make_cube(seed=9), tmp_path / f"out{ext}")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failed_envi_write_midway_leaves_both_files(tmp_path, cube, monkeypatch):
    io.write_cube(cube, tmp_path / "out.hdr")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = spectral.io.envi.write_envi_header

    def save_then_fail(hdr_file, *args, **kwargs):
        real(hdr_file, *args, **kwargs)  # both temporaries are complete …
        raise OSError("disk full")  # … but the write still fails before anything is replaced

    monkeypatch.setattr(spectral.io.envi, "write_envi_header", save_then_fail)
    with pytest.raises(OutputError, match="disk full"):
        io.write_cube(make_cube(seed=9), tmp_path / "out.hdr")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failed_folder_and_rgb_writes_leave_existing_output(tmp_path, cube, rgb, monkeypatch):
    folder = io.write_cube(cube, tmp_path / "stack/")
    io.write_rgb(rgb, tmp_path / "p.png", bit_depth=16)
    before = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    calls = {"n": 0}
    real_save = Image.Image.save

    def save_some(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError("no space left on device")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_some)
    monkeypatch.setattr(io_rgb, "encode_png16", lambda q: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(OutputError, match="no space"):
        io.write_cube(make_cube(seed=9), folder)
    with pytest.raises(OutputError):
        io.write_rgb(rgb, tmp_path / "p.png", bit_depth=16)
    after = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before and no_temps(tmp_path)


# ---------------------------------------------------------------------------------------------------------
# Real data (optional)
# ---------------------------------------------------------------------------------------------------------
CAVE = Path(__file__).resolve().parents[4] / "shared" / "data" / "cave"


@pytest.mark.shared_data
@pytest.mark.skipif(not CAVE.is_dir(), reason="../shared/data/cave is absent (real CAVE .mat files)")
def test_reads_real_cave_mat_files():
    files = sorted(CAVE.glob("*.mat"))
    assert files
    for path in files:
        cube = io.read_cube(path)
        assert cube.bands == 31 and cube.metadata["wavelengths_assumed"] is True
        assert cube.metadata["key"] in ("NRD", "Omsi") and 0 <= cube.data.min() and cube.data.max() <= 1.01
        if cube.metadata["key"] == "NRD":
            assert cube.metadata["integer_scale"] == 65535


def test_shape_error_for_wrong_axes_is_typed(tmp_path):
    np.save(tmp_path / "four.npy", np.zeros((2, 3, 4, 31), np.float32))
    with pytest.raises(ShapeError, match="3 axes"):
        io.read_cube(tmp_path / "four.npy")
