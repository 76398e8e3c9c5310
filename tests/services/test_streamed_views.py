"""Large cubes in the GUI's services: 'Show as reflectance' reads a view that divides what it reads (no second
cube), and the Reconstruct dock's job streams a large photo into a mapped temporary file."""

import tracemalloc

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.ml import evaluation
from hsi_studio.core.spectral import relight
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.services import estimate, reconstruction
from hsi_studio.services.reflectance_view import QuotientArray, ReflectanceView, reflectance_view


def _radiance(h=120, w=90):
    rng = np.random.default_rng(0)
    refl = rng.uniform(0.05, 0.9, (h, w, 31)).astype(np.float32)
    d = evaluation.photo_divisor().astype(np.float32)
    return HSCube(refl * d, STANDARD_WAVELENGTHS, {"response": "cie1964-srgb"}, kind="radiance")


def test_the_reflectance_view_reads_what_to_reflectance_computes():
    cube = _radiance()
    std = cube.with_data(cube.data * np.float32(0.1))
    ref, ref_std = relight.to_reflectance(cube, std)
    view, view_std = reflectance_view(cube, std)
    assert isinstance(view, ReflectanceView) and isinstance(view.data, QuotientArray) and view.data.base is cube.data
    assert view.kind == ref.kind == "reflectance" and view.metadata == ref.metadata
    assert view_std.metadata == ref_std.metadata and view.shape == ref.shape and view.bands == 31
    mask = np.zeros(cube.shape[:2], bool)
    mask[10:30, 5:40] = True
    for key in ((7, 9, slice(None)), (7, 9), mask, (slice(None), slice(None), 4), (slice(3, 50), slice(2, 8))):
        np.testing.assert_array_equal(view.data[key], ref.data[key])  # bit for bit
    np.testing.assert_array_equal(view.spectrum(7, 9), ref.spectrum(7, 9))
    np.testing.assert_array_equal(view.band(550), ref.band(550))
    np.testing.assert_array_equal(np.asarray(view.data), ref.data)
    np.testing.assert_array_equal(view_std.data[5, 5], ref_std.data[5, 5])
    np.testing.assert_allclose(view.data.mean(axis=2), ref.data.mean(axis=2), rtol=1e-6)
    assert view.data.max() == ref.data.max() and view.data.min() == ref.data.min()
    np.testing.assert_array_equal(view.data - ref.data, 0)  # numpy arithmetic works on it
    np.testing.assert_array_equal(view.data.reshape(-1, 31), ref.data.reshape(-1, 31))
    assert view.crop(2, 3, 4, 5).shape == (4, 5, 31)
    np.testing.assert_allclose(relight.render_view(view), relight.render_view(ref), atol=1)


def test_the_view_holds_no_second_cube():
    cube = _radiance(600, 400)  # 28 MiB of float32
    tracemalloc.start()
    view, _ = reflectance_view(cube)
    view.data[200, 150]
    view.data[:, :, 10]
    view.data.mean(axis=2)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < cube.data.nbytes / 4, peak  # a band, a mean image: never a cube


def test_a_cube_with_no_light_has_no_view():
    cube = HSCube(np.ones((2, 2, 31), np.float32), STANDARD_WAVELENGTHS, {}, kind="radiance")
    with pytest.raises(InputError, match="no capture illuminant"):
        reflectance_view(cube)
    refl = cube.with_data(cube.data)
    refl.kind = "reflectance"
    assert reflectance_view(refl)[0] is refl


def test_the_dock_job_streams_a_large_photo_into_a_mapped_file(monkeypatch, tmp_path):
    monkeypatch.setattr(estimate, "LARGE_PHOTO_PIXELS", 5000)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rgb = RGBImage(np.random.default_rng(1).uniform(0, 1, (80, 700, 3)).astype(np.float32))
    big = reconstruction.reconstruct(rgb, "physics:mallett2019")
    data = big.cube.data
    assert isinstance(data, np.memmap) or isinstance(data.base, np.memmap)
    assert big.render is not None and big.render.shape == (80, 700, 3)
    monkeypatch.setenv(estimate.STREAM_ENV, "0")
    small = reconstruction.reconstruct(rgb, "physics:mallett2019")
    assert not isinstance(small.cube.data.base, np.memmap)
    np.testing.assert_array_equal(big.cube.data, small.cube.data)
    assert big.cube.metadata == small.cube.metadata and big.cube.kind == small.cube.kind
    np.testing.assert_array_equal(big.render, small.render)
    assert list(tmp_path.glob("hsi-studio-*")) == []
