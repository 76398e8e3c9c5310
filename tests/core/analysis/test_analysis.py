"""Spectral analysis: SAM / SID maps, masks, libraries (.sli through SPy, CSV), k-means, PCA, index."""

from __future__ import annotations

import numpy as np
import pytest
from factories import planted_scene

from hsi_studio.core.analysis import maps as an
from hsi_studio.core.analysis.library import SpectralLibrary, builtin_library, read_library, write_library
from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError, NonFiniteError, ShapeError, WavelengthError
from hsi_studio.core.jobs import Cancelled, CancelToken

WL = np.arange(400.0, 701.0, 10.0)


def _cube(data, wl=WL) -> HSCube:
    return HSCube(np.asarray(data, np.float32), wl)


# -- similarity --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sam_map_equals_independent_formula(seed):
    rng = np.random.default_rng(seed)
    data = rng.uniform(0.0, 2.0, (17, 23, 31)).astype(np.float32)
    ref = rng.uniform(0.0, 1.0, 31)
    got = an.sam_map(_cube(data), ref)
    x = data.astype(np.float64).reshape(-1, 31)
    cos = (x @ ref) / (np.sqrt((x * x).sum(1)) * np.sqrt((ref * ref).sum()))
    expected = np.degrees(np.arccos(np.clip(cos, -1, 1))).reshape(17, 23)
    assert got.shape == (17, 23) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert an.sam_map(data, ref * 7.5).max() == pytest.approx(got.max(), abs=1e-3)  # scale invariant


def test_sam_of_zero_pixel_is_nan_and_never_masked():
    data = np.ones((2, 2, 31), np.float32)
    data[0, 0] = 0
    m = an.sam_map(data, np.ones(31))
    assert np.isnan(m[0, 0]) and np.allclose(m[1:], 0, atol=1e-2)
    assert not an.similarity_mask(m, 5.0)[0, 0]


def test_planted_material_found_by_mask():
    cube, paint, truth = planted_scene()
    angle = an.sam_map(cube, paint)
    mask = an.similarity_mask(angle, 5.0)
    precision, recall = an.precision_recall(mask, truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    sid = an.sid_map(cube, paint)
    p2, r2 = an.precision_recall(an.similarity_mask(sid, 0.01), truth)
    assert p2 >= 0.95 and r2 >= 0.95, (p2, r2)
    assert float(np.nanmedian(sid[truth])) < float(np.nanmedian(sid[~truth]))


def test_sid_matches_definition():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0.1, 1, 31), rng.uniform(0.1, 1, 31)
    p, q = x / x.sum(), y / y.sum()
    expected = np.sum(p * np.log(p / q)) + np.sum(q * np.log(q / p))
    assert an.sid_map(x[None, None], y)[0, 0] == pytest.approx(expected, rel=1e-4)
    assert an.sid_map(x[None, None], x)[0, 0] == pytest.approx(0, abs=1e-6)


def test_uncertain_pixels_masked_out():
    cube, paint, truth = planted_scene()
    std = np.zeros(cube.shape, np.float32)
    std[:, :24] = 0.5  # the left half is uncertain
    mask = an.similarity_mask(an.sam_map(cube, paint), 5.0, std=_cube(std), max_std=0.1)
    assert mask.any() and not mask[:, :24].any()
    assert mask[:, 24:].sum() == an.similarity_mask(an.sam_map(cube, paint), 5.0)[:, 24:].sum()


@pytest.mark.parametrize("ref, err", [(np.ones(30), ShapeError), (np.r_[np.nan, np.ones(30)], NonFiniteError),
                                      (np.zeros(31), InputError)])
def test_bad_reference_one_clear_error(ref, err):
    with pytest.raises(err) as info:
        an.sam_map(np.ones((2, 2, 31), np.float32), ref)
    assert "expected" in str(info.value)


def test_match_spectrum_ranks_library():
    lib = builtin_library().on_grid(WL)[0]
    target = lib.spectrum("moderate red") * 0.4
    ranked = an.match_spectrum(target, lib)
    assert ranked[0].name == "moderate red" and ranked[0].sam_deg < 0.01
    assert [m.sam_deg for m in ranked] == sorted(m.sam_deg for m in ranked)
    labels, closest = an.best_match_map(target[None, None, :], lib, 1.0)
    assert lib.names[labels[0, 0] - 1] == "moderate red"


# -- libraries ---------------------------------------------------------------------------------------------
def test_sli_written_here_opens_in_spy(tmp_path):
    from spectral.io import envi

    rng = np.random.default_rng(0)
    lib = SpectralLibrary(["grass", "soil", "blue paint"], WL, rng.uniform(0, 1, (3, 31)))
    path = write_library(lib, tmp_path / "mine.sli")
    assert path.exists() and (tmp_path / "mine.hdr").exists()
    spy = envi.open(str(tmp_path / "mine.hdr"), str(path))
    assert isinstance(spy, envi.SpectralLibrary)
    assert spy.names == ["grass", "soil", "blue paint"]
    np.testing.assert_allclose(spy.bands.centers, WL)
    np.testing.assert_allclose(spy.spectra, lib.spectra, rtol=1e-6)
    back = read_library(tmp_path / "mine.hdr")
    assert back.names == lib.names
    np.testing.assert_allclose(back.spectra, lib.spectra, rtol=1e-6)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_sli_names_with_commas_are_kept_readable(tmp_path):
    lib = SpectralLibrary(["pixel (3, 4)", "b"], WL, np.ones((2, 31)))
    with pytest.warns(UserWarning, match="ENVI"):
        write_library(lib, tmp_path / "x.sli")
    assert read_library(tmp_path / "x.sli").names == ["pixel (3; 4)", "b"]


def test_csv_round_trip_and_spectrum_plot_layout(tmp_path):
    lib = SpectralLibrary(["a", "b"], WL, np.vstack([np.linspace(0, 1, 31), np.linspace(1, 0, 31)]))
    write_library(lib, tmp_path / "l.csv")
    back = read_library(tmp_path / "l.csv")
    assert back.names == ["a", "b"]
    np.testing.assert_allclose(back.spectra, lib.spectra, atol=1e-6)
    # the spectrum plot's export: std columns are skipped
    (tmp_path / "plot.csv").write_text("wavelength_nm,pixel x=1 y=2,pixel x=1 y=2 std\n400,1,0.1\n410,2,0.1\n")
    plot = read_library(tmp_path / "plot.csv")
    assert plot.names == ["pixel x=1 y=2"] and plot.spectra.shape == (1, 2)


def test_library_on_another_grid_resampled_or_refused():
    lib = builtin_library()
    assert lib.wavelengths[0] == 380 and len(lib) == 24
    on, note = lib.on_grid(WL)
    assert on.bands == 31 and "resampled" in note and "81 bands" in note
    np.testing.assert_allclose(on.spectra[:, 0], lib.spectra[:, 4], atol=0.01)  # 400 nm (10 nm triangle average)
    narrow = SpectralLibrary(["x"], np.arange(450.0, 651.0, 10.0), np.ones(21))
    with pytest.raises(WavelengthError, match="450–650 nm.*400–700 nm"):
        narrow.on_grid(WL)
    assert lib.on_grid(lib.wavelengths) == (lib, "")


def test_bad_library_files(tmp_path):
    (tmp_path / "bad.csv").write_text("wavelength_nm,a\n400,1\n410,nan\n")
    with pytest.raises(NonFiniteError):
        read_library(tmp_path / "bad.csv")
    (tmp_path / "lone.sli").write_bytes(b"\0" * 8)
    with pytest.raises(InputError, match="missing lone.hdr"):
        read_library(tmp_path / "lone.sli")
    with pytest.raises(InputError, match="expected .sli"):
        read_library(tmp_path / "x.xlsx")


def test_library_over_max_spectra_refused(tmp_path, monkeypatch):
    import hsi_studio.core.analysis.library as library

    monkeypatch.setattr(library, "MAX_SPECTRA", 3)
    lib = SpectralLibrary(list("abc"), WL, np.ones((3, 31)))
    with pytest.raises(InputError, match="4 spectra; expected at most 3"):
        lib.add("d", np.ones(31))
    write_library(lib, tmp_path / "three.sli")
    write_library(lib, tmp_path / "three.csv")
    monkeypatch.setattr(library, "MAX_SPECTRA", 2)
    for name in ("three.sli", "three.csv"):
        with pytest.raises(InputError, match="3 spectra; expected at most 2") as info:
            read_library(tmp_path / name)
        assert info.value.path and name.split(".")[0] in info.value.path


# -- k-means -----------------------------------------------------------------------------------------------
def test_kmeans_two_material_cube_finds_both():
    rng = np.random.default_rng(0)
    a, b = np.linspace(0.2, 0.8, 31), np.linspace(0.8, 0.2, 31)
    truth = rng.random((40, 50)) < 0.3
    data = np.where(truth[..., None], a, b) + 0.02 * rng.standard_normal((40, 50, 31))
    seen = []
    res = an.kmeans(_cube(data), 2, 10, progress=lambda f, m="": seen.append(f))
    assert sorted(res.counts.tolist()) == sorted([int(truth.sum()), int((~truth).sum())])
    cls_a = res.labels[truth][0]
    assert (res.labels[truth] == cls_a).all() and (res.labels[~truth] != cls_a).all()
    np.testing.assert_allclose(res.centers[cls_a], a, atol=0.01)
    assert seen and seen[-1] <= 1.0 and res.iterations >= 1


def test_kmeans_cancel_and_k_out_of_range():
    token = CancelToken()
    data = np.random.default_rng(0).random((30, 30, 31)).astype(np.float32)

    def progress(f, m=""):
        token.cancel()

    with pytest.raises(Cancelled):
        an.kmeans(data, 4, 50, progress=progress, cancel=token)
    for k in (1, 0, 65, 2.5):
        with pytest.raises(InputError, match="expected"):
            an.kmeans(data, k, 5)
    with pytest.raises(InputError, match="expected 2 … 4"):
        an.kmeans(data[:2, :2], 5, 5)
    with pytest.raises(InputError, match="iterations"):
        an.kmeans(data, 3, 0)


# -- PCA and index maps ------------------------------------------------------------------------------------
def test_pca_explained_variance_and_false_colour():
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((3, 31))
    weights = rng.standard_normal((20, 20, 3)) * np.array([5.0, 2.0, 1.0])
    data = weights @ basis + 0.001 * rng.standard_normal((20, 20, 31))
    res = an.pca(_cube(data), 3)
    assert res.scores.shape == (20, 20, 3) and res.explained.sum() > 0.999
    assert res.explained[0] > res.explained[1] > res.explained[2]
    rgb = res.false_colour()
    assert rgb.shape == (20, 20, 3) and rgb.min() >= 0 and rgb.max() <= 1
    with pytest.raises(InputError):
        an.pca(data, 40)


def test_index_map_normalised_difference_and_ratio():
    data = np.ones((3, 4, 31), np.float32)
    data[..., WL == 650] = 3.0
    data[..., WL == 550] = 1.0
    cube = _cube(data)
    nd, label = an.index_map(cube, 650, 550)
    np.testing.assert_allclose(nd, 0.5)
    assert "650" in label and "550" in label
    ratio, _ = an.index_map(cube, "650", "550", kind="ratio")
    np.testing.assert_allclose(ratio, 3.0)
    rng_img, rlabel = an.band_image(cube, "600-700")
    assert "11 bands" in rlabel and rng_img.shape == (3, 4)
    zero = _cube(np.zeros((2, 2, 31)))
    assert np.isnan(an.index_map(zero, 650, 550)[0]).all()
    with pytest.raises(WavelengthError, match="outside"):
        an.index_map(cube, 900, 550)
    with pytest.raises(InputError):
        an.parse_band("red")


def test_colour_helpers():
    rgb = an.colourise(np.array([[0.0, 1.0, np.nan]]), 0, 1)
    assert rgb.shape == (1, 3, 3) and (rgb[0, 2] == 0).all()
    cols = an.class_colours(8)
    assert len({tuple(c) for c in cols}) == 8


def test_analysis_loads_no_torch_and_no_qt():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from hsi_studio.core.analysis import maps as an, library as lib; "
            "x = np.random.rand(8, 8, 31).astype('f'); an.sam_map(x, x[0, 0]); an.kmeans(x, 2, 2); an.pca(x); "
            "lib.builtin_library(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
