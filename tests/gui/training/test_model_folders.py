"""The dock's model folders live in the settings file the command line reads (hsi_studio.core.settings): a model
trained in the desktop app shows in ``hsi-studio models``; the old QSettings list is moved there once."""

from __future__ import annotations

import json

from factories import fake_bundle

from hsi_studio.cli import main
from hsi_studio.core import settings as user_settings
from hsi_studio.gui.training.model_folders import MOVED_KEY


def test_a_model_trained_in_the_app_shows_in_hsi_studio_models(window, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(user_settings.ENV_CONFIG)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    bundle = fake_bundle(tmp_path / "runs" / "my-uldm")
    window._model_trained(str(bundle))  # what the training wizard's model_ready does
    assert window.dock.model.currentData() == str(bundle)
    assert user_settings.user_model_dirs() == [tmp_path / "runs"]
    assert main(["models", "--json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["my-uldm"]["label"] == "Bundle: my-uldm" and rows["my-uldm"]["available"]


def test_a_picked_folder_is_saved_when_the_window_closes(qtbot, settings, tmp_path):
    from hsi_studio.gui.main_window import MainWindow

    fake_bundle(tmp_path / "picked" / "a")
    win = MainWindow(settings, warm_up=False)
    qtbot.addWidget(win)
    win.dock.choose_models_folder(str(tmp_path / "picked"))
    win.close()
    assert user_settings.user_model_dirs() == [tmp_path / "picked"]


def test_the_old_qsettings_folders_move_to_the_settings_file_once(qtbot, settings, tmp_path):
    from hsi_studio.gui.main_window import MainWindow

    old, legacy = fake_bundle(tmp_path / "old" / "a").parent, fake_bundle(tmp_path / "legacy" / "b").parent
    settings.setValue("reconstruct/models_dirs", [str(old)])
    settings.setValue("reconstruct/models_dir", str(legacy))
    first = MainWindow(settings, warm_up=False)
    qtbot.addWidget(first)
    assert user_settings.user_model_dirs() == [old, legacy] and settings.value(MOVED_KEY, False, bool)
    labels = [first.dock.model.itemText(i) for i in range(first.dock.model.count())]
    assert "Bundle: a" in labels and "Bundle: b" in labels
    first.close()
    # the settings file is the list now: a folder removed from it stays removed (QSettings only mirrors it)
    user_settings.save(model_dirs=[str(old)])
    second = MainWindow(settings, warm_up=False)
    qtbot.addWidget(second)
    assert second.dock.extra_model_dirs == [str(old)]
    second.close()
    assert user_settings.user_model_dirs() == [old]
