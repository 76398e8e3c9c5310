"""The main window's file handling: the recent-files menu, opening (dialogs, drag and drop; files are read on
a worker) and the exports (cube, reflectance, band / relit PNG, spectra CSV). :class:`FileActions` is mixed
into :class:`~.main_window.MainWindow`, whose views and job set it uses."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from hsi_studio.core.errors import one_line
from hsi_studio.gui import dialogs
from hsi_studio.gui.reconstruct.photo_tools import short_colour_space
from hsi_studio.services import files

MAX_RECENT = 10


class FileActions:
    """Opening and exporting, for :class:`~.main_window.MainWindow` (``settings``, ``jobs``, the views)."""

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [r for r in self.recent_files() if r != p]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self.settings.setValue("last_dir", str(Path(p).parent))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for i, path in enumerate(recent):
            act = self.recent_menu.addAction(f"&{(i + 1) % 10} {Path(path).name}")
            act.setToolTip(path)
            act.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.settings.setValue("recent", [])
        self._rebuild_recent()

    def _last_dir(self) -> str:
        return self.settings.value("last_dir", str(Path.home()), str)

    # -- opening ------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an RGB photo or a cube", self._last_dir(),
                                              dialogs.open_filter())
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path, *, as_ground_truth: bool = False, as_comparison: bool = False):
        """Read a file on a worker; RGB images go to the Reconstruct dock, cubes to the views."""
        if self.jobs.closed:
            return None
        p = Path(path)
        self.statusBar().showMessage(f"Opening {p.name}…")
        reference = as_ground_truth or as_comparison
        return self.jobs.start(files.load_file, p, want="cube" if reference else "any", name="open",
                               on_finished=lambda r: self._loaded(r, as_ground_truth, as_comparison),
                               on_failed=lambda m, d: self._open_failed(p, m, d))

    def _open_failed(self, path: Path, message: str, details: str) -> None:
        self.statusBar().showMessage(f"Could not open {path.name}", 5000)
        self.show_error("Could not open file", message, details)

    def _loaded(self, loaded: files.Loaded, as_ground_truth: bool, as_comparison: bool = False) -> None:
        if self._closing:
            return
        self._add_recent(loaded.path)
        if as_ground_truth or as_comparison:
            self.set_ground_truth(loaded.cube, loaded.path.name, truth=not as_comparison)
        elif loaded.rgb is not None:
            self.set_rgb(loaded.rgb, loaded.path)
        else:
            self.set_cube(loaded.cube, render=loaded.render, source=loaded.path)
        space = f" ({short_colour_space(loaded.rgb.colour_space)})" if loaded.rgb is not None else ""
        notes = "".join(f" — {n}" for n in loaded.notes)  # e.g. an RGBA photo's alpha dropped: said, not silent
        self.statusBar().showMessage(f"Opened {loaded.path.name} in {loaded.seconds:.2f} s{space}{notes}",
                                     15000 if notes else 8000)
        self.file_loaded.emit(loaded)

    def load_ground_truth(self, path: str | Path | None = None):
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Ground-truth cube", self._last_dir(), dialogs.cube_filter())
            if not path:
                return None
        return self.open_path(path, as_ground_truth=True)

    def load_comparison(self, path: str | Path | None = None):
        """A second cube to compare the current one with, when there is no ground truth (e.g. another model's
        reconstruction of the same photo)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Cube to compare with", self._last_dir(),
                                                  dialogs.cube_filter())
            if not path:
                return None
        return self.open_path(path, as_comparison=True)

    def compare_with_previous(self) -> None:
        """Compare the current cube with the one shown before it (no ground truth)."""
        if self.previous is not None:
            cube, name = self.previous
            self.set_ground_truth(cube, name, truth=False)

    def dragEnterEvent(self, event) -> None:  # Qt override
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:  # Qt override
        dropped = _local_files(event.mimeData())
        if not dropped:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_path(dropped[0])
        if len(dropped) > 1:
            self.statusBar().showMessage(f"Opened the first of {len(dropped)} dropped files", 5000)

    # -- exports ------------------------------------------------------------------------------------------
    def _save_path(self, title: str, suffix: str, filters: str) -> str:
        stem = Path(self.source).stem if self.source else "hsi"
        default = str(Path(self._last_dir()) / f"{stem}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, default, filters)
        return path

    def export_cube(self, path: str | Path | None = None, reflectance: bool = False, what: str = "cube"):
        """Write the cube (radiance as reconstructed); ``what="reflectance"`` (or ``reflectance``) its reflectance
        estimate; ``what="std"`` its uncertainty (σ) cube, when the reconstruction was sampled more than once."""
        what = "reflectance" if reflectance else what
        if self.cube is None or self.jobs.closed:
            return None
        if what == "reflectance" and not files.has_reflectance(self.cube):
            self.statusBar().showMessage("This cube records no capture illuminant, so its reflectance is unknown "
                                         "(expected a reconstruction of a photo, or a reflectance cube)", 10000)
            return None
        if what == "std" and self.std is None:
            self.statusBar().showMessage("This cube has no uncertainty (σ) cube: reconstruct with a diffusion model "
                                         "and Samples above 1", 10000)
            return None
        if path is None:
            filters = dialogs.cube_write_filters()
            stem = Path(self.source).stem if self.source else "cube"
            suffix = {"reflectance": "_reflectance", "std": "_std"}.get(what, "")
            title = {"reflectance": "Export reflectance cube", "std": "Export uncertainty (σ) cube"}.get(
                what, "Export cube")
            path, chosen = QFileDialog.getSaveFileName(self, title, str(Path(self._last_dir()) / (stem + suffix)),
                                                       ";;".join(filters))
            if not path:
                return None
            if not Path(path).suffix:
                path += dialogs.extension_from_filter(chosen)
        self.statusBar().showMessage(f"Writing {Path(path).name}…")
        writer = files.write_reflectance if what == "reflectance" else files.write_cube
        cube = self.std if what == "std" else self.cube
        return self.jobs.start(writer, cube, path, name="export", on_finished=self._cube_written,
                               on_failed=lambda m, d: self.show_error("Could not write the cube", m, d))

    def _cube_written(self, path: Path) -> None:
        """Say where the cube went and how big it is on disk (HDF5 is written compressed)."""
        raw = self.cube.data.nbytes if self.cube is not None else 0
        size = files.written_bytes(path)
        ratio = f", {raw / size:.1f}× smaller than raw" if size and raw > 1.2 * size else ""
        self.statusBar().showMessage(f"Wrote {path} ({files.format_bytes(size)}{ratio})", 10000)

    def _write_png(self, array, path: str | Path, what: str) -> Path | None:
        try:
            from hsi_studio.services.cubes import write_rgb

            out = Path(write_rgb(array, path))
        except Exception as exc:  # shown to the user, the app stays alive
            from hsi_studio.gui.workers import describe_error

            self.show_error(f"Could not write the {what}", *describe_error(exc))
            return None
        self.statusBar().showMessage(f"Wrote {out}", 8000)
        return out

    def export_band_png(self, path: str | Path | None = None) -> Path | None:
        image = self.band_view.shown_rgb()
        if image is None:
            return None
        mode = self.band_view.mode
        suffix = f"_{self.cube.wavelengths[self.band_view.band]:g}nm" if mode in ("band", "sigma") else ""
        suffix += "_std" if mode == "sigma" else ""
        path = path or self._save_path("Export band image", f"{suffix}.png", "PNG image (*.png)")
        return self._write_png(image, path, "image") if path else None

    def export_relit_png(self, path: str | Path | None = None) -> Path | None:
        if self.relight.relit is None or self.relight.stale:
            self.relight.update_now(force=True)
        if self.relight.relit is None:
            return None
        spec = (self.relight.illuminant_spec() or "relit").replace(":", "")
        path = path or self._save_path("Export relit image", f"_{spec}.png", "PNG image (*.png)")
        return self._write_png(self.relight.relit, path, "relit image") if path else None

    def export_spectra_csv(self, path: str | Path | None = None) -> Path | None:
        if not self.spectrum.curves():
            self.show_error("Nothing to export", "no spectra shown: hover over or click a pixel, Shift+click to "
                            "pin spectra, or draw a region")
            return None
        path = path or self._save_path("Export spectra", "_spectra.csv", "CSV (*.csv)")
        if not path:
            return None
        try:
            out = self.spectrum.export_csv(path)
        except (OSError, ValueError) as exc:
            self.show_error("Could not write the spectra", one_line(exc))
            return None
        self.statusBar().showMessage(f"Wrote {out}", 8000)
        return out


def _local_files(mime) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


__all__ = ["FileActions", "MAX_RECENT"]
