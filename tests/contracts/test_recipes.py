"""The shipped models' recipe: its recorded data split is checked by content and linked, never copied."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPLIT = ROOT / "recipes" / "default" / "split.json"


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "data_split.py"), *map(str, args)],
                          capture_output=True, text=True)


def test_recipe_names_relative_files_and_its_configs_exist():
    sets = json.loads(SPLIT.read_text())["sets"]
    assert len(sets["cave_train"]) == 20 and len(sets["cave_val"]) == 5
    files = [e["file"] for entries in sets.values() for e in entries]
    assert all(f.startswith("../shared/data/") for f in files)  # reproducible from a clone with ../shared beside it
    assert not {Path(f).name for f in (e["file"] for e in sets["cave_train"])} & {
        Path(e["file"]).name for e in sets["cave_val"]}  # validation never trained on
    for name in ("s1", "s2a", "s2c", "s2d"):
        json.loads((SPLIT.parent / f"{name}.json").read_text())


def test_split_is_checked_by_sha256_and_linked(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.mat").write_bytes(b"cube a")
    (data / "b.mat").write_bytes(b"cube b")
    rel = lambda p: str(Path(__import__("os").path.relpath(p, ROOT)))  # noqa: E731
    split = {"sets": {"train": [{"file": rel(data / "a.mat"), "sha256": hashlib.sha256(b"cube a").hexdigest()}],
                      "val": [{"file": rel(data / "b.mat"), "sha256": hashlib.sha256(b"cube b").hexdigest()}]}}
    (tmp_path / "split.json").write_text(json.dumps(split))
    out = _run(tmp_path / "split.json", "--out", tmp_path / "links")
    assert out.returncode == 0, out.stderr
    link = tmp_path / "links" / "train" / "a.mat"
    assert link.is_symlink() and link.read_bytes() == b"cube a"
    (data / "b.mat").write_bytes(b"another version")
    out = _run(tmp_path / "split.json", "--out", tmp_path / "links2")
    assert out.returncode == 2 and "b.mat: sha256 differs" in out.stderr and not (tmp_path / "links2").exists()
    (tmp_path / "bad.json").write_text("not json")
    assert _run(tmp_path / "bad.json").returncode == 2


@pytest.mark.shared_data
def test_recorded_split_matches_the_shared_data(tmp_path):
    if not (ROOT.parent / "shared" / "data" / "cave256").is_dir():
        pytest.skip("../shared/data is absent: the recorded split can only be checked against the real CAVE files")
    out = _run(SPLIT, "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "cave_train").iterdir())) == 20
