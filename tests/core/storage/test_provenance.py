"""Provenance: every bundle and checkpoint records its inputs — data files (relative names + sha256), input
models' hashes, library versions, the scene generator's libraries — and training configs keep relative paths."""

import hashlib
import json
import os

import numpy as np
import pytest
from factories import write_cube_folder

from hsi_studio.cli import main
from hsi_studio.core.io import api as io
from hsi_studio.core.ml.training.checkpoint import load_checkpoint
from hsi_studio.core.ml.training.engine import latest_checkpoint
from hsi_studio.core.storage import provenance


def test_helpers(tmp_path, monkeypatch):
    f = tmp_path / "sub" / "a.bin"
    f.parent.mkdir()
    f.write_bytes(os.urandom(3 * provenance.CHUNK + 5))  # several chunks
    assert provenance.file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    monkeypatch.chdir(tmp_path)
    assert provenance.relative_path(f) == "sub/a.bin" == provenance.relative_path("sub/a.bin")
    assert provenance.relative_path("/elsewhere/x.h5") == "/elsewhere/x.h5"  # outside: as given
    assert provenance.file_name("/elsewhere/x.h5") == "x.h5"  # a data file outside: its name only
    assert provenance.data_files([f]) == [{"path": "sub/a.bin", "sha256": provenance.file_sha256(f)}]
    cfg = {"steps": 1, "stage": {"data": str(tmp_path / "sub"), "val": [str(f), "/elsewhere/v.h5"],
                                 "base": None, "hidden": 8}}
    assert provenance.portable_config(cfg)["stage"] == {"data": "sub", "val": ["sub/a.bin", "/elsewhere/v.h5"],
                                                         "base": None, "hidden": 8}
    assert cfg["stage"]["data"] == str(tmp_path / "sub")  # the input is not changed
    versions = provenance.library_versions()
    assert set(versions) == {"torch", "diffusers", "numpy", "hsi_studio"} and versions["numpy"] == np.__version__
    (tmp_path / "sub" / "manifest.json").write_text("{}")
    assert provenance.folder_hash(tmp_path / "sub") == provenance.file_sha256(tmp_path / "sub" / "manifest.json")


def test_stage1_records_its_data_and_relative_paths(tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.chdir(tmp_path)
    write_cube_folder(tmp_path / "cubes", 3, 16, low=0.05, names=["c0", "c1", "c2"], kind=None)
    assert main(["train", "stage1", "--data", "cubes", "--val", str(tmp_path / "cubes" / "c2.h5"), "--out", "run",
                 "--tiny", "--device", "cpu", "--threads", "1", "--steps", "2"]) == 0
    record = json.loads((tmp_path / "run" / "model" / "training.json").read_text())
    assert record["training"]["stage"]["data"] == "cubes"
    assert record["training"]["stage"]["val"] == ["cubes/c2.h5"]  # given absolute, under the current folder
    prov = record["provenance"]
    assert [d["path"] for d in prov["data"]] == ["cubes/c0.h5", "cubes/c1.h5", "cubes/c2.h5"]
    assert all(d["sha256"] == provenance.file_sha256(tmp_path / d["path"]) for d in prov["data"])
    assert prov["val"] == [{"path": "cubes/c2.h5", "sha256": provenance.file_sha256(tmp_path / "cubes/c2.h5")}]
    assert set(prov["libraries"]) == {"torch", "diffusers", "numpy", "hsi_studio"}
    assert prov["scenes"]["generated_fraction"] == pytest.approx(0.5)
    text = json.dumps(record)
    assert str(tmp_path) not in text  # no absolute folder recorded
    state = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert state["provenance"] == prov and state["config"]["stage"]["data"] == "cubes"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["stage"]["val"] == ["cubes/c2.h5"]


def test_rgb_pretrain_records_its_photos(tmp_path, monkeypatch):
    from hsi_studio.core.ml.training.stages import default_config, make_stage

    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    for name in ("b.png", "a.jpg"):
        io.write_rgb(np.random.default_rng(0).uniform(0, 1, (8, 8, 3)), tmp_path / "photos" / name)
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    cfg = default_config("rgb-pretrain", tiny=True)
    cfg.stage["images"] = str(tmp_path / "photos")
    prov = make_stage("rgb-pretrain", cfg).provenance()
    assert [d["path"] for d in prov["images"]] == ["photos/a.jpg", "photos/b.png"]
    assert prov["images"][0]["sha256"] == provenance.file_sha256(tmp_path / "photos" / "a.jpg")
    builtin = make_stage("rgb-pretrain", default_config("rgb-pretrain", tiny=True)).provenance()
    assert "builtin" in builtin["images"] and set(builtin["libraries"]) >= {"torch", "numpy"}
