"""The band view: one band (with a colour map and levels), the RGB render, or a false-colour composite.

Emits image coordinates (row, col) for hover and clicks, and a boolean mask when the user draws a
rectangle / polygon region. Rendering is a call into core (``relight.render_uint8``); levels come from simple
percentiles of a subsample of the shown band (a display choice, not numerics).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.services.analysis import SIGMA_MEANING

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

MODES = ("band", "rgb", "false", "sigma")
MODE_LABELS = {"band": "Single band", "rgb": "RGB render", "false": "False colour",
               "sigma": "σ band (uncertainty)"}
BAND_MODES = ("band", "sigma")  # one band with the slider, the colour map and the levels
COLORMAPS = ("viridis", "inferno", "magma", "plasma", "cividis", "turbo", "gray")
_LEVEL_SAMPLE = 65536  # pixels used to pick display levels
_BAND_CACHE_BYTES = 1024**3  # keep contiguous copies of visited bands for cubes up to this size


def display_levels(values: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> tuple[float, float]:
    """Robust display range of an image from a strided subsample (a display choice)."""
    step = max(1, int(np.sqrt(values.size / _LEVEL_SAMPLE)))
    sample = values[::step, ::step]
    lo, hi = (float(v) for v in np.percentile(sample, (lo_pct, hi_pct)))
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-3 or 1e-6)
    return lo, hi


def colormap(name: str, stops: int = 17) -> pg.ColorMap:
    """A named colour map with a few stops (the histogram's gradient editor repaints every stop)."""
    if name == "gray":
        return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)], name="gray")
    full = pg.colormap.get(name)
    pos = np.linspace(0.0, 1.0, stops)
    return pg.ColorMap(pos, full.map(pos, mode="byte"), name=name)


def qimage_to_rgb(img: QImage) -> np.ndarray:
    """A QImage → H×W×3 uint8 (copy)."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


class ImageCanvas(pg.GraphicsLayoutWidget):
    """A ViewBox (y down, square pixels) holding one ImageItem, reporting pixel coordinates."""

    hovered = Signal(int, int)
    clicked = Signal(int, int, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.vb = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")  # single band: colour map + levels
        self.rgb_image = pg.ImageItem(axisOrder="row-major")  # RGB render / false colour
        self.vb.addItem(self.image)
        self.vb.addItem(self.rgb_image)
        # A colour bar with draggable level handles (lighter to repaint than a histogram).
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), width=14, interactive=True, rounding=1e-6,
                                   colorMap=colormap(COLORMAPS[0]))
        self.bar.setImageItem(self.image)
        self.addItem(self.bar, row=0, col=1)
        # Pinned pixels: rings in each pin's colour (a dark outline keeps them visible on light pixels).
        self.marker_outline = pg.ScatterPlotItem(symbol="o", size=11, pen=pg.mkPen((0, 0, 0, 200), width=4),
                                                 brush=None, pxMode=True)
        self.markers = pg.ScatterPlotItem(symbol="o", size=11, brush=None, pxMode=True)
        for z, item in enumerate((self.marker_outline, self.markers)):
            item.setZValue(20 + z)
            self.vb.addItem(item)
        self.shape: tuple[int, int] | None = None
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

    def pixel_at(self, scene_pos) -> tuple[int, int] | None:
        if self.shape is None:
            return None
        p = self.vb.mapSceneToView(scene_pos)
        row, col = int(np.floor(p.y())), int(np.floor(p.x()))
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            return row, col
        return None

    def scene_pos_of(self, row: int, col: int) -> QPointF:
        """Scene position of a pixel's centre (for tests and for drawing markers)."""
        return self.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))

    def widget_pos_of(self, row: int, col: int):
        return self.mapFromScene(self.scene_pos_of(row, col))

    def _moved(self, pos) -> None:
        px = self.pixel_at(pos)
        self.hovered.emit(*(px if px else (-1, -1)))

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted():
            return
        if ev.double():
            self.fit()
            return
        px = self.pixel_at(ev.scenePos())
        if px is not None:
            shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.clicked.emit(px[0], px[1], shift)

    def set_markers(self, points) -> None:
        """Mark these pixels: ``[(row, col, colour)]`` (an empty list removes the marks)."""
        spots = [{"pos": (c + 0.5, r + 0.5), "pen": pg.mkPen(colour, width=2), "brush": None}
                 for r, c, colour in points]
        self.marker_outline.setData([{"pos": spot["pos"]} for spot in spots])
        self.markers.setData(spots)

    def set_shape(self, height: int, width: int) -> None:
        fresh = self.shape != (height, width)
        self.shape = (height, width)
        if fresh:
            self.fit()

    def fit(self) -> None:
        """Show the whole image (View ▸ Fit image, or a double-click)."""
        if self.shape is not None:
            self.vb.setRange(xRange=(0, self.shape[1]), yRange=(0, self.shape[0]), padding=0.02)


class BandView(QWidget):
    """Controls + canvas + colour bar with level handles. Shows an RGB photo until a cube arrives."""

    hovered = Signal(int, int)
    clicked = Signal(int, int, bool)
    roi_changed = Signal(object)  # boolean H×W mask or None
    band_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cube: HSCube | None = None
        self.std: HSCube | None = None  # the per-pixel σ of a reconstruction sampled K > 1 times (σ band mode)
        self.rgb: RGBImage | None = None
        self._render_cache: np.ndarray | None = None
        self._bands: dict[int, tuple[np.ndarray, tuple[float, float]]] = {}
        self.roi: pg.ROI | None = None
        self.user_mode: str | None = None  # the mode the user chose, kept across photos and reconstructions
        self._build()

    # -- construction -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.mode_combo = QComboBox()
        for m in MODES:
            self.mode_combo.addItem(MODE_LABELS[m], m)
        self.mode_combo.setToolTip("What to show: one band, the cube rendered to sRGB (radiance as captured, "
                                   "reflectance under D65; the Relight tab shows it under any light), three "
                                   "bands as RGB, or a band of the uncertainty (σ) cube when there is one.\n"
                                   + SIGMA_MEANING)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Band (Ctrl+[ and Ctrl+] step through bands)")
        self.slider.setPageStep(1)
        self.band_label = QLabel("— nm")
        self.band_label.setMinimumWidth(64)
        self.min_label, self.max_label = QLabel(""), QLabel("")
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(COLORMAPS)
        self.cmap_combo.setToolTip("Colour map of the single-band view")
        self.auto_levels = QCheckBox("Auto levels")
        self.auto_levels.setChecked(True)
        self.auto_levels.setToolTip("Set the levels from each band's 0.5–99.5 % range; off: keep the levels")
        self.false_combos = [QComboBox() for _ in range(3)]
        for c, name in zip(self.false_combos, "RGB", strict=True):
            c.setToolTip(f"Band shown as {name}")
        # Compact tool buttons: the controls must fit a 1366-pixel-wide screen with the spectrum plot beside.
        self.rect_btn = QToolButton(text="Rect ROI")
        self.poly_btn = QToolButton(text="Polygon ROI")
        self.clear_roi_btn = QToolButton(text="Clear")
        for b, tip in ((self.rect_btn, "Draw a rectangle: its mean ± std spectrum is plotted"),
                       (self.poly_btn, "Draw a polygon (drag its corners): mean ± std spectrum"),
                       (self.clear_roi_btn, "Remove the region")):
            b.setToolTip(tip)

        top = QHBoxLayout()
        top.addWidget(self.mode_combo)
        top.addWidget(self.min_label)
        top.addWidget(self.slider, 1)
        top.addWidget(self.max_label)
        top.addWidget(self.band_label)
        second = QHBoxLayout()
        self.band_box = QWidget()  # single-band controls: shown only in that mode, like the false-colour ones
        bl = QHBoxLayout(self.band_box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(QLabel("Map"))
        bl.addWidget(self.cmap_combo)
        bl.addWidget(self.auto_levels)
        second.addWidget(self.band_box)
        self.false_box = QWidget()
        fl = QHBoxLayout(self.false_box)
        fl.setContentsMargins(0, 0, 0, 0)
        for name, c in zip("RGB", self.false_combos, strict=True):
            fl.addWidget(QLabel(name))
            fl.addWidget(c)
        second.addWidget(self.false_box)
        second.addStretch(1)
        for b in (self.rect_btn, self.poly_btn, self.clear_roi_btn):
            second.addWidget(b)

        self.canvas = ImageCanvas()
        self.bar = self.canvas.bar
        self.drop_hint = QLabel("Drop a photo or a cube here\nor open one with File ▸ Open (Ctrl+O)")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setStyleSheet("color: #b4b4b4; font-size: 15px; background: transparent;")
        self.drop_hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        overlay = QVBoxLayout(self.canvas)  # over the empty image area, until there is an image
        overlay.addWidget(self.drop_hint, 0, Qt.AlignmentFlag.AlignCenter)
        body = QHBoxLayout()
        body.addWidget(self.canvas, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addLayout(second)
        lay.addLayout(body, 1)

        self.mode_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.mode_combo.activated.connect(self._mode_picked)  # a choice from the list (not a programmatic one)
        self.slider.valueChanged.connect(self._on_slider)
        self.cmap_combo.currentTextChanged.connect(self.set_colormap)
        self.auto_levels.toggled.connect(lambda on: on and self.refresh())
        for c in self.false_combos:
            c.currentIndexChanged.connect(lambda _i: self.mode == "false" and self.refresh())
        self.rect_btn.clicked.connect(lambda: self.add_roi("rect"))
        self.poly_btn.clicked.connect(lambda: self.add_roi("polygon"))
        self.clear_roi_btn.clicked.connect(lambda _checked=False: self.clear_roi())  # not clear_roi(emit=False)
        self.canvas.hovered.connect(self.hovered)
        self.canvas.clicked.connect(self.clicked)
        self.set_colormap(COLORMAPS[0])
        self._sync_controls()

    # -- data ---------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    def set_mode(self, mode: str, *, remember: bool = True) -> None:
        """Show ``mode``; ``remember``: it is the user's choice, restored for the next cube that allows it."""
        if remember:
            self.user_mode = mode
        self.mode_combo.setCurrentIndex(MODES.index(mode))

    def _mode_picked(self, index: int) -> None:
        self.user_mode = self.mode_combo.itemData(index)

    @property
    def band(self) -> int:
        return int(self.slider.value())

    def set_band(self, index: int) -> None:
        self.slider.setValue(int(index))

    def step_band(self, delta: int) -> None:
        self.slider.setValue(self.slider.value() + delta)

    def set_rgb(self, rgb: RGBImage) -> None:
        """Show a photo (no cube yet)."""
        self.rgb, self.cube, self.std, self._render_cache = rgb, None, None, None
        self._bands = {}
        self.clear_roi()
        self._sync_controls()
        self.refresh()

    def set_cube(self, cube: HSCube, render: np.ndarray | None = None, std: HSCube | None = None) -> None:
        """Show a cube; ``render`` is its sRGB uint8 render when the caller already has one; ``std`` its σ cube."""
        same_grid = self.cube is not None and self.cube.same_grid(cube)
        keep_roi = self.cube is not None and self.cube.shape[:2] == cube.shape[:2]
        self.cube, self._render_cache = cube, render
        self.std = std if std is not None and std.shape == cube.shape else None
        self._bands = {}
        if not keep_roi:
            self.clear_roi()
        wl = cube.wavelengths
        self.slider.blockSignals(True)
        self.slider.setRange(0, cube.bands - 1)
        if not same_grid:
            self.slider.setValue(cube.band_index(550.0))
            for combo, nm in zip(self.false_combos, (640.0, 550.0, 460.0), strict=True):
                combo.blockSignals(True)
                combo.clear()
                combo.addItems([f"{w:g} nm" for w in wl])
                combo.setCurrentIndex(cube.band_index(nm))
                combo.blockSignals(False)
        self.slider.blockSignals(False)
        self.min_label.setText(f"{wl[0]:g} nm")
        self.max_label.setText(f"{wl[-1]:g} nm")
        if self.user_mode is not None and self.user_mode != self.mode:
            self.mode_combo.blockSignals(True)  # the user's mode again (refreshed below)
            self.set_mode(self.user_mode, remember=False)
            self.mode_combo.blockSignals(False)
        self._sync_controls()
        self.refresh()
        if keep_roi and self.roi is not None:
            self._emit_roi()

    def render(self) -> np.ndarray | None:
        """The cube's sRGB view (uint8; core's ``render_view``), computed once per cube."""
        if self.cube is None:
            return None
        if self._render_cache is None:
            from hsi_studio.services import relighting as relight

            self._render_cache = relight.render_view(self.cube)
        return self._render_cache

    # -- display ------------------------------------------------------------------------------------------
    def _sync_controls(self) -> None:
        has_cube = self.cube is not None
        self.drop_hint.setVisible(not has_cube and self.rgb is None)
        for m in ("band", "false", "sigma"):
            item = self.mode_combo.model().item(MODES.index(m))
            item.setEnabled(has_cube and (m != "sigma" or self.std is not None))
        fallback = "rgb" if not has_cube else "band" if self.mode == "sigma" and self.std is None else None
        if fallback is not None and self.mode != fallback:
            self.mode_combo.blockSignals(True)
            self.set_mode(fallback, remember=False)
            self.mode_combo.blockSignals(False)
        band = self.mode in BAND_MODES
        self.slider.setEnabled(has_cube and band)
        self.band_label.setEnabled(has_cube and band)
        self.band_box.setVisible(band)
        self.bar.setVisible(band)
        self.false_box.setVisible(self.mode == "false")
        for b in (self.rect_btn, self.poly_btn, self.clear_roi_btn):
            b.setEnabled(has_cube)
        if has_cube:
            self.band_label.setText(f"<b>{self.cube.wavelengths[self.band]:g} nm</b>")

    def refresh(self) -> None:
        self._sync_controls()
        mode = self.mode
        if self.cube is None:
            if self.rgb is not None:
                self._show_rgb((self.rgb.display_srgb() * 255 + 0.5).astype(np.uint8))  # linear: encoded
            else:
                self.canvas.image.clear()
                self.canvas.rgb_image.clear()
            return
        if mode in BAND_MODES:
            self._show_band()
        elif mode == "rgb":
            self._show_rgb(self.render())
        else:
            self._show_false()

    def _show_item(self, band: bool) -> pg.ImageItem:
        self.canvas.image.setVisible(band)
        self.canvas.rgb_image.setVisible(not band)
        return self.canvas.image if band else self.canvas.rgb_image

    def _show_rgb(self, rgb8: np.ndarray) -> None:
        self.canvas.set_shape(*rgb8.shape[:2])
        self._show_item(False).setImage(rgb8, autoLevels=False, levels=(0, 255))

    def band_image(self, index: int, sigma: bool = False) -> tuple[np.ndarray, tuple[float, float]]:
        """Band ``index`` of the cube (``sigma``: of its σ cube) as a contiguous array (one strided pass over the
        cube, cached for cubes up to 1 GiB so scrubbing back and forth is fast) and its display levels."""
        source = self.std if sigma else self.cube
        key = (index, sigma)
        hit = self._bands.get(key)
        if hit is None:
            band = np.ascontiguousarray(source.data[:, :, index])
            hit = (band, display_levels(band))
            if source.data.nbytes <= _BAND_CACHE_BYTES:
                self._bands[key] = hit
        return hit

    def _show_band(self) -> None:
        band, auto = self.band_image(self.band, sigma=self.mode == "sigma" and self.std is not None)
        self.canvas.set_shape(*band.shape)
        if self.auto_levels.isChecked() or self.canvas.image.image is None or self.canvas.image.image.ndim != 2:
            levels = auto
        else:
            levels = self.bar.levels()
        self._show_item(True).setImage(band, autoLevels=False, levels=levels)
        self.bar.rounding = max((levels[1] - levels[0]) * 1e-3, 1e-9)
        self.bar.setLevels(levels)

    def _show_false(self) -> None:
        idx = [c.currentIndex() for c in self.false_combos]
        stack = np.stack([self.cube.data[:, :, i] for i in idx], axis=2)
        levels = [display_levels(stack[:, :, k]) for k in range(3)]
        self.canvas.set_shape(*stack.shape[:2])
        self._show_item(False).setImage(stack, autoLevels=False, levels=levels)

    def set_colormap(self, name: str) -> None:
        if self.cmap_combo.currentText() != name:
            self.cmap_combo.setCurrentText(name)
            return
        self.bar.setColorMap(colormap(name))

    def _on_slider(self, value: int) -> None:
        if self.cube is None:
            return
        self.band_label.setText(f"<b>{self.cube.wavelengths[value]:g} nm</b>")
        if self.mode in BAND_MODES:
            self._show_band()
        self.band_changed.emit(int(value))

    def shown_rgb(self) -> np.ndarray | None:
        """What the canvas shows, as H×W×3 uint8 at the image's own resolution (for PNG export)."""
        item = self.canvas.image if self.canvas.image.isVisible() else self.canvas.rgb_image
        if item.image is None:
            return None
        item.render()
        return None if item.qimage is None else qimage_to_rgb(item.qimage)

    # -- regions ------------------------------------------------------------------------------------------
    def add_roi(self, kind: str = "rect", points=None) -> pg.ROI | None:
        """Add a rectangle (default: the central quarter) or a polygon (``points`` as (x=col, y=row))."""
        if self.cube is None:
            return None
        self.clear_roi(emit=False)
        h, w = self.cube.height, self.cube.width
        pen = pg.mkPen(QColor(255, 220, 0), width=2)
        if kind == "rect":
            roi = pg.RectROI([w / 4, h / 4], [w / 2, h / 2], pen=pen, sideScalers=True)
        else:
            pts = points or [(w * 0.3, h * 0.3), (w * 0.7, h * 0.35), (w * 0.6, h * 0.7), (w * 0.25, h * 0.6)]
            roi = pg.PolyLineROI(pts, closed=True, pen=pen)
        self.canvas.vb.addItem(roi)
        roi.sigRegionChanged.connect(self._emit_roi)
        self.roi = roi
        self._emit_roi()
        return roi

    def clear_roi(self, emit: bool = True) -> None:
        if self.roi is not None:
            self.canvas.vb.removeItem(self.roi)
            self.roi = None
            if emit:
                self.roi_changed.emit(None)

    def roi_mask(self) -> np.ndarray | None:
        """Boolean H×W mask of the pixels whose centres lie inside the region (rasterised by Qt)."""
        if self.roi is None or self.cube is None:
            return None
        h, w = self.cube.height, self.cube.width
        path = self.roi.mapToItem(self.canvas.image, self.roi.shape())
        img = QImage(w, h, QImage.Format.Format_Grayscale8)
        img.fill(0)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillPath(path, QColor(255, 255, 255))
        painter.end()
        bpl = img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
        return buf[:, :w] > 127

    def _emit_roi(self, *_args) -> None:
        mask = self.roi_mask()
        self.roi_changed.emit(mask if mask is not None and mask.any() else None)


__all__ = ["BandView", "ImageCanvas", "COLORMAPS", "colormap", "display_levels", "qimage_to_rgb"]
