"""The Reconstruct dock's model folders, kept in the settings file the command line reads too
(:mod:`hsi_studio.core.settings`, through :mod:`hsi_studio.services.models`): a folder the user picks, or the
folder of a model trained in the wizard, then shows in ``hsi-studio models`` and ``--model NAME``.

Earlier versions kept the folders only in QSettings (``reconstruct/models_dirs``); they are moved to the settings
file once (``reconstruct/models_dirs_moved`` marks it). Afterwards the settings file is the list the dock starts
from, and the dock's QSettings value is only a mirror.
"""

from __future__ import annotations

from hsi_studio.services.models import remember_model_folders, user_model_folders

#: QSettings key marking that the old QSettings list was moved to the settings file
MOVED_KEY = "reconstruct/models_dirs_moved"


def adopt(dock, qsettings) -> None:
    """At start-up: move the old QSettings folders into the settings file (once), then give the dock the settings
    file's folders and keep them saved when the user picks a folder."""
    moved = qsettings is None or qsettings.value(MOVED_KEY, False, bool)
    if not moved and remember_model_folders(dock.extra_model_dirs):
        qsettings.setValue(MOVED_KEY, True)
        moved = True
    folders = [str(p) for p in user_model_folders()]
    if moved and folders != dock.extra_model_dirs:
        dock.extra_model_dirs = folders
        dock.refresh_models()
    dock.models_btn.clicked.connect(lambda *_: save(dock))  # runs after the dock's folder dialog


def save(dock) -> None:
    """Remember the dock's folders in the settings file (a folder picked, a model trained, the window closing)."""
    remember_model_folders(dock.extra_model_dirs)


__all__ = ["MOVED_KEY", "adopt", "save"]
