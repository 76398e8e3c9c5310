"""Compare a reconstruction with a ground-truth cube — or, when there is none (the usual case), with another
reconstruction of the same photo: a metrics table (``metrics.evaluate``) and per-pixel maps
(``metrics.error_maps``: MRAE, SAM, RMSE), computed on a worker. Against another reconstruction they measure how
the two differ, not which is right."""

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
from hsi_studio.gui.explore.band_view import ImageCanvas, colormap, display_levels
from hsi_studio.services.comparison import compare as compare_cubes
from hsi_studio.services.workspace import Workspace

MAPS = {"mrae": "MRAE (relative)", "sam": "SAM (degrees)", "rmse": "RMSE"}
ROWS = (("mrae", "MRAE", "{:.4f}"), ("rmse", "RMSE", "{:.4f}"), ("psnr", "PSNR (dB)", "{:.2f}"),
        ("sam", "SAM (°)", "{:.2f}"), ("ssim", "SSIM", "{:.4f}"))
NORMALISED = "Exposure-normalised"


def normalised_header(scale: float | None = None) -> str:
    """The third column's header on two or three lines: on one it was cut to "posure-normalis" in the
    300 px table."""
    return NORMALISED.replace("-", "-\n") + ("" if scale is None else f"\n(×{scale:.3g})")


NORMALISED_TIP = ("The same scores after scaling the cube by the one factor that best matches the ground truth "
                  "(least squares): what is left once a different exposure is taken out. SAM does not change")


class CompareWidget(QWidget):
    """Ground truth beside the current cube."""

    load_requested = Signal()
    load_other_requested = Signal()  # compare with a second cube from a file (no ground truth)
    previous_requested = Signal()  # compare with the cube shown before this one
    computed = Signal(dict)
    failed = Signal(str, str)

    def __init__(self, jobs=None, parent=None, *, workspace: Workspace | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.workspace = workspace if workspace is not None else Workspace()
        # the workspace's cube and compared cube in the shown quantity, as scored (a result of other ones is stale)
        self.cube: HSCube | None = None
        self.gt: HSCube | None = None
        self.truth = True  # False: ``gt`` is another reconstruction, not a ground truth
        self.result: dict | None = None
        self._job = None
        self._build()
        ws = self.workspace
        ws.events.photo.connect(self._photo_changed)
        ws.events.ground_truth.connect(self._reference_changed)
        ws.events.cube.connect(self._cube_changed)
        ws.events.quantity.connect(self._quantity_changed)

    def _build(self) -> None:
        self.load_btn = QPushButton("Load ground truth…")
        self.load_btn.setToolTip("A cube of the same scene and size (Ctrl+G)")
        self.load_btn.clicked.connect(self.load_requested)
        self.other_btn = QPushButton("Compare with a cube…")
        self.other_btn.setToolTip("Another reconstruction of the same photo (or any cube of the same size), when "
                                  "there is no ground truth: where do the two differ?")
        self.other_btn.clicked.connect(self.load_other_requested)
        self.previous_btn = QPushButton("Compare with previous")
        self.previous_btn.setToolTip("The cube shown before this one (e.g. another model's reconstruction of "
                                     "the same photo)")
        self.previous_btn.clicked.connect(self.previous_requested)
        self.previous_btn.setEnabled(False)
        self.gt_label = QLabel("No ground truth loaded.")
        self.gt_label.setWordWrap(True)
        self.warning = QLabel("")  # different kinds or exposures: what the raw scores then measure
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #d07000;")
        self.warning.setVisible(False)
        self.map_combo = QComboBox()
        for key, label in MAPS.items():
            self.map_combo.addItem(label, key)
        self.map_combo.currentIndexChanged.connect(lambda _i: self._show_map())
        self.table = QTableWidget(len(ROWS), 3)
        self.table.setHorizontalHeaderLabels(["Metric", "Value", normalised_header()])
        self.table.horizontalHeaderItem(2).setToolTip(NORMALISED_TIP)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (_k, label, _f) in enumerate(ROWS):
            self.table.setItem(r, 0, QTableWidgetItem(label))
            self.table.setItem(r, 1, QTableWidgetItem("—"))
            self.table.setItem(r, 2, QTableWidgetItem("—"))
        self.table.setMinimumWidth(300)
        self.table.setMaximumWidth(420)
        self.canvas = ImageCanvas()
        self.canvas.bar.setColorMap(colormap("inferno"))
        top = QHBoxLayout()
        top.addWidget(self.load_btn)
        top.addWidget(self.other_btn)
        top.addWidget(self.previous_btn)
        top.addWidget(self.gt_label, 1)
        self.map_label = QLabel("Error map")
        top.addWidget(self.map_label)
        top.addWidget(self.map_combo)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.canvas)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.warning)
        lay.addWidget(split, 1)

    # -- the workspace ------------------------------------------------------------------------------------
    def _photo_changed(self) -> None:
        self.set_previous(None)  # another photo: earlier reconstructions are of another scene
        self.set_cube(None)

    def _cube_changed(self) -> None:
        ws = self.workspace
        self.set_previous(ws.comparable_previous())
        self.set_cube(ws.view_cubes()[0])  # scored in the shown quantity, as the plot shows it

    def _reference_changed(self) -> None:
        ws = self.workspace
        self.set_ground_truth(ws.view_reference(ws.ground_truth), ws.gt_name, truth=ws.gt_is_truth)

    def _quantity_changed(self) -> None:
        if self.workspace.cube is not None:
            self.set_cube(self.workspace.view_cubes()[0])
            self._reference_changed()

    # -- data ---------------------------------------------------------------------------------------------
    def set_cube(self, cube: HSCube | None) -> None:
        self.cube = cube
        self._recompute()

    def set_ground_truth(self, gt: HSCube | None, name: str = "", *, truth: bool = True) -> None:
        """Compare against ``gt``: a ground truth, or (``truth=False``) another reconstruction."""
        self.gt, self.truth = gt, truth
        size = f"({gt.width}×{gt.height}×{gt.bands})" if gt is not None else ""
        if gt is None:
            text = "No ground truth loaded."
        elif truth:
            text = f"Ground truth: {name or 'cube'} {size}"
        else:
            text = (f"Compared with: {name or 'cube'} {size}. No ground truth: these are differences between "
                    "the two, not errors")
        self.gt_label.setText(text)
        self.table.horizontalHeaderItem(1).setText("Value" if truth else "Difference")
        self.map_label.setText("Error map" if truth else "Difference map")
        self._recompute()

    def set_previous(self, label: str | None) -> None:
        """Offer the previous cube (``label``) for comparison, or not (None)."""
        self.previous_btn.setEnabled(label is not None)
        self.previous_btn.setToolTip(f"Compare with {label}" if label else
                                     "The cube shown before this one, when it has the same size")

    def _recompute(self) -> None:
        self.result = None
        self._fill_table(None)
        self._set_warnings([])
        self.canvas.image.clear()
        if self.cube is None or self.gt is None:
            return
        if self._job is not None:
            self._job.cancel()
        if self.jobs is not None and self.jobs.closed:
            return
        if self.jobs is None:
            self._done(compare_cubes(self.cube, self.gt))
            return
        self.gt_label.setText(self.gt_label.text().split(" — ")[0] + " — computing…")
        self._job = self.jobs.start(compare_cubes, self.cube, self.gt, name="compare", on_finished=self._done,
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
        self._fill_table(result["metrics"], result.get("normalised"), result.get("scale"))
        self._set_warnings(result.get("warnings") or [])
        self._show_map()
        self.computed.emit(result)

    def _fill_table(self, scores: dict | None, normalised: dict | None = None, scale: float | None = None) -> None:
        for r, (key, _label, fmt) in enumerate(ROWS):
            for col, values in ((1, scores), (2, normalised)):
                value = None if values is None else values.get(key)
                self.table.item(r, col).setText("—" if value is None else fmt.format(value))
        self.table.horizontalHeaderItem(2).setText(normalised_header(scale))

    def _set_warnings(self, warnings: list[str]) -> None:
        self.warning.setText("⚠ " + "; ".join(warnings) if warnings else "")
        self.warning.setVisible(bool(warnings))

    def _show_map(self) -> None:
        if self.result is None:
            return
        data = np.asarray(self.result["maps"][self.map_combo.currentData()], dtype=np.float32)
        self.canvas.set_shape(*data.shape)
        lo, hi = display_levels(data, 0.0, 99.0)
        self.canvas.image.setImage(data, autoLevels=False, levels=(lo, hi))
        self.canvas.bar.rounding = max((hi - lo) * 1e-3, 1e-9)
        self.canvas.bar.setLevels((lo, hi))

    def metric_text(self, key: str, normalised: bool = False) -> str:
        for r, (k, _label, _f) in enumerate(ROWS):
            if k == key:
                return self.table.item(r, 2 if normalised else 1).text()
        raise KeyError(key)


__all__ = ["CompareWidget", "MAPS"]
