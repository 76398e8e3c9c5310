"""The Qt-free services layer (hsi_studio.services) used by the GUI and the CLI: the model list (shipped
bundles, a folder of bundles, training parts left out), the training data report and the scoring of a trained
model, without Qt; and the layering rules: services import no Qt, and no GUI module grows past ~500 lines."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from factories import fake_bundle, write_cube_folder

import hsi_studio.gui
import hsi_studio.services
from hsi_studio.core.cube import HSCube, centre_crop
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral.recovery import METHOD_LABELS, METHODS
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.services import models, scoring, training_data
from hsi_studio.services.training_plan import format_seconds

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "pyqtgraph", "shiboken6")
GUI_MAX_LINES = 520


# ---------------------------------------------------------------------------------------------------------
# The model list
# ---------------------------------------------------------------------------------------------------------
def test_model_list_has_shipped_bundles_a_folder_of_bundles_and_the_baselines(tmp_path, monkeypatch):
    shipped = tmp_path / "models"
    fake_bundle(shipped / "default", "ULDM")
    fake_bundle(shipped / "rootpoly", "PixelRegression")
    fake_bundle(shipped / "speuae", "SpeUAE")  # a training part: not listed
    mine = tmp_path / "mine"
    fake_bundle(mine / "uldm-a", "ULDM")
    fake_bundle(mine / "base", "RGBLDM")  # a training part
    fake_bundle(mine / "broken", None)  # unreadable model_index.json
    (mine / "empty").mkdir()
    monkeypatch.setenv("HSI_STUDIO_MODELS", str(shipped))

    choices = models.model_choices([mine, tmp_path / "does-not-exist"])
    labels = [label for label, _spec, _ok in choices]
    specs = [spec for _label, spec, _ok in choices]
    assert choices[0] == ("Default model (ULDM)", "default", True)
    assert "Per-pixel regression: root-polynomial (shipped)" in labels and "Bundle: uldm-a" in labels
    assert str(mine / "uldm-a") in specs and str(shipped / "rootpoly") in specs
    assert not any(name in label for label in labels for name in ("speuae", "base", "broken", "empty"))
    assert str(shipped / "default") not in specs  # the default model is listed once, as "default"
    assert labels[-len(METHODS):] == [f"Baseline: {METHOD_LABELS[m]}" for m in METHODS]
    assert specs[-len(METHODS):] == [f"physics:{m}" for m in METHODS]
    # a folder that is itself a bundle is listed; a folder listed twice appears once
    assert models.bundles(mine / "uldm-a") == [mine / "uldm-a"]
    assert [s for s in [spec for _l, spec, _o in models.model_choices([mine, mine])] if "uldm-a" in s] == \
        [str(mine / "uldm-a")]


def test_model_list_without_the_default_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HSI_STUDIO_MODELS", str(tmp_path / "none"))
    choices = models.model_choices()
    assert choices[0] == ("Default model (not installed)", "default", False)
    assert [spec for _l, spec, _o in choices[1:]] == [f"physics:{m}" for m in METHODS]


def test_method_labels():
    assert models.method_label("physics:mallett2019") == "Mallett 2019"
    assert models.method_label("physics:nope") == "physics:nope"
    assert models.method_label("mlp") == "Per-pixel regression: MLP (shipped)"
    assert models.method_label("/some/bundle") == "/some/bundle"


# ---------------------------------------------------------------------------------------------------------
# Training data and scoring, without Qt
# ---------------------------------------------------------------------------------------------------------
def test_scan_folder_reports_cubes_formats_and_refused_files(tmp_path):
    folder = write_cube_folder(tmp_path / "cubes", n=2)
    (folder / "broken.mat").write_bytes(b"not a MATLAB file")
    report = training_data.scan_folder(str(folder))
    assert report["cubes"] == 2 and report["listed"] == 3 and len(report["refused"]) == 1
    assert report["formats"] == {"scene0.h5": "HDF5", "scene1.h5": "HDF5", "broken.mat": "MATLAB"}
    assert Path(report["paths"]["scene1.h5"]) == folder / "scene1.h5"
    assert training_data.format_of(tmp_path) == "PNG band folder"
    assert training_data.format_of(Path("x.npz")) == "NumPy .npz" and training_data.format_of(Path("x.xyz")) == "xyz"
    with pytest.raises(InputError, match="is not a folder"):
        training_data.scan_folder(str(tmp_path / "missing"))


def test_score_model_scores_the_model_and_the_baselines(tmp_path, monkeypatch):
    monkeypatch.setenv("HSI_STUDIO_MODELS", str(tmp_path / "no-models"))  # no learned baselines: fast
    folder = write_cube_folder(tmp_path / "val", n=1)
    rows = scoring.score_model("physics:minnorm", [str(folder / "scene0.h5")], "cie1964-srgb")
    methods = [r["method"] for r in rows]
    assert methods == ["physics:minnorm", "uldm"]  # the D65-white baselines are out of the camera protocol
    assert all(r["protocol"] == "camera" and r["cubes"] == 1 and np.isfinite(r["psnr"]) for r in rows)


def test_score_model_compares_with_the_shipped_default(tmp_path):
    from hsi_studio.services.models import default_installed

    if not default_installed():
        pytest.skip("the shipped default model is not installed")
    folder = write_cube_folder(tmp_path / "val", n=1)
    seen = []
    rows = scoring.score_model("physics:minnorm", [str(folder / "scene0.h5")], "cie1964-srgb",
                               progress=lambda f, m="": seen.append(f))
    methods = [r["method"] for r in rows]
    assert methods[-2:] == ["uldm", scoring.SHIPPED_DEFAULT]  # after the new model, on the same cubes
    default = rows[-1]
    assert default["protocol"] == rows[0]["protocol"] and default["cubes"] == 1 and np.isfinite(default["psnr"])
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)  # one bar over both passes
    without = scoring.score_model("physics:minnorm", [str(folder / "scene0.h5")], "cie1964-srgb",
                                  shipped_default=False)
    assert scoring.SHIPPED_DEFAULT not in [r["method"] for r in without]


def test_scoring_protocol_and_centre_crop(tmp_path):
    photo = tmp_path / "photo"
    photo.mkdir()
    (photo / "training.json").write_text(json.dumps({"training": {"stage": {"sim": {"light": "d65"}}}}))
    assert scoring.scoring_protocol(photo) == "photo" and scoring.scoring_protocol(tmp_path) == "camera"
    cube = HSCube(np.zeros((10, 6, 31), np.float32), STANDARD_WAVELENGTHS.copy(), {"name": "c"})
    assert centre_crop(cube, 8).shape == (8, 6, 31) and centre_crop(cube, 10) is cube


def test_capture_illuminant_rule_shared_by_the_cli_and_the_relight_panel():
    from hsi_studio.core.spectral.relight import default_capture_illuminant

    data = np.full((2, 2, 31), 0.5, np.float32)
    recon = HSCube(data, STANDARD_WAVELENGTHS.copy(), {"response": "cie1964-srgb"}, kind="radiance")
    plain = HSCube(data, STANDARD_WAVELENGTHS.copy(), kind="radiance")
    assert default_capture_illuminant(recon) == "D65" and default_capture_illuminant(plain) is None
    assert default_capture_illuminant(recon, "A") == "A"
    assert default_capture_illuminant(recon, white=(0, 0)) is None  # a white reference measures the light


def test_format_seconds():
    assert [format_seconds(s) for s in (None, float("nan"), 42.4, 185, 7620)] == \
        ["—", "—", "42 s", "3 min 05 s", "2 h 07 min"]


# ---------------------------------------------------------------------------------------------------------
# Layering
# ---------------------------------------------------------------------------------------------------------
def test_services_load_no_qt_and_no_torch():
    mods = [info.name for info in pkgutil.walk_packages(hsi_studio.services.__path__, "hsi_studio.services.")]
    assert {"hsi_studio.services.models", "hsi_studio.services.files", "hsi_studio.services.scoring"} <= set(mods)
    code = ("import sys, json, importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(k.split('.')[0] for k in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & set(QT), f"services imported Qt: {loaded & set(QT)}"
    assert "torch" not in loaded


def test_no_gui_module_is_too_long():
    root = Path(hsi_studio.gui.__file__).parent
    lengths = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")}
    assert "training/wizard/wizard.py" in lengths and "main_window.py" in lengths
    too_long = {name: n for name, n in lengths.items() if n > GUI_MAX_LINES}
    assert not too_long, f"GUI modules over {GUI_MAX_LINES} lines: {too_long}"


def test_camera_database_is_found_in_the_shared_data_or_said_missing(tmp_path, monkeypatch):
    from factories import camspec_text, smooth_camera

    from hsi_studio.services.training_plan import camera_database

    monkeypatch.setenv("HSI_STUDIO_SHARED_DATA", str(tmp_path))
    found, line = camera_database()
    assert found is None and "No camera database found" in line and "camspec_database.txt" in line
    (tmp_path / "cameras").mkdir()
    (tmp_path / "cameras" / "camspec_database.txt").write_text(
        camspec_text({"Alpha": smooth_camera(0), "Nikon D3": smooth_camera(1)}))
    found, line = camera_database()
    assert found == str(tmp_path / "cameras" / "camspec_database.txt") and "1 training camera (1 held out" in line
    (tmp_path / "held.txt").write_text(camspec_text({"Nikon D3": smooth_camera(1)}))
    found, line = camera_database(tmp_path / "held.txt")
    assert found is None and "only held-out cameras" in line
