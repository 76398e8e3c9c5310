"""The CLI shares the GUI's use cases (hsi_studio.services): the model list and the training-data report."""

import json

from factories import write_cube_folder

from hsi_studio.cli import main
from hsi_studio.services.models import model_choices


def test_models_lists_what_the_dock_lists(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in rows] == [label for label, _, _ in model_choices()]
    by_model = {r["model"]: r for r in rows}
    assert by_model["default"]["class"] == "ULDM" and by_model["default"]["sampling"]["steps"] >= 1
    assert by_model["mlp"]["class"] == "PixelRegression"  # a name reconstruct --model accepts
    assert by_model["physics:mallett2019"]["available"]
    assert main(["models"]) == 0 and "Per-pixel regression: MLP (shipped)" in capsys.readouterr().out


def test_scan_reports_the_folder_and_the_stages_validation_split(tmp_path, capsys):
    write_cube_folder(tmp_path, size=(8, 9), low=0, high=1, names="abcde", suffix=".npy", kind=None)
    (tmp_path / "broken.mat").write_bytes(b"MATLAB 5.0 truncated")
    assert main(["scan", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cubes"] == 5 and out["listed"] == 6 and out["val"] == ["e.npy"] and len(out["train"]) == 4
    assert [r["file"] for r in out["refused"]] == ["broken.mat"] and out["formats"]["a.npy"].startswith("NumPy")
    assert main(["scan", str(tmp_path), "--val-fraction", "0.4"]) == 0
    assert "val: d.npy, e.npy" in capsys.readouterr().out


def test_scan_of_an_unusable_folder_fails_with_a_reason(tmp_path, capsys):
    (tmp_path / "x.mat").write_bytes(b"junk")
    assert main(["scan", str(tmp_path)]) == 2
    assert "holds no usable cube" in capsys.readouterr().err
    assert main(["scan", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
