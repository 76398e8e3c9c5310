"""Dialogs: error boxes (never a traceback in the user's face: it goes in a details box), the About box,
and file-dialog filters built from core's reader / writer extension lists."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from hsi_studio import __version__


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


def _extensions(name: str) -> tuple[str, ...]:
    """One of core.io's extension lists (``CUBE_READ_EXTENSIONS``, ``CUBE_WRITE_EXTENSIONS``, ``RGB_EXTENSIONS``);
    core.io is imported when a dialog first needs it (its readers pull in h5py, tifffile, …)."""
    from hsi_studio.core.io import api as io

    return tuple(getattr(io, name))


def _patterns(exts) -> str:
    return " ".join(f"*{e}" for e in exts)


def open_filter() -> str:
    cubes = _extensions("CUBE_READ_EXTENSIONS")
    rgb = _extensions("PHOTO_EXTENSIONS")
    everything = sorted(set(cubes) | set(rgb))
    return ";;".join([f"Images and cubes ({_patterns(everything)})", f"Photos, incl. camera RAW ({_patterns(rgb)})",
                      f"Cubes ({_patterns(cubes)})", "All files (*)"])


def cube_filter() -> str:
    cubes = _extensions("CUBE_READ_EXTENSIONS")
    return ";;".join([f"Cubes ({_patterns(cubes)})", "All files (*)"])


FOLDER_FILTER = "Folder of 16-bit PNG bands (*)"


def cube_write_filters() -> list[str]:
    """One filter per writer (the chosen filter implies the format), then the PNG band folder."""
    from hsi_studio.core.io.formats import FORMAT_NAMES

    exts = _extensions("CUBE_WRITE_EXTENSIONS")
    return [f"{FORMAT_NAMES.get(e, e.lstrip('.').upper())} cube (*{e})" for e in exts] + [FOLDER_FILTER]


def extension_from_filter(selected: str) -> str:
    """``"H5 cube (*.h5)"`` → ``".h5"`` (empty when the filter names no single extension)."""
    if "(*" in selected and selected.endswith(")"):
        ext = selected.rsplit("(*", 1)[1][:-1]
        return ext if ext.startswith(".") and " " not in ext else ""
    return ""


__all__ = ["about_html", "cube_filter", "cube_write_filters", "extension_from_filter", "open_filter",
           "show_about", "show_error", "versions"]
