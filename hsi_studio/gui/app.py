"""``main(argv)``: start the desktop app. ``hsi-studio`` with no subcommand calls it; file paths in ``argv``
are opened. Torch is not imported here: the window appears before anything heavy loads.

``HSI_STUDIO_SMOKE=1`` (:func:`hsi_studio.core.settings.smoke_run`) makes the app print one JSON line once its
window is shown (``shown_at``: wall-clock ``time.time()``, so the caller can subtract its own start time; whether
torch is loaded) and quit — the launch benchmark and packaging smoke tests use it; it touches neither the user's
QSettings nor their settings file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

from hsi_studio.gui import APPLICATION, ORGANIZATION
from hsi_studio.services import settings as user_settings


def _limit_blas_threads() -> None:
    """Small matrix products on the GUI thread run fastest single-threaded; with several BLAS threads on
    a busy machine (e.g. while a reconstruction runs) a 512² render can take 10× longer. Only takes effect
    before numpy is first imported; an explicit setting by the user wins."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def create_application(argv: Sequence[str] | None = None):
    """The QApplication (created once), with the names QSettings uses."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "hsi-studio", *(argv or [])])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    from hsi_studio import __version__

    app.setApplicationVersion(__version__)
    return app


def file_arguments(argv: Sequence[str]) -> list[str]:
    """The paths among the arguments (options such as macOS's ``-psn_…`` and Qt's own are skipped)."""
    return [a for a in argv if a and not a.startswith("-")]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _limit_blas_threads()
    smoke = user_settings.smoke_run()
    app = create_application([a for a in argv if a.startswith("-")])
    from hsi_studio.gui.main_window import MainWindow

    settings = None
    if smoke:  # a smoke run must not touch the user's settings (window geometry, recent files)
        import tempfile

        from PySide6.QtCore import QSettings

        scratch = tempfile.TemporaryDirectory(prefix="hsi-smoke-")
        settings = QSettings(os.path.join(scratch.name, "settings.ini"), QSettings.Format.IniFormat)
        os.environ[user_settings.ENV_CONFIG] = scratch.name  # nor the settings file (its model folders)
    window = MainWindow(settings, warm_up=not smoke)
    window.show()
    for path in file_arguments(argv):
        window.open_path(path)
    if smoke:
        from PySide6.QtCore import QTimer

        def report() -> None:
            print(json.dumps({"shown_at": time.time(), "torch": "torch" in sys.modules,
                              "visible": window.isVisible()}), flush=True)
            window.close()

        QTimer.singleShot(0, report)
    code = int(app.exec())
    if smoke:
        del settings
        scratch.cleanup()
    return code


__all__ = ["main", "create_application", "file_arguments"]
