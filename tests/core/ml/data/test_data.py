"""Training data: libraries, the scene generator, cube folders, deterministic training pairs (exact resume).

Nothing here needs ../shared/data except the one test marked ``shared_data`` (skipped when it is absent).
"""

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io as sio
from PIL import Image

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import Cancelled, CancelToken
from hsi_studio.core.ml.data import (
    CubeFolder,
    PhotoSource,
    TrainingSource,
    augment,
    cube_paths,
    list_cube_files,
    split_validation,
    validation_pairs,
)
from hsi_studio.core.ml.data.scenes import IlluminantLibrary, ReflectanceLibrary, SceneGenerator, SceneOptions
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL
from hsi_studio.core.spectral.responses import camera_response, project

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"


def _photo():
    """A 96×96 photo-like image: four flat colour quadrants with a luminance gradient."""
    img = np.zeros((96, 96, 3), np.float32)
    img[:48, :48] = (200, 40, 40)
    img[:48, 48:] = (40, 160, 60)
    img[48:, :48] = (50, 70, 190)
    img[48:, 48:] = (220, 210, 60)
    img *= np.linspace(0.6, 1.0, 96)[None, :, None]
    return img.astype(np.uint8)


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    empty = tmp_path_factory.mktemp("no_shared")  # no reflectances/ or illuminants/: the built-in fallbacks
    return ReflectanceLibrary.load(empty), IlluminantLibrary.load(empty)


@pytest.fixture(scope="module")
def generator(libs):
    return SceneGenerator(*libs, photos=[_photo()], seed=3)


# ---------------------------------------------------------------------------------------------------------
# Libraries
# ---------------------------------------------------------------------------------------------------------
def test_builtin_libraries_and_provenance(libs):
    refl, ill = libs
    assert len(refl) > 200 and refl.spectra.shape[1] == 31 and (refl.spectra >= 0).all()
    assert all(s["name"].startswith("colour") for s in refl.sources)
    assert sum(s["kept"] for s in refl.sources) == len(refl)  # de-duplicated, every spectrum accounted for
    assert {"daylight", "blackbody", "catalogue"} <= set(ill.groups) and "measured" not in ill.groups
    np.testing.assert_allclose(ill.spectra.max(axis=1), 1.0)
    assert ill.spectra.shape == (len(ill.names), 31) and (ill.spectra >= 0).all()
    rng = np.random.default_rng(0)
    assert {ill.groups[ill.sample(rng)] for _ in range(300)} == {"daylight", "blackbody", "catalogue"}


def test_generator_records_which_shared_data_folder_chose_its_libraries(tmp_path, monkeypatch):
    from hsi_studio.core.ml.data.scenes import shared_data_origin

    (tmp_path / "reflectances").mkdir()
    sio.savemat(tmp_path / "reflectances" / "set.mat", {"wavelength": WL[None], "data": np.full((31, 3), 0.5)})
    monkeypatch.setenv("HSI_STUDIO_SHARED_DATA", str(tmp_path))
    assert shared_data_origin() == (tmp_path, "$HSI_STUDIO_SHARED_DATA")
    gen = SceneGenerator.default(seed=0, lighting="flat")
    prov = gen.provenance()
    assert prov["shared_data"]["chosen_by"] == "$HSI_STUDIO_SHARED_DATA"
    assert Path(prov["shared_data"]["folder"]).resolve() == tmp_path.resolve()
    assert [s["name"] for s in prov["reflectances"]["sources"]] == ["ISET set.mat"]
    monkeypatch.setenv("HSI_STUDIO_SHARED_DATA", str(tmp_path / "missing"))
    assert shared_data_origin()[1] != "$HSI_STUDIO_SHARED_DATA"  # a missing folder is not silently "chosen"


def test_nearest_colour_lookup(libs):
    refl, _ = libs
    idx = refl.nearest(refl.rgb[:20], k=1)[:, 0]
    np.testing.assert_allclose(refl.lab[idx], refl.lab[:20], atol=1e-6)  # itself (or an exact metamer)
    assert refl.nearest(refl.rgb[:3], k=4).shape == (3, 4)
    white = refl.spectra[refl.nearest([[1.0, 1.0, 1.0]], k=1)[0, 0]]
    assert white.mean() > 0.7 and np.ptp(white[5:]) < 0.2  # bright and flat above 450 nm (a white paint)


def test_measured_libraries_from_files(tmp_path):
    wl5 = np.arange(400, 701, 5)  # 61 samples: resampled onto the 31-band grid
    (tmp_path / "reflectances").mkdir()
    (tmp_path / "illuminants").mkdir()
    spectra = np.stack([np.linspace(0.1, 0.9, wl5.size), np.full(wl5.size, 0.5), np.full(wl5.size, 0.5)])
    sio.savemat(tmp_path / "reflectances" / "set.mat", {"wavelength": wl5[None], "data": spectra.T})
    sio.savemat(tmp_path / "illuminants" / "lamp.mat", {"wavelength": WL[None], "data": np.linspace(1, 3, 31)[:, None]})
    refl, ill = ReflectanceLibrary.load(tmp_path), IlluminantLibrary.load(tmp_path, catalogue=False)
    assert len(refl) == 2
    [src] = refl.sources  # provenance: which file, by content
    assert {k: src[k] for k in ("name", "spectra", "kept")} == {"name": "ISET set.mat", "spectra": 3, "kept": 2}
    assert src["sha256"] == hashlib.sha256((tmp_path / "reflectances" / "set.mat").read_bytes()).hexdigest()
    assert src["file"] == "set.mat"  # outside the working folder: the name alone (the sha256 identifies it)
    np.testing.assert_allclose(refl.spectra[0], np.linspace(0.1, 0.9, 31), atol=1e-9)
    assert ill.groups.count("measured") == 1 and ill.names[0] == "lamp"
    assert ill.sources[0]["sha256"] == hashlib.sha256((tmp_path / "illuminants" / "lamp.mat").read_bytes()).hexdigest()
    np.testing.assert_allclose(ill.spectra[0], np.linspace(1, 3, 31) / 3)


# ---------------------------------------------------------------------------------------------------------
# Scene generator
# ---------------------------------------------------------------------------------------------------------
def test_scene_generator_is_deterministic_and_physical(generator, libs):
    a, b, c = generator.generate(5, 48), generator.generate(5, 48), generator.generate(6, 48)
    assert a.shape == (48, 48, 31) and np.allclose(a.wavelengths, WL) and a.kind == "radiance"
    assert np.array_equal(a.data, b.data) and not np.array_equal(a.data, c.data)
    other_seed = SceneGenerator(*libs, photos=[_photo()], seed=4).generate(5, 48)
    assert not np.array_equal(a.data, other_seed.data)
    assert not np.array_equal(a.data, generator.generate(5, 48, stream=1).data)
    for cube in (a, c, generator.generate(7, (40, 64))):
        d = cube.data
        assert np.isfinite(d).all() and d.min() >= 0 and 0.5 < d.max() <= 1.0 + 1e-6
    assert generator.generate(7, (40, 64)).shape == (40, 64, 31)
    with pytest.raises(InputError):
        generator.generate(-1, 32)


def test_single_colour_region_gets_the_nearest_library_spectrum(libs):
    refl, ill = libs
    photo = np.full((64, 64, 3), (180, 90, 40), np.uint8)
    opts = SceneOptions(k_nearest=1, mix_max=0.0, tilt=0.0, noise=0.0, second_light=0.0)
    scene = SceneGenerator(refl, ill, photos=[photo], seed=0, options=opts).scene(0, 32)
    lin = ((np.array([180, 90, 40]) / 255 + 0.055) / 1.055) ** 2.4
    best = refl.nearest(lin[None], k=1)[0, 0]
    assert set(scene.spectra.ravel().tolist()) == {best}
    light_free = scene.cube.data.reshape(-1, 31) / scene.illuminant
    unit = light_free / np.linalg.norm(light_free, axis=1, keepdims=True)
    expected = refl.spectra[best] / np.linalg.norm(refl.spectra[best])
    np.testing.assert_allclose(unit, np.broadcast_to(expected, unit.shape), atol=1e-4)  # equal up to scale


def test_flat_lighting_gives_reflectance_as_radiance(tmp_path):
    """``lighting="flat"`` (CAVE-style reflectance cubes, white-balanced photos): one equal-energy light, so
    each pixel is its region's reflectance mixture up to shading — and an unknown lighting is refused."""
    gen = SceneGenerator.default(seed=2, photos=[_photo()], shared=tmp_path, lighting="flat",
                                 tilt=0.0, noise=0.0, detail=0.0)
    assert gen.illuminants.names == ["E (equal energy)"] and gen.options.second_light == 0.0
    s = gen.scene(1, 40)
    np.testing.assert_allclose(s.illuminant, 1.0)
    lib = gen.reflectances
    region = (1 - s.mix[:, None]) * lib.spectra[s.spectra[:, 0]] + s.mix[:, None] * lib.spectra[s.spectra[:, 1]]
    px, ref = s.cube.data.reshape(-1, 31), region[s.labels.ravel()]
    cos = (px * ref).sum(1) / np.linalg.norm(px, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.999
    varied = SceneGenerator.default(seed=2, photos=[_photo()], shared=tmp_path)
    assert len(varied.illuminants) > 10 and varied.options.second_light > 0
    with pytest.raises(InputError, match="lighting"):
        SceneGenerator.default(photos=[_photo()], shared=tmp_path, lighting="sunset")


def test_regions_are_library_mixtures_with_natural_variation(generator):
    lib = generator.reflectances
    s = SceneGenerator(lib, generator.illuminants, photos=[_photo()], seed=1,
                       options=SceneOptions(detail=0.0, second_light=0.0)).scene(2, 48)
    region = (1 - s.mix[:, None]) * lib.spectra[s.spectra[:, 0]] + s.mix[:, None] * lib.spectra[s.spectra[:, 1]]
    px = s.cube.data.reshape(-1, 31) / s.illuminant
    ref = region[s.labels.ravel()]
    cos = (px * ref).sum(1) / np.linalg.norm(px, axis=1) / np.linalg.norm(ref, axis=1)
    assert np.median(cos) > 0.995 and cos.min() > 0.97  # shaded, tilted, noisy — but that spectrum
    assert not np.allclose(cos, 1.0)  # … with natural variation


def test_generator_speed(generator):
    import time

    generator.generate(0, 128)
    t0 = time.perf_counter()
    generator.generate(1, 128)
    assert time.perf_counter() - t0 < 1.0  # ~0.035 s here; a loose bound against regressions, not flakiness


# ---------------------------------------------------------------------------------------------------------
# Training pairs
# ---------------------------------------------------------------------------------------------------------
def _real_cubes(n=3, size=24, seed=0):
    rng = np.random.default_rng(seed)
    return [HSCube(rng.uniform(0.05, 0.6, (size, size + 4, 31)), WL, {"i": i}) for i in range(n)]


def test_batch_is_a_pure_function_of_the_step(generator):
    src = TrainingSource(_real_cubes(), generator, 0.5, seed=1)
    first = src.batch(7, 3, 16)
    for s in range(3):  # drawing other steps first changes nothing
        src.batch(s, 3, 16)
        src.pixels(s, 50)
    again = src.batch(7, 3, 16)
    restarted = TrainingSource(_real_cubes(), generator, 0.5, seed=1).batch(7, 3, 16)  # a resumed process
    for b in (again, restarted):
        assert np.array_equal(first["cube"], b["cube"]) and np.array_equal(first["rgb"], b["rgb"])
    assert not np.array_equal(first["cube"], src.batch(8, 3, 16)["cube"])
    assert not np.array_equal(first["cube"], src.batch(7, 3, 16, rank=1)["cube"])
    assert not np.array_equal(first["cube"], src.batch(7, 3, 16, micro=1)["cube"])
    assert np.array_equal(first["cube"][:2], src.batch(7, 2, 16)["cube"])  # independent of the batch size
    px, px2 = src.pixels(4, 100), src.pixels(4, 100)
    assert px["cube"].shape == (100, 31) and px["rgb"].shape == (100, 3)
    assert np.array_equal(px["cube"], px2["cube"])
    np.testing.assert_allclose(project(px["cube"]), px["rgb"], atol=1e-5)


@pytest.mark.parametrize("exposure", ["max", "percentile"])
def test_rgb_is_the_projection_of_the_cube(generator, exposure):
    src = TrainingSource(_real_cubes(), generator, 0.5, camera_response("nikon-d5100"), seed=2,
                         sim={"exposure": exposure, "percentile": 90})
    b = src.batch(0, 6, 16)
    assert b["cube"].dtype == np.float32 and b["rgb"].shape == (6, 16, 16, 3)
    np.testing.assert_allclose(project(b["cube"], src.response), b["rgb"], atol=1e-5)
    assert b["rgb"].max() <= 1 + 1e-5 and b["cube"].min() >= 0
    assert 0.4 < b["rgb"].reshape(6, -1).max(axis=1).min()  # exposure-normalised (gain ∈ [0.5, 1])


def test_noise_options_change_only_the_rgb(generator):
    sim = {"shot_noise_photons": [100, 1000], "quantize_bits": 8, "jpeg_quality": [60, 90]}
    clean = TrainingSource(_real_cubes(), None, seed=5).batch(3, 2, 16)
    noisy = TrainingSource(_real_cubes(), None, seed=5, sim=sim).batch(3, 2, 16)
    assert np.array_equal(clean["cube"], noisy["cube"]) and not np.array_equal(clean["rgb"], noisy["rgb"])
    assert 0 <= noisy["rgb"].min() and noisy["rgb"].max() <= 1
    assert abs(float(noisy["rgb"].mean() - clean["rgb"].mean())) < 0.02  # noise, not a bias
    with pytest.raises(InputError, match="unknown RGB simulation option"):
        TrainingSource(_real_cubes(), None, sim={"shotnoise": 10})


def test_flips_and_rotations_keep_the_pair_aligned():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 1.0, (12, 12, 31)).astype(np.float32)
    src = TrainingSource([HSCube(base, WL)], None, seed=9)
    b = src.batch(0, 8, 6)
    found = 0
    for x, y in zip(b["cube"], b["rgb"], strict=True):
        for top in range(7):
            for left in range(7):
                win = base[top : top + 6, left : left + 6]
                for k in range(8):  # the 8 symmetries of the square
                    cand = np.rot90(win[:, ::-1] if k >= 4 else win, k % 4)
                    ratio = x / cand
                    if np.allclose(ratio, ratio.flat[0], rtol=1e-4):
                        found += 1
                        np.testing.assert_allclose(y, project(cand) * ratio.flat[0], rtol=1e-4, atol=1e-6)
    assert found == 8  # every crop is a transformed window of the cube, its RGB transformed alike
    same = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_allclose(project(augment(base, same[0])), augment(project(base), same[1]), atol=1e-6)


def test_one_validation_split_rule():
    names = [f"c{i}.h5" for i in range(5)]
    assert split_validation(names, 0.4) == (names[:3], names[3:])  # the last 40 %, in the order given
    assert split_validation(names, 0.01) == (names[:4], names[4:])  # at least one with two or more
    assert split_validation(names, 0) == (names, [])
    assert split_validation(names[:2], 0.9) == (names[:1], names[1:2])  # never all of them
    assert split_validation(names[:1], 0.5) == (names[:1], [])
    with pytest.raises(InputError, match="expected a number in"):
        split_validation(names, 1.0)


def test_fixed_validation_pairs(generator):
    cubes = _real_cubes(2)
    pairs = validation_pairs(cubes, camera_response(), crop=16)
    assert [p["cube"].shape for p in pairs] == [(16, 16, 31)] * 2
    np.testing.assert_allclose(project(pairs[0]["cube"]), pairs[0]["rgb"], atol=1e-5)
    assert abs(float(pairs[0]["rgb"].max()) - 1.0) < 1e-5  # max-exposed, no random gain
    assert validation_pairs(cubes, camera_response())[0]["cube"].shape == (24, 28, 31)
    lit = validation_pairs(cubes[:1], camera_response(), crop=16, light="D65")[0]
    assert abs(float(lit["rgb"].max()) - 1.0) < 1e-5 and not np.allclose(lit["cube"], pairs[0]["cube"])


# ---------------------------------------------------------------------------------------------------------
# Cube folders
# ---------------------------------------------------------------------------------------------------------
def _h5(path, data, wl):
    with h5py.File(path, "w") as f:
        f.create_dataset("cube", data=data).attrs["wavelengths"] = wl


def _cube_folder(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a_good.npy", rng.uniform(0, 1, (10, 12, 31)).astype(np.float32))  # 400–700 assumed
    wl61 = np.arange(400.0, 701.0, 5.0)
    _h5(tmp_path / "b_61band.h5", np.broadcast_to(wl61 / 1000, (8, 8, 61)).astype(np.float32), wl61)
    _h5(tmp_path / "c_420_720.h5", rng.uniform(0, 1, (8, 8, 31)).astype(np.float32), np.arange(420.0, 721.0, 10.0))
    _h5(tmp_path / "d_coarse.h5", rng.uniform(0, 1, (8, 8, 4)).astype(np.float32), [400.0, 500.0, 600.0, 700.0])
    (tmp_path / "e_corrupt.mat").write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(50))
    (tmp_path / "notes.txt").write_text("not a cube")
    wl = ", ".join(f"{w:g}" for w in WL)  # ENVI: listed once, by its .hdr
    (tmp_path / "g_envi.hdr").write_text("ENVI\nsamples = 5\nlines = 4\nbands = 31\nheader offset = 0\n"
                                         "file type = ENVI Standard\ndata type = 4\ninterleave = bsq\n"
                                         f"byte order = 0\nwavelength units = nm\nwavelength = {{{wl}}}\n")
    rng.uniform(0, 1, (31, 4, 5)).astype("<f4").tofile(tmp_path / "g_envi.img")
    band = tmp_path / "f_bands" / "f_bands"  # CAVE ships scene_ms/scene_ms/scene_ms_01.png …
    band.mkdir(parents=True)
    for i in range(31):
        Image.fromarray(np.full((6, 7), 1000 * (i + 1), np.uint16)).save(band / f"f_bands_{i + 1:02d}.png")


def test_cube_folder_reports_refusals_and_loads_the_rest(tmp_path):
    _cube_folder(tmp_path)
    calls = []
    folder = CubeFolder(tmp_path)
    assert len(folder) == 7 and not folder._cubes  # listed, nothing read yet
    cubes = folder.load_all(progress=lambda f, m="": calls.append(f))
    assert calls[-1] == pytest.approx(1.0) and len(cubes) == 4
    rep = folder.report()
    assert rep["listed"] == 7 and rep["cubes"] == 4 and rep["resampled"] == 1
    assert [f["file"] for f in rep["files"]] == ["a_good.npy", "b_61band.h5", "f_bands/f_bands", "g_envi.hdr"]
    assert rep["bands"] == {"31": 3, "61": 1} and rep["range_nm"] == [400.0, 700.0]
    assert rep["shapes"] == {"10×12": 1, "4×5": 1, "6×7": 1, "8×8": 1}
    reasons = {r["file"]: r["reason"] for r in rep["refused"]}
    assert set(reasons) == {"c_420_720.h5", "d_coarse.h5", "e_corrupt.mat"}
    assert "420–720 nm cannot be put on 400–700 nm" in reasons["c_420_720.h5"]
    assert "100 nm apart" in reasons["d_coarse.h5"]
    assert all(c.shape[2] == 31 and np.allclose(c.wavelengths, WL) for c in cubes)
    np.testing.assert_allclose(cubes[1].data[0, 0], WL / 1000, atol=1e-6)  # 61 → 31 bands, values kept
    with pytest.raises(InputError):
        folder.get(folder.files.index(tmp_path / "e_corrupt.mat"))


def test_cube_paths_mixes_files_band_folders_and_folders(tmp_path):
    """What ``benchmarks/quality.py --data`` takes: a folder of cubes, single files and a CAVE band folder."""
    _cube_folder(tmp_path)
    band = tmp_path / "f_bands" / "f_bands"
    paths = cube_paths([tmp_path / "a_good.npy", band, tmp_path])
    assert paths[:2] == [tmp_path / "a_good.npy", band] and paths[2:] == list_cube_files(tmp_path)
    assert CubeFolder.load(paths[:2]).cubes[1].shape == (6, 7, 31)


def test_cube_folder_options_cancel_and_training_use(tmp_path, generator):
    _cube_folder(tmp_path)
    loose = CubeFolder(tmp_path, outside="nearest")
    assert "c_420_720.h5" in loose.names  # edge bands repeated on request
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        CubeFolder(tmp_path).load_all(cancel=token)
    src = TrainingSource(CubeFolder(tmp_path, cache=False), generator, 0.25, seed=0)
    assert src.names == ["a_good.npy", "b_61band.h5", "f_bands/f_bands", "g_envi.hdr"]
    b = src.batch(0, 4, 8)
    np.testing.assert_allclose(project(b["cube"]), b["rgb"], atol=1e-5)
    with pytest.raises(InputError, match="not a folder"):
        CubeFolder(tmp_path / "missing")


def test_photo_source_crops():
    src = PhotoSource([_photo()], seed=0)
    b = src.batch(0, 4, 32)
    assert b.shape == (4, 32, 32, 3) and 0 <= b.min() and b.max() <= 1
    assert np.array_equal(b, src.batch(0, 4, 32))
    with pytest.raises(InputError):
        PhotoSource([])
    with pytest.raises(InputError, match="no training data"):
        TrainingSource([], None)


def test_data_layer_loads_no_torch():
    import subprocess
    import sys

    code = ("import sys; from hsi_studio.core.ml import data; "
            "print(sorted(m for m in ('torch', 'diffusers', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_libraries_and_cave_cubes():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (real spectral data for development; see its README)")
    refl, ill = ReflectanceLibrary.load(SHARED), IlluminantLibrary.load(SHARED)
    assert len(refl) > 2000 and any("SimonFraser" in s["name"] for s in refl.sources)
    assert ill.groups.count("measured") >= 100
    folder = CubeFolder(SHARED / "cave")
    rep = folder.report()
    assert rep["cubes"] == 5 and not rep["refused"] and rep["bands"] == {"31": 5}
    files, val = split_validation(folder.files, 0.2)
    assert [f.name for f in val] == ["cloth_256.mat"]
    train = TrainingSource(CubeFolder(files), SceneGenerator(refl, ill, seed=0), 0.5, seed=0)
    assert len(train) == 4
    b = train.batch(0, 2, 64)
    np.testing.assert_allclose(project(b["cube"]), b["rgb"], atol=1e-5)
