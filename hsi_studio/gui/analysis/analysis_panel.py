"""The Analyse tab: similarity (SAM / SID) maps with a live threshold mask, the spectral library, k-means
classes, the PCA view and index maps, over one image canvas with a colour bar and a spectrum plot.

Every computation is a service function (:mod:`hsi_studio.services.analysis`) run on a worker of the window's
:class:`~.workers.JobSet`; the GUI thread only thresholds a finished map and paints. A result that arrives
after the cube changed is dropped."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.gui.analysis.analysis_exports import ExportsMixin
from hsi_studio.gui.analysis.analysis_pages import PagesMixin
from hsi_studio.gui.analysis.library_panel import OUTLINE_PEN, LibraryPanel
from hsi_studio.gui.explore.band_view import ImageCanvas, colormap
from hsi_studio.gui.explore.spectrum_plot import X_PADDING, value_label, wavelength_ticks
from hsi_studio.gui.workers import JobSet, JobWorker
from hsi_studio.services import analysis
from hsi_studio.services.workspace import Workspace

TOOLS = ("similarity", "library", "classes", "pca", "index")
TOOL_LABELS = {"similarity": "Similarity", "library": "Library", "classes": "Classes", "pca": "PCA",
               "index": "Index"}
MASK_RGBA = (255, 40, 200, 170)  # the "more of this material" mask, drawn over the map


class AnalysisPanel(PagesMixin, ExportsMixin, QWidget):
    """``spectra_source`` (set by the window) returns the Explore tab's shown spectra (pins, ROI mean)."""

    failed = Signal(str, str)
    status = Signal(str)

    def __init__(self, jobs: JobSet, parent=None, *, workspace: Workspace | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.workspace = workspace if workspace is not None else Workspace()
        # the workspace's cube and σ in the shown quantity (its view_cubes()), kept to tell a result of this
        # cube from a stale one
        self.cube: HSCube | None = None
        self.std: HSCube | None = None
        self.spectra_source: Callable[[], list] = list
        self.reference: tuple[str, np.ndarray] | None = None
        self.score: np.ndarray | None = None  # the similarity map (degrees or SID)
        self.score_kind = "sam"
        self.classes: analysis.KMeansResult | None = None
        self.pca_result: analysis.PCAResult | None = None
        self.index: tuple[np.ndarray, str] | None = None
        self.kmeans_job: JobWorker | None = None
        self.shown: str | None = None  # which result the canvas shows
        self._build()
        for event in ("photo", "cube", "quantity"):
            self.workspace.subscribe(event, self._workspace_changed)

    def _workspace_changed(self) -> None:
        """A new photo or cube, or the other quantity: analyse the cube as the Explore plot shows it."""
        self.set_cube(*self.workspace.view_cubes())

    # -- construction -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.tools = QTabWidget()
        self.tools.addTab(self._similarity_page(), TOOL_LABELS["similarity"])
        self.library = LibraryPanel()
        self.tools.addTab(self.library, TOOL_LABELS["library"])
        self.tools.addTab(self._classes_page(), TOOL_LABELS["classes"])
        self.tools.addTab(self._pca_page(), TOOL_LABELS["pca"])
        self.tools.addTab(self._index_page(), TOOL_LABELS["index"])
        self.tools.setMinimumWidth(330)
        self.tools.currentChanged.connect(lambda _i: self._show_current())
        self._plot_timer = QTimer(self)  # the spectra are re-plotted one event-loop turn after the image
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(0)
        self._plot_timer.timeout.connect(self._plot_spectra)
        self.canvas = ImageCanvas()
        self.canvas.image.setZValue(1)
        self.canvas.rgb_image.setZValue(0)  # the grey base (or a false-colour / class image) under the map
        self.mask_item = pg.ImageItem(axisOrder="row-major")
        self.mask_item.setZValue(2)
        self.canvas.vb.addItem(self.mask_item)
        self.canvas.bar.setColorMap(colormap("viridis"))
        self.canvas.bar.hide()  # until a map is shown
        self.readout = QLabel("Open a cube to analyse it.")
        self.readout.setWordWrap(True)
        self.plot = pg.PlotWidget()
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "Wavelength", units="nm")
        pi.getAxis("bottom").enableAutoSIPrefix(False)
        pi.getAxis("left").enableAutoSIPrefix(False)  # "Reflectance", not "Reflectance (x0.001)"
        pi.showGrid(x=True, y=True, alpha=0.25)
        pi.setMenuEnabled(False)
        self.legend = pi.addLegend(offset=(-5, 5), labelTextSize="8pt", brush=pg.mkBrush(0, 0, 0, 150))
        self._curves: list[pg.PlotDataItem] = []
        image_side = QWidget()
        il = QVBoxLayout(image_side)
        il.setContentsMargins(0, 0, 0, 0)
        il.addWidget(self.canvas, 1)
        il.addWidget(self.readout)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(image_side)
        right.addWidget(self.plot)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tools)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.clicked.connect(self._clicked)
        self.library.selection_changed.connect(lambda _n: self._plot_spectra())
        self.library.library_changed.connect(self.refresh_refs)
        self.library.failed.connect(self.failed)
        self._update_mask()
        self._sync()

    # -- the document -------------------------------------------------------------------------------------
    def set_cube(self, cube: HSCube | None, std: HSCube | None = None) -> None:
        if cube is self.cube and std is self.std:
            return
        self.cancel_kmeans()
        self.cube, self.std = cube, std
        self.reference = self.score = self.classes = self.pca_result = self.index = None
        self.shown = None
        self._reset_texts()  # results of the last cube go with it
        self.library.set_grid(None if cube is None else cube.wavelengths)
        self.canvas.image.clear()
        self.mask_item.clear()
        self.canvas.bar.hide()
        if cube is None:
            self.canvas.rgb_image.clear()
            self.readout.setText("Open a cube to analyse it.")
        else:
            self.canvas.set_shape(cube.height, cube.width)
            self._show_base()
            self.readout.setText(f"Analysing {value_label(cube).lower()} (View ▸ Show as reflectance switches). Click "
                                 "a pixel: similarity map and library matches; or run a tool on the left.")
            first, last = float(cube.wavelengths[0]), float(cube.wavelengths[-1])
            self.plot.setXRange(first, last, padding=X_PADDING)  # every 50 nm labelled, as in Explore
            self.plot.getPlotItem().getAxis("bottom").setTicks(wavelength_ticks(first, last))
        self._refresh_refs()
        self._plot_spectra()
        self._sync()

    def _sync(self) -> None:
        has = self.cube is not None
        running = self.kmeans_job is not None and self.kmeans_job.running
        for wdg in (self.ref_combo, self.measure_combo, self.threshold, self.run_pca_btn, self.run_index_btn):
            wdg.setEnabled(has)
        self.run_kmeans_btn.setEnabled(has and not running)
        self.cancel_kmeans_btn.setEnabled(running)
        self.std_check.setEnabled(self.std is not None)
        self.std_spin.setEnabled(self.std is not None)
        if self.std is None:
            self.std_check.setChecked(False)
        self.to_library_btn.setEnabled(self.reference is not None)
        self.export_sim_btn.setEnabled(self.score is not None)
        self.classes_to_lib_btn.setEnabled(self.classes is not None)
        self.export_classes_btn.setEnabled(self.classes is not None)

    def _start(self, fn, *args, name: str, on_finished, **kwargs) -> JobWorker | None:
        cube = self.cube

        def finished(value):
            if cube is self.cube:  # else a stale result for an earlier cube
                on_finished(value)

        try:
            return self.jobs.start(fn, *args, name=name, on_finished=finished,
                                   on_failed=lambda m, d: self.failed.emit(f"{name} failed", m), **kwargs)
        except RuntimeError:  # the window is closing
            return None

    # -- base image and canvas ----------------------------------------------------------------------------
    def _show_base(self) -> None:
        mean = self.cube.data.mean(axis=2)
        lo, hi = analysis.stretch_limits(mean, 1, 99)
        grey = np.clip((mean - lo) / (hi - lo), 0, 1) * 0.8
        self.canvas.rgb_image.setImage(_bytes(np.repeat(grey[..., None], 3, axis=2)), levels=(0, 255))

    def _show_map(self, values: np.ndarray, levels: tuple[float, float], cmap: str = "viridis",
                  opacity: float = 0.85, *, reverse: bool = False) -> None:
        cm = colormap(cmap)
        if reverse:
            cm.reverse()  # similar (small angle / divergence) bright, the rest dark
        self.canvas.bar.setColorMap(cm)
        self.canvas.image.setImage(values, autoLevels=False)
        self.canvas.bar.setLevels(levels)
        self.canvas.image.setOpacity(opacity)
        self.canvas.bar.show()

    def _show_rgb(self, rgb: np.ndarray) -> None:
        self.canvas.image.clear()
        self.mask_item.clear()
        self.canvas.bar.hide()
        self.canvas.rgb_image.setImage(_bytes(rgb), levels=(0, 255))

    def _show_current(self) -> None:
        tool = TOOLS[self.tools.currentIndex()]
        if self.cube is None:
            return
        if tool in ("similarity", "library") and self.score is not None:
            self._update_mask()
        elif tool == "classes" and self.classes is not None:
            self._show_classes()
        elif tool == "pca" and self.pca_result is not None:
            self._show_pca()
        elif tool == "index" and self.index is not None:
            self._show_index()
        self._plot_timer.start()

    def _select_tool(self, tool: str) -> None:
        """Show ``tool``'s page and its result (the spectra plot follows on the next event-loop turn)."""
        index = TOOLS.index(tool)
        if self.tools.currentIndex() != index:
            self.tools.setCurrentIndex(index)  # → _show_current
        else:
            self._show_current()

    def _hovered(self, row: int, col: int) -> None:
        if self.cube is None or row < 0:
            return
        text = f"x={col} y={row}"
        if self.shown == "similarity" and self.score is not None:
            unit = "°" if self.score_kind == "sam" else ""
            text += f"  {self.score_kind.upper()} {self.score[row, col]:.3g}{unit}"
        elif self.shown == "classes" and self.classes is not None:
            text += f"  class {self.classes.labels[row, col]}"
        elif self.shown == "pca" and self.pca_result is not None:
            text += "  PC " + ", ".join(f"{v:.3g}" for v in self.pca_result.scores[row, col])
        elif self.shown == "index" and self.index is not None:
            text += f"  index {self.index[0][row, col]:.4g}"
        self.readout.setText(text)

    def _clicked(self, row: int, col: int, shift: bool) -> None:
        if self.cube is None:
            return
        spectrum = self.cube.data[row, col].astype(np.float64)
        label = f"pixel x={col} y={row}"
        self.library.match(spectrum, label)
        if TOOLS[self.tools.currentIndex()] != "library" or self.score is None:
            self.set_reference(label, spectrum)

    # -- similarity ---------------------------------------------------------------------------------------
    def refresh_refs(self) -> None:
        """Rebuild the reference list (the Explore tab's pins and region changed, a library was loaded); the
        entry picked stays picked while it exists."""
        picked = self.ref_combo.currentData()
        self._refresh_refs()
        index = self.ref_combo.findData(picked) if picked is not None else -1
        if index >= 0:
            self.ref_combo.setCurrentIndex(index)

    def _refresh_refs(self) -> None:
        self.ref_combo.clear()
        if self.reference is not None:
            self.ref_combo.addItem(f"{self.reference[0]}", ("current", None))
        if self.cube is not None:
            for s in self.spectra_source() or []:
                if len(s.values) == self.cube.bands:
                    self.ref_combo.addItem(f"Explore: {s.label}", ("explore", s.label))
        fitted = self.library.on_grid() if self.library.lib is not None else None
        if fitted is not None:
            for n in fitted[0].names:
                self.ref_combo.addItem(f"Library: {n}", ("library", n))
        if self.ref_combo.count() == 0:
            self.ref_combo.addItem("Click a pixel of the image", ("none", None))

    def _reference_picked(self) -> None:
        kind, key = self.ref_combo.currentData() or ("none", None)
        if kind == "explore":
            for s in self.spectra_source() or []:
                if s.label == key:
                    self.set_reference(s.label, np.asarray(s.values, np.float64))
        elif kind == "library":
            fitted = self.library.on_grid()
            if fitted is not None:
                self.set_reference(key, fitted[0].spectrum(key))

    def set_reference(self, name: str, spectrum: np.ndarray) -> None:
        self.reference = (name, np.asarray(spectrum, np.float64))
        self._refresh_refs()
        self.ref_combo.setCurrentIndex(0)
        self.compute_similarity()

    def compute_similarity(self) -> JobWorker | None:
        if self.cube is None or self.reference is None:
            return None
        kind = self.measure_combo.currentData()
        fn = analysis.sam_map if kind == "sam" else analysis.sid_map
        return self._start(fn, self.cube, self.reference[1], name="similarity", pass_progress=False,
                           on_finished=lambda m: self._similarity_ready(m, kind))

    def _similarity_ready(self, score: np.ndarray, kind: str) -> None:
        self.score, self.score_kind = score, kind
        self._select_tool("library" if TOOLS[self.tools.currentIndex()] == "library" else "similarity")
        self._sync()

    def threshold_value(self) -> float:
        """The slider's threshold: 0–45° for SAM, 0–0.5 for SID."""
        t = self.threshold.value() / self.threshold.maximum()
        return t * 45.0 if self.score_kind == "sam" else t * 0.5

    def set_threshold(self, value: float) -> None:
        top = 45.0 if self.score_kind == "sam" else 0.5
        self.threshold.setValue(round(min(max(value / top, 0.0), 1.0) * self.threshold.maximum()))

    def current_mask(self) -> np.ndarray | None:
        if self.score is None:
            return None
        use_std = self.std is not None and self.std_check.isChecked()
        return analysis.similarity_mask(self.score, self.threshold_value(), std=self.std if use_std else None,
                                        max_std=self.std_spin.value() if use_std else None)

    def _update_mask(self) -> None:
        thr = self.threshold_value()
        unit = "°" if self.score_kind == "sam" else ""
        self.threshold_label.setText(f"{self.score_kind.upper()} ≤ {thr:.3g}{unit}")
        if self.score is None or self.cube is None:
            return
        self.shown = "similarity"
        hi = max(thr * 3, 1.0) if self.score_kind == "sam" else max(thr * 3, 1e-3)
        self._show_base()
        self._show_map(self.score, (0.0, hi), "viridis", opacity=0.7 if self.show_mask.isChecked() else 0.9,
                       reverse=True)
        mask = self.current_mask()
        if self.show_mask.isChecked():
            rgba = np.zeros((*mask.shape, 4), np.uint8)
            rgba[mask] = MASK_RGBA
            self.mask_item.setImage(rgba, levels=(0, 255))
        else:
            self.mask_item.clear()
        n = int(mask.sum())
        left_out = " (uncertain pixels left out)" if self.std is not None and self.std_check.isChecked() else ""
        self.mask_label.setText(f"{n:,} pixels ({n / mask.size:.1%}) within {thr:.3g}{unit} of "
                                f"{self.reference[0] if self.reference else 'the reference'}{left_out}")

    def _reference_to_library(self) -> None:
        if self.reference is not None and self.cube is not None:
            self.library.add(self.reference[0], self.reference[1], self.cube.wavelengths)

    # -- k-means ------------------------------------------------------------------------------------------
    def run_kmeans(self) -> JobWorker | None:
        if self.cube is None or (self.kmeans_job is not None and self.kmeans_job.running):
            return None
        self.kmeans_progress.setValue(0)
        self.classes_label.setText("k-means running…")
        job = self._start(analysis.kmeans, self.cube, self.k_spin.value(), self.iter_spin.value(), name="k-means",
                          on_finished=self._classes_ready, on_progress=self._kmeans_progress,
                          on_cancelled=self._kmeans_cancelled)
        self.kmeans_job = job
        if job is not None:
            job.done.connect(self._sync)
        self._sync()
        return job

    def cancel_kmeans(self) -> None:
        if self.kmeans_job is not None and self.kmeans_job.running:
            self.kmeans_job.cancel()

    def _kmeans_progress(self, fraction: float, message: str) -> None:
        self.kmeans_progress.setValue(round(fraction * 1000))
        self.kmeans_progress.setFormat(message or "%p%")

    def _kmeans_cancelled(self) -> None:
        self.classes_label.setText("k-means cancelled.")
        self.kmeans_progress.setValue(0)
        self.kmeans_progress.setFormat("cancelled")

    def _classes_ready(self, result: analysis.KMeansResult) -> None:
        self.classes = result
        k = len(result.counts)
        sizes = ", ".join(f"{c:,}" for c in result.counts)
        self.classes_label.setText(f"{k} classes after {result.iterations} iterations; pixels per class: {sizes}")
        self._select_tool("classes")
        self._sync()

    def _show_classes(self) -> None:
        self.shown = "classes"
        self._show_rgb(analysis.label_image(self.classes.labels, len(self.classes.counts)))

    def _classes_to_library(self) -> None:
        if self.classes is None or self.cube is None:
            return
        for i, c in enumerate(self.classes.centers):
            self.library.add(f"class {i}", c, self.cube.wavelengths)

    # -- PCA and index ------------------------------------------------------------------------------------
    def run_pca(self) -> JobWorker | None:
        if self.cube is None:
            return None
        self.pca_label.setText("Computing…")
        return self._start(analysis.pca, self.cube, 3, name="PCA", on_finished=self._pca_ready)

    def _pca_ready(self, result: analysis.PCAResult) -> None:
        self.pca_result = result
        ev = ", ".join(f"PC{i + 1} {v:.1%}" for i, v in enumerate(result.explained))
        self.pca_label.setText(f"Explained variance: {ev} (total {result.explained.sum():.1%}); red = PC1, "
                               "green = PC2, blue = PC3, each stretched 2–98 %.")
        self._select_tool("pca")

    def _show_pca(self) -> None:
        self.shown = "pca"
        self._show_rgb(self.pca_result.false_colour())

    def compute_index(self) -> JobWorker | None:
        if self.cube is None:
            return None
        try:
            a, b = analysis.parse_band(self.band_a.text()), analysis.parse_band(self.band_b.text())
        except InputError as exc:
            self.failed.emit("Index", str(exc))
            return None
        return self._start(analysis.index_map, self.cube, a, b, self.index_kind.currentData(), name="index",
                           pass_progress=False, on_finished=self._index_ready)

    def _index_ready(self, result: tuple[np.ndarray, str]) -> None:
        self.index = result
        self._select_tool("index")

    def _show_index(self) -> None:
        values, label = self.index
        lo, hi = analysis.stretch_limits(values, self.stretch_lo.value(), max(self.stretch_hi.value(),
                                                                              self.stretch_lo.value() + 0.1))
        self.shown = "index"
        self.mask_item.clear()
        self._show_base()
        self._show_map(values, (lo, hi), "viridis", opacity=1.0)
        s = analysis.summary(values)
        self.index_label.setText(f"{label}\nmedian {s.get('median', float('nan')):.4g}; shown {lo:.4g} … {hi:.4g} "
                                 "(drag the colour bar's handles to change)")

    # -- spectra plot -------------------------------------------------------------------------------------
    def _plot_spectra(self) -> None:
        """Reference, selected library entries (in their own colours, with a light outline) or class means; curve
        items are reused (re-creating them and their legend entries costs tens of milliseconds of GUI time)."""
        curves: list[tuple[np.ndarray, object, str, object]] = []  # values, pen, name, outline pen
        tool = TOOLS[self.tools.currentIndex()]
        if self.cube is not None and tool == "classes" and self.classes is not None:
            cols = analysis.class_colours(len(self.classes.counts))
            curves = [(c, pg.mkPen(tuple(int(v) for v in cols[i]), width=2),
                       f"class {i} ({self.classes.counts[i]:,} px)", None) for i, c in enumerate(self.classes.centers)]
        elif self.cube is not None and tool == "pca" and self.pca_result is not None:  # the loadings, as RGB
            pca = self.pca_result
            curves = [(pca.eigenvectors[:, i], pg.mkPen(colour, width=2), f"PC{i + 1} loading "
                       f"({pca.explained[i]:.1%})", None)
                      for i, colour in zip(range(pca.eigenvectors.shape[1]), ("r", "g", "b"), strict=False)]
        elif self.cube is not None:
            if self.reference is not None and tool in ("similarity", "library"):
                curves.append((self.reference[1], pg.mkPen("w", width=2), f"reference: {self.reference[0]}", None))
            fitted = self.library.on_grid() if self.library.lib is not None else None
            if fitted is not None:
                lib = fitted[0]
                for name in self.library.selected_names():
                    i = lib.names.index(name)
                    curves.append((lib.spectra[i], pg.mkPen(self.library.colour(i), width=1.5), name, OUTLINE_PEN))
        loadings = self.cube is not None and tool == "pca" and self.pca_result is not None
        self.plot.getPlotItem().setLabel("left", "Loading" if loadings else value_label(self.cube))
        while len(self._curves) < len(curves):
            self._curves.append(self.plot.plot([], []))
        self.legend.clear()
        for item, (values, pen, name, outline) in zip(self._curves, curves, strict=False):
            item.setData(self.cube.wavelengths, values, pen=pen, shadowPen=outline)
            item.setVisible(True)
            self.legend.addItem(item, name)
        for item in self._curves[len(curves):]:
            item.setData([], [])
            item.setVisible(False)


def _bytes(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] → uint8 for display (pyqtgraph paints bytes with fixed levels fastest)."""
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


__all__ = ["AnalysisPanel", "TOOLS"]
