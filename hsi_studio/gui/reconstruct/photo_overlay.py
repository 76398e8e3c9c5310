"""What the Photo section draws on the image view: the ColorChecker (its quadrilateral and the 24 square boxes
that are sampled), the corners clicked so far, the picked neutral pixel and the neutral region (a rectangle the
user drags and resizes). Pure drawing: where things are comes from :mod:`hsi_studio.core.photo.chart_detect`."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

CHART_PEN = (255, 220, 0)  # the quadrilateral and usable patches
UNUSABLE_PEN = (255, 60, 60)  # patches left out of the fit (clipped or black)
PICK_PEN = (0, 230, 255)  # neutral pixel / region
CORNER_LABELS = ("1 dark skin", "2 bluish green", "3 black", "4 white")
_Z = 30


def _boxes_path(centres: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y of closed squares around each centre (the pixels ``patch_rgb`` averages), separated by NaN."""
    xs, ys = [], []
    for x, y in np.asarray(centres, dtype=np.float64):
        xi, yi = int(round(x)), int(round(y))
        x0, x1, y0, y1 = xi - half, xi + half + 1, yi - half, yi + half + 1
        xs += [x0, x1, x1, x0, x0, np.nan]
        ys += [y0, y0, y1, y1, y0, np.nan]
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


class PhotoOverlay:
    """Items on an :class:`~.band_view.ImageCanvas`'s view box (above the image and the pin markers)."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        vb = canvas.vb
        dark = pg.mkPen((0, 0, 0, 200), width=4)
        self.quad_outline = pg.PlotDataItem(pen=dark)
        self.quad = pg.PlotDataItem(pen=pg.mkPen(CHART_PEN, width=2))
        self.boxes_outline = pg.PlotDataItem(pen=pg.mkPen((0, 0, 0, 160), width=2.5), connect="finite")
        self.boxes = pg.PlotDataItem(pen=pg.mkPen(CHART_PEN, width=1.2), connect="finite")
        self.bad_boxes = pg.PlotDataItem(pen=pg.mkPen(UNUSABLE_PEN, width=2), connect="finite")
        self.corner_marks = pg.ScatterPlotItem(symbol="o", size=9, pen=pg.mkPen((0, 0, 0), width=1.5),
                                               brush=pg.mkBrush(CHART_PEN), pxMode=True)
        self.pixel_mark = pg.ScatterPlotItem(symbol="+", size=19, pen=pg.mkPen(PICK_PEN, width=2.5), pxMode=True)
        self.items = [self.quad_outline, self.quad, self.boxes_outline, self.boxes, self.bad_boxes,
                      self.corner_marks, self.pixel_mark]
        for z, item in enumerate(self.items):
            item.setZValue(_Z + z)
            vb.addItem(item)
        self.labels: list[pg.TextItem] = []
        self.region: pg.RectROI | None = None
        self.box_count = 0  # how many patch boxes are drawn (24 when a chart is shown)

    # -- the chart ----------------------------------------------------------------------------------------
    def show_chart(self, detection, usable: np.ndarray | None = None) -> None:
        """Draw a :class:`~hsi_studio.core.photo.chart_detect.ChartDetection` (None: remove it); ``usable`` (24,) bool
        draws the patches left out of the fit in red."""
        self.clear_chart()
        if detection is None:
            return
        q = np.asarray(detection.corners, dtype=np.float64)
        closed = np.vstack([q, q[:1]])
        for item in (self.quad_outline, self.quad):
            item.setData(closed[:, 0], closed[:, 1])
        centres = np.asarray(detection.centres, dtype=np.float64)
        good = np.ones(len(centres), bool) if usable is None else np.asarray(usable, bool)
        half = int(detection.half_size)
        self.boxes_outline.setData(*_boxes_path(centres, half))
        self.boxes.setData(*_boxes_path(centres[good], half))
        if (~good).any():
            self.bad_boxes.setData(*_boxes_path(centres[~good], half))
        self.box_count = len(centres)
        self._label_corners(q)

    def clear_chart(self) -> None:
        for item in (self.quad_outline, self.quad, self.boxes_outline, self.boxes, self.bad_boxes):
            item.setData([], [])
        self.set_corners([])
        self.box_count = 0

    def set_corners(self, corners) -> None:
        """The corners clicked so far (x, y), numbered."""
        pts = [(float(x), float(y)) for x, y in corners]
        self.corner_marks.setData([{"pos": p} for p in pts])
        self._label_corners(pts)

    def _label_corners(self, pts) -> None:
        """Number the corners, each label outside the chart (away from the corners' centre)."""
        for label in self.labels:
            self.canvas.vb.removeItem(label)
        self.labels = []
        if not len(pts):
            return
        cx, cy = np.mean(np.asarray(pts, dtype=np.float64), axis=0)
        for (x, y), text in zip(pts, CORNER_LABELS, strict=False):
            anchor = (1.0 if x < cx else 0.0, 1.0 if y < cy else 0.0) if len(pts) > 1 else (0.0, 1.0)
            label = pg.TextItem(text, color=(255, 255, 255), fill=pg.mkBrush(0, 0, 0, 170), anchor=anchor)
            label.setPos(float(x), float(y))
            label.setZValue(_Z + 10)
            self.canvas.vb.addItem(label)
            self.labels.append(label)

    # -- white balance ------------------------------------------------------------------------------------
    def show_pixel(self, xy) -> None:
        """Mark the neutral pixel (x, y), or remove the mark (None)."""
        self.pixel_mark.setData([] if xy is None else [{"pos": (xy[0] + 0.5, xy[1] + 0.5)}])

    def show_region(self, shape: tuple[int, int] | None) -> pg.RectROI | None:
        """A draggable rectangle in the middle of an image of ``shape`` (H, W) (None: remove it)."""
        if self.region is not None:
            self.canvas.vb.removeItem(self.region)
            self.region = None
        if shape is None:
            return None
        h, w = shape
        side = max(4, min(h, w) // 8)
        roi = pg.RectROI([w / 2 - side / 2, h / 2 - side / 2], [side, side], pen=pg.mkPen(QColor(*PICK_PEN), width=2),
                         sideScalers=True, maxBounds=pg.QtCore.QRectF(0, 0, w, h))
        roi.setZValue(_Z + 20)
        self.canvas.vb.addItem(roi)
        self.region = roi
        return roi

    def region_rect(self) -> tuple[int, int, int, int] | None:
        """The rectangle as whole pixels (x, y, w, h) inside the image, or None."""
        if self.region is None or self.canvas.shape is None:
            return None
        h_img, w_img = self.canvas.shape
        (x, y), (w, h) = self.region.pos(), self.region.size()
        x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
        x1, y1 = min(w_img, int(round(x + w))), min(h_img, int(round(y + h)))
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1 - x0, y1 - y0

    def clear(self) -> None:
        self.clear_chart()
        self.show_pixel(None)
        self.show_region(None)


__all__ = ["CORNER_LABELS", "PhotoOverlay"]
