"""``hsi-studio analyze``: maps + masks + arrays, --json, --library(-out), bad input exits 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from factories import WL31 as WL
from factories import planted_scene

from hsi_studio.cli import main
from hsi_studio.core.analysis.library import SpectralLibrary, read_library, write_library
from hsi_studio.core.io import api as io


@pytest.fixture()
def scene(tmp_path):
    cube, paint, truth = planted_scene()
    path = io.write_cube(cube, tmp_path / "scene.h5")
    write_library(SpectralLibrary(["paint"], WL, paint), tmp_path / "paint.csv")
    return path, paint, truth


def test_analyze_sam_ref_mask_and_json(scene, tmp_path, capsys):
    path, _paint, truth = scene
    out = tmp_path / "out"
    rc = main(["analyze", str(path), "--sam-ref", str(tmp_path / "paint.csv"), "--threshold", "5", "--sid",
               "-o", str(out), "--json", "--library-out", str(tmp_path / "refs.sli")])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["similarity"]["reference"] == "paint"
    assert summary["similarity"]["mask_pixels"] == pytest.approx(int(truth.sum()), rel=0.05)
    mask = np.load(out / "sam_mask.npy")
    assert mask.dtype == bool and (mask == truth).mean() > 0.99
    for name in ("sam.png", "sam_mask.png", "sid.png", "sam.npy", "sid.npy"):
        assert (out / name).exists(), name
    assert read_library(tmp_path / "refs.sli").names == ["paint"]
    # outputs are not clobbered without --force
    assert main(["analyze", str(path), "--pixel", "0,0", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_analyze_kmeans_pca_index_h5(scene, tmp_path, capsys):
    import h5py

    path, _, _ = scene
    out = tmp_path / "o2"
    rc = main(["analyze", str(path), "--kmeans", "3", "--iterations", "5", "--pca", "3", "--index", "650,550",
               "--arrays", "h5", "-o", str(out), "--json", "--library-out", str(tmp_path / "classes.csv")])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert sum(summary["kmeans"]["counts"]) == 48 * 48
    assert len(summary["pca"]["explained_variance"]) == 3
    assert "650" in summary["index"]["formula"]
    with h5py.File(out / "analysis.h5") as f:
        assert f["kmeans"].shape == (48, 48) and f["pca"].shape == (48, 48, 3) and f["index"].shape == (48, 48)
    assert read_library(tmp_path / "classes.csv").names == ["class 0", "class 1", "class 2"]
    for name in ("kmeans.png", "pca.png", "index.png"):
        assert (out / name).exists()


def test_analyze_library_best_match(scene, tmp_path, capsys):
    path, paint, truth = scene
    lib = SpectralLibrary(["paint", "flat"], WL, np.vstack([paint, np.ones(31)]))
    write_library(lib, tmp_path / "lib.sli")
    rc = main(["analyze", str(path), "--library", str(tmp_path / "lib.sli"), "--threshold", "5", "-o",
               str(tmp_path / "o3"), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["library"]["matches"]["paint"] == pytest.approx(int(truth.sum()), rel=0.05)
    labels = np.load(tmp_path / "o3" / "library_match.npy")
    assert ((labels == 1) == truth).mean() > 0.99
    # a pixel ranked against the library
    r, c = np.argwhere(truth)[0]
    assert main(["analyze", str(path), "--library", str(tmp_path / "lib.sli"), "--pixel", f"{r},{c}", "-o",
                 str(tmp_path / "o4"), "--json"]) == 0
    ranking = json.loads(capsys.readouterr().out)["similarity"]["library_ranking"]
    assert ranking[0]["name"] == "paint" and ranking[0]["sam_deg"] < 3 < ranking[1]["sam_deg"]


@pytest.mark.parametrize("extra, message", [
    (["--kmeans", "1"], "expected 2"),
    (["--kmeans", "99"], "expected 2"),
    (["--pixel", "500,0"], "outside"),
    (["--index", "900,550"], "outside"),
    (["--index", "650"], "two wavelengths"),
    ([], "nothing to do"),
    (["--library", "builtin:nope"], "unknown built-in"),
])
def test_analyze_bad_input_exits_2(scene, tmp_path, capsys, extra, message):
    path, _, _ = scene
    assert main(["analyze", str(path), "-o", str(tmp_path / "bad"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_analyze_bad_reference_and_narrow_library(scene, tmp_path, capsys):
    path, _, _ = scene
    (tmp_path / "zero.csv").write_text("wavelength_nm,zero\n" + "".join(f"{w:g},0\n" for w in WL))
    assert main(["analyze", str(path), "--sam-ref", str(tmp_path / "zero.csv"), "-o", str(tmp_path / "b")]) == 2
    assert "all zeros" in capsys.readouterr().err
    write_library(SpectralLibrary(["x"], np.arange(450.0, 651, 10), np.ones(21)), tmp_path / "narrow.sli")
    assert main(["analyze", str(path), "--library", str(tmp_path / "narrow.sli"), "-o", str(tmp_path / "b")]) == 2
    assert "covers 450–650 nm" in capsys.readouterr().err


def test_analyze_resampled_library_says_so(tmp_path, capsys):
    cube, _, _ = planted_scene()
    path = io.write_cube(cube, tmp_path / "s.h5")
    rc = main(["analyze", str(path), "--library", "builtin:colorchecker", "--ref-name", "white 9.5 (.05 D)",
               "-o", str(tmp_path / "o"), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert "resampled from 81 bands" in summary["similarity"]["note"]
