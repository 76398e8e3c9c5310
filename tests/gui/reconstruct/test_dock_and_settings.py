"""Reconstruct dock details (model list, lazy device probe, ETA) and settings kept with QSettings."""

from __future__ import annotations

import json

from hsi_studio.core.spectral import recovery
from hsi_studio.gui.reconstruct.reconstruct_dock import format_eta
from hsi_studio.services import reconstruction


def test_model_list_has_baselines_and_bundles_from_a_folder(window, tmp_path):
    specs = [window.dock.model.itemData(i) for i in range(window.dock.model.count())]
    assert [s for s in specs if s.startswith("physics:")] == [f"physics:{m}" for m in recovery.METHODS]
    bundle = tmp_path / "my-model"
    bundle.mkdir()
    (bundle / "model_index.json").write_text(json.dumps({"_class_name": "ULDM"}))
    (tmp_path / "not-a-model").mkdir()
    window.dock.choose_models_folder(str(tmp_path))
    labels = [window.dock.model.itemText(i) for i in range(window.dock.model.count())]
    assert "Bundle: my-model" in labels and not any("not-a-model" in t for t in labels)


def test_device_probe_is_lazy_and_shows_gpu_names(window, qtbot, monkeypatch):
    calls = []

    def fake_probe(progress=None, cancel=None):
        calls.append(1)
        return [("cuda:0", "NVIDIA H100 80GB HBM3, 79 GiB")]

    monkeypatch.setattr(reconstruction, "probe_devices", fake_probe)
    assert window.dock.devices is None and not calls  # nothing probed at start-up
    window.dock.device.about_to_show.emit()  # the user opens the device list
    qtbot.waitUntil(lambda: window.dock.devices is not None, timeout=5000)
    assert calls == [1]
    assert window.dock.device.findData("cuda:0") == 2
    assert "NVIDIA H100" in window.dock.device.itemText(2) and "NVIDIA H100" in window.device_label.text()
    window.dock.probe_devices()  # once only
    assert calls == [1]


def test_no_gpu_says_cpu_only(window, qtbot, monkeypatch):
    monkeypatch.setattr(reconstruction, "probe_devices", lambda progress=None, cancel=None: [])
    window.dock.probe_devices()
    qtbot.waitUntil(lambda: window.dock.devices is not None, timeout=5000)
    assert "CPU only" in window.dock.device.itemText(1) and "CPU only" in window.device_label.text()


def test_eta_format():
    assert format_eta(None) == "—" and format_eta(5.2) == "0:05" and format_eta(125) == "2:05"
    assert format_eta(3 * 3600 + 61) == "3:01:01"


def test_settings_survive_a_restart(qtbot, settings):
    from hsi_studio.gui.main_window import MainWindow

    first = MainWindow(settings, warm_up=False)
    first.show()
    first.band_view.set_colormap("magma")
    first.dock.model.setCurrentIndex(first.dock.model.findData("physics:otsu2018"))
    first.dock.seed.setValue(7)
    first.resize(1250, 560)  # fits a 1280×720 X screen with its position (700 px: restored as 694 under xcb)
    height = first.height()
    first.close()
    second = MainWindow(settings, warm_up=False)
    qtbot.addWidget(second)
    assert second.band_view.cmap_combo.currentText() == "magma"
    assert second.dock.model.currentData() == "physics:otsu2018" and second.dock.seed.value() == 7
    # restoreGeometry fits the window to the screen (offscreen: 800×600 wide), so only the height is exact
    assert settings.value("window/geometry") is not None and second.height() == height


def test_only_models_that_reconstruct_are_listed(window, tmp_path):
    """A SpeUAE (stage 1's part) or a base is not offered as a reconstruction model; ULDM and
    per-pixel regression bundles are."""
    for name, cls in (("speuae", "SpeUAE"), ("base", "RGBLDM"), ("uldm", "ULDM"), ("pixel", "PixelRegression"),
                      ("broken", None)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "model_index.json").write_text(json.dumps({"_class_name": cls}) if cls else "{not json")
    window.dock.choose_models_folder(str(tmp_path))
    labels = [window.dock.model.itemText(i) for i in range(window.dock.model.count())]
    assert "Bundle: uldm" in labels and "Per-pixel regression: pixel" in labels
    # the shipped learned baselines are offered by name
    assert {"Per-pixel regression: root-polynomial (shipped)", "Per-pixel regression: MLP (shipped)"} <= set(labels)
    assert not any(t in labels for t in ("Bundle: speuae", "Bundle: base", "Bundle: broken"))
    # the project's models folder ships stage 1's SpeUAE beside the default model: not offered either
    specs = [str(window.dock.model.itemData(i)) for i in range(window.dock.model.count())]
    assert not any(s.rstrip("/").endswith("/speuae") for s in specs)


def test_a_diffusion_model_fills_in_its_recommended_sampling(window):
    """The shipped default recommends its sampling (training.json → sampling): a first run shows it, and picking
    the model again after changing the numbers brings it back."""
    from hsi_studio.core.ml.reconstruct import default_model_path, model_defaults

    dock = window.dock
    rec = model_defaults(default_model_path())
    assert (dock.steps.value(), dock.samples.value()) == (rec["steps"], rec["samples"])
    dock.steps.setValue(17)
    dock.samples.setValue(9)
    dock.model.setCurrentIndex(dock.model.findData("physics:otsu2018"))
    dock._model_activated()
    dock._model_picked()  # what a run calls: the user's numbers stay
    assert (dock.steps.value(), dock.samples.value()) == (17, 9)
    dock.model.setCurrentIndex(dock.model.findData("default"))
    dock._model_activated()
    assert (dock.steps.value(), dock.samples.value()) == (rec["steps"], rec["samples"])
