"""Training data: the scene generator, photo crops, training pairs — deterministic per position (resume)."""

import numpy as np
import pytest

from hsi_studio.core.data import (
    IlluminantLibrary,
    PhotoSource,
    ReflectanceLibrary,
    SceneGenerator,
    TrainingSource,
    shared_data_dir,
    validation_pairs,
)
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral import STANDARD_WAVELENGTHS, camera_response, project


def _photo():
    """A 96×96 photo-like image: four flat colour quadrants with a gradient."""
    img = np.zeros((96, 96, 3), np.uint8)
    img[:48, :48] = (200, 40, 40)
    img[:48, 48:] = (40, 160, 60)
    img[48:, :48] = (50, 70, 190)
    img[48:, 48:] = (220, 210, 60)
    return img


@pytest.fixture(scope="module")
def generator():
    refl = ReflectanceLibrary.load(shared=None) if shared_data_dir() is None else ReflectanceLibrary.load()
    return SceneGenerator(refl, IlluminantLibrary.load(), [_photo()], seed=3)


def test_scene_generator_is_deterministic_and_realistic(generator):
    a, b, c = generator.generate(5, 48), generator.generate(5, 48), generator.generate(6, 48)
    assert a.shape == (48, 48, 31) and np.allclose(a.wavelengths, STANDARD_WAVELENGTHS)
    assert np.array_equal(a.data, b.data) and not np.array_equal(a.data, c.data)
    assert np.isfinite(a.data).all() and a.data.min() >= 0 and a.data.max() > 0.1


def test_region_spectra_come_from_the_library(generator):
    lib = generator.reflectances
    cube = generator.generate(1, 48)
    # Each pixel is a (shaded, lit, slightly mixed) library spectrum: after removing the light and the
    # scale its shape is close to some library spectrum.
    px = cube.data.reshape(-1, 31)[::97].astype(np.float64)
    best = []
    for x in px:
        shapes = lib.spectra / np.linalg.norm(lib.spectra, axis=1, keepdims=True)
        light_free = x / np.linalg.norm(x)
        best.append(np.max(shapes @ light_free))
    assert np.median(best) > 0.8


def test_reflectance_library_nearest_colour():
    lib = ReflectanceLibrary.load(shared=None)  # colour-science's built-in sets
    assert len(lib.spectra) > 50 and lib.sources
    idx = lib.nearest(lib.rgb[:10], k=1)[:, 0]
    assert np.array_equal(lib.chroma[idx], lib.chroma[:10]) or (idx == np.arange(10)).mean() > 0.8


def test_batches_are_pure_functions_of_position(generator):
    src = TrainingSource([], generator, seed=1)
    first = src.batch(7, 0, 0, 2, 32)
    for s in range(3):  # drawing other steps first changes nothing
        src.batch(s, 0, 0, 2, 32)
    again = src.batch(7, 0, 0, 2, 32)
    assert np.array_equal(first["cube"], again["cube"]) and np.array_equal(first["rgb"], again["rgb"])
    other_rank = src.batch(7, 0, 1, 2, 32)
    assert not np.array_equal(first["cube"], other_rank["cube"])


def test_pairs_are_consistent_with_the_camera_response():
    rng = np.random.default_rng(0)
    cube = rng.uniform(0.05, 0.6, (40, 40, 31)).astype(np.float32)  # in gamut: no clipping
    from hsi_studio.core.cube import HSCube

    src = TrainingSource([HSCube(cube, STANDARD_WAVELENGTHS)], None, response=camera_response("nikon-d5100"))
    b = src.batch(0, 0, 0, 3, 16)
    np.testing.assert_allclose(project(b["cube"], src.response), b["rgb"], atol=1e-5)
    assert b["rgb"].max() <= 1.0
    px = src.pixels(0, 0, 0, 100)
    assert px["cube"].shape == (100, 31) and px["rgb"].shape == (100, 3)
    val = validation_pairs([HSCube(cube, STANDARD_WAVELENGTHS)], src.response, crop=16)
    assert val[0]["cube"].shape == (16, 16, 31)


def test_photo_source_crops():
    src = PhotoSource([_photo()], seed=0)
    b = src.batch(0, 0, 0, 4, 32)
    assert b.shape == (4, 32, 32, 3) and 0 <= b.min() and b.max() <= 1
    assert np.array_equal(b, src.batch(0, 0, 0, 4, 32))
    with pytest.raises(InputError):
        PhotoSource([])
    with pytest.raises(InputError, match="no training data"):
        TrainingSource([], None)
