"""Camera RAW input (hsi_studio.core.io.raw) on DNGs this file writes itself with tifffile: no downloaded file.

The synthetic camera's ColorMatrix1 (XYZ → camera) is the XYZ → linear-sRGB matrix, so camera RGB *is* linear
sRGB and the expected output of every patch is known: the scene values themselves (LibRaw maps the raw white
level to 1 and, with gamma (1, 1), applies no tone curve).
"""

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.errors import (
    ColorModeError,
    FileFormatError,
    InputError,
    SizeLimitError,
    UnsupportedFormatError,
)
from hsi_studio.core.io.raw import COLOUR_SPACE, RAW_EXTENSIONS, read_raw
from hsi_studio.core.spectral._colour import colour

rawpy = pytest.importorskip("rawpy")

ROOT = Path(__file__).resolve().parents[3]
XYZ_TO_SRGB = np.asarray(colour.models.RGB_COLOURSPACE_sRGB.matrix_XYZ_to_RGB, dtype=np.float64)
BLACK, WHITE = 256, 4095  # a 12-bit sensor with a black offset
H, W = 64, 96
BRIGHT, DARK = 0.6, 0.15
RED, GREEN = (0.5, 0.05, 0.05), (0.05, 0.4, 0.05)
# interior boxes of each patch (rows, cols), away from the edges the demosaic blends
BOX = {"bright": (slice(6, 26), slice(6, 42)), "dark": (slice(38, 58), slice(6, 42)),
       "red": (slice(6, 26), slice(54, 90)), "green": (slice(38, 58), slice(54, 66)),
       "clipped": (slice(38, 58), slice(80, 90))}


def _rationals(values, den=100000):
    out = []
    for v in values:
        out += [int(round(v * den)), den]
    return out


def _scene() -> np.ndarray:
    """Left half grey (bright above, dark below); right half a red patch above, a green one and a patch at
    the raw white level below."""
    rgb = np.zeros((H, W, 3))
    rgb[:32, :48] = BRIGHT
    rgb[32:, :48] = DARK
    rgb[:32, 48:] = RED
    rgb[32:, 48:72] = GREEN
    rgb[32:, 72:] = 1.0
    return rgb


def _mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB Bayer samples of an H×W×3 scene, as 16-bit raw values between BLACK and WHITE."""
    m = np.empty(rgb.shape[:2])
    m[0::2, 0::2] = rgb[0::2, 0::2, 0]
    m[0::2, 1::2] = rgb[0::2, 1::2, 1]
    m[1::2, 0::2] = rgb[1::2, 0::2, 1]
    m[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return np.round(BLACK + np.clip(m, 0, 1) * (WHITE - BLACK)).astype(np.uint16)


def _write_dng(path: Path, rgb: np.ndarray | None = None, *, neutral=(1.0, 1.0, 1.0), cfa=(0, 1, 1, 2),
               drop=(), extra=(), data: np.ndarray | None = None, photometric=32803) -> Path:
    """A minimal, uncompressed DNG 1.4 that LibRaw reads: one CFA image in IFD0 and the colour tags."""
    tags = [
        (271, 2, None, "HSIStudio", True),  # Make
        (272, 2, None, "Synthetic", True),  # Model
        (33421, 3, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, 1, 4, cfa, True),  # CFAPattern: 0 = red, 1 = green, 2 = blue
        (50706, 1, 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, 1, 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, 2, None, "HSIStudio Synthetic", True),  # UniqueCameraModel
        (50714, 3, 1, (BLACK,), True),  # BlackLevel
        (50717, 3, 1, (WHITE,), True),  # WhiteLevel
        (50721, 10, 9, _rationals(XYZ_TO_SRGB.ravel()), True),  # ColorMatrix1 (XYZ → camera), SRATIONAL
        (50728, 5, 3, _rationals(neutral), True),  # AsShotNeutral, RATIONAL
        (50778, 3, 1, (21,), True),  # CalibrationIlluminant1 = D65
        *extra,
    ]
    tags = [t for t in tags if t[0] not in drop]
    raw = _mosaic(_scene() if rgb is None else rgb) if data is None else data
    tifffile.imwrite(path, raw, photometric=photometric, subfiletype=0, extratags=tags, metadata=None)
    return path


def _mean(img: RGBImage, box: str) -> np.ndarray:
    rows, cols = BOX[box]
    return img.data[rows, cols].reshape(-1, 3).mean(axis=0)


@pytest.fixture
def dng(tmp_path) -> Path:
    return _write_dng(tmp_path / "scene.dng")


# ---------------------------------------------------------------------------------------------------------
# Reading: linear sRGB by the camera matrix
# ---------------------------------------------------------------------------------------------------------
def test_reads_a_synthetic_dng_as_linear_srgb(dng):
    img = read_raw(dng)
    assert isinstance(img, RGBImage)
    assert img.encoding == "linear" and img.bit_depth == 16
    assert img.data.shape == (H, W, 3) and img.data.dtype == np.float32
    assert 0.0 <= img.data.min() and img.data.max() <= 1.0
    bright, dark = _mean(img, "bright"), _mean(img, "dark")
    # grey stays neutral grey, at the scene value (raw white → 1, black level subtracted)
    np.testing.assert_allclose(bright, BRIGHT, atol=3e-3)
    np.testing.assert_allclose(dark, DARK, atol=3e-3)
    # linear: the ratio between two greys is kept (a tone curve would compress 4 to about 2)
    np.testing.assert_allclose(bright / dark, BRIGHT / DARK, rtol=0.02)
    red, green = _mean(img, "red"), _mean(img, "green")
    assert red[0] > 5 * red[1] and red[0] > 5 * red[2]
    assert green[1] > 5 * green[0] and green[1] > 5 * green[2]
    np.testing.assert_allclose(red, RED, atol=5e-3)
    np.testing.assert_allclose(green, GREEN, atol=5e-3)
    # the raw white level maps to 1; nothing goes above it
    np.testing.assert_allclose(_mean(img, "clipped"), 1.0, atol=1e-3)
    meta = img.metadata
    assert meta["format"] == "RAW (DNG)"
    assert meta["colour_space"] == COLOUR_SPACE == "camera RAW → linear sRGB (D65) by the camera matrix (LibRaw)"
    assert meta["white_balance"] == "camera (as shot)"
    assert meta["camera"] == "HSIStudio Synthetic"
    assert meta["raw_pattern"] == "RGGB"
    np.testing.assert_allclose(meta["wb_multipliers"], [1, 1, 1], atol=1e-3)
    assert meta["source"] == str(dng)
    assert "raw_flip" not in meta


def test_other_bayer_pattern_is_named(tmp_path):
    rgb = _scene()
    m = _mosaic(rgb[:, ::-1])[:, ::-1]  # columns swapped: G R / B G
    img = read_raw(_write_dng(tmp_path / "grbg.dng", cfa=(1, 0, 2, 1), data=m))
    assert img.metadata["raw_pattern"] == "GRBG"


def test_orientation_from_the_file_is_applied(tmp_path):
    rgb = np.full((H, W, 3), DARK)
    rgb[:16, :16] = BRIGHT  # top-left corner of the sensor
    img = read_raw(_write_dng(tmp_path / "rot.dng", rgb, extra=[(274, 3, 1, (6,), True)]))  # rotate 90° CW
    assert img.data.shape == (W, H, 3)
    assert img.metadata["raw_flip"] == 6
    # the sensor's top-left corner is shown top-right
    assert img.data[2:12, -12:-2].mean() > 0.5 and img.data[2:12, 2:12].mean() < 0.2


def test_linear_rgb_dng_without_mosaic_is_read(tmp_path):
    data = np.round(BLACK + np.full((32, 48, 3), 0.4) * (WHITE - BLACK)).astype(np.uint16)
    img = read_raw(_write_dng(tmp_path / "linear.dng", data=data, photometric=34892, drop=(33421, 33422)))
    assert img.data.shape == (32, 48, 3) and "raw_pattern" not in img.metadata
    np.testing.assert_allclose(img.data.reshape(-1, 3).mean(axis=0), 0.4, atol=3e-3)


# ---------------------------------------------------------------------------------------------------------
# White balance
# ---------------------------------------------------------------------------------------------------------
CAST = (0.5, 1.0, 0.7)  # what the camera records for a neutral surface under the shot's light


@pytest.fixture
def cast_dng(tmp_path) -> Path:
    rgb = np.full((H, W, 3), DARK)
    rgb[:32] = BRIGHT
    return _write_dng(tmp_path / "cast.dng", rgb * np.asarray(CAST), neutral=CAST)


def _ratios(img: RGBImage, box: str = "bright") -> np.ndarray:
    m = _mean(img, box)
    return m / m[1]


def test_camera_white_balance_neutralises_the_as_shot_cast(cast_dng):
    img = read_raw(cast_dng, white_balance="camera")
    np.testing.assert_allclose(_ratios(img), [1, 1, 1], atol=0.01)
    np.testing.assert_allclose(_mean(img, "bright"), BRIGHT, atol=5e-3)  # green's multiplier is the smallest
    assert img.metadata["white_balance"] == "camera (as shot)"
    np.testing.assert_allclose(img.metadata["wb_multipliers"], [1 / c for c in CAST], rtol=1e-3)


def test_daylight_white_balance_keeps_the_cast(cast_dng):
    img = read_raw(cast_dng, white_balance="daylight")
    # daylight multipliers of this camera are 1 (its matrix maps camera white to D65 white): the cast stays
    np.testing.assert_allclose(_ratios(img), CAST, atol=0.02)
    assert img.metadata["white_balance"].startswith("daylight")
    np.testing.assert_allclose(img.metadata["wb_multipliers"], [1, 1, 1], atol=1e-3)


def test_auto_white_balance_neutralises_a_grey_scene(cast_dng):
    img = read_raw(cast_dng, white_balance="auto")
    np.testing.assert_allclose(_ratios(img), [1, 1, 1], atol=0.02)
    assert img.metadata["white_balance"].startswith("auto")


def test_camera_white_balance_falls_back_to_daylight_with_a_note(tmp_path):
    rgb = np.full((H, W, 3), BRIGHT) * np.asarray(CAST)
    img = read_raw(_write_dng(tmp_path / "no_wb.dng", rgb, drop=(50728,)))
    assert img.metadata["white_balance"].startswith("daylight")
    assert "no as-shot white balance" in img.metadata["white_balance_note"]
    np.testing.assert_allclose(_ratios(img), CAST, atol=0.02)


def test_unknown_white_balance_is_refused(dng):
    with pytest.raises(InputError, match="expected one of camera, daylight, auto"):
        read_raw(dng, white_balance="tungsten")


# ---------------------------------------------------------------------------------------------------------
# Refusals: typed errors, one-line messages, nothing from rawpy escapes
# ---------------------------------------------------------------------------------------------------------
def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 600
    assert not isinstance(exc.value, rawpy.LibRawError)
    return msg


@pytest.mark.parametrize("keep", ["pixels", "header", 8])
def test_truncated_dng_is_a_file_format_error(tmp_path, dng, keep):
    whole = dng.read_bytes()
    n = {"pixels": len(whole) - 2000, "header": 200}.get(keep, keep)
    bad = tmp_path / "cut.dng"
    bad.write_bytes(whole[:n])
    with pytest.raises(FileFormatError) as exc:
        read_raw(bad)
    msg = _one_line(exc)
    assert str(bad) in msg and "truncated" in msg


def test_text_named_dng_is_not_a_raw_file(tmp_path):
    bad = tmp_path / "notes.dng"
    bad.write_text("these are my notes, not a photo\n" * 20)
    with pytest.raises(FileFormatError) as exc:
        read_raw(bad)
    msg = _one_line(exc)
    assert "not a camera RAW file LibRaw can read" in msg and "expected DNG, CR2" in msg


def test_missing_empty_and_folder_paths(tmp_path):
    for path, words in ((tmp_path / "missing.nef", "not found"), (tmp_path / "empty.cr2", "empty"),
                        (tmp_path / "folder.dng", "folder")):
        if path.stem == "empty":
            path.write_bytes(b"")
        elif path.stem == "folder":
            path.mkdir()
        with pytest.raises(FileFormatError) as exc:
            read_raw(path)
        assert words in _one_line(exc)


def test_other_extension_is_unsupported(tmp_path):
    with pytest.raises(UnsupportedFormatError, match=r"\.dng \.cr2"):
        read_raw(tmp_path / "photo.jpg")


def test_monochrome_sensor_is_a_colour_mode_error(tmp_path):
    with pytest.raises(ColorModeError) as exc:
        read_raw(_write_dng(tmp_path / "mono.dng", cfa=(1, 1, 1, 1)))
    assert "monochrome" in _one_line(exc)


def test_huge_header_is_refused_before_decoding(tmp_path, dng):
    """A 20000 × 20000 header over 64 × 96 pixels of data: refused from the header (decoding would fail with
    a truncation error instead)."""
    with tifffile.TiffFile(dng) as tf:
        where = {code: tf.pages[0].tags[code].valueoffset for code in (256, 257, 278)}  # width, length, rows
    data = bytearray(dng.read_bytes())
    for code in (256, 257, 278):
        struct.pack_into("<I", data, where[code], 20000)
    fake = tmp_path / "huge.dng"
    fake.write_bytes(bytes(data))
    with pytest.raises(SizeLimitError) as exc:
        read_raw(fake)
    assert "20000×20000" in _one_line(exc)


def test_memory_budget_is_checked_before_decoding(dng, monkeypatch):
    monkeypatch.setenv("HSI_STUDIO_MAX_MEMORY", "64K")
    with pytest.raises(SizeLimitError) as exc:
        read_raw(dng)
    assert "memory" in _one_line(exc)


# ---------------------------------------------------------------------------------------------------------
# Module contract
# ---------------------------------------------------------------------------------------------------------
def test_extensions_and_lazy_rawpy_import():
    assert RAW_EXTENSIONS == (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw")
    code = "import sys, hsi_studio.core.io.raw; print('rawpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_a_raw_photo_goes_through_io_info_and_reconstruct(dng, tmp_path, capsys):
    """The RAW reader is wired into the photo path: io.read_rgb, ``info`` and ``reconstruct`` (which records
    how the photo was read in the cube's metadata)."""
    import json

    from hsi_studio.cli import main
    from hsi_studio.core.io import api as io

    img = io.read_rgb(dng)
    assert img.encoding == "linear" and "LibRaw" in img.colour_space
    assert main(["info", str(dng), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "LibRaw" in info["colour_space"] and info["encoding"] == "linear"
    code = main(["reconstruct", str(dng), "-o", str(tmp_path / "out"), "--model", "physics:mallett2019"])
    capsys.readouterr()
    assert code == 0
    cube = io.read_cube(tmp_path / "out" / f"{dng.stem}.h5")
    assert "LibRaw" in cube.metadata["colour_space"] and cube.shape[:2] == img.shape[:2]
