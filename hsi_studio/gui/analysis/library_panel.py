"""The spectral library page of the Analyse tab: the entries (colour, name), load / save (.sli, .csv), the
shipped ColorChecker library, adding the spectra shown elsewhere, and a pixel's ranked matches (SAM, SID).
Numerics live in core, behind :mod:`hsi_studio.services.analysis`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.errors import InputError
from hsi_studio.services import analysis

LIB_FILTERS = "Spectral library (*.sli *.hdr *.csv);;ENVI spectral library (*.sli);;CSV (*.csv)"


def entry_colour(i: int) -> QColor:
    """A plot colour for entry ``i`` when its own colour is unknown (no band in the visible range)."""
    return pg.intColor(i, hues=12, values=2, minValue=200)


#: drawn under each library curve, so a dark colour (a black patch, deep blue) shows on the black plot
OUTLINE_PEN = pg.mkPen((190, 190, 190), width=3.5)


class LibraryPanel(QWidget):
    """Holds one :class:`~hsi_studio.services.analysis.SpectralLibrary`; ``selection_changed`` fires with the
    selected entries (names) so the Analyse tab plots them; ``failed(title, message)`` reports bad files."""

    selection_changed = Signal(list)
    library_changed = Signal()
    failed = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.lib: analysis.SpectralLibrary | None = None
        self.source_name = ""
        self.wavelengths: np.ndarray | None = None  # the cube's grid
        self.colours: np.ndarray | None = None  # (N, 3) uint8: each entry rendered under D65 (core.library)
        self._build()

    def _build(self) -> None:
        self.title = QLabel("No library loaded")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["", "Spectrum (select to plot)"])
        self.table.setColumnWidth(0, 24)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(lambda: self.selection_changed.emit(self.selected_names()))
        self.load_btn, self.save_btn = QPushButton("Load…"), QPushButton("Save…")
        self.builtin_btn = QPushButton("ColorChecker")
        self.builtin_btn.setToolTip("The 24 ColorChecker patches' reflectances (shipped with HSI Studio)")
        self.remove_btn = QPushButton("Remove")
        self.load_btn.setToolTip("Load an ENVI spectral library (.sli/.hdr) or a CSV (wavelength_nm, spectra …)")
        self.save_btn.setToolTip("Save this library as ENVI .sli (readable by ENVI / SPy) or CSV")
        self.load_btn.clicked.connect(lambda: self.load())
        self.save_btn.clicked.connect(lambda: self.save())
        self.builtin_btn.clicked.connect(lambda: self.load("builtin:colorchecker"))
        self.remove_btn.clicked.connect(self.remove_selected)
        self.matches = QTableWidget(0, 3)
        self.matches.setHorizontalHeaderLabels(["Closest to the clicked pixel", "SAM °", "SID"])
        self.matches.horizontalHeader().setStretchLastSection(False)
        self.matches.horizontalHeader().setSectionResizeMode(0, self.matches.horizontalHeader().ResizeMode.Stretch)
        self.matches.verticalHeader().setVisible(False)
        self.matches.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.note = QLabel("Click a pixel of the image to rank the library against it.")
        self.note.setWordWrap(True)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for b in (self.load_btn, self.save_btn):
            row1.addWidget(b)
        for b in (self.builtin_btn, self.remove_btn):
            row2.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.title)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.table, 2)
        lay.addWidget(self.note)
        lay.addWidget(self.matches, 2)
        self._sync()

    # -- contents -----------------------------------------------------------------------------------------
    def set_grid(self, wavelengths: np.ndarray | None) -> None:
        self.wavelengths = wavelengths
        self.matches.setRowCount(0)

    def set_library(self, lib: analysis.SpectralLibrary | None, name: str = "") -> None:
        self.lib, self.source_name = lib, name
        self.colours = None if lib is None else analysis.display_colours(lib)
        self.table.setRowCount(0 if lib is None else len(lib))
        for i, n in enumerate(lib.names if lib is not None else []):
            swatch = QTableWidgetItem("")  # the entry's colour under D65, which is also its curve's colour
            swatch.setBackground(self.colour(i))
            icon = QPixmap(14, 14)  # the colour again as an icon: still visible when the row is selected
            icon.fill(self.colour(i))
            swatch.setIcon(QIcon(icon))
            swatch.setToolTip("Its colour as a reflectance under D65 (sRGB)" if self.colours is not None
                              else "No band in the visible range: a plot colour")
            self.table.setItem(i, 0, swatch)
            self.table.setItem(i, 1, QTableWidgetItem(n))
        self.matches.setRowCount(0)
        self._sync()
        self.library_changed.emit()
        self.selection_changed.emit(self.selected_names())

    def colour(self, i: int) -> QColor:
        """Entry ``i``'s colour: its spectrum rendered under D65, else a plot colour."""
        if self.colours is not None and i < len(self.colours):
            return QColor(*(int(v) for v in self.colours[i]))
        return entry_colour(i)

    def _sync(self) -> None:
        n = 0 if self.lib is None else len(self.lib)
        if self.lib is None:
            self.title.setText("No library loaded: load one, or start with the ColorChecker or spectra you add")
        else:
            grid = self.lib.wavelengths
            self.title.setText(f"{self.source_name or 'Library'}: {n} spectra, {grid[0]:g}–{grid[-1]:g} nm "
                               f"({grid.size} bands)")
        self.save_btn.setEnabled(n > 0)
        self.remove_btn.setEnabled(n > 0)

    def selected_names(self) -> list[str]:
        if self.lib is None:
            return []
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.lib.names[r] for r in rows if r < len(self.lib)]

    def on_grid(self) -> tuple[analysis.SpectralLibrary, str] | None:
        """The library on the cube's grid (with the resampling note) or None (no library / no cube); a grid
        the library does not cover is reported through ``failed`` and gives None."""
        if self.lib is None or self.wavelengths is None:
            return None
        try:
            return self.lib.on_grid(self.wavelengths)
        except InputError as exc:
            self.failed.emit("Library does not fit the cube", str(exc))
            return None

    def add(self, name: str, spectrum: np.ndarray, wavelengths: np.ndarray) -> None:
        """Append a spectrum (resampled onto the library's grid when it has one)."""
        if self.lib is None:
            self.set_library(analysis.SpectralLibrary([name], wavelengths, spectrum), "My spectra")
            return
        try:
            self.set_library(self.lib.add(_unique(name, self.lib.names), spectrum, wavelengths), self.source_name)
        except InputError as exc:
            self.failed.emit("Cannot add the spectrum", str(exc))

    def remove_selected(self) -> None:
        if self.lib is None:
            return
        keep = [i for i, n in enumerate(self.lib.names) if n not in set(self.selected_names())]
        if not keep:
            self.set_library(None)
            return
        self.set_library(analysis.SpectralLibrary([self.lib.names[i] for i in keep], self.lib.wavelengths,
                                                 self.lib.spectra[keep], self.lib.description), self.source_name)

    # -- files --------------------------------------------------------------------------------------------
    def load(self, path: str | Path | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load a spectral library", "", LIB_FILTERS)
            if not path:
                return False
        try:
            lib = analysis.read_library(path)
        except InputError as exc:
            self.failed.emit("Cannot load the library", str(exc))
            return False
        name = "ColorChecker (built in)" if str(path).startswith("builtin:") else Path(path).name
        self.set_library(lib, name)
        return True

    def save(self, path: str | Path | None = None) -> Path | None:
        if self.lib is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save the spectral library", "library.sli", LIB_FILTERS)
            if not path:
                return None
            if Path(path).suffix.lower() not in (".sli", ".hdr", ".csv"):
                path += ".sli"
        try:
            return analysis.write_library(self.lib, path)
        except (InputError, OSError) as exc:
            self.failed.emit("Cannot save the library", str(exc))
            return None

    # -- matching -----------------------------------------------------------------------------------------
    def match(self, spectrum: np.ndarray, label: str) -> list[analysis.Match]:
        fitted = self.on_grid()
        if fitted is None:
            self.matches.setRowCount(0)
            return []
        lib, note = fitted
        try:
            ranked = analysis.match_spectrum(spectrum, lib)
        except InputError as exc:
            self.note.setText(f"{label}: {exc}")
            self.matches.setRowCount(0)
            return []
        self.note.setText(f"{label}, ranked by spectral angle" + (f" ({note})" if note else ""))
        self.matches.setRowCount(len(ranked))
        for r, m in enumerate(ranked):
            cells = (m.name, f"{m.sam_deg:.2f}", f"{m.sid:.4f}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.matches.setItem(r, c, item)
        self.matches.resizeColumnsToContents()
        return ranked


def _unique(name: str, names: list[str]) -> str:
    if name not in names:
        return name
    i = 2
    while f"{name} ({i})" in names:
        i += 1
    return f"{name} ({i})"


__all__ = ["LibraryPanel", "OUTLINE_PEN", "entry_colour"]
