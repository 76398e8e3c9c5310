"""Dialogs: error boxes (never a traceback in the user's face: it goes in a details box), the About box,
and file-dialog filters built from core's reader / writer extension lists."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from hsi_studio import __version__
from hsi_studio.services import files


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    """A non-blocking (window-modal) error box: one-line message, optional details (e.g. a traceback)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("error_dialog")
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()
    return box


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Versions for the About box, read from package metadata: nothing heavy (torch) is imported."""
    import numpy
    import pyqtgraph
    import PySide6

    torch = _version("torch")
    if "torch" not in sys.modules and torch != "not installed":
        torch += " (not loaded yet)"
    return {
        "HSI Studio": __version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
        "NumPy": numpy.__version__,
        "colour-science": _version("colour-science"),
        "PyTorch": torch,
        "diffusers": _version("diffusers"),
        "Platform": platform.platform(terse=True),
    }


def about_html() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions().items())
    return ("<h3>HSI Studio</h3><p>Reconstruct 31-band hyperspectral cubes (400–700 nm) from RGB photos, "
            "explore them and relight them under any illuminant.</p>"
            f"<table>{rows}</table>")


def show_about(parent: QWidget | None) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "About HSI Studio", about_html(),
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("about_dialog")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()
    return box


open_filter = files.open_filter  # the file dialogs' filters come from core.io's format registry
cube_filter = files.cube_filter
cube_write_filters = files.cube_write_filters  # one per writer (the filter implies the format), the folder last
FOLDER_FILTER = files.FOLDER_FILTER


def extension_from_filter(selected: str) -> str:
    """``"H5 cube (*.h5)"`` → ``".h5"`` (empty when the filter names no single extension)."""
    if "(*" in selected and selected.endswith(")"):
        ext = selected.rsplit("(*", 1)[1][:-1]
        return ext if ext.startswith(".") and " " not in ext else ""
    return ""


__all__ = ["about_html", "cube_filter", "cube_write_filters", "extension_from_filter", "open_filter",
           "show_about", "show_error", "versions"]
