"""The format registry (core/io/registry.py): every format declared once, and everything derived from it."""

import re
from pathlib import Path

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import UnsupportedFormatError
from hsi_studio.core.io import api as io
from hsi_studio.core.io import registry
from hsi_studio.core.io.registry import CubeFormat
from hsi_studio.services import files

WL = np.arange(400.0, 701.0, 10.0)
CUBES = registry.formats("cube")
WRITABLE_CUBES = registry.formats("cube", writable=True)
IMAGES = registry.formats("image", writable=True)


@pytest.fixture
def cube():
    data = np.random.default_rng(3).uniform(0.0, 1.0, (6, 5, WL.size)).astype(np.float32)
    return HSCube(data, WL.copy(), {"note": "registry"}, kind="reflectance")


def _target(tmp_path: Path, fmt: CubeFormat, ext: str | None = None) -> Path:
    return tmp_path / "bands" if fmt.folder else tmp_path / f"scene{ext or fmt.extensions[0]}"


def test_the_registry_holds_every_format_once_in_order():
    names = list(registry.FORMATS)
    assert names[:7] == ["h5", "envi", "mat", "npz", "npy", "tiff", "png-bands"]
    assert {"png-image", "jpeg-image", "tiff-image", "bmp-image", "raw"} <= set(names)
    assert len(set(names)) == len(names)
    for fmt in registry.FORMATS.values():
        assert fmt.kind in registry.KINDS and fmt.label and fmt.readable
        assert fmt.folder or fmt.extensions
        assert all(e.startswith(".") and e == e.lower() for e in fmt.extensions)
        assert all(isinstance(m, bytes) and m for m in fmt.magic)


@pytest.mark.parametrize("kind", registry.KINDS)
def test_extensions_are_unique_within_a_kind(kind):
    exts = [e for f in registry.formats(kind) for e in f.extensions]
    assert len(exts) == len(set(exts)), exts


@pytest.mark.parametrize("fmt", WRITABLE_CUBES, ids=lambda f: f.name)
def test_every_cube_format_round_trips_a_small_cube(tmp_path, cube, fmt):
    for ext in fmt.extensions or (None,):
        written = io.write_cube(cube, _target(tmp_path, fmt, ext))
        assert registry.format_for(written) is fmt
        back = io.read_cube(written)
        np.testing.assert_allclose(back.data, cube.data, atol=2e-5, err_msg=fmt.name)
        np.testing.assert_allclose(back.wavelengths, WL)
        if fmt.name != "npy":  # .npy stores the array alone
            assert back.kind == "reflectance"
        if fmt.name not in ("npy", "envi"):  # ENVI headers keep no user metadata
            assert back.metadata["note"] == "registry"


@pytest.mark.parametrize("fmt", WRITABLE_CUBES, ids=lambda f: f.name)
def test_a_written_cube_starts_with_its_declared_magic(tmp_path, cube, fmt):
    written = Path(io.write_cube(cube, _target(tmp_path, fmt)))
    first = sorted(written.glob("*.png"))[0] if fmt.folder else written
    head = first.read_bytes()[:16]
    assert any(head.startswith(m) for m in fmt.magic), (fmt.name, head)


@pytest.mark.parametrize("fmt", IMAGES, ids=lambda f: f.name)
def test_every_image_format_round_trips_a_small_photo(tmp_path, fmt):
    rgb = RGBImage(np.random.default_rng(4).uniform(0.0, 1.0, (8, 9, 3)).astype(np.float32))
    path = io.write_rgb(rgb, tmp_path / f"photo{fmt.extensions[0]}")
    assert registry.format_for(path, "image") is fmt
    assert any(path.read_bytes().startswith(m) for m in fmt.magic)
    back = io.read_any(path)
    assert isinstance(back, RGBImage) and back.data.shape == rgb.data.shape
    if fmt.label != "JPEG":  # lossy
        np.testing.assert_allclose(back.data, rgb.data, atol=1 / 255 + 1e-6)


def test_the_extension_lists_are_derived_from_the_registry():
    assert io.CUBE_READ_EXTENSIONS == tuple(e for f in CUBES for e in f.extensions)
    assert io.CUBE_WRITE_EXTENSIONS == (".h5", ".hdr", ".mat", ".npz", ".npy", ".tif")
    assert io.PHOTO_EXTENSIONS == io.RGB_EXTENSIONS + io.RAW_EXTENSIONS
    assert registry.writable_formats() == {"h5": ".h5", "envi": ".hdr", "mat": ".mat", "npz": ".npz",
                                           "npy": ".npy", "tiff": ".tif", "png-bands": "/"}


def test_the_filters_list_every_format():
    open_filter, cube_filter = files.open_filter(), files.cube_filter()
    for fmt in registry.FORMATS.values():
        for ext in fmt.extensions:
            assert f"*{ext}" in open_filter, ext
            if fmt.kind == "cube":
                assert f"*{ext}" in cube_filter, ext
    filters = files.cube_write_filters()
    assert filters == [f.filter for f in WRITABLE_CUBES]
    assert filters[0] == "HDF5 cube (*.h5)" and filters[-1] == files.FOLDER_FILTER
    assert files.FOLDER_FILTER == "Folder of 16-bit PNG bands (*)"
    assert registry.write_filter() == ";;".join(filters)


def test_the_expected_messages_list_every_format(tmp_path, cube):
    with pytest.raises(UnsupportedFormatError) as read_err:
        io.read_cube(tmp_path / "scene.xyz")
    with pytest.raises(UnsupportedFormatError) as write_err:
        io.write_cube(cube, tmp_path / "scene.xyz")
    with pytest.raises(UnsupportedFormatError) as any_err:
        io.read_any(tmp_path / "scene.xyz")
    for fmt in CUBES:
        for ext in fmt.extensions:
            assert re.search(rf"\{ext}\b", str(read_err.value)), ext
            assert re.search(rf"\{ext}\b", str(write_err.value)), ext
            assert re.search(rf"\{ext}\b", str(any_err.value)), ext
    for ext in io.PHOTO_EXTENSIONS:
        assert re.search(rf"\{ext}\b", str(any_err.value)), ext
    assert "folder of PNG bands" in str(read_err.value) and "'.xyz'" in str(write_err.value)
    assert str(write_err.value).count(".h5") == 1


def test_an_unknown_extension_names_the_registered_ones(tmp_path, cube):
    with pytest.raises(UnsupportedFormatError) as err:
        io.read_cube(tmp_path / "scene.cube")
    assert f"expected one of {registry.extensions_text('cube')} or a folder of PNG bands" in str(err.value)
    with pytest.raises(UnsupportedFormatError) as err:
        io.read_rgb(tmp_path / "scene.h5")
    assert "(a cube format)" in str(err.value) and " ".join(io.RGB_EXTENSIONS) in str(err.value)


def test_format_for_and_labels(tmp_path):
    assert registry.format_for("a.H5").name == "h5" and registry.format_for("a.img").name == "envi"
    assert registry.format_for("a.tif", "image").name == "tiff-image"
    assert registry.format_for("a.xyz") is None and registry.format_for("a.png") is None
    assert registry.format_for(tmp_path).name == "png-bands"
    assert registry.format_for(tmp_path / "new", writing=True).name == "png-bands"
    assert registry.format_for(f"{tmp_path}/new.d/", writing=True).name == "png-bands"
    assert files.format_label("x.npz") == "NumPy .npz" and files.format_label("x.xyz", "xyz") == "xyz"


def test_register_refuses_a_taken_name_or_extension():
    def read(path, key, wavelengths):
        raise AssertionError

    with pytest.raises(ValueError, match="already registered"):
        registry.register(CubeFormat("h5", "Other", (".oth",), read=read))
    with pytest.raises(ValueError, match=r"\.h5 is already 'h5'"):
        registry.register(CubeFormat("other", "Other", (".h5",), read=read))
    with pytest.raises(ValueError, match="lower-case"):
        registry.register(CubeFormat("other", "Other", (".OTH",), read=read))
    with pytest.raises(ValueError, match="kind"):
        registry.register(CubeFormat("other", "Other", (".oth",), kind="video", read=read))
    assert "other" not in registry.FORMATS


def test_a_registered_format_is_dispatched_to(tmp_path, cube, monkeypatch):
    """Adding a format is one declaration and one registration: read_cube, write_cube and the lists follow."""
    def write(c, path):
        np.save(path.with_suffix(".npy"), c.data)
        path.write_bytes(b"TOY!")
        return path

    def read(path, key, wavelengths):
        return HSCube(np.load(path.with_suffix(".npy")), WL.copy())

    monkeypatch.setattr(registry, "FORMATS", dict(registry.FORMATS))
    registry.register(CubeFormat("toy", "Toy", (".toy",), (b"TOY!",), read=read, write=write))
    written = io.write_cube(cube, tmp_path / "a.toy")
    np.testing.assert_array_equal(io.read_cube(written).data, cube.data)
    assert "*.toy" in files.cube_filter() and "Toy cube (*.toy)" in files.cube_write_filters()
    assert files.format_label(written) == "Toy"
