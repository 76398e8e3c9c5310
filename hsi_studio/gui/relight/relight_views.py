"""The Relight tab's image views: original | relit on top, the ΔE2000 map with its colour bar and the
illuminants' spectra below, all showing one region (:class:`RelightViews`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from hsi_studio.gui.explore.band_view import colormap

DELTA_E_LEVELS = (0.0, 10.0)  # the ΔE colour bar's range before the first map


class _Label(pg.LabelItem):
    """A label whose text never widens its layout column (a longer illuminant name must not resize the
    image views next to it)."""

    def updateMin(self) -> None:  # pyqtgraph override
        super().updateMin()
        height = self.itemRect().height()
        self.setMinimumWidth(0)
        for hint in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
            self._sizeHint[hint] = (0, height)
        self.updateGeometry()


class RelightViews(pg.GraphicsLayoutWidget):
    """Original | relit on top, the ΔE map (its colour bar at its left) and the illuminants' SPDs below.

    The three image views are laid out at one size and show one region: no pyqtgraph X/Y links (linked
    aspect-locked boxes of different sizes grow or shrink one another on every relayout). A pan or zoom in any
    of them sets the region for all; a render or a resize keeps it (or keeps the image fitted while the user has
    not zoomed). ``fit`` — View ▸ Fit image, or a double-click — fits the image again."""

    hovered = Signal(int, int)
    range_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, pg.ImageItem] = {}
        self.labels: dict[str, pg.LabelItem] = {}
        self.boxes: list[pg.ViewBox] = []
        places = {"original": (0, 1), "relit": (0, 2), "delta_e": (2, 1)}
        for key, (row, col) in places.items():
            self.labels[key] = _Label("")
            self.addItem(self.labels[key], row=row, col=col)
            vb = self.addViewBox(row=row + 1, col=col, lockAspect=True, invertY=True, enableMenu=False)
            vb.setMinimumSize(40, 40)
            vb.disableAutoRange()
            item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(item)
            self.items[key] = item
            self.boxes.append(vb)
        self.vb = self.boxes[0]
        self.bar = pg.ColorBarItem(values=DELTA_E_LEVELS, width=12, interactive=True, rounding=0.1,
                                   colorMap=colormap("inferno"), label="ΔE2000")
        self.bar.setImageItem(self.items["delta_e"])
        self.addItem(self.bar, row=3, col=0)
        self.labels["spd"] = _Label("Illuminant spectra (max = 1)")
        self.addItem(self.labels["spd"], row=2, col=2)
        self.spd = self.addPlot(row=3, col=2)
        self.spd.setLabel("bottom", "Wavelength", units="nm")
        self.spd.getAxis("bottom").enableAutoSIPrefix(False)  # nm stays nm (no "mnm" on an empty plot)
        self.spd.setMenuEnabled(False)
        self.spd.setYRange(0, 1.05)
        self.spd.setMinimumSize(40, 40)
        self.spd.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.spd_ref = self.spd.plot([], [], pen=pg.mkPen((170, 170, 170), width=1.5, style=Qt.PenStyle.DashLine),
                                     name="reference")
        self.spd_new = self.spd.plot([], [], pen=pg.mkPen((255, 170, 0), width=2), name="relit")
        grid = self.ci.layout
        for col, stretch in ((0, 0), (1, 1), (2, 1)):
            grid.setColumnStretchFactor(col, stretch)
        for row, stretch in ((0, 0), (1, 1), (2, 0), (3, 1)):
            grid.setRowStretchFactor(row, stretch)
        for item in (*self.boxes, self.spd):  # equal preferred sizes: the stretch factors decide alone
            item.setPreferredSize(100, 100)
        self.shape: tuple[int, int] | None = None
        self.region: QRectF | None = None  # the region the user zoomed / panned to; None: fit the image
        self._syncing = False
        for vb in self.boxes:
            vb.sigRangeChangedManually.connect(lambda _mask, vb=vb: self._user_moved(vb))
            vb.sigResized.connect(lambda _vb: self.apply_range())
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

    def _box_at(self, pos) -> pg.ViewBox | None:
        return next((vb for vb in self.boxes if vb.sceneBoundingRect().contains(pos)), None)

    def _moved(self, pos) -> None:
        vb = self._box_at(pos)
        if self.shape is None or vb is None:
            return
        p = vb.mapSceneToView(pos)
        row, col = int(np.floor(p.y())), int(np.floor(p.x()))
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            self.hovered.emit(row, col)

    def _clicked(self, ev) -> None:
        if ev.double() and ev.button() == Qt.MouseButton.LeftButton and self._box_at(ev.scenePos()) is not None:
            ev.accept()
            self.fit()

    def _user_moved(self, source: pg.ViewBox) -> None:
        if self._syncing:
            return
        self.region = source.viewRect()
        self.apply_range(exclude=source)

    def full_rect(self) -> QRectF | None:
        return None if self.shape is None else QRectF(0, 0, self.shape[1], self.shape[0])

    def apply_range(self, exclude: pg.ViewBox | None = None) -> None:
        """Show the user's region (or the whole image) in every view (each keeps square pixels)."""
        rect = self.region if self.region is not None else self.full_rect()
        if rect is None or self._syncing:
            return
        padding = 0.0 if self.region is not None else 0.02
        self._syncing = True
        try:
            for vb in self.boxes:
                if vb is not exclude:
                    vb.setRange(rect=rect, padding=padding)
        finally:
            self._syncing = False
        self.range_changed.emit()

    def fit(self) -> None:
        """Fit the whole image in the three views (and keep it fitted until the user zooms again)."""
        self.region = None
        self.apply_range()

    def set_shape(self, h: int, w: int) -> None:
        if self.shape != (h, w):
            self.shape = (h, w)
            self.fit()


__all__ = ["DELTA_E_LEVELS", "RelightViews"]
