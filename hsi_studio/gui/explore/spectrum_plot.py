"""The spectrum plot: the spectrum under the cursor / at the clicked pixel, pinned spectra (Shift+click),
a region's mean ± std, and — when present — the ground truth and the uncertainty band at that pixel.

Values come from simple numpy indexing and reductions over the cube (no numerics beyond that).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hsi_studio.core.cube import HSCube
from hsi_studio.services.workspace import Workspace

MAX_PINNED = 12
X_PADDING = 0.05
HINT = "Hover over the image; click to hold a pixel, Shift+click to pin it."


@dataclass
class Spectrum:
    """One curve: a label, its values (B,) and optionally a ± band (B,)."""

    label: str
    values: np.ndarray
    spread: np.ndarray | None = None


def pixel_label(row: int, col: int) -> str:
    return f"(x={col}, y={row})"


def value_label(cube: HSCube | None) -> str:
    """The y-axis title: what the cube's values are."""
    if cube is None:
        return "Value"
    if cube.kind == "reflectance":  # measured, or estimated from a reconstruction (÷ its capture light)
        return "Reflectance (estimated)" if "reflectance_from" in cube.metadata else "Reflectance"
    if cube.kind == "radiance":
        recorded = "response" in cube.metadata  # a reconstruction records the camera response it inverted
        return "Relative radiance" + (" (reconstructed)" if recorded else "")
    return "Value (cube kind unknown)"


class _LegendBelow(pg.LegendItem):
    """A legend laid out under the plot (a row of the PlotItem's layout), so it never covers the curves. A long
    entry wraps to the column's width (:meth:`set_wrap_width`, from the plot's width) instead of widening the
    plot past its panel or being cut off."""

    wrap_width = 170.0

    def addItem(self, item, name) -> None:  # pyqtgraph override
        super().addItem(item, name)
        self._wrap(self.items[-1][1])
        self.updateSize()

    def set_wrap_width(self, width: float) -> None:
        width = max(60.0, float(width))
        if abs(width - self.wrap_width) < 1.0:
            return
        self.wrap_width = width
        for _, label in self.items:
            self._wrap(label)
        self.updateSize()

    def _wrap(self, label) -> None:
        label.item.setTextWidth(-1)  # its natural width, wrapped only when wider than a column
        if label.item.boundingRect().width() > self.wrap_width:
            label.item.setTextWidth(self.wrap_width)
        label.updateMin()
        label.resizeEvent(None)

    def updateSize(self) -> None:  # pyqtgraph override (the base sets its geometry at 0, 0)
        rows: dict[int, float] = {}
        for i in range(self.layout.count()):
            item = self.layout.itemAt(i)
            row = i // (2 * max(self.columnCount, 1))
            height = item.effectiveSizeHint(Qt.SizeHint.PreferredSize).height()
            rows[row] = max(rows.get(row, 0.0), height)
        # the layout's margins (the style's, ~9 px at the top) count: without them the last row was cut off
        _, top, _, bottom = self.layout.getContentsMargins()
        spacing = self.layout.verticalSpacing() * max(len(rows) - 1, 0)
        height = sum(rows.values()) + top + bottom + spacing + 2 if rows else 0.0
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.setMinimumWidth(0)
        self.setVisible(bool(rows))
        self.updateGeometry()


def wavelength_ticks(first: float, last: float) -> list[list[tuple[float, str]]]:
    """Ticks every 50 nm (100 nm over a range wider than 400 nm), each labelled (no minor ticks: their grid
    lines would crowd the plot)."""
    step = 50.0 if last - first <= 400 else 100.0
    major = np.arange(np.ceil(first / step) * step, last + 1e-6, step)
    return [[(float(v), f"{v:g}") for v in major]]


class SpectrumPlot(QWidget):
    """Curves over wavelength for the current cube; ``export_csv`` writes everything shown."""

    pinned_changed = Signal(int)
    pins_changed = Signal(list)  # [(row, col, QColor)] of the pinned pixels, for markers on the image
    spectra_changed = Signal()  # the pins or the region's curve changed (the Analyse tab's reference list)

    def __init__(self, workspace: Workspace | None = None, parent=None) -> None:
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else Workspace()
        # the workspace's cube and σ as this plot shows them (its view_cubes()), kept to tell a new cube from
        # the same one in another quantity
        self.cube: HSCube | None = None
        self.std: HSCube | None = None
        self.gt: HSCube | None = None
        self.gt_name = "ground truth"  # or the other reconstruction's name, when comparing two
        self.current: tuple[int, int] | None = None
        self.clicked_px: tuple[int, int] | None = None
        self.pinned: list[tuple[tuple[int, int], pg.PlotDataItem]] = []
        self.roi: Spectrum | None = None
        self._roi_mask: np.ndarray | None = None  # the region, so its curve is re-read from a new cube
        self._generation = 0  # counts the cubes shown; a pin remembers the one it was taken from
        self._build()
        ws = self.workspace
        ws.events.photo.connect(lambda: self.set_cube(None))
        ws.events.cube.connect(self._cube_changed)
        ws.events.ground_truth.connect(self._reference_changed)
        ws.events.quantity.connect(self._quantity_changed)

    # -- the workspace ------------------------------------------------------------------------------------
    def _cube_changed(self) -> None:
        ws = self.workspace
        self.set_cube(*ws.view_cubes())  # relative radiance or reflectance: View ▸ Show as reflectance
        self.set_ground_truth(ws.view_reference(ws.ground_truth), ws.reference_label())

    def _reference_changed(self) -> None:
        ws = self.workspace
        self.set_ground_truth(ws.view_reference(ws.plotted_reference()), ws.reference_label())

    def _quantity_changed(self) -> None:
        ws = self.workspace
        if ws.cube is None:
            return
        self.set_cube(*ws.view_cubes(), keep_pins=True)  # the same pixels, in the other quantity
        self.set_ground_truth(ws.view_reference(ws.plotted_reference()), ws.reference_label())

    def _build(self) -> None:
        self.plot = pg.PlotWidget()
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "Wavelength", units="nm")
        pi.getAxis("bottom").enableAutoSIPrefix(False)  # nm stays nm (no "mnm" on an empty plot)
        pi.setLabel("left", value_label(None))
        pi.getAxis("left").enableAutoSIPrefix(False)
        pi.showGrid(x=True, y=True, alpha=0.25)
        for side in ("left", "bottom"):  # major grid lines only: alpha-blended lines are slow to paint
            pi.getAxis(side).setStyle(maxTickLevel=0)
        pi.setMenuEnabled(False)
        self.legend = _LegendBelow(labelTextSize="8pt", colCount=2, brush=pg.mkBrush(0, 0, 0, 170))
        pi.layout.addItem(self.legend, 4, 1)  # under the bottom axis: off the curves
        pi.getAxis("bottom").setTicks(wavelength_ticks(400.0, 700.0))
        self.plot.setXRange(400.0, 700.0, padding=X_PADDING)  # the visible range, labelled, before any cube
        self.plot.installEventFilter(self)  # a resize re-wraps the legend's entries to the new width
        self.curve = pi.plot([], [], pen=pg.mkPen("w", width=2), name="pixel")
        self.gt_curve = pi.plot([], [], pen=pg.mkPen((255, 170, 0), width=2, style=Qt.PenStyle.DashLine),
                                name="ground truth")
        self.std_hi = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self.std_lo = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self.std_fill = pg.FillBetweenItem(self.std_lo, self.std_hi, brush=pg.mkBrush(255, 255, 255, 50))
        self.roi_curve = pi.plot([], [], pen=pg.mkPen((80, 220, 255), width=2), name="ROI mean")
        self.roi_hi = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self.roi_lo = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self.roi_fill = pg.FillBetweenItem(self.roi_lo, self.roi_hi, brush=pg.mkBrush(80, 220, 255, 60))
        for item in (self.std_fill, self.roi_fill):
            pi.addItem(item)
        # the band the band view shows (its slider): a dashed vertical line, labelled in nm
        label_opts = {"position": 0.96, "color": (220, 220, 220), "anchors": [(0, 0), (0, 0)]}
        self.band_line = pg.InfiniteLine(angle=90, movable=False, label="{value:g} nm", labelOpts=label_opts,
                                         pen=pg.mkPen((255, 255, 255, 140), width=1, style=Qt.PenStyle.DashLine))
        self.band_line.setZValue(-5)
        self.band_line.setVisible(False)
        pi.addItem(self.band_line, ignoreBounds=True)
        self.info = QLabel(HINT)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setWordWrap(True)  # long pixel read-outs wrap instead of widening the window
        self.clear_btn = QPushButton("Clear spectra")
        self.clear_btn.setToolTip("Remove every pinned spectrum and release the held pixel (with its ± σ band); "
                                  "a region's curve goes with the region (Clear above the image)")
        self.clear_btn.clicked.connect(self.clear_spectra)
        row = QHBoxLayout()
        row.addWidget(self.info, 1)
        row.addWidget(self.clear_btn)
        self._row = row
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.plot, 1)
        lay.addLayout(row)
        self._update_legend()

    def add_control(self, widget: QWidget) -> None:
        """A control beside Clear spectra (e.g. the window's reflectance switch)."""
        self._row.insertWidget(self._row.count() - 1, widget)

    def eventFilter(self, obj, event) -> bool:  # Qt override
        if obj is self.plot and event.type() == QEvent.Type.Resize:
            self._fit_legend(event.size().width())
        return super().eventFilter(obj, event)

    def _fit_legend(self, width: float) -> None:
        """Each legend column's text width: the plot's width less the left axis, the samples and margins."""
        axis = self.plot.getPlotItem().getAxis("left").width()
        columns = max(self.legend.columnCount, 1)
        self.legend.set_wrap_width((width - axis - 16) / columns - 38)

    # -- data ---------------------------------------------------------------------------------------------
    def set_cube(self, cube: HSCube | None, std: HSCube | None = None, *, keep_pins: bool = False) -> None:
        """Show ``cube``; ``keep_pins``: the same pixels in another quantity (not "re-sampled" from a new cube)."""
        reset = self.cube is None or cube is None or self.cube.shape != cube.shape
        if cube is not None and cube is not self.cube and not keep_pins:
            self._generation += 1
        self.cube, self.std = cube, std
        if cube is None:
            self.band_line.setVisible(False)
        self.plot.getPlotItem().setLabel("left", value_label(cube))
        if self.gt is not None and cube is not None and self.gt.shape != cube.shape:
            self.gt = None
        if cube is not None:
            wl = cube.wavelengths
            # 5 % padding: the first and last ticks (400, 700 nm) sit far enough inside to keep their labels
            self.plot.setXRange(float(wl[0]), float(wl[-1]), padding=X_PADDING)
            self.plot.getPlotItem().getAxis("bottom").setTicks(wavelength_ticks(float(wl[0]), float(wl[-1])))
        if reset:
            self.clear_pinned()
            self.current = self.clicked_px = None
            self.roi = None  # re-read below from the region's mask when the image size is the same
        self._roi_from_mask()  # the region's mean ± std of this cube, not the last one's
        self._refresh_all()
        self._emit_pins()

    def set_band(self, index: int) -> None:
        """Mark band ``index`` of the cube (the band view's slider) with the vertical line."""
        cube = self.cube
        if cube is None or not 0 <= int(index) < cube.bands:
            self.band_line.setVisible(False)
            return
        self.band_line.setVisible(True)  # first: a hidden line's label does not follow its value
        self.band_line.setValue(float(cube.wavelengths[int(index)]))
        self.band_line.label.valueChanged()

    def set_ground_truth(self, gt: HSCube | None, name: str = "ground truth") -> None:
        """Overlay ``gt`` at the shown pixel: the ground truth, or another reconstruction (named ``name``)."""
        self.gt = gt
        self.gt_name = name or "ground truth"
        self._refresh_all()

    def _refresh_all(self) -> None:
        px = self.clicked_px or self.current
        if px:
            self.show_pixel(*px)
        else:
            self._clear_pixel()
            self.info.setText(HINT)
        for (r, c), item in self.pinned:
            if self.cube is not None:
                item.setData(self.cube.wavelengths, self.cube.data[r, c, :])
        self._draw_roi()
        self._update_legend()

    def pixel_spectrum(self, row: int, col: int) -> np.ndarray:
        return self.cube.data[row, col, :]

    # -- interaction (slots for the band view's signals) --------------------------------------------------
    def on_hover(self, row: int, col: int) -> None:
        if self.cube is None or self.clicked_px is not None:
            return
        if row < 0:
            return
        self.current = (row, col)
        self.show_pixel(row, col)

    def on_click(self, row: int, col: int, shift: bool) -> None:
        if self.cube is None:
            return
        if shift:
            self.pin(row, col)
            return
        # A click holds that pixel (hover stops following); clicking the held pixel again releases it.
        self.clicked_px = None if self.clicked_px == (row, col) else (row, col)
        self.current = (row, col)
        self.show_pixel(row, col)

    def show_pixel(self, row: int, col: int) -> None:
        cube = self.cube
        if cube is None or not (0 <= row < cube.height and 0 <= col < cube.width):
            return
        wl = cube.wavelengths
        values = cube.data[row, col, :]
        self.curve.setData(wl, values)
        held = " (held — click again to release)" if self.clicked_px == (row, col) else ""
        text = f"{pixel_label(row, col)}{held}  max {values.max():.4g} at {wl[int(values.argmax())]:g} nm"
        if self.gt is not None:
            self.gt_curve.setData(wl, self.gt.data[row, col, :])
        else:
            self.gt_curve.setData([], [])
        if self.std is not None:
            s = self.std.data[row, col, :]
            _set_band(self.std_fill, wl, values - s, values + s)
            text += f"  mean σ {s.mean():.3g}"
        else:
            _set_band(self.std_fill)
        self.info.setText(text)
        self._update_legend()

    def _clear_pixel(self) -> None:
        for item in (self.curve, self.gt_curve):
            item.setData([], [])
        _set_band(self.std_fill)

    def pin(self, row: int, col: int) -> None:
        if self.cube is None:
            return
        if len(self.pinned) >= MAX_PINNED:
            _, old = self.pinned.pop(0)
            self.plot.removeItem(old)
        used = {p.opts["pen"].color().name() for _, p in self.pinned}
        colour = next(c for c in (pg.intColor(i, hues=MAX_PINNED) for i in range(MAX_PINNED))
                      if c.name() not in used)
        item = self.plot.plot(self.cube.wavelengths, self.cube.data[row, col, :], pen=pg.mkPen(colour, width=1.5),
                              name=f"pinned {pixel_label(row, col)}")
        item.hsi_generation = self._generation
        self.pinned.append(((row, col), item))
        self._update_legend()
        self.pinned_changed.emit(len(self.pinned))
        self._emit_pins()

    def pin_label(self, row: int, col: int, item) -> str:
        """A pin's legend entry; one kept from an earlier cube of this size says it now reads this cube."""
        resampled = getattr(item, "hsi_generation", self._generation) != self._generation
        return f"pinned {pixel_label(row, col)}" + (", re-sampled" if resampled else "")

    def pin_markers(self) -> list[tuple[int, int, object]]:
        return [(r, c, item.opts["pen"].color()) for (r, c), item in self.pinned]

    def _emit_pins(self) -> None:
        self.pins_changed.emit(self.pin_markers())
        self.spectra_changed.emit()

    def clear_spectra(self) -> None:
        """Remove the pinned spectra and the held / hovered pixel's curves (hovering shows a pixel again)."""
        self.clicked_px = self.current = None
        self._clear_pixel()
        self.info.setText(HINT)
        self.clear_pinned()

    def clear_pinned(self) -> None:
        for _, item in self.pinned:
            self.plot.removeItem(item)
        self.pinned.clear()
        self._update_legend()
        self.pinned_changed.emit(0)
        self._emit_pins()

    def set_roi_mask(self, mask: np.ndarray | None) -> None:
        """Mean ± std over the region's pixels (``mask``: boolean H×W) or clear it (None)."""
        self._roi_mask = None if mask is None else np.asarray(mask, bool)
        self._roi_from_mask()
        self._draw_roi()
        self._update_legend()
        self.spectra_changed.emit()

    def _roi_from_mask(self) -> None:
        mask = self._roi_mask
        if mask is None or self.cube is None or mask.shape != self.cube.shape[:2] or not mask.any():
            self.roi = None
            return
        pixels = self.cube.data[mask]  # (N, B)
        self.roi = Spectrum(f"ROI mean ± std ({int(mask.sum())} px)", pixels.mean(axis=0), pixels.std(axis=0))

    def _draw_roi(self) -> None:
        if self.roi is None or self.cube is None or self.roi.values.shape[0] != self.cube.bands:
            self.roi_curve.setData([], [])
            _set_band(self.roi_fill)
            return
        wl = self.cube.wavelengths
        self.roi_curve.setData(wl, self.roi.values)
        _set_band(self.roi_fill, wl, self.roi.values - self.roi.spread, self.roi.values + self.roi.spread)

    def _update_legend(self) -> None:
        """Legend entries only for curves that show something."""
        self.legend.clear()
        entries = [(self.curve, "pixel" + (f" {pixel_label(*self.current)}" if self.current else ""))]
        if self.gt is not None:
            entries.append((self.gt_curve, self.gt_name))
        if self.roi is not None:
            entries.append((self.roi_curve, self.roi.label))
        entries += [(item, self.pin_label(r, c, item)) for (r, c), item in self.pinned]
        for item, name in entries:
            if item.xData is not None and len(item.xData):
                self.legend.addItem(item, name)
        self.clear_btn.setEnabled(bool(self.pinned) or self.clicked_px is not None
                                  or bool(self.curve.xData is not None and len(self.curve.xData)))

    # -- export -------------------------------------------------------------------------------------------
    def curves(self) -> list[Spectrum]:
        """Every spectrum currently shown, for CSV export."""
        out: list[Spectrum] = []
        if self.cube is None:
            return out
        px = self.clicked_px or self.current
        if px is not None:
            r, c = px
            std = self.std.data[r, c, :] if self.std is not None else None
            out.append(Spectrum(f"pixel x={c} y={r}", self.cube.data[r, c, :], std))
            if self.gt is not None:
                out.append(Spectrum(f"{self.gt_name} x={c} y={r}", self.gt.data[r, c, :]))
        for (r, c), _item in self.pinned:
            out.append(Spectrum(f"pinned x={c} y={r}", self.cube.data[r, c, :]))
        if self.roi is not None:
            out.append(self.roi)
        return out

    def export_csv(self, path: str | Path) -> Path:
        """Write ``wavelength_nm`` and one column per curve (plus ``… std`` columns) atomically."""
        curves = self.curves()
        if self.cube is None or not curves:
            raise ValueError("no spectra to export: hover over or click a pixel, pin spectra or draw a region")
        header = ["wavelength_nm"]
        columns = [self.cube.wavelengths]
        for s in curves:
            header.append(s.label)
            columns.append(s.values)
            if s.spread is not None:
                header.append(f"{s.label} std")
                columns.append(s.spread)
        return write_csv_atomic(path, header, np.column_stack(columns))


def _set_band(fill: pg.FillBetweenItem, wl=None, low=None, high=None) -> None:
    """Fill between ``low`` and ``high`` over ``wl``, or remove the band (no arguments). pyqtgraph keeps a
    PlotDataItem's last path when it is given empty data, so an emptied band is cleared and hidden explicitly
    (else the old fill stays on screen and in the axes' auto range)."""
    lo, hi = fill.curves
    if wl is None:
        for edge in (lo, hi):
            edge.clear()
        fill.setPath(QPainterPath())
        fill.setVisible(False)
        return
    lo.setData(wl, low)
    hi.setData(wl, high)
    fill.setVisible(True)


def band_shown(fill: pg.FillBetweenItem) -> bool:
    """Whether a ± band is drawn."""
    return fill.isVisible() and not fill.path().isEmpty()


def write_csv_atomic(path: str | Path, header: list[str], rows: np.ndarray) -> Path:
    """CSV written through core's atomic writer (temp file in the same folder, fsync, ``os.replace``)."""
    from hsi_studio.services.outputs import atomic_write

    target = Path(path)
    with atomic_write(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([f"{float(v):.6g}" for v in row])
    return target


__all__ = ["SpectrumPlot", "Spectrum", "band_shown", "write_csv_atomic", "pixel_label"]
