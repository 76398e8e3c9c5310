"""1. The training data: a folder of cubes (format auto-detected), its validation report (a worker runs
:func:`~hsi_studio.services.training_data.scan_folder`), and the train / validation split."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
)

from hsi_studio.gui.training.wizard.common import Page, folder_row, table
from hsi_studio.services.training_data import scan_folder

COL_VAL, COL_FILE, COL_FORMAT, COL_STATUS = 0, 1, 2, 6  # the data page's table


class DataPage(Page):
    """1. A folder of cubes (format auto-detected), its validation report, and the train/validation split."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Training data")
        self.setSubTitle("A folder of hyperspectral cubes (ENVI, HDF5, MATLAB, CAVE PNG folders, TIFF, NumPy). "
                         "Every file is checked; files that cannot be used are listed with the reason.")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Folder of cubes")
        self.browse = QPushButton("Browse…")
        self.summary = QLabel("Choose a folder.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = table(["Validation", "File", "Format", "Shape", "Bands", "Range (nm)", "Status"],
                            stretch=(COL_FILE, COL_STATUS))
        self.table.horizontalHeaderItem(COL_VAL).setToolTip("Ticked: held out for validation (never trained on)")
        self.table.horizontalHeader().setSectionResizeMode(COL_VAL, QHeaderView.ResizeMode.ResizeToContents)
        self.val_fraction = QSpinBox()
        self.val_fraction.setRange(0, 90)
        self.val_fraction.setSuffix(" %")
        self.val_fraction.setValue(20)
        self.val_fraction.setToolTip("Share of the good cubes held out for validation (ticked in the table; "
                                     "tick or untick files to choose them yourself)")
        self.generated = QDoubleSpinBox()
        self.generated.setRange(0.0, 1.0)
        self.generated.setSingleStep(0.1)
        self.generated.setValue(0.5)
        self.generated.setToolTip("Fraction of each batch drawn from generated scenes (measured reflectances "
                                  "under measured illuminants on real photo layouts)")
        self.generated_only = QCheckBox("No cubes: train on generated scenes only")
        self.lighting = QComboBox()
        self.lighting.addItem("varied lights", "varied")
        self.lighting.addItem("flat light (reflectance, white-balanced)", "flat")
        self.lighting.setToolTip("How generated scenes are lit. Varied: measured, daylight, black-body and "
                                 "catalogue illuminants (radiance before white balance). Flat: the equal-energy "
                                 "illuminant, so radiance equals reflectance — the convention of CAVE-style "
                                 "reflectance cubes and of white-balanced photos.")
        self.report: dict | None = None
        self.error: str | None = None
        self._job = None
        self._updating = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self.scan)

        split = QHBoxLayout()
        split.addWidget(QLabel("Validation"))
        split.addWidget(self.val_fraction)
        split.addSpacing(16)
        split.addWidget(QLabel("Generated scenes per batch"))
        split.addWidget(self.generated)
        split.addWidget(QLabel("lit by"))
        split.addWidget(self.lighting)
        split.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(folder_row(self.folder, self.browse))
        lay.addWidget(self.generated_only)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(split)
        self.browse.clicked.connect(self.choose)
        self.folder.textChanged.connect(lambda _t: self._timer.start())
        self.generated_only.toggled.connect(self._generated_only)
        self.val_fraction.valueChanged.connect(lambda _v: self._default_split())
        self.table.itemChanged.connect(lambda _i: None if self._updating else self.completeChanged.emit())

    def choose(self) -> None:
        start = self.folder.text() or (self.settings.value("train/data", "", str) if self.settings else "")
        folder = QFileDialog.getExistingDirectory(self, "Folder of hyperspectral cubes", start)
        if folder:
            self.folder.setText(folder)

    def _generated_only(self, on: bool) -> None:
        self.folder.setEnabled(not on)
        self.browse.setEnabled(not on)
        self.val_fraction.setEnabled(not on)
        if on:
            self.generated.setValue(1.0)
        self.completeChanged.emit()

    def scan(self) -> None:
        self._timer.stop()
        text = self.folder.text().strip()
        if self._job is not None:
            self._job.cancel()
        self.report, self.error = None, None
        self._fill([])
        if not text:
            self.summary.setText("Choose a folder.")
            self.completeChanged.emit()
            return
        self.summary.setText(f"Checking {text}…")
        job = self.jobs.start(scan_folder, text, name="scan-data", on_finished=self._scanned,
                              on_failed=self._scan_failed)
        self._job = job
        job.done.connect(lambda j=job: setattr(self, "_job", None) if self._job is j else None)
        self.completeChanged.emit()

    def _scanned(self, report: dict) -> None:
        if report.get("folder") != self.folder.text().strip() and \
                Path(report.get("folder") or "") != Path(self.folder.text().strip()):
            return  # an older scan
        self.report = report
        good, listed, refused = report["cubes"], report["listed"], report["refused"]
        if listed == 0:
            self.error = f"{report['folder']} holds no files HSI Studio reads as cubes."
        elif good == 0:
            self.error = f"None of the {listed} files can be used for training ({len(refused)} refused, see below)."
        if self.error:
            self.summary.setText(f"<b style='color:#b00020'>{self.error}</b> Expected cubes with at least "
                                 "400–700 nm covered at ≤ 20 nm spacing.")
        else:
            shapes = ", ".join(f"{k} ×{v}" for k, v in report["shapes"].items())
            bands = ", ".join(f"{k} ×{v}" for k, v in report["bands"].items())
            lo, hi = report["range_nm"]
            self.summary.setText(
                f"<b>{good} usable cube(s)</b> of {listed} listed; {len(refused)} refused. Shapes: {shapes}. "
                f"Bands: {bands}. Wavelengths {lo:g}–{hi:g} nm, resampled to {report['grid']} "
                f"({report['resampled']} resampled). {report['pixels'] / 1e6:.2f} MP in all.")
        rows = [("", f["file"], report["formats"].get(f["file"], "?"), "×".join(map(str, f["shape"])),
                 str(f["bands"]), f"{f['range_nm'][0]:g}–{f['range_nm'][1]:g}", "ok") for f in report["files"]]
        rows += [("", r["file"], report["formats"].get(r["file"], "?"), "", "", "", f"refused: {r['reason']}")
                 for r in refused]
        self._fill(rows)
        self._default_split()
        if self.settings is not None and not self.error:
            self.settings.setValue("train/data", self.folder.text().strip())
        self.completeChanged.emit()

    def _scan_failed(self, message: str, _details: str) -> None:
        self.report, self.error = None, message
        self.summary.setText(f"<b style='color:#b00020'>{message}</b>")
        self.completeChanged.emit()

    def _fill(self, rows: list[tuple]) -> None:
        self._updating = True
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                ok = values[COL_STATUS] == "ok"
                if c == COL_VAL and ok:
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Unchecked)
                    item.setToolTip("Ticked: held out for validation (never trained on)")
                if not ok:
                    item.setForeground(Qt.GlobalColor.darkRed)
                    item.setToolTip(values[COL_STATUS])
                self.table.setItem(r, c, item)
        self._updating = False

    def _default_split(self) -> None:
        """Tick the validation cubes the training stages would choose (core's ``split_validation``: the last
        ``val_fraction`` of the good cubes, at least one when there are two or more)."""
        from hsi_studio.services.training import split_validation

        if not self.report:
            return
        good = [r for r in range(self.table.rowCount()) if self.table.item(r, COL_STATUS).text() == "ok"]
        _train, val = split_validation(good, self.val_fraction.value() / 100)
        self._updating = True
        for r in good:
            state = Qt.CheckState.Checked if r in val else Qt.CheckState.Unchecked
            self.table.item(r, COL_VAL).setCheckState(state)
        self._updating = False
        self.completeChanged.emit()

    def validation_files(self) -> list[str]:
        if not self.report or self.generated_only.isChecked():
            return []
        paths = self.report["paths"]
        return [paths[self.table.item(r, COL_FILE).text()] for r in range(self.table.rowCount())
                if self.table.item(r, COL_VAL).checkState() == Qt.CheckState.Checked]

    def train_count(self) -> int:
        return (self.report or {}).get("cubes", 0) - len(self.validation_files())

    def isComplete(self) -> bool:  # Qt override
        if self.generated_only.isChecked():
            return True
        return bool(self.report) and not self.error and self.train_count() >= 1

    def data_folder(self) -> str | None:
        return None if self.generated_only.isChecked() else self.folder.text().strip() or None


__all__ = ["COL_FILE", "COL_FORMAT", "COL_STATUS", "COL_VAL", "DataPage"]
