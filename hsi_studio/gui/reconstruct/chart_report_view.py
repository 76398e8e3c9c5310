"""The chart report window (non-modal): how well the ColorChecker in a chart-calibrated photo was corrected, and how
well the reconstruction reproduces the chart's measured spectra.

A header line (the correction, mean ΔE2000 before → after scored leave-one-out, the mean spectral angle), a
sortable table of the 24 patches (patches left out of the fit greyed), a 6×4 grid of small plots (the measured
reflectance in black, the reconstruction in red), the notes that say what each number means, and **Export…**,
which writes ``<stem>_chart.json/.csv/.png`` (``services.photo.write_chart_report``, atomic) on a worker.
The report itself is ``services.photo.chart_report``, computed on a worker by :func:`compute_report`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from hsi_studio.services.photo import chart_report, write_chart_report

COLUMNS = ("#", "Patch", "Usable", "ΔE\nbefore", "ΔE after\n(LOO)", "SAM °")
WIDTHS = (30, None, 50, 58, 68, 54)  # None: the name stretches
GREY = QColor(150, 150, 150)


def compute_report(prepared, cube, *, source: str = "", model: str = "", progress=None, cancel=None) -> dict:
    """The chart report of a reconstruction ``cube`` of ``prepared`` (scored as reflectance); for a worker."""
    from hsi_studio.services.relighting import to_reflectance

    if progress is not None:
        progress(0.0, "scoring the chart's patches")
    return chart_report(prepared, to_reflectance(cube)[0], source=source, model=model)


def header_text(report: dict) -> str:
    spectra = report.get("spectra") or {}
    sam = spectra.get("sam_mean_deg")
    parts = [f"<b>{report.get('correction', '')}</b>",
             f"ΔE2000 {report['delta_e_before_mean']:.2f} before → <b>{report['delta_e_after_loo_mean']:.2f}</b> "
             f"after (leave-one-out), {report.get('patches_used', 24)} of 24 patches used"]
    if sam is not None:
        parts.append(f"mean SAM <b>{sam:.2f}°</b>")
    who = " of ".join(Path(str(v)).name for v in (report.get("model"), report.get("source")) if v)
    legend = "plots: measured reflectance <b>black</b>, reconstruction <b style='color:#dc1e1e'>red</b>"
    return " · ".join(parts) + "<br><small>" + " · ".join(t for t in (who, legend if sam is not None else "") if t) \
        + "</small>"


class _Item(QTableWidgetItem):
    """A table cell that sorts by a number (or text) rather than by what it shows."""

    def __init__(self, text: str, key) -> None:
        super().__init__(text)
        self.key = key
        self.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)

    def __lt__(self, other) -> bool:
        if isinstance(other, _Item):
            a, b = self.key, other.key
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                return a < b
            return str(a) < str(b)
        return super().__lt__(other)


def _number(value) -> tuple[str, float]:
    if value is None:
        return "—", float("inf")
    return f"{float(value):.2f}", float(value)


class ChartReportView(QDialog):
    """Shows one report (:meth:`set_report`); ``jobs`` runs the export."""

    exported = Signal(list)  # the written paths

    def __init__(self, jobs, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("chart_report")
        self.setWindowTitle("Chart report")
        self.setModal(False)
        self.jobs = jobs
        self.report: dict | None = None
        self.stem = "photo"
        self.job = None
        self.last_dir = str(Path.home())
        self.header = QLabel("")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        head = self.table.horizontalHeader()
        for c, width in enumerate(WIDTHS):
            if width is None:
                head.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
            else:
                head.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
                self.table.setColumnWidth(c, width)
        self.table.horizontalHeaderItem(4).setToolTip("ΔE2000 of the patch corrected by a fit that left it out")
        self.table.horizontalHeaderItem(5).setToolTip("spectral angle between the reconstructed and measured "
                                                      "reflectance of the patch")
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setMinimumSize(420, 300)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        small = QFont(self.notes.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 7.0))
        self.notes.setFont(small)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("Write <photo>_chart.json, .csv and .png into a folder")
        self.close_btn = QPushButton("Close")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.plots)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([440, 720])
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.export_btn)
        buttons.addWidget(self.close_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(split, 1)
        lay.addWidget(self.notes)
        lay.addLayout(buttons)
        self.export_btn.clicked.connect(lambda _c=False: self.export())
        self.close_btn.clicked.connect(self.close)
        self.resize(1180, 640)

    # -- content ------------------------------------------------------------------------------------------
    def set_report(self, report: dict, stem: str = "photo") -> None:
        self.report, self.stem = report, stem or "photo"
        self.header.setText(header_text(report))
        self._fill_table(report["patches"])
        self._fill_plots(report)
        self.notes.setText("\n".join(f"• {n}" for n in report.get("notes", [])))
        self.status.setText("")

    def _fill_table(self, patches: list[dict]) -> None:
        t = self.table
        t.setSortingEnabled(False)
        t.clearContents()
        t.setRowCount(len(patches))
        for r, row in enumerate(patches):
            cells = [_Item(str(row["index"]), int(row["index"])), _Item(row["name"], row["name"]),
                     _Item("yes" if row["usable"] else "no", int(bool(row["usable"])))]
            for key in ("delta_e_before", "delta_e_after_loo", "sam_deg"):
                cells.append(_Item(*_number(row.get(key))))
            for c, item in enumerate(cells):
                if c != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if not row["usable"]:
                    item.setForeground(GREY)
                    item.setToolTip("clipped or black in the photo: left out of the fit")
                t.setItem(r, c, item)
        t.setSortingEnabled(True)
        t.sortByColumn(0, Qt.SortOrder.AscendingOrder)

    def _fill_plots(self, report: dict) -> None:
        self.plots.clear()
        self.panels = []
        spectra = report.get("spectra")
        if not spectra:
            return
        wl = np.asarray(spectra["wavelengths"], dtype=float)
        rec = np.asarray(spectra["reconstructed"], dtype=float)
        ref = np.asarray(spectra["reference"], dtype=float)
        top = float(max(np.nanmax(rec), np.nanmax(ref), 0.1)) * 1.05
        tick_font = QFont()
        tick_font.setPointSize(7)
        first = None
        for i, row in enumerate(report["patches"]):
            r, c = divmod(i, 6)
            p = self.plots.addPlot(row=r, col=c)
            sam = row.get("sam_deg")
            colour = "#888888" if not row["usable"] else "#000000"
            name = row["name"].split(" (")[0]  # "white 9.5 (.05 D)" → "white 9.5": the titles stay narrow
            p.setTitle(f"{row['index']} {name}" + (f" · {sam:.1f}°" if sam is not None else ""),
                       size="7pt", color=colour)
            p.plot(wl, ref[i], pen=pg.mkPen((0, 0, 0), width=1.5))
            p.plot(wl, rec[i], pen=pg.mkPen((220, 30, 30), width=1.5))
            p.setMouseEnabled(False, False)
            p.hideButtons()
            p.setMenuEnabled(False)
            for name in ("left", "bottom"):
                axis = p.getAxis(name)
                axis.setStyle(tickFont=tick_font, tickLength=-3)
                axis.setPen(pg.mkPen((90, 90, 90)))
                axis.setTextPen(pg.mkPen((60, 60, 60)))
            p.showAxis("left", c == 0)
            p.showAxis("bottom", r == 3)
            if first is None:
                first = p
                p.setXRange(float(wl[0]), float(wl[-1]), padding=0)
                p.setYRange(0.0, top, padding=0)
            else:
                p.setXLink(first)
                p.setYLink(first)
            self.panels.append(p)

    # -- export -------------------------------------------------------------------------------------------
    def export(self, folder: str | Path | None = None):
        """Write the report into ``folder`` (asked for when None) on a worker; the job, or None."""
        if self.report is None or self.jobs.closed or (self.job is not None and self.job.running):
            return None
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder for the chart report", self.last_dir)
            if not folder:
                return None
        self.last_dir = str(folder)
        self.status.setStyleSheet("")
        self.status.setText(f"Writing {self.stem}_chart.json, .csv and .png…")
        self.export_btn.setEnabled(False)
        self.job = self.jobs.start(write_chart_report, self.report, Path(folder), self.stem, name="chart-export",
                                   pass_progress=False, on_finished=self._written, on_failed=self._not_written)
        self.job.done.connect(lambda: self.export_btn.setEnabled(True))
        return self.job

    def _written(self, paths: list) -> None:
        self.status.setStyleSheet("")
        self.status.setText("Wrote " + ", ".join(Path(p).name for p in paths) + f" in {Path(paths[0]).parent}")
        self.exported.emit(list(paths))

    def _not_written(self, message: str, _details: str) -> None:
        self.status.setStyleSheet("color: #c62828;")
        self.status.setText(f"Could not write the chart report: {message}")


class ChartReportActions:
    """The chart report, for :class:`~.main_window.MainWindow` (``jobs``, ``cube``, ``source``, the status bar):
    scored on a worker after a reconstruction of a chart-calibrated photo, then shown (Reconstruct ▸ Chart
    report…)."""

    def _start_chart_report(self, prepared, result, model: str) -> None:
        cube = result.cube
        self.jobs.start(compute_report, prepared, cube, source=str(self.source or ""), model=model,
                        name="chart-report", on_finished=lambda rep: self._chart_report_ready(cube, rep),
                        on_failed=lambda m, d: self.statusBar().showMessage(f"No chart report: {m}", 10000))

    def _chart_report_ready(self, cube, report: dict) -> None:
        if self._closing or cube is not self.cube:  # another cube came first: this report is not of it
            return
        self.chart_report = report
        self._sync_actions()
        self.show_chart_report()
        sam = (report.get("spectra") or {}).get("sam_mean_deg")
        self.statusBar().showMessage(f"Chart report: ΔE2000 {report['delta_e_after_loo_mean']:.2f} after correction "
                                     "(leave-one-out)" + (f", mean SAM {sam:.2f}°" if sam is not None else ""),
                                     10000)

    def show_chart_report(self):
        """Open (or raise) the chart report window of the last chart-calibrated reconstruction."""
        if self.chart_report is None:
            return None
        if self.report_view is None:
            self.report_view = ChartReportView(self.jobs, self)
            self.report_view.last_dir = self._last_dir()
        source = self.chart_report.get("source") or ""
        self.report_view.set_report(self.chart_report, Path(source).stem if source else "photo")
        self.report_view.show()
        self.report_view.raise_()
        return self.report_view


__all__ = ["ChartReportActions", "ChartReportView", "compute_report", "header_text"]
