"""The training wizard, driven page by page on tiny data with tiny models: the data report (good and bad
folders), camera curves, base choice, the run page's live curves, a killed training process that Resume
completes, errors from the subprocess shown, and the new model scored and listed in the Reconstruct dock."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard

from hsi_studio.core.cube import HSCube
from hsi_studio.core.io.api import write_cube
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.gui.training import wizard as tw
from hsi_studio.gui.training.training_runner import TrainingRunner
from hsi_studio.services.training_plan import BASE_PRETRAIN, BASE_PROJECT, TrainPlan


def _cube_folder(root: Path, n: int = 3, bad: bool = True) -> Path:
    """``n`` small radiance cubes (ColorChecker reflectances under a slanted light) and one broken file."""
    from hsi_studio.core.spectral._colour import colour

    root.mkdir(parents=True, exist_ok=True)
    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    spectra = np.stack([np.interp(STANDARD_WAVELENGTHS, sd.wavelengths, sd.values) for sd in sds.values()])
    light = np.linspace(0.6, 1.2, STANDARD_WAVELENGTHS.size)
    chart = np.repeat(np.repeat((spectra * light).reshape(4, 6, -1), 8, 0), 8, 1)  # 32 × 48
    rng = np.random.default_rng(1)
    for i in range(n):
        data = np.roll(chart, 5 * i, axis=1)[:32, :32] * rng.uniform(0.6, 1.0)
        write_cube(HSCube(data.astype(np.float32), STANDARD_WAVELENGTHS.copy()), root / f"scene{i}.h5")
    if bad:
        (root / "broken.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    return root


@pytest.fixture
def wizard(qtbot, settings, tmp_path):
    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    qtbot.addWidget(wiz)
    wiz.show()
    qtbot.waitExposed(wiz)
    yield wiz
    wiz.shutdown()
    wiz.close()


def _scan(qtbot, wiz, folder: Path) -> None:
    page = wiz.data_page
    page.folder.setText(str(folder))
    page.scan()
    qtbot.waitUntil(lambda: page.report is not None or page.error is not None, timeout=30000)


def test_bad_data_folder_is_reported_on_the_data_page(qtbot, wizard, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.mat").write_bytes(b"not a mat file at all")
    (bad / "b.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    np.save(bad / "c.npy", np.zeros((8, 8, 3), np.float32))  # 3 bands: an RGB image, not a cube
    _scan(qtbot, wizard, bad)
    page = wizard.data_page
    assert page.error and "None of the 3 files" in page.summary.text()
    statuses = [page.table.item(r, tw.COL_STATUS).text() for r in range(page.table.rowCount())]
    assert len(statuses) == 3 and all(s.startswith("refused: ") and len(s) > 12 for s in statuses)
    assert not page.isComplete()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    _scan(qtbot, wizard, tmp_path / "does-not-exist")
    assert "is not a folder" in page.summary.text() and not page.isComplete()


def test_data_report_and_split(qtbot, wizard, tmp_path):
    folder = _cube_folder(tmp_path / "cubes", n=4)
    _scan(qtbot, wizard, folder)
    page = wizard.data_page
    assert page.report["cubes"] == 4 and len(page.report["refused"]) == 1
    assert "4 usable cube(s)" in page.summary.text() and "1 refused" in page.summary.text()
    formats = {page.table.item(r, tw.COL_FILE).text(): page.table.item(r, tw.COL_FORMAT).text()
               for r in range(page.table.rowCount())}
    assert formats["scene0.h5"] == "HDF5" and formats["broken.mat"] == "MATLAB"
    assert [Path(f).name for f in page.validation_files()] == ["scene3.h5"]  # 20 % of 4 → one, the last
    page.val_fraction.setValue(50)
    assert [Path(f).name for f in page.validation_files()] == ["scene2.h5", "scene3.h5"]
    page.table.item(0, tw.COL_VAL).setCheckState(Qt.CheckState.Checked)  # the user picks a validation file
    assert len(page.validation_files()) == 3 and page.train_count() == 1 and page.isComplete()
    page.lighting.setCurrentIndex(page.lighting.findData("flat"))  # generated scenes as reflectance
    s1 = wizard.plan().stages()[-2].argv
    assert s1[1] == "stage1" and s1[s1.index("--lighting") + 1] == "flat"
    page.generated_only.setChecked(True)
    assert page.isComplete() and page.data_folder() is None and page.validation_files() == []


def test_camera_page_plots_curves_and_loads_a_csv(qtbot, wizard, tmp_path):
    page = wizard.camera_page
    data = [c.getData() for c in page.curves]
    assert all(xs.size == 31 for xs, _ in data)
    assert np.isclose(max(ys.max() for _, ys in data), 1.0)  # normalised to the highest peak
    assert min(ys.min() for _, ys in data) < 0  # the sRGB-primaries response has negative lobes, shown as is
    page.combo.setCurrentIndex(page.combo.findData("nikon-d5100"))
    assert "Nikon" in page.message.text() or "nikon" in page.message.text()
    bad = tmp_path / "bad.csv"
    bad.write_text("nm,R,G\n400,1,2\n")
    assert not page.load_csv(str(bad)) and "bad.csv" in page.message.text()
    good = tmp_path / "cam.csv"
    wl = np.arange(400, 701, 10)
    curves = np.stack([np.exp(-((wl - c) / 40.0) ** 2) for c in (600, 540, 460)], 1)
    good.write_text("\n".join(",".join(f"{v:g}" for v in (w, *c)) for w, c in zip(wl, curves, strict=True)))
    assert page.load_csv(str(good)) and page.response() == f"csv:{good}"
    assert np.argmax(page.curves[0].getData()[1]) == np.argmin(np.abs(wl - 600))


def test_base_page_checks_the_folder(qtbot, wizard, tmp_path):
    page = wizard.base_page
    assert page.mode() == BASE_PROJECT and page.isComplete()
    page.folder_btn.setChecked(True)
    assert not page.isComplete() and "Choose" in page.message.text()
    page.folder.setText(str(tmp_path))
    assert not page.isComplete() and "model_index.json" in page.message.text()
    page.pretrain.setChecked(True)
    assert page.isComplete() and page.mode() == BASE_PRETRAIN


def test_plan_commands_use_the_cli_and_never_train_on_validation(tmp_path):
    plan = TrainPlan(out_root=tmp_path, name="m", data=str(tmp_path / "d"), val_files=[str(tmp_path / "d/v.h5")],
                     tiny=True, base_mode=BASE_PRETRAIN, stage1={"steps": 7}, stage2={"stage": {"spaae_steps": 9}})
    runs = plan.stages()
    assert [r.key for r in runs] == ["rgb-pretrain", "stage1", "stage2"]
    s2 = runs[2].argv
    assert s2[:2] == ["train", "stage2"] and "--stop-file" in s2 and "--jsonl" in s2
    assert s2[s2.index("--base") + 1] == str(plan.run_dir / "rgb-pretrain" / "model")
    assert s2[s2.index("--val") + 1].endswith("v.h5")
    assert s2[s2.index("--lighting") + 1] == "varied"  # generated scenes under varied lights by default
    assert runs[1].config["steps"] == 7 and runs[2].config["stage"]["spaae_steps"] == 4  # capped by steps
    headed = TrainPlan(out_root=tmp_path, name="h", data=str(tmp_path / "d"), val_files=[str(tmp_path / "d/v.h5")],
                       tiny=True, base_mode=BASE_PRETRAIN, stage2={"stage": {"spaae_steps": 1, "refine_steps": 1,
                                                                              "head_steps": 9}})
    assert headed.stages()[2].config["stage"]["head_steps"] == 2  # what the SpaAE and refiner steps leave
    plan.write_configs()
    assert json.loads((plan.run_dir / "stage1.json").read_text())["steps"] == 7
    assert json.loads((plan.run_dir / "plan.json").read_text())["commands"][0][:3] == ["hsi-studio", "train",
                                                                                      "rgb-pretrain"]


def test_errors_from_the_training_process_are_shown(qtbot, tmp_path):
    plan = TrainPlan(out_root=tmp_path, name="m", data=str(tmp_path / "missing"), tiny=True)
    runner = TrainingRunner(plan)
    failures = []
    runner.failed.connect(lambda m, d: failures.append((m, d)))
    runner.start()
    qtbot.waitUntil(lambda: runner.state == "failed", timeout=60000)
    message, details = failures[0]
    assert "exit code 2" in message and "missing" in details.splitlines()[0]
    assert not runner.running()


def _go_to_run_page(qtbot, wizard, folder: Path) -> None:
    _scan(qtbot, wizard, folder)
    wizard.next()
    assert wizard.currentId() == tw.PAGE_CAMERA
    wizard.next()
    wizard.base_page.pretrain.setChecked(True)  # all three stages, on the built-in photos
    wizard.next()
    s = wizard.settings_page
    assert wizard.currentId() == tw.PAGE_SETTINGS
    s.tiny.setChecked(True)
    s.s1_steps.setValue(300)  # long enough to kill it mid-run
    s.threads.setValue(1)
    s.name.setText("my model")
    assert s.isComplete(), s.message.text()
    assert "hsi-studio train rgb-pretrain --builtin" in s.command.toPlainText()
    wizard.next()
    assert wizard.currentId() == tw.PAGE_RUN


def test_wizard_trains_kill_resume_and_lists_the_model(qtbot, window, tmp_path, shots):
    """The whole wizard from the main window: train, kill the process mid-stage, Resume completes, curves are
    live, the finish page scores the model against the baselines and the dock lists it."""
    folder = _cube_folder(tmp_path / "cubes", n=3)
    window.settings.setValue("train/out_root", str(tmp_path / "models"))
    wizard = window.open_train_wizard()
    qtbot.waitExposed(wizard)
    _go_to_run_page(qtbot, wizard, folder)
    page = wizard.run_page
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    killed = []

    def kill_after_checkpoint(key, rec):
        if key == "stage1" and rec["event"] == "checkpoint" and not killed:
            killed.append(rec["step"])
            page.runner.kill()

    page.runner.record.connect(kill_after_checkpoint)
    page.start_btn.click()
    qtbot.waitUntil(lambda: page.runner.state == "failed", timeout=180000)
    assert killed and "crashed or was killed" in page.status.text() and "Resume" in page.status.text()
    assert page.resume_btn.isEnabled() and not page.pause_btn.isEnabled()
    assert page.runner.stages[0].finished()  # RGB pre-training finished before the kill
    page._draw()
    assert len(page.curves["stage1"]["data"]["loss"][0]) >= killed[0]

    resumed = []
    page.runner.record.connect(lambda key, rec: resumed.append(rec) if rec["event"] == "resumed" else None)
    page.resume_btn.click()
    qtbot.waitUntil(lambda: page.runner.state in ("done", "failed"), timeout=300000)
    assert page.runner.state == "done", "\n".join(page.runner.log)
    assert resumed and resumed[0]["step"] >= killed[0]
    page._draw()
    for key in ("rgb-pretrain", "stage1", "stage2"):
        xs, ys = page.curves[key]["loss"].getData()
        assert xs is not None and len(xs) > 0 and np.all(np.isfinite(ys))
    xs, ys = page.curves["stage2"]["psnr"].getData()
    assert xs is not None and len(xs) >= 1  # validation points
    wizard.resize(1200, 800)
    qtbot.wait(200)
    assert wizard.grab().save(str(shots / "train_wizard.png"))
    model = tmp_path / "models" / "my-model"
    assert (model / "model_index.json").is_file()
    assert window.dock.model.currentData() == str(model)  # listed and selected in the dock
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    wizard.next()
    fin = wizard.finish_page
    qtbot.waitUntil(lambda: fin.rows is not None, timeout=120000)
    methods = [r["method"] for r in fin.rows]
    # trained without D65 light → camera protocol: the D65-white methods are out of convention; the shipped
    # learned per-pixel baselines are scored beside the new model, and the shipped default model after it
    assert methods == ["physics:minnorm", "rootpoly", "mlp", "uldm", "shipped-default"]
    assert {r["protocol"] for r in fin.rows} == {"camera"}
    assert fin.table.rowCount() == 5 and all(np.isfinite(r["psnr"]) for r in fin.rows)
    assert fin.table.item(4, 0).text() == "Shipped default model (ULDM)"
    wizard.close()


def test_pause_saves_a_checkpoint_and_resume_continues(qtbot, tmp_path):
    plan = TrainPlan(out_root=tmp_path, name="p", tiny=True, threads=1, base_mode=BASE_PROJECT,
                     stage1={"steps": 400}, stage2={"steps": 2, "crop": 32, "stage": {"spaae_steps": 1}})
    runner = TrainingRunner(plan)
    seen = []
    runner.record.connect(lambda key, rec: seen.append((key, rec)))
    runner.start()
    qtbot.waitUntil(lambda: any(r["event"] == "step" and r["step"] >= 3 for _, r in seen), timeout=60000)
    runner.pause()
    assert runner.state == "stopping"
    qtbot.waitUntil(lambda: runner.state == "paused", timeout=60000)
    stopped = [r for _, r in seen if r["event"] == "cancelled"]
    assert stopped and plan.stages()[0].has_checkpoint() and not plan.stop_file.exists()
    runner.resume()
    qtbot.waitUntil(lambda: runner.state in ("done", "failed"), timeout=300000)
    assert runner.state == "done", "\n".join(runner.log)
    resumed = [r for _, r in seen if r["event"] == "resumed"]
    assert resumed and resumed[0]["step"] == stopped[0]["step"]
    assert (plan.model_dir / "model_index.json").is_file()


def test_closing_the_wizard_mid_run_asks_then_stops_training_without_freezing(qtbot, wizard, tmp_path,
                                                                             monkeypatch):
    import time

    folder = _cube_folder(tmp_path / "cubes", n=3)
    wizard.settings_page.out_root.setText(str(tmp_path / "models"))
    _go_to_run_page(qtbot, wizard, folder)
    page = wizard.run_page
    runner = page.runner
    steps = []
    runner.record.connect(lambda key, rec: steps.append(rec["step"]) if key == "stage1" and
                          rec["event"] == "step" else None)
    page.start_btn.click()
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=180000)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    wizard.close()  # the user is asked, says No: nothing stops
    assert len(asked) == 1 and "Stage 1" in asked[0] and "checkpoint" in asked[0]
    assert wizard.isVisible() and runner.running() and runner.state == "running"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    t0 = time.perf_counter()
    wizard.close()
    assert time.perf_counter() - t0 < 1.0  # the GUI does not wait for the trainer
    assert not wizard.isVisible() and runner.state == "stopping"
    qtbot.waitUntil(lambda: runner.state == "cancelled", timeout=60000)
    assert runner.stages[1].has_checkpoint() and not runner.running()


def test_quitting_the_app_during_training_asks_first(qtbot, window, monkeypatch):
    """Closing the main window while the wizard trains asks; No keeps the app (and the training) going."""
    wizard = window.open_train_wizard()
    monkeypatch.setattr(wizard, "training_running", lambda: True)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.close()
    assert window.isVisible() and wizard.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(wizard, "training_running", lambda: False)  # what stopping leaves behind
    window.close()
    assert not window.isVisible() and not wizard.isVisible()


def test_training_through_real_cameras_is_offered_with_a_database(qtbot, wizard, tmp_path):
    from factories import camspec_text, smooth_camera

    page = wizard.camera_page
    bad = tmp_path / "bad.txt"
    bad.write_text("not a camera database\n")
    page.camera_file = None
    assert not page.use_camera_file(str(bad))
    assert not page.cameras.isEnabled() and "bad.txt" in page.cameras_note.text()
    good = tmp_path / "camspec.txt"
    good.write_text(camspec_text({n: smooth_camera(i) for i, n in enumerate(["Alpha Cam", "Canon 600D", "Beta Cam"])}))
    assert page.use_camera_file(str(good))
    assert page.cameras.isEnabled() and "2 training cameras" in page.cameras_note.text()
    assert not page.use_camera_file(str(bad)) and page.camera_file == str(good)  # a bad choice keeps the good one
    page.cameras.setValue(0.5)
    plan = wizard.plan()
    s2 = plan.stages()[-1]
    assert s2.key == "stage2"
    assert s2.config["stage"]["sim"]["cameras"] == 0.5 and s2.config["stage"]["sim"]["camera_file"] == str(good)
    assert "sim" not in plan.stages()[-2].config.get("stage", {}) or \
        "cameras" not in (plan.stages()[-2].config["stage"].get("sim") or {})  # stage 1 learns spectra only
    from hsi_studio.core.ml.data.source import _check_sim
    from hsi_studio.core.ml.training.config import TrainConfig, stage_settings

    plan.write_configs()  # the file `train stage2 --config` reads, read as it does
    loaded = stage_settings("stage2", TrainConfig.from_dict(TrainConfig.read_json(plan.run_dir / "stage2.json")))
    assert _check_sim(loaded.sim)["cameras"] == 0.5
    page.cameras.setValue(0.0)
    assert "cameras" not in (wizard.plan().stages()[-1].config["stage"].get("sim") or {})
