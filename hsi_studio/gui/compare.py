"""Compare a reconstruction with a ground-truth cube: a metrics table (``metrics.evaluate``) and per-pixel
error maps (``metrics.error_maps``: MRAE, SAM, RMSE), computed on a worker."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.cube import HSCube

from . import tasks
from .band_view import ImageCanvas, colormap, display_levels

MAPS = {"mrae": "MRAE (relative)", "sam": "SAM (degrees)", "rmse": "RMSE"}
ROWS = (("mrae", "MRAE", "{:.4f}"), ("rmse", "RMSE", "{:.4f}"), ("psnr", "PSNR (dB)", "{:.2f}"),
        ("sam", "SAM (°)", "{:.2f}"), ("ssim", "SSIM", "{:.4f}"))


class CompareWidget(QWidget):
    """Ground truth beside the current cube."""

    load_requested = Signal()
    computed = Signal(dict)
    failed = Signal(str, str)

    def __init__(self, jobs=None, parent=None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.cube: HSCube | None = None
        self.gt: HSCube | None = None
        self.result: dict | None = None
        self._job = None
        self._build()

    def _build(self) -> None:
        self.load_btn = QPushButton("Load ground truth…")
        self.load_btn.setToolTip("A cube of the same scene and size (Ctrl+G)")
        self.load_btn.clicked.connect(self.load_requested)
        self.gt_label = QLabel("No ground truth loaded.")
        self.map_combo = QComboBox()
        for key, label in MAPS.items():
            self.map_combo.addItem(label, key)
        self.map_combo.currentIndexChanged.connect(lambda _i: self._show_map())
        self.table = QTableWidget(len(ROWS), 2)
        self.table.setHorizontalHeaderLabels(["Metric", "Value"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (_k, label, _f) in enumerate(ROWS):
            self.table.setItem(r, 0, QTableWidgetItem(label))
            self.table.setItem(r, 1, QTableWidgetItem("—"))
        self.table.setMinimumWidth(220)
        self.table.setMaximumWidth(320)
        self.canvas = ImageCanvas()
        self.canvas.bar.setColorMap(colormap("inferno"))
        top = QHBoxLayout()
        top.addWidget(self.load_btn)
        top.addWidget(self.gt_label, 1)
        top.addWidget(QLabel("Error map"))
        top.addWidget(self.map_combo)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.canvas)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(split, 1)

    # -- data ---------------------------------------------------------------------------------------------
    def set_cube(self, cube: HSCube | None) -> None:
        self.cube = cube
        self._recompute()

    def set_ground_truth(self, gt: HSCube | None, name: str = "") -> None:
        self.gt = gt
        self.gt_label.setText(f"Ground truth: {name or 'cube'} ({gt.width}×{gt.height}×{gt.bands})" if gt
                              else "No ground truth loaded.")
        self._recompute()

    def _recompute(self) -> None:
        self.result = None
        self._fill_table(None)
        self.canvas.image.clear()
        if self.cube is None or self.gt is None:
            return
        if self._job is not None:
            self._job.cancel()
        if self.jobs is not None and self.jobs.closed:
            return
        if self.jobs is None:
            self._done(tasks.compare(self.cube, self.gt))
            return
        self.gt_label.setText(self.gt_label.text().split(" — ")[0] + " — computing…")
        self._job = self.jobs.start(tasks.compare, self.cube, self.gt, name="compare", on_finished=self._done,
                                    on_failed=self._failed)
        self._job.done.connect(self._job_done)

    @Slot()
    def _job_done(self) -> None:
        if self._job is self.sender():
            self._job = None

    def _failed(self, message: str, details: str) -> None:
        self.gt_label.setText(self.gt_label.text().split(" — ")[0] + " — cannot compare")
        self.failed.emit(message, details)

    def _done(self, result: dict) -> None:
        if self.cube is None or self.gt is None or result["maps"]["mrae"].shape != self.cube.shape[:2]:
            return
        self.result = result
        self.gt_label.setText(self.gt_label.text().split(" — ")[0])
        self._fill_table(result["metrics"])
        self._show_map()
        self.computed.emit(result)

    def _fill_table(self, scores: dict | None) -> None:
        for r, (key, _label, fmt) in enumerate(ROWS):
            value = None if scores is None else scores.get(key)
            self.table.item(r, 1).setText("—" if value is None else fmt.format(value))

    def _show_map(self) -> None:
        if self.result is None:
            return
        data = np.asarray(self.result["maps"][self.map_combo.currentData()], dtype=np.float32)
        self.canvas.set_shape(*data.shape)
        lo, hi = display_levels(data, 0.0, 99.0)
        self.canvas.image.setImage(data, autoLevels=False, levels=(lo, hi))
        self.canvas.bar.rounding = max((hi - lo) * 1e-3, 1e-9)
        self.canvas.bar.setLevels((lo, hi))

    def metric_text(self, key: str) -> str:
        for r, (k, _label, _f) in enumerate(ROWS):
            if k == key:
                return self.table.item(r, 1).text()
        raise KeyError(key)


__all__ = ["CompareWidget", "MAPS"]
