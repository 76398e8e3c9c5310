"""The training wizard against the chosen base model: Tiny picks a stage-2 crop the
base accepts, the settings page refuses one it cannot take, a failed stage is named once, Start over is offered
besides Resume; the finish page scores validation cubes larger than 256 px; the save path and the plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from hsi_studio.core.cube import HSCube, centre_crop
from hsi_studio.core.io.api import write_cube
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.gui.training import wizard as tw
from hsi_studio.services.training_plan import BASE_PROJECT


def _cubes(root: Path, n: int = 3, size: int = 32) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.9, (4, 4, STANDARD_WAVELENGTHS.size))
    for i in range(n):
        data = np.repeat(np.repeat(np.roll(base, i, axis=0), size // 4, 0), size // 4, 1) * rng.uniform(0.6, 1.0)
        write_cube(HSCube(data.astype(np.float32), STANDARD_WAVELENGTHS.copy()), root / f"scene{i}.h5")
    return root


@pytest.fixture
def wizard(qtbot, settings, tmp_path):
    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    wiz.run_page.confirm_restart = False
    qtbot.addWidget(wiz)
    wiz.show()
    qtbot.waitExposed(wiz)
    yield wiz
    wiz.shutdown()
    wiz.close()


def _to_settings(qtbot, wizard, folder: Path, base: str = BASE_PROJECT) -> tw.SettingsPage:
    page = wizard.data_page
    page.folder.setText(str(folder))
    page.scan()
    qtbot.waitUntil(lambda: page.report is not None or page.error is not None, timeout=30000)
    wizard.next()
    wizard.next()
    assert wizard.currentId() == tw.PAGE_BASE
    (wizard.base_page.project if base == BASE_PROJECT else wizard.base_page.pretrain).setChecked(True)
    wizard.next()
    assert wizard.currentId() == tw.PAGE_SETTINGS
    return wizard.settings_page


def test_tiny_picks_a_crop_the_base_accepts_and_settings_refuse_one_it_cannot(qtbot, wizard, tmp_path):
    from hsi_studio.core.ml.reconstruct import default_model_path

    blocks = [len(json.loads((default_model_path() / part / "config.json").read_text())["block_out_channels"])
              for part in ("vae", "unet")]
    m = 2 ** (blocks[0] - 1) * 2 ** (blocks[1] - 1)
    assert m == 32  # the shipped base: a 1/8 VAE and a three-level UNet
    s = _to_settings(qtbot, wizard, _cubes(tmp_path / "cubes"))
    s.tiny.setChecked(True)
    assert s.s2_crop.value() % m == 0 and s.isComplete(), s.message.text()
    s.s2_crop.setValue(16)  # what Tiny used to pick: refused here, before Start
    assert not s.isComplete() and "multiple of 32" in s.message.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    s.s2_crop.setValue(64)
    assert s.isComplete()
    # RGB pre-training first: a tiny pre-trained base downsamples 16×, so 16 px fits it
    wizard.back()
    wizard.base_page.pretrain.setChecked(True)
    wizard.next()
    s.tiny.setChecked(False)
    s.tiny.setChecked(True)
    assert s.s2_crop.value() % 16 == 0 and s.isComplete()


def test_tiny_run_with_the_default_base_completes_and_a_failed_stage_is_named(qtbot, wizard, tmp_path):
    s = _to_settings(qtbot, wizard, _cubes(tmp_path / "cubes"))
    s.tiny.setChecked(True)
    s.threads.setValue(1)
    s.name.setText("tiny")
    wizard.next()
    page = wizard.run_page
    assert wizard.currentId() == tw.PAGE_RUN and page.start_btn.text() == "Start"
    # A crop the base cannot take (what Tiny used to pick), slipped past the settings page: stage 2 fails.
    bad = wizard.plan()
    bad.stage2["crop"] = 16
    page.runner.plan, page.runner.stages = bad, bad.stages()
    page.start_btn.click()
    qtbot.waitUntil(lambda: page.runner.state in ("failed", "done"), timeout=240000)
    assert page.runner.state == "failed"
    status, eta = page.status.text(), page.eta.text()
    assert "Stage 2 (ULDM) failed" in status and "does not fit this base model" in status
    assert "Stage 2 of 2" in eta and "failed" in eta and "stage1" not in eta and "more stage" not in eta
    log = page.log.toPlainText().splitlines()
    assert sum("does not fit this base model" in line for line in log) == 1  # said once
    # Back to the settings (the crop there is the one Tiny picked), then Next: Start over besides Resume.
    wizard.back()
    assert wizard.currentId() == tw.PAGE_SETTINGS and s.isComplete()
    wizard.next()
    assert page.resume_btn.isEnabled() and page.start_btn.isVisible() and page.start_btn.isEnabled()
    assert page.start_btn.text() == "Start over"
    page.start_btn.click()
    qtbot.waitUntil(lambda: page.runner.state in ("failed", "done"), timeout=240000)
    assert page.runner.state == "done", "\n".join(page.runner.log)
    assert (wizard.plan().model_dir / "model_index.json").is_file()
    assert page.runner.stages[-1].config["crop"] % 32 == 0


def test_finish_page_scores_a_512_px_validation_cube(qtbot, wizard, tmp_path, monkeypatch):
    """Validation cubes above 256 px are centre-cropped (keeping their metadata) and scored."""
    from hsi_studio.core.ml.reconstruct import default_model_path

    rng = np.random.default_rng(3)
    patches = rng.uniform(0.05, 0.9, (8, 8, STANDARD_WAVELENGTHS.size)).astype(np.float32)
    big = HSCube(np.repeat(np.repeat(patches, 64, 0), 64, 1), STANDARD_WAVELENGTHS.copy(),
                 {"name": "big scene"}, kind="reflectance")
    assert big.shape[:2] == (512, 512)
    path = tmp_path / "val" / "big.h5"
    path.parent.mkdir()
    write_cube(big, path)
    cropped = centre_crop(big, 256)
    assert cropped.shape[:2] == (256, 256) and cropped.metadata["name"] == "big scene"
    np.testing.assert_array_equal(cropped.data, big.data[128:384, 128:384])
    monkeypatch.setattr(wizard.data_page, "validation_files", lambda: [str(path)])
    wizard.trained_model = str(default_model_path())
    fin = wizard.finish_page
    failures = []
    monkeypatch.setattr(fin, "_score_failed", lambda m, d: failures.append(m))
    fin.initializePage()
    qtbot.waitUntil(lambda: fin.rows is not None or bool(failures), timeout=240000)
    assert not failures, failures[0]
    assert "scoring failed" not in fin.message.text() and "1 validation cube" in fin.message.text()
    methods = [r["method"] for r in fin.rows]
    assert "uldm" in methods and fin.table.rowCount() == len(methods)
    assert all(np.isfinite(r["psnr"]) for r in fin.rows)


def test_default_save_path_names_the_app_once(qtbot, settings, monkeypatch, tmp_path):
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication

    from hsi_studio.gui import APPLICATION, ORGANIZATION

    app = QApplication.instance()
    names = app.organizationName(), app.applicationName()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    try:
        root = tw.default_models_root()
        wiz = tw.TrainWizard(settings=settings)
        qtbot.addWidget(wiz)
        wiz.settings_page.initializePage()
        shown = wiz.settings_page.out_root.text()
        wiz.close()
    finally:
        app.setOrganizationName(names[0])
        app.setApplicationName(names[1])
    assert root.name == "models" and root.parent.name == APPLICATION
    assert root.parent.parent.name != APPLICATION, root  # not ".../HSI Studio/HSI Studio/models"
    assert shown == str(root) and f"{APPLICATION}/{APPLICATION}" not in shown.replace("\\", "/")
    assert Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)) in root.parents


def test_validation_column_has_a_header_and_the_loss_axis_plain_numbers(qtbot, wizard, tmp_path):
    page = wizard.data_page
    page.folder.setText(str(_cubes(tmp_path / "cubes", n=3)))
    page.scan()
    qtbot.waitUntil(lambda: page.report is not None, timeout=30000)
    table = page.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    ticks = [c for c in range(table.columnCount())
             if table.item(0, c).data(Qt.ItemDataRole.CheckStateRole) is not None]
    assert len(ticks) == 1 and headers[ticks[0]] == "Validation" and headers[ticks[0]] != headers[ticks[0] + 1]
    assert [Path(f).name for f in page.validation_files()] == ["scene2.h5"]
    # The loss plot: small losses on a log axis, labelled with plain numbers.
    run = wizard.run_page
    axis = run.loss_plot.getAxis("left")
    run.loss_plot.plot([1, 2, 3, 4], [7e-4, 5e-4, 3e-4, 2e-4])
    run.loss_plot.getPlotItem().getViewBox().updateAutoRange()
    axis.setRange(*run.loss_plot.getPlotItem().getViewBox().viewRange()[1])
    assert axis.labelString().find("x0.0") < 0 and "(x" not in axis.labelString()
    strings = axis.tickStrings([-3.5, -3.3], axis.scale, 0.1)
    assert strings and all("·" not in s and "10" not in s.replace("0.00", "") for s in strings), strings


def test_finish_page_scores_with_the_protocol_the_model_was_trained_for(tmp_path):
    """A model trained on D65-lit cubes is scored like a photo (reflectance); any other with the camera protocol."""
    import json

    from hsi_studio.services.scoring import scoring_protocol

    photo, camera = tmp_path / "photo", tmp_path / "camera"
    for folder, light in ((photo, "D65"), (camera, None)):
        folder.mkdir()
        (folder / "training.json").write_text(json.dumps({"training": {"stage": {"sim": {"light": light}}}}))
    assert scoring_protocol(str(photo)) == "photo"
    assert scoring_protocol(str(camera)) == "camera"
    assert scoring_protocol(str(tmp_path / "missing")) == "camera"
