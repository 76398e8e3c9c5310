"""The Reconstruct dock: model picker (default model, bundles from the models folder(s), training-free
baselines), steps / samples / seed / device, Run / Cancel, a progress bar with ETA. The job runs on a
worker (``services.reconstruction.reconstruct`` by default; ``job_fn`` can be replaced, e.g. by tests).

Devices: "auto" and "cpu" always; accelerators are found by ``services.reconstruction.probe_devices`` on a worker the first
time they matter (the device list is opened, a learned model is picked or run) — torch is never imported at
start-up. ``nvidia-smi`` (when present) is asked asynchronously for GPU names at start-up for the status bar.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.cube import RGBImage
from hsi_studio.gui.reconstruct.large_photo import LargePhotoOffer
from hsi_studio.services import reconstruction
from hsi_studio.services.models import model_choices
from hsi_studio.services.reconstruction import bundle_class, default_model_path, model_defaults

SAMPLING_TIPS = {"steps": "Diffusion solver steps",
                 "samples": "Samples per image; more than one also gives an uncertainty (std) cube",
                 "seed": "Seed of the diffusion model's noise (the same seed gives the same cube)"}
NO_SAMPLING_TIP = ("Off for this model: only a diffusion model (ULDM) samples; a per-pixel regression, the fast "
                   "model and the training-free baselines are one deterministic pass")


ETA_MIN_UPDATES, ETA_MIN_FRACTION, ETA_MIN_SECONDS = 3, 0.05, 1.0  # "estimating…" until all three are met


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class DeviceCombo(QComboBox):
    """A combo box that announces when its list is about to open (to probe devices lazily)."""

    about_to_show = Signal()

    def showPopup(self) -> None:  # Qt override
        self.about_to_show.emit()
        super().showPopup()


class ReconstructDock(QDockWidget):
    """Runs reconstructions of the current RGB image."""

    result_ready = Signal(object)  # services.reconstruction.Reconstruction
    job_failed = Signal(str, str)
    job_cancelled = Signal()
    devices_found = Signal(str)  # a one-line description for the status bar
    running_changed = Signal(bool)

    def __init__(self, jobs, settings=None, parent=None) -> None:
        super().__init__("Reconstruct", parent)
        self.setObjectName("reconstruct_dock")
        self.jobs = jobs
        self.settings = settings
        self.rgb: RGBImage | None = None
        self.source_name = ""
        self.prepared = None  # services.photo.PreparedPhoto: the corrected photo to reconstruct instead of rgb
        self.run_prepared = None  # the one the running (or just finished) job reconstructs
        self.input_busy = False  # the photo is being corrected: Run waits
        self._input_text = ""
        self.job = None
        self.job_fn = reconstruction.reconstruct
        self.extra_model_dirs: list[str] = []
        self.devices: list[tuple[str, str]] | None = None  # None: not probed yet
        self._probe_job = None
        self._smi: QProcess | None = None
        self._t0 = 0.0
        self.last_fraction = 0.0
        self._updates = 0  # progress updates of this run (the ETA waits for a few)
        self._classes: dict[str, str | None] = {}  # bundle → its class, read once
        self._build()
        self._load_settings()
        self.refresh_models()

    # -- construction -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.input_label = QLabel("Open an RGB photo to reconstruct it.")
        self.input_label.setWordWrap(True)
        self.model = QComboBox()
        self.model.setToolTip("Learned ULDM models (default and bundles) or a training-free baseline")
        self.models_btn = QToolButton()
        self.models_btn.setText("…")
        self.models_btn.setToolTip("Choose a folder with model bundles (folders holding model_index.json)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 1000)
        self.steps.setValue(8)
        self.samples = QSpinBox()
        self.samples.setRange(1, 64)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.device = DeviceCombo()
        self.device.addItem("auto", "auto")
        self.device.addItem("cpu", "cpu")
        self.device.setToolTip("auto: the first GPU when there is one, else the CPU")
        self.run_btn = QPushButton("Run")
        self.run_btn.setToolTip("Reconstruct the cube (Ctrl+R)")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the reconstruction (Esc)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.models_btn)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Steps", self.steps)
        form.addRow("Samples", self.samples)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_btn)
        buttons.addWidget(self.cancel_btn)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(self.input_label)
        self.large = LargePhotoOffer(self)  # a large photo: time / memory estimate, downscale / fast-model offers
        lay.addWidget(self.large)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addStretch(1)
        self._layout = lay
        scroll = QScrollArea()  # a short screen scrolls the dock rather than squeezing it
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.setWidget(scroll)

        self.model.currentIndexChanged.connect(self._model_changed)
        self.model.activated.connect(self._model_activated)
        self.models_btn.clicked.connect(self.choose_models_folder)
        self.device.about_to_show.connect(self.probe_devices)
        for box in (self.steps, self.samples):
            box.valueChanged.connect(self.large.refresh)
        self.run_btn.clicked.connect(self.run)
        self.cancel_btn.clicked.connect(self.cancel)
        self._sync()

    def add_section(self, widget: QWidget) -> None:
        """A section (e.g. the Photo group) between the input line and the model."""
        self._layout.insertWidget(1, widget)

    # -- settings -----------------------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        folders = s.value("reconstruct/models_dirs", [], list) or []
        if isinstance(folders, str):
            folders = [folders]
        legacy = s.value("reconstruct/models_dir", "", str)
        self.extra_model_dirs = [f for f in [*folders, legacy] if f]
        self.extra_model_dirs = list(dict.fromkeys(self.extra_model_dirs))
        rec = model_defaults(default_model_path())  # a first run: what the default model recommends
        self.steps.setValue(int(s.value("reconstruct/steps", rec["steps"])))
        self.samples.setValue(int(s.value("reconstruct/samples", rec["samples"])))
        self.seed.setValue(int(s.value("reconstruct/seed", 0)))

    def save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.setValue("reconstruct/model", self.model.currentData() or "")
        s.setValue("reconstruct/models_dir", self.extra_model_dirs[0] if self.extra_model_dirs else "")
        s.setValue("reconstruct/models_dirs", list(self.extra_model_dirs))
        s.setValue("reconstruct/steps", self.steps.value())
        s.setValue("reconstruct/samples", self.samples.value())
        s.setValue("reconstruct/seed", self.seed.value())
        s.setValue("reconstruct/device", self.device.currentData() or "auto")

    # -- models -------------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        previous = self.model.currentData() or (self.settings.value("reconstruct/model", "", str)
                                                if self.settings is not None else "")
        self.model.blockSignals(True)
        self.model.clear()
        first_available = -1
        for label, spec, available in model_choices(self.extra_model_dirs):
            self.model.addItem(label, spec)
            item = self.model.model().item(self.model.count() - 1)
            item.setEnabled(available)
            if not available:
                item.setToolTip("Install the default model into the models folder, or train one")
            elif first_available < 0:
                first_available = self.model.count() - 1
        index = self.model.findData(previous) if previous else -1
        if index < 0 or not self.model.model().item(index).isEnabled():
            index = first_available
        self.model.setCurrentIndex(max(index, 0))
        self.model.blockSignals(False)
        self._model_changed()

    def choose_models_folder(self, folder: str | None = None) -> None:
        if not folder:
            start = self.extra_model_dirs[0] if self.extra_model_dirs else str(Path.home())
            folder = QFileDialog.getExistingDirectory(self, "Folder with model bundles", start)
        if folder:
            self.extra_model_dirs = [str(folder), *[d for d in self.extra_model_dirs if d != str(folder)]]
            self.refresh_models()

    def add_model(self, path: str | Path) -> None:
        """A newly trained bundle: list its folder and select it."""
        path = Path(path)
        root = str(path.parent)
        if root not in self.extra_model_dirs:
            self.extra_model_dirs.append(root)
        self.refresh_models()
        index = self.model.findData(str(path))
        if index >= 0:
            self.model.setCurrentIndex(index)
        self.save_settings()

    def is_learned(self) -> bool:
        spec = self.model.currentData() or ""
        return not str(spec).startswith("physics:")

    def uses_sampling(self) -> bool:
        """Whether Steps / Samples / Seed do anything: only a diffusion model (a ULDM) samples; a per-pixel
        regression, the fast model and the physics baselines are one deterministic pass."""
        spec = str(self.model.currentData() or "")
        if not spec or spec.startswith("physics:"):
            return False
        if spec == "default":
            return True
        if spec not in self._classes:
            self._classes[spec] = bundle_class(spec)
        return self._classes[spec] in (None, "ULDM")

    def _model_changed(self, *_args) -> None:
        self._sync()

    def _model_picked(self, *_args) -> None:
        """The user picked a model: a learned one makes the accelerators matter, so probe them (on a worker).
        The initial selection at start-up does not, so launching never imports torch."""
        if self.is_learned() and self.model.currentData():
            self.probe_devices()

    def _model_activated(self, *_args) -> None:
        """The user picked a model in the list: as :meth:`_model_picked`, and a diffusion model's recommended steps
        and samples (its ``training.json``) are filled in (a run keeps whatever the user set since)."""
        self._model_picked()
        if self.uses_sampling():
            spec = str(self.model.currentData())
            rec = model_defaults(default_model_path() if spec == "default" else spec)
            self.steps.setValue(rec["steps"])
            self.samples.setValue(rec["samples"])

    # -- devices ------------------------------------------------------------------------------------------
    def probe_gpu_names(self) -> None:
        """Ask ``nvidia-smi`` (asynchronously, if installed) for GPU names: no torch import."""
        exe = shutil.which("nvidia-smi")
        if exe is None or self._smi is not None:
            return
        self._smi = QProcess(self)
        self._smi.finished.connect(self._smi_finished)
        self._smi.start(exe, ["--query-gpu=name,memory.total", "--format=csv,noheader"])

    def _smi_finished(self, code: int, _status) -> None:
        proc, self._smi = self._smi, None
        if proc is None:
            return
        text = bytes(proc.readAllStandardOutput().data()).decode(errors="replace").strip()
        proc.deleteLater()
        if code == 0 and text and self.devices is None:
            names = [line.split(",")[0].strip() for line in text.splitlines() if line.strip()]
            self.devices_found.emit("GPU: " + "; ".join(names))

    def stop_gpu_probe(self) -> None:
        if self._smi is not None:
            proc, self._smi = self._smi, None
            proc.kill()
            proc.waitForFinished(2000)

    def probe_devices(self) -> None:
        """Find accelerators with torch, on a worker, once."""
        if self.devices is not None or self._probe_job is not None or self.jobs.closed:
            return
        self._probe_job = self.jobs.start(reconstruction.probe_devices, name="devices", on_finished=self._devices,
                                          on_failed=lambda m, d: self._devices([]))
        self._probe_job.done.connect(lambda: setattr(self, "_probe_job", None))

    def _devices(self, found: list) -> None:
        self.devices = list(found)
        current = self.device.currentData()
        self.device.blockSignals(True)
        while self.device.count() > 2:
            self.device.removeItem(2)
        for dev, desc in self.devices:
            self.device.addItem(f"{dev} — {desc}", dev)
        self.device.setItemText(1, "cpu" if self.devices else "cpu (CPU only: no GPU found)")
        wanted = current or (self.settings.value("reconstruct/device", "auto", str) if self.settings else "auto")
        self.device.setCurrentIndex(max(self.device.findData(wanted), 0))
        self.device.blockSignals(False)
        if self.devices:
            self.devices_found.emit("; ".join(f"{d} {desc}" for d, desc in self.devices))
        else:
            self.devices_found.emit("CPU only")

    # -- input and running --------------------------------------------------------------------------------
    def set_input(self, rgb: RGBImage | None, name: str = "", space: str = "") -> None:
        """The photo to reconstruct (``space``: its colour space, shown); a corrected version is dropped."""
        self.rgb, self.source_name, self.prepared = rgb, name, None
        if rgb is None:
            self.input_label.setText("Open an RGB photo to reconstruct it.")
            self.input_label.setToolTip("")
        else:
            space = f", {space}" if space else ""
            origin = rgb.metadata.get("downscaled_from") if isinstance(rgb.metadata, dict) else None
            origin = f", downscaled from {origin.replace('x', '×')}" if origin else ""
            self.input_label.setText(f"Input: {name or 'RGB image'} ({rgb.width}×{rgb.height}{space}{origin})")
            self.input_label.setToolTip(f"Colour space: {rgb.colour_space}")
        self._input_text = self.input_label.text()
        if not self.running:  # the last run's "done in …" belongs to the previous photo
            self.progress.setValue(0)
            self.progress.setFormat("idle")
            self.message.setText("")
        self._sync()

    def set_prepared(self, prepared) -> None:
        """Reconstruct ``prepared.rgb`` (a white-balanced / chart-calibrated photo) instead of the photo as read;
        None: the photo as read."""
        self.prepared = prepared
        if self.rgb is not None:
            done = [] if prepared is None else [w for w, on in (("white-balanced", prepared.white_balance),
                                                                 ("chart-calibrated", prepared.calibration)) if on]
            self.input_label.setText(self._input_text + (f" — {' and '.join(done)}" if done else ""))
        self.large.refresh()

    def set_busy(self, busy: bool) -> None:
        """The photo is being corrected: Run waits for it."""
        self.input_busy = bool(busy)
        self._sync()

    def input_rgb(self) -> RGBImage | None:
        """What a run reconstructs: the corrected photo when there is one."""
        return self.prepared.rgb if self.prepared is not None else self.rgb

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def _sync(self) -> None:
        learned, sampling = self.is_learned(), self.uses_sampling()
        for name, w in (("steps", self.steps), ("samples", self.samples), ("seed", self.seed)):
            w.setEnabled(sampling and not self.running)
            w.setToolTip(SAMPLING_TIPS[name] + ("" if sampling else f". {NO_SAMPLING_TIP}"))
        self.device.setEnabled(learned and not self.running)
        self.model.setEnabled(not self.running)
        self.models_btn.setEnabled(not self.running)
        self.run_btn.setEnabled(self.rgb is not None and not self.running and not self.input_busy
                                and bool(self.model.currentData()))
        self.cancel_btn.setEnabled(self.running)
        self.large.refresh()

    def options(self) -> dict:
        return {"steps": self.steps.value(), "samples": self.samples.value(), "seed": self.seed.value(),
                "device": self.device.currentData() or "auto"}

    def run(self) -> bool:
        """Start a reconstruction of the current input; False when there is nothing to run."""
        if self.rgb is None or self.running or self.input_busy or not self.model.currentData() or self.jobs.closed:
            return False
        spec = str(self.model.currentData())
        self._model_picked()  # a learned run makes the accelerators matter: list them (on a worker)
        self._t0 = time.monotonic()
        self.last_fraction = 0.0
        self._updates = 0
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.message.setText(f"{self.model.currentText()} on {self.source_name or 'the image'}")
        self.run_prepared = self.prepared
        self.job = self.jobs.start(self.job_fn, self.input_rgb(), spec, name="reconstruct", **self.options(),
                                   on_progress=self._progress, on_finished=self._finished,
                                   on_failed=self._failed, on_cancelled=self._cancelled)
        self.job.done.connect(self._job_done)
        self._sync()
        self.running_changed.emit(True)
        return True

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()
            self.progress.setFormat("cancelling…")

    def _progress(self, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.last_fraction = fraction
        self.progress.setValue(int(round(fraction * 1000)))
        self._updates += 1
        elapsed = time.monotonic() - self._t0
        # The first updates (model loading, the first step's warm-up) say little about the rest: no number yet.
        settled = self._updates > ETA_MIN_UPDATES and fraction >= ETA_MIN_FRACTION and elapsed >= ETA_MIN_SECONDS
        eta = format_eta(elapsed * (1.0 - fraction) / fraction) if settled else "estimating…"
        self.progress.setFormat(f"{fraction * 100:.0f} %  ETA {eta}")
        if message:
            self.message.setText(message)

    def _finished(self, result) -> None:
        elapsed = time.monotonic() - self._t0
        self.progress.setValue(1000)
        self.progress.setFormat(f"100 %  done in {elapsed:.1f} s")
        notes = " ".join(getattr(result, "messages", []) or [])
        self.message.setText(f"Done on {getattr(result, 'device', 'cpu')}. {notes}".strip())
        self.result_ready.emit(result)

    def _failed(self, message: str, details: str) -> None:
        self.progress.setFormat("failed")
        self.message.setText(message)
        self.job_failed.emit(message, details)

    def _cancelled(self) -> None:
        self.progress.setFormat("cancelled")
        self.message.setText("Cancelled.")
        self.job_cancelled.emit()

    def _job_done(self) -> None:
        self.job = None
        self._sync()
        self.running_changed.emit(False)


__all__ = ["ReconstructDock", "format_eta"]
