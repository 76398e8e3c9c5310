"""Provenance: every bundle and checkpoint records its inputs — data files (relative names + sha256), input
models' hashes, library versions, the scene generator's libraries — and training configs keep relative paths."""

import hashlib
import os

import numpy as np

from hsi_studio.core import provenance


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
