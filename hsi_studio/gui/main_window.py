"""The main window: menus and shortcuts, the Explore / Relight / Compare tabs, the Reconstruct dock, the status
bar and settings; opening, drag-and-drop and exports are :mod:`.file_actions`, the dock's Photo section (white
balance, chart calibration) :mod:`.photo_tools`, the chart report :mod:`.chart_report_view`. Every file read / write
and every long computation runs on a worker (:mod:`.workers`); failures become dialogs, never tracebacks."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QTabWidget,
)

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.gui import dialogs, tooltips
from hsi_studio.gui.analysis.analysis_panel import AnalysisPanel
from hsi_studio.gui.analysis.compare import CompareWidget
from hsi_studio.gui.explore.band_view import BandView
from hsi_studio.gui.explore.spectrum_plot import SpectrumPlot
from hsi_studio.gui.explore.view_quantity import QuantityActions
from hsi_studio.gui.file_actions import FileActions
from hsi_studio.gui.help_dialog import HelpActions
from hsi_studio.gui.reconstruct.chart_report_view import ChartReportActions
from hsi_studio.gui.reconstruct.photo_tools import PhotoTools, short_colour_space
from hsi_studio.gui.reconstruct.reconstruct_dock import ReconstructDock
from hsi_studio.gui.relight.relight_panel import RelightPanel
from hsi_studio.gui.training import model_folders
from hsi_studio.gui.workers import JobSet
from hsi_studio.services import files
from hsi_studio.services.models import method_label
from hsi_studio.services.reconstruction import Reconstruction
from hsi_studio.services.workspace import Workspace

TAB_EXPLORE, TAB_RELIGHT, TAB_COMPARE, TAB_ANALYSE = range(4)


def process_memory_bytes() -> int | None:
    """Resident memory of this process (psutil when installed, else /proc), None when unknown."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # optional dependency / platform without it
        pass
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError, IndexError):
        return None


class MainWindow(FileActions, ChartReportActions, HelpActions, QuantityActions, QMainWindow):
    """HSI Studio's window. ``settings`` defaults to the application's QSettings."""

    file_loaded = Signal(object)  # services.files.Loaded
    cube_changed = Signal()
    error_shown = Signal(str)

    def __init__(self, settings: QSettings | None = None, *, warm_up: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.jobs = JobSet(self)
        # the document (photo, cube, σ, compared cube, names, quantity): the views observe it
        self.workspace = Workspace()
        self._shown: tuple = (None, False)  # (render, keep_input) of the cube being shown
        self.last_error: str | None = None
        self._closing = False
        self.train_wizard = None
        self.chart_report: dict | None = None  # the last reconstruction's chart report
        self.report_view = None
        self.setWindowTitle("HSI Studio")
        self.setAcceptDrops(True)
        tooltips.install()  # long explanations wrap instead of running across the screen
        self._build_views()
        self._build_actions()
        self._build_menus()
        self._build_status()
        self._restore_settings()
        if warm_up:
            QTimer.singleShot(200, self._warm_up)
        QTimer.singleShot(0, self.dock.probe_gpu_names)

    # -- construction -------------------------------------------------------------------------------------
    def _build_views(self) -> None:
        ws = self.workspace
        ws.events.photo.connect(self._photo_shown)  # first: the band view, the dock and the Photo section
        ws.events.cube.connect(self._cube_shown)
        self.band_view = BandView()
        self.spectrum = SpectrumPlot(ws)
        self.relight = RelightPanel(self.jobs, workspace=ws)
        self.compare = CompareWidget(self.jobs, workspace=ws)
        explore = QSplitter(Qt.Orientation.Horizontal)
        explore.addWidget(self.band_view)
        explore.addWidget(self.spectrum)
        explore.setStretchFactor(0, 3)
        explore.setStretchFactor(1, 2)
        self.explore = explore
        self.tabs = QTabWidget()
        self.tabs.addTab(explore, "Explore")
        self.tabs.addTab(self.relight, "Relight")
        self.tabs.addTab(self.compare, "Compare")
        self.analysis = AnalysisPanel(self.jobs, workspace=ws)  # reads the cube in the shown quantity
        self.analysis.spectra_source = self.spectrum.curves  # pins and ROI means can be references / saved
        self.tabs.addTab(self.analysis, "Analyse")
        ws.events.photo.connect(self._document_changed)  # last: after every view has the new document
        ws.events.cube.connect(self._document_changed)
        ws.events.quantity.connect(self._quantity_changed)
        self.analysis.failed.connect(lambda t, m: self.show_error(t, m))
        self.analysis.status.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.setCentralWidget(self.tabs)
        self.dock = ReconstructDock(self.jobs, self.settings, self)
        model_folders.adopt(self.dock, self.settings)  # the folders live in the settings file the CLI reads
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.photo = PhotoTools(self.jobs, self.band_view.canvas, self.dock)  # white balance, chart calibration
        self.dock.add_section(self.photo)
        self.photo.prepared_changed.connect(self._photo_prepared)
        self.photo.busy_changed.connect(self.dock.set_busy)
        self.photo.status.connect(lambda m, ms: self.statusBar().showMessage(m, ms))
        self.photo.failed.connect(lambda m: setattr(self, "last_error", m))

        self.band_view.hovered.connect(self.spectrum.on_hover)
        self.band_view.clicked.connect(self._image_clicked)
        self.band_view.roi_changed.connect(self.spectrum.set_roi_mask)
        self.band_view.band_changed.connect(self.spectrum.set_band)  # the band marker follows the slider
        self.spectrum.pins_changed.connect(self.band_view.canvas.set_markers)
        self.spectrum.spectra_changed.connect(self.analysis.refresh_refs)  # pins / region: the reference list
        self.relight.views.hovered.connect(self.spectrum.on_hover)
        self.compare.canvas.hovered.connect(self.spectrum.on_hover)
        self.compare.load_requested.connect(self.load_ground_truth)
        self.compare.load_other_requested.connect(self.load_comparison)
        self.compare.previous_requested.connect(self.compare_with_previous)
        self.compare.failed.connect(lambda m, d: self.show_error("Cannot compare", m, d))
        self.dock.result_ready.connect(self._reconstructed)
        self.dock.large.downscaled.connect(lambda small: self.set_rgb(small, self.source))  # the smaller photo
        self.dock.job_failed.connect(lambda m, d: self.show_error("Reconstruction failed", m, d))
        self.dock.job_cancelled.connect(lambda: self.statusBar().showMessage("Reconstruction cancelled", 5000))
        self.dock.devices_found.connect(self._devices_found)

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)  # shortcuts work even while a menu is closed
        return act

    def _build_actions(self) -> None:
        a = self._action
        self.act_open = a("&Open…", self.open_dialog, QKeySequence.StandardKey.Open, "Open an RGB photo or a cube")
        self.act_gt = a("Load &ground truth…", self.load_ground_truth, "Ctrl+G", "A cube to compare against")
        self.act_compare_other = a("Compare &with a cube…", self.load_comparison, None,
                                   "Another reconstruction of the same photo, when there is no ground truth")
        self.act_export_cube = a("Export &cube…", self.export_cube, QKeySequence.StandardKey.Save,
                                 "Write the cube (HDF5, ENVI, MAT, NPY, …)")
        self.act_export_refl = a("Export r&eflectance cube…", lambda: self.export_cube(what="reflectance"), None,
                                 "Write the reflectance estimate: a reconstruction divided by the light its photo "
                                 "was taken under (D65 for an sRGB photo), so a white surface reads 1")
        self.act_export_std = a("Export &uncertainty (σ) cube…", lambda: self.export_cube(what="std"), None,
                                "Write the per-pixel std cube of a reconstruction sampled more than once "
                                "(as the CLI writes NAME_std)")
        self.act_export_band = a("Export current &band PNG…", self.export_band_png, "Ctrl+E",
                                 "Save what the band view shows")
        self.act_export_relit = a("Export &relit PNG…", self.export_relit_png, "Ctrl+Shift+E",
                                  "Save the relit image")
        self.act_export_csv = a("Export &spectra CSV…", self.export_spectra_csv, "Ctrl+Shift+S",
                                "Save the plotted spectra")
        self.act_quit = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_run = a("&Reconstruct", self.dock.run, "Ctrl+R", "Reconstruct the cube from the photo")
        self.act_cancel = a("&Cancel job", self.cancel_current, "Esc",
                            "Stop the reconstruction, the photo correction or the clicks on the image")
        self.act_chart_report = a("C&hart report…", self.show_chart_report, None,
                                  "The last chart-calibrated reconstruction: ΔE per patch and the chart's spectra")
        self.act_prev = a("Previous band", lambda: self.band_view.step_band(-1), "Ctrl+[")
        self.act_next = a("Next band", lambda: self.band_view.step_band(1), "Ctrl+]")
        self.act_fit = a("&Fit image", self.fit_view, "Ctrl+0",
                         "Show the whole image in the current tab's views (or double-click an image)")
        self.act_tabs = [a(name, lambda i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}")
                         for i, name in enumerate(("&Explore", "Re&light", "Co&mpare", "&Analyse"))]
        self.act_about = a("&About HSI Studio", self.about)
        self.act_docs = a("&Documentation", self.show_documentation, QKeySequence.StandardKey.HelpContents,
                          "The desktop app's guide (docs/gui.md), offline")
        self.act_model_card = a("&Model card", self.show_model_card, None,
                                "The model card of the model chosen in the Reconstruct dock: its data, training "
                                "and scores")
        self.act_train = a("&Train a model…", self.open_train_wizard, "Ctrl+T",
                           "Train a ULDM on your own cubes (both stages), with live curves")
        self._build_quantity()  # View ▸ Show as reflectance

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = QMenu("Open &recent", self)
        m.addMenu(self.recent_menu)
        m.addAction(self.act_gt)
        m.addAction(self.act_compare_other)
        m.addSeparator()
        for act in (self.act_export_cube, self.act_export_refl, self.act_export_std, self.act_export_band,
                    self.act_export_relit,
                    self.act_export_csv):
            m.addAction(act)
        m.addSeparator()
        m.addAction(self.act_quit)
        v = bar.addMenu("&View")
        for act in (*self.act_tabs, self.act_prev, self.act_next, self.act_fit, self.act_reflectance):
            v.addAction(act)
        v.addSeparator()
        v.addAction(self.dock.toggleViewAction())
        r = bar.addMenu("&Reconstruct")
        r.addAction(self.act_run)
        r.addAction(self.act_cancel)
        r.addAction(self.act_chart_report)
        r.addSeparator()
        r.addAction(self.act_train)
        an = bar.addMenu("&Analyse")
        for text, slot in (("Similarity map of the clicked pixel", lambda: self._analyse_tool(0)),
                           ("&Load spectral library…", lambda: self.analysis.library.load()),
                           ("Run &k-means", lambda: self._analyse_tool(2, self.analysis.run_kmeans)),
                           ("&PCA view", lambda: self._analyse_tool(3, self.analysis.run_pca)),
                           ("&Index map", lambda: self._analyse_tool(4, self.analysis.compute_index))):
            an.addAction(text, slot)
        h = bar.addMenu("&Help")
        h.addAction(self.act_docs)
        h.addAction(self.act_model_card)
        h.addSeparator()
        h.addAction(self.act_about)
        self._rebuild_recent()

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.cube_label = QLabel("")
        self.device_label = QLabel("Device: auto")
        self.memory_label = QLabel("")
        for w in (self.cube_label, self.device_label, self.memory_label):
            sb.addPermanentWidget(w)
        self._mem_timer = QTimer(self)
        self._mem_timer.setInterval(2000)
        self._mem_timer.timeout.connect(self._update_memory)
        self._mem_timer.start()
        self._update_memory()
        self._sync_actions()

    def _update_memory(self) -> None:
        rss = process_memory_bytes()
        self.memory_label.setText(f"Memory: {rss / 1024**2:,.0f} MB" if rss else "")

    def _sync_actions(self) -> None:
        has_cube = self.cube is not None
        for act in (self.act_export_cube, self.act_export_band, self.act_gt, self.act_compare_other):
            act.setEnabled(has_cube)
        self.act_export_band.setEnabled(has_cube or self.rgb is not None)
        self.act_export_relit.setEnabled(has_cube)
        self.act_export_csv.setEnabled(has_cube)
        self.act_export_refl.setEnabled(files.has_reflectance(self.cube))
        self.act_export_std.setEnabled(has_cube and self.std is not None)
        self.act_chart_report.setEnabled(self.chart_report is not None)
        self._sync_quantity()

    # -- settings -----------------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:  # 1400×860, or the whole screen when it is smaller (a 1280×720 laptop)
            screen = self.screen().availableGeometry() if self.screen() is not None else None
            self.resize(min(1400, screen.width()) if screen else 1400, min(860, screen.height()) if screen else 860)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        cmap = s.value("view/colormap", "", str)
        if cmap:
            self.band_view.set_colormap(cmap)

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/colormap", self.band_view.cmap_combo.currentText())
        self.dock.save_settings()
        model_folders.save(self.dock)
        s.sync()

    # -- the document (services.workspace.Workspace; these names read it) ---------------------------------
    rgb = property(lambda self: self.workspace.photo, doc="the photo (None: a cube was opened)")
    cube = property(lambda self: self.workspace.cube)
    std = property(lambda self: self.workspace.std)
    gt = property(lambda self: self.workspace.ground_truth, doc="the compared cube: a ground truth, or another")
    gt_is_truth = property(lambda self: self.workspace.gt_is_truth)
    gt_name = property(lambda self: self.workspace.gt_name)
    cube_name = property(lambda self: self.workspace.cube_name)
    previous = property(lambda self: self.workspace.previous, doc="(cube, name) shown before, for comparing two")
    source = property(lambda self: self.workspace.source)

    def set_rgb(self, rgb: RGBImage, path: Path | None = None) -> None:
        self.workspace.set_photo(rgb, path)

    def _photo_shown(self) -> None:
        rgb, path = self.workspace.photo, self.workspace.source
        self.band_view.set_rgb(rgb)
        space = short_colour_space(rgb.colour_space)
        self.dock.set_input(rgb, path.name if path else "", space)
        self.photo.set_photo(rgb)
        self.dock.show()
        self.cube_label.setText(f"{path.name if path else 'Photo'} — {rgb.width}×{rgb.height} — {space}")
        self.cube_label.setToolTip(f"Colour space: {rgb.colour_space}")
        self.setWindowTitle(f"HSI Studio — {path.name}" if path else "HSI Studio")
        self.tabs.setCurrentIndex(TAB_EXPLORE)
        self.statusBar().showMessage("Photo loaded: press Run (Ctrl+R) to reconstruct its cube", 8000)

    def set_cube(self, cube: HSCube, *, std: HSCube | None = None, render=None, source: Path | None = None,
                 keep_input: bool = False, name: str = "") -> None:
        self._shown = (render, keep_input)
        self.workspace.set_cube(cube, std, name=name, source=source, keep_photo=keep_input)

    def _cube_shown(self) -> None:
        ws, (render, keep_input) = self.workspace, self._shown
        self._shown = (None, False)
        if not keep_input:
            self.dock.set_input(None)
            self.photo.set_photo(None)
        self.band_view.set_cube(ws.cube, render, std=ws.std)
        if self.band_view.mode == "rgb" and self.band_view.render() is None:
            self.band_view.set_mode("band", remember=False)

    def _document_changed(self) -> None:
        """After the views: the band marker, the title and the status bar."""
        cube = self.workspace.cube
        if cube is not None:
            self.spectrum.set_band(self.band_view.band)
            name = Path(self.source).name if self.source else "cube"
            self.setWindowTitle(f"HSI Studio — {name}")
            self.cube_label.setText(f"Cube {cube.width}×{cube.height}×{cube.bands} "
                                    f"({cube.wavelengths[0]:g}–{cube.wavelengths[-1]:g} nm)")
            self.cube_label.setToolTip(str(cube.metadata.get("colour_space", "")))
        self._sync_actions()
        self.cube_changed.emit()

    def set_ground_truth(self, gt: HSCube | None, name: str = "", *, truth: bool = True) -> None:
        """Compare the cube with ``gt``: a ground truth, or (``truth=False``) another reconstruction / cube."""
        try:
            self.workspace.set_ground_truth(gt, name, truth=truth)
        except InputError as exc:
            self.show_error("Cannot compare", str(exc))
            return
        if gt is not None:
            self.tabs.setCurrentIndex(TAB_COMPARE)

    @staticmethod
    def _default_model_path() -> Path:
        from hsi_studio.services.reconstruction import default_model_path

        return default_model_path().resolve()

    def _reconstructed(self, result: Reconstruction) -> None:
        if self._closing:
            return
        model = str(result.model)
        if model.startswith("physics:"):
            model = method_label(model)
        elif model in ("", "default") or Path(model).resolve() == self._default_model_path():
            model = "Default ULDM"
        else:
            model = Path(model).name
        photo = Path(self.source).name if self.source else "the photo"
        prepared = self.dock.run_prepared
        if self.rgb is not None:  # the colour space and the corrections go with the cube (as the CLI records them)
            result.cube.metadata.update(prepared.record() if prepared is not None
                                        else {"colour_space": self.rgb.colour_space})
        self.set_cube(result.cube, std=result.std, render=result.render, keep_input=True,
                      name=f"{model or 'model'} of {photo}")
        if prepared is not None and prepared.calibration is not None:
            self._start_chart_report(prepared, result, model)
        if self.band_view.user_mode is None:  # until the user picks a mode, a reconstruction shows its render
            self.band_view.set_mode("rgb" if result.render is not None else "band", remember=False)
        self.statusBar().showMessage(f"Reconstructed with {result.model} on {result.device} in "
                                     f"{result.seconds:.1f} s", 8000)

    # -- the photo's corrections and the chart report -----------------------------------------------------
    def _image_clicked(self, row: int, col: int, shift: bool) -> None:
        """A click on the image: a pick for the Photo section when it waits for one, else the spectrum's."""
        if not self.photo.on_image_click(row, col, shift):
            self.spectrum.on_click(row, col, shift)

    def cancel_current(self) -> None:
        """Esc: the photo correction or its clicks first, else the reconstruction."""
        if not self.photo.cancel():
            self.dock.cancel()

    def _photo_prepared(self, prepared) -> None:
        self.dock.set_prepared(prepared)
        if self.cube is None and self.rgb is not None:  # show the photo as it will be reconstructed
            self.band_view.set_rgb(prepared.rgb if prepared is not None else self.rgb)

    def fit_view(self) -> None:
        """Fit the image in the current tab's views."""
        tab = self.tabs.currentIndex()
        if tab == TAB_RELIGHT:
            self.relight.views.fit()
        elif tab == TAB_COMPARE:
            self.compare.canvas.fit()
        elif tab == TAB_ANALYSE:
            self.analysis.canvas.fit()
        else:
            self.band_view.canvas.fit()

    # -- misc ---------------------------------------------------------------------------------------------
    def _analyse_tool(self, page: int, run=None) -> None:
        self.tabs.setCurrentIndex(TAB_ANALYSE)
        self.analysis.tools.setCurrentIndex(page)
        if run is not None:
            run()

    def show_error(self, title: str, message: str, details: str = ""):
        self.last_error = message
        self.error_shown.emit(message)
        if self._closing:
            return None
        return dialogs.show_error(self, title, message, details)

    def about(self):
        return dialogs.show_about(self)

    def open_train_wizard(self):
        """Open (or raise) the training wizard; a model it trains appears in the Reconstruct dock."""
        if self.train_wizard is not None and self.train_wizard.isVisible():
            self.train_wizard.raise_()
            self.train_wizard.activateWindow()
            return self.train_wizard
        from hsi_studio.gui.training.wizard import TrainWizard

        if self.train_wizard is not None:  # a closed wizard may still be stopping its trainer
            self.train_wizard.shutdown()
            self.train_wizard.deleteLater()
        wiz = TrainWizard(self, settings=self.settings, devices=self.dock.devices or [])
        wiz.setWindowFlag(Qt.WindowType.Window, True)
        wiz.model_ready.connect(self._model_trained)
        self.train_wizard = wiz
        self.dock.probe_devices()
        wiz.show()
        return wiz

    def _devices_found(self, text: str) -> None:
        self.device_label.setText(f"Device: {text}")
        if self.train_wizard is not None:
            self.train_wizard.set_devices(self.dock.devices or [])

    def _model_trained(self, path: str) -> None:
        self.dock.add_model(path)
        model_folders.save(self.dock)  # hsi-studio models and --model NAME see it too
        self.statusBar().showMessage(f"New model: {path}", 10000)

    def _warm_up(self) -> None:
        if not self.jobs.closed:
            self.jobs.start(files.warm_up, name="warm-up")

    def closeEvent(self, event) -> None:  # Qt override
        """Cancel running jobs and join their threads before the window goes (a running training: ask first)."""
        if self.train_wizard is not None and not self.train_wizard.confirm_stop_training():
            event.ignore()
            return
        self._closing = True
        self._mem_timer.stop()
        self.relight.stop()
        self.dock.stop_gpu_probe()
        if self.train_wizard is not None:
            self.train_wizard.shutdown()
            self.train_wizard.close()
        self._save_settings()
        if self.report_view is not None:
            self.report_view.close()
        self.jobs.shutdown()
        super().closeEvent(event)


__all__ = ["MainWindow", "process_memory_bytes"]
