"""The cube and RGB types validate at the boundary and say what was expected."""

import numpy as np
import pytest

from hsi_studio.core import cube as cube_mod
from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import (
    ColorModeError,
    InputError,
    NonFiniteError,
    ShapeError,
    SizeLimitError,
    WavelengthError,
)

WL = np.arange(400, 701, 10.0)


def test_cube_holds_float32_wavelengths_last():
    c = HSCube(np.ones((2, 3, 31), dtype=np.uint16), WL, {"src": "x"}, kind="reflectance")
    assert c.data.dtype == np.float32 and c.shape == (2, 3, 31) and c.bands == 31
    assert c.band_index(703) == 30 and c.spectrum(1, 2).shape == (31,)
    assert c.summary()["range_nm"] == [400.0, 700.0]


@pytest.mark.parametrize("data,wl,err,msg", [
    (np.ones((2, 3)), WL, ShapeError, "expected 3 axes"),
    (np.ones((2, 3, 2)), [400, 500], ShapeError, "bands"),
    (np.ones((0, 3, 31)), WL, ShapeError, "empty axis"),
    (np.full((2, 2, 31), np.nan), WL, NonFiniteError, "NaN/Inf"),
    (np.ones((2, 2, 31)), WL[:30], WavelengthError, "one wavelength per band"),
    (np.ones((2, 2, 31)), WL[::-1], WavelengthError, "strictly increasing"),
    (np.array([["a"]]), WL, InputError, "numeric"),
])
def test_cube_validation(data, wl, err, msg):
    with pytest.raises(err, match=msg):
        HSCube(data, wl)


def test_size_budget_checked_without_allocating():
    with pytest.raises(SizeLimitError, match="100000×100000"):
        cube_mod.check_size(100_000, 100_000, 31)


def test_rgb_validation():
    img = RGBImage(np.zeros((4, 4, 3)), "srgb")
    assert img.shape == (4, 4, 3)
    with pytest.raises(ColorModeError, match="grayscale"):
        RGBImage(np.zeros((4, 4)))
    with pytest.raises(ShapeError):
        RGBImage(np.zeros((4, 4, 4)))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        RGBImage(np.full((4, 4, 3), 255.0))


def test_same_grid():
    a = HSCube(np.ones((2, 2, 31)), WL)
    b = HSCube(np.ones((2, 2, 31)), WL + 1)
    assert a.same_grid(a) and not a.same_grid(b)
    with pytest.raises(WavelengthError):
        a.require_same_grid(b)


def test_centre_crop_one_rule_for_arrays_and_cubes():
    from hsi_studio.core.cube import centre_crop

    a = np.arange(10 * 6 * 2).reshape(10, 6, 2)
    np.testing.assert_array_equal(centre_crop(a, 4), a[3:7, 1:5])
    np.testing.assert_array_equal(centre_crop(a, (2, 6)), a[4:6])
    assert centre_crop(a, None) is a
    assert centre_crop(a, 8).shape == (8, 6, 2)  # an axis shorter than the window is kept whole …
    with pytest.raises(ShapeError, match="does not fit a 10×6 image; expected 1–6"):
        centre_crop(a, 8, strict=True)  # … unless the protocol needs the crop (NTIRE)
    for bad in (0, -3, (4, 0), "x"):
        with pytest.raises(ShapeError, match="expected a positive size"):
            centre_crop(a, bad)
    cube = HSCube(np.ones((10, 6, 31), np.float32), WL, {"name": "c"}, kind="reflectance")
    small = centre_crop(cube, 4)
    assert small.shape == (4, 4, 31) and small.kind == "reflectance" and small.metadata == {"name": "c"}
    assert small.data.flags.c_contiguous and centre_crop(cube, 10) is cube
