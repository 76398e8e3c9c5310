"""The training wizard (Tools ▸ Train a model…): data → camera response → base model → settings → run → finish.

Training runs as ``hsi-studio train … --jsonl`` subprocesses (:mod:`.training_runner`), so a crash or a hung
GPU in training never takes the GUI down; its JSON lines drive live loss and validation curves, progress and
ETA. Pause and Cancel make the trainer save a checkpoint and exit; Resume continues exactly. The finish page
scores the new model against the analytic baselines on the validation cubes (on a worker thread) and the model
appears in the Reconstruct dock.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from .train_plan import BASE_FOLDER, BASE_PRETRAIN, BASE_PROJECT, STAGE_LABELS, TrainPlan, round_up, safe_name
from .training_runner import TrainingRunner, disk_free_gb
from .workers import JobSet

PAGE_DATA, PAGE_CAMERA, PAGE_BASE, PAGE_SETTINGS, PAGE_RUN, PAGE_FINISH = range(6)
COL_VAL, COL_FILE, COL_FORMAT, COL_STATUS = 0, 1, 2, 6  # the data page's table
STAGE_COLOURS = {"rgb-pretrain": (120, 120, 120), "stage1": (31, 119, 180), "stage2": (214, 39, 40)}
_FORMATS = {".h5": "HDF5", ".hdf5": "HDF5", ".he5": "HDF5", ".mat": "MATLAB", ".hdr": "ENVI", ".npy": "NumPy",
            ".npz": "NumPy", ".tif": "TIFF", ".tiff": "TIFF"}


def format_of(path: Path) -> str:
    return "PNG band folder" if path.is_dir() else _FORMATS.get(path.suffix.lower(), path.suffix.lstrip(".") or "?")


def format_seconds(s: float | None) -> str:
    if s is None or not np.isfinite(s):
        return "—"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def default_models_root() -> Path:
    """``<user data>/HSI Studio/models`` (the application's data folder, named once: Qt's AppDataLocation
    appends both the organisation and the application name, both "HSI Studio")."""
    from .app import APPLICATION

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return (Path(base) / APPLICATION if base else Path.home() / ".hsi-studio") / "models"


# ---------------------------------------------------------------------------------------------------------
# Worker functions (run off the GUI thread)
# ---------------------------------------------------------------------------------------------------------
def scan_folder(folder: str, progress=None, cancel=None) -> dict:
    """The data report of a folder of cubes (counts, shapes, bands, ranges, refused files and why)."""
    from hsi_studio.core.data import CubeFolder
    from hsi_studio.core.errors import InputError

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder} is not a folder; expected a folder of HSI cubes")
    cf = CubeFolder(root, cache=False)
    report = cf.report(progress, cancel)
    report["paths"] = {cf.name(i): str(cf.files[i]) for i in range(len(cf))}
    report["formats"] = {cf.name(i): format_of(cf.files[i]) for i in range(len(cf))}
    return report


def scoring_protocol(model: str) -> str:
    """The evaluation protocol a trained bundle is scored with: ``photo`` when it was trained on cubes lit by
    D65 (the convention of white-balanced photos, ``stage.sim.light``), else ``camera`` (NTIRE 2022)."""
    import json
    from pathlib import Path

    try:
        stage = json.loads((Path(model) / "training.json").read_text())["training"]["stage"]
        light = (stage.get("sim") or {}).get("light")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        light = None
    return "photo" if isinstance(light, str) and light.upper() == "D65" else "camera"


def score_model(model: str, val_files: list[str], response: str, progress=None, cancel=None,
                lighting: str = "varied") -> list[dict]:
    """Mean validation scores of the new model and every baseline (analytic and the shipped learned per-pixel
    regressions), under :func:`scoring_protocol` (generated scenes without cubes, lit as the model was
    trained). Each summary row carries its ``protocol``."""
    from hsi_studio.core.data import CubeFolder
    from hsi_studio.core.evaluation import evaluate, summary
    from hsi_studio.core.scenes import SceneGenerator

    if val_files:
        folder = CubeFolder.load(list(val_files))
        cubes = list(zip(folder.names, folder.cubes, strict=True))
    else:
        gen = SceneGenerator.default(seed=0, lighting=lighting)
        cubes = [(f"generated scene {i + 1}", gen.generate(10_000_000 + i, 64)) for i in range(2)]
    cubes = [(name, _centre_crop(cube, 256)) for name, cube in cubes]
    rows = evaluate(cubes, model=model, protocol=scoring_protocol(model), response_name=response, device="cpu",
                    progress=progress, cancel=cancel)
    return summary(rows)


def _centre_crop(cube, size: int):
    from hsi_studio.core.cube import HSCube

    h, w = cube.data.shape[:2]
    if h <= size and w <= size:
        return cube
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return HSCube(np.ascontiguousarray(cube.data[top:top + size, left:left + size]), cube.wavelengths,
                  dict(cube.metadata), kind=cube.kind)


def response_curves(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    from hsi_studio.core.spectral import camera_response

    r = camera_response(name)
    return np.asarray(r.wavelengths), np.asarray(r.matrix), r.name


# ---------------------------------------------------------------------------------------------------------
class _Page(QWizardPage):
    @property
    def jobs(self) -> JobSet:
        return self.wizard().jobs

    @property
    def settings(self) -> QSettings | None:
        return self.wizard().settings


def _table(headers: list[str], stretch: tuple[int, ...]) -> QTableWidget:
    """A read-only table with these column headers; the ``stretch`` columns take the spare width."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    for column in stretch:
        table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    return table


def _folder_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class DataPage(_Page):
    """1. A folder of cubes (format auto-detected), its validation report, and the train/validation split."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Training data")
        self.setSubTitle("A folder of hyperspectral cubes (ENVI, HDF5, MATLAB, CAVE PNG folders, TIFF, NumPy). "
                         "Every file is checked; files that cannot be used are listed with the reason.")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Folder of cubes")
        self.browse = QPushButton("Browse…")
        self.summary = QLabel("Choose a folder.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = _table(["Validation", "File", "Format", "Shape", "Bands", "Range (nm)", "Status"],
                            stretch=(COL_FILE, COL_STATUS))
        self.table.horizontalHeaderItem(COL_VAL).setToolTip("Ticked: held out for validation (never trained on)")
        self.table.horizontalHeader().setSectionResizeMode(COL_VAL, QHeaderView.ResizeMode.ResizeToContents)
        self.val_fraction = QSpinBox()
        self.val_fraction.setRange(0, 90)
        self.val_fraction.setSuffix(" %")
        self.val_fraction.setValue(20)
        self.val_fraction.setToolTip("Share of the good cubes held out for validation (ticked in the table; "
                                     "tick or untick files to choose them yourself)")
        self.generated = QDoubleSpinBox()
        self.generated.setRange(0.0, 1.0)
        self.generated.setSingleStep(0.1)
        self.generated.setValue(0.5)
        self.generated.setToolTip("Fraction of each batch drawn from generated scenes (measured reflectances "
                                  "under measured illuminants on real photo layouts)")
        self.generated_only = QCheckBox("No cubes: train on generated scenes only")
        self.lighting = QComboBox()
        self.lighting.addItem("varied lights", "varied")
        self.lighting.addItem("flat light (reflectance, white-balanced)", "flat")
        self.lighting.setToolTip("How generated scenes are lit. Varied: measured, daylight, black-body and "
                                 "catalogue illuminants (radiance before white balance). Flat: the equal-energy "
                                 "illuminant, so radiance equals reflectance — the convention of CAVE-style "
                                 "reflectance cubes and of white-balanced photos.")
        self.report: dict | None = None
        self.error: str | None = None
        self._job = None
        self._updating = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self.scan)

        split = QHBoxLayout()
        split.addWidget(QLabel("Validation"))
        split.addWidget(self.val_fraction)
        split.addSpacing(16)
        split.addWidget(QLabel("Generated scenes per batch"))
        split.addWidget(self.generated)
        split.addWidget(QLabel("lit by"))
        split.addWidget(self.lighting)
        split.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(_folder_row(self.folder, self.browse))
        lay.addWidget(self.generated_only)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(split)
        self.browse.clicked.connect(self.choose)
        self.folder.textChanged.connect(lambda _t: self._timer.start())
        self.generated_only.toggled.connect(self._generated_only)
        self.val_fraction.valueChanged.connect(lambda _v: self._default_split())
        self.table.itemChanged.connect(lambda _i: None if self._updating else self.completeChanged.emit())

    def choose(self) -> None:
        start = self.folder.text() or (self.settings.value("train/data", "", str) if self.settings else "")
        folder = QFileDialog.getExistingDirectory(self, "Folder of hyperspectral cubes", start)
        if folder:
            self.folder.setText(folder)

    def _generated_only(self, on: bool) -> None:
        self.folder.setEnabled(not on)
        self.browse.setEnabled(not on)
        self.val_fraction.setEnabled(not on)
        if on:
            self.generated.setValue(1.0)
        self.completeChanged.emit()

    def scan(self) -> None:
        self._timer.stop()
        text = self.folder.text().strip()
        if self._job is not None:
            self._job.cancel()
        self.report, self.error = None, None
        self._fill([])
        if not text:
            self.summary.setText("Choose a folder.")
            self.completeChanged.emit()
            return
        self.summary.setText(f"Checking {text}…")
        job = self.jobs.start(scan_folder, text, name="scan-data", on_finished=self._scanned,
                              on_failed=self._scan_failed)
        self._job = job
        job.done.connect(lambda j=job: setattr(self, "_job", None) if self._job is j else None)
        self.completeChanged.emit()

    def _scanned(self, report: dict) -> None:
        if report.get("folder") != self.folder.text().strip() and \
                Path(report.get("folder") or "") != Path(self.folder.text().strip()):
            return  # an older scan
        self.report = report
        good, listed, refused = report["cubes"], report["listed"], report["refused"]
        if listed == 0:
            self.error = f"{report['folder']} holds no files HSI Studio reads as cubes."
        elif good == 0:
            self.error = f"None of the {listed} files can be used for training ({len(refused)} refused, see below)."
        if self.error:
            self.summary.setText(f"<b style='color:#b00020'>{self.error}</b> Expected cubes with at least "
                                 "400–700 nm covered at ≤ 20 nm spacing.")
        else:
            shapes = ", ".join(f"{k} ×{v}" for k, v in report["shapes"].items())
            bands = ", ".join(f"{k} ×{v}" for k, v in report["bands"].items())
            lo, hi = report["range_nm"]
            self.summary.setText(
                f"<b>{good} usable cube(s)</b> of {listed} listed; {len(refused)} refused. Shapes: {shapes}. "
                f"Bands: {bands}. Wavelengths {lo:g}–{hi:g} nm, resampled to {report['grid']} "
                f"({report['resampled']} resampled). {report['pixels'] / 1e6:.2f} MP in all.")
        rows = [("", f["file"], report["formats"].get(f["file"], "?"), "×".join(map(str, f["shape"])),
                 str(f["bands"]), f"{f['range_nm'][0]:g}–{f['range_nm'][1]:g}", "ok") for f in report["files"]]
        rows += [("", r["file"], report["formats"].get(r["file"], "?"), "", "", "", f"refused: {r['reason']}")
                 for r in refused]
        self._fill(rows)
        self._default_split()
        if self.settings is not None and not self.error:
            self.settings.setValue("train/data", self.folder.text().strip())
        self.completeChanged.emit()

    def _scan_failed(self, message: str, _details: str) -> None:
        self.report, self.error = None, message
        self.summary.setText(f"<b style='color:#b00020'>{message}</b>")
        self.completeChanged.emit()

    def _fill(self, rows: list[tuple]) -> None:
        self._updating = True
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                ok = values[COL_STATUS] == "ok"
                if c == COL_VAL and ok:
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Unchecked)
                    item.setToolTip("Ticked: held out for validation (never trained on)")
                if not ok:
                    item.setForeground(Qt.GlobalColor.darkRed)
                    item.setToolTip(values[COL_STATUS])
                self.table.setItem(r, c, item)
        self._updating = False

    def _default_split(self) -> None:
        """Tick the last ``val_fraction`` of the good cubes (at least one when there are two or more)."""
        if not self.report:
            return
        good = [r for r in range(self.table.rowCount()) if self.table.item(r, COL_STATUS).text() == "ok"]
        n_val = int(round(len(good) * self.val_fraction.value() / 100))
        if self.val_fraction.value() > 0 and len(good) >= 2:
            n_val = max(1, n_val)
        n_val = min(n_val, max(len(good) - 1, 0))
        self._updating = True
        for k, r in enumerate(good):
            val = k >= len(good) - n_val
            self.table.item(r, COL_VAL).setCheckState(Qt.CheckState.Checked if val else Qt.CheckState.Unchecked)
        self._updating = False
        self.completeChanged.emit()

    def validation_files(self) -> list[str]:
        if not self.report or self.generated_only.isChecked():
            return []
        paths = self.report["paths"]
        return [paths[self.table.item(r, COL_FILE).text()] for r in range(self.table.rowCount())
                if self.table.item(r, COL_VAL).checkState() == Qt.CheckState.Checked]

    def train_count(self) -> int:
        return (self.report or {}).get("cubes", 0) - len(self.validation_files())

    def isComplete(self) -> bool:  # noqa: N802 — Qt override
        if self.generated_only.isChecked():
            return True
        return bool(self.report) and not self.error and self.train_count() >= 1

    def data_folder(self) -> str | None:
        return None if self.generated_only.isChecked() else self.folder.text().strip() or None


class CameraPage(_Page):
    """2. The camera response the model is trained for, with its curves."""

    def __init__(self) -> None:
        super().__init__()
        from hsi_studio.core.spectral import DEFAULT_RESPONSE, RESPONSE_NAMES

        self.setTitle("Camera response")
        self.setSubTitle("The spectral sensitivities that turn a spectrum into the camera's RGB. The model is "
                         "trained for this camera; photos from it reconstruct best.")
        self.combo = QComboBox()
        for name in RESPONSE_NAMES:
            self.combo.addItem(name, name)
        self.combo.setCurrentIndex(max(self.combo.findData(DEFAULT_RESPONSE), 0))
        self.load_btn = QPushButton("Load CSV…")
        self.load_btn.setToolTip("A CSV with columns nm, R, G, B")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.setLabel("bottom", "Wavelength (nm)")
        self.plot.setLabel("left", "Relative sensitivity")
        self.plot.addLegend(offset=(10, 10))
        self.curves = [self.plot.plot([], [], pen=pg.mkPen(c, width=2), name=n)
                       for c, n in (((200, 30, 30), "R"), ((30, 150, 30), "G"), ((30, 60, 200), "B"))]
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.load_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(self.plot, 1)
        self.combo.currentIndexChanged.connect(self.show_response)
        self.load_btn.clicked.connect(self.load_csv)
        self.show_response()

    def response(self) -> str:
        return self.combo.currentData()

    def load_csv(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Camera response CSV (nm, R, G, B)", "",
                                                  "CSV (*.csv *.txt);;All files (*)")
        if not path:
            return False
        spec = f"csv:{path}"
        try:
            response_curves(spec)
        except Exception as exc:  # noqa: BLE001 — shown to the user, nothing is lost
            self.message.setText(f"<b style='color:#b00020'>{Path(path).name}: {exc}</b>")
            return False
        index = self.combo.findData(spec)
        if index < 0:
            self.combo.addItem(f"CSV: {Path(path).name}", spec)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)
        return True

    def show_response(self, *_args) -> None:
        try:
            wl, m, name = response_curves(self.response())
        except Exception as exc:  # noqa: BLE001
            self.message.setText(f"<b style='color:#b00020'>{exc}</b>")
            return
        peak = float(np.abs(m).max()) or 1.0
        for k, curve in enumerate(self.curves):
            curve.setData(wl, m[:, k] / peak)
        self.message.setText(f"{name}: {wl.size} samples, {wl[0]:g}–{wl[-1]:g} nm")


class BasePage(_Page):
    """3. The RGB-pretrained base: the project's own, a local folder, or RGB pre-training first."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Base model")
        self.setSubTitle("ULDM reuses a latent diffusion model pre-trained on RGB photos: its autoencoder "
                         "(SpaAE) and its UNet, widened for the RGB condition.")
        self.project = QRadioButton("HSI Studio's base (the SpaAE and UNet of the shipped default model)")
        self.folder_btn = QRadioButton("A local folder: an rgb-pretrain model, a Stable Diffusion checkpoint "
                                       "(diffusers layout) or a ULDM bundle")
        self.pretrain = QRadioButton("Run RGB pre-training first, on a folder of photos")
        self.group = QButtonGroup(self)
        for k, b in enumerate((self.project, self.folder_btn, self.pretrain)):
            self.group.addButton(b, k)
        self.folder = QLineEdit()
        self.folder_browse = QPushButton("Browse…")
        self.photos = QLineEdit()
        self.photos.setPlaceholderText("Empty: the real photos that ship with scikit-image")
        self.photos_browse = QPushButton("Browse…")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.project)
        lay.addWidget(self.folder_btn)
        lay.addLayout(_folder_row(self.folder, self.folder_browse))
        lay.addWidget(self.pretrain)
        lay.addLayout(_folder_row(self.photos, self.photos_browse))
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.folder_browse.clicked.connect(lambda: self._browse(self.folder, "Base model folder"))
        self.photos_browse.clicked.connect(lambda: self._browse(self.photos, "Folder of RGB photos"))
        self.group.idToggled.connect(lambda *_a: self._sync())
        self.folder.textChanged.connect(lambda _t: self._sync())
        self.photos.textChanged.connect(lambda _t: self._sync())
        from hsi_studio.core.pipeline import default_model_path

        self._project_ok = (default_model_path() / "model_index.json").is_file()
        (self.project if self._project_ok else self.pretrain).setChecked(True)
        self.project.setEnabled(self._project_ok)
        self._sync()

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text())
        if folder:
            edit.setText(folder)

    def mode(self) -> str:
        return {0: BASE_PROJECT, 1: BASE_FOLDER, 2: BASE_PRETRAIN}[self.group.checkedId()]

    def problem(self) -> str | None:
        mode = self.mode()
        if mode == BASE_FOLDER:
            text = self.folder.text().strip()
            if not text:
                return "Choose the base model folder."
            if not (Path(text) / "model_index.json").is_file():
                return f"{text} has no model_index.json; expected a model folder in diffusers layout."
        if mode == BASE_PRETRAIN and self.photos.text().strip() and not Path(self.photos.text().strip()).is_dir():
            return f"{self.photos.text().strip()} is not a folder."
        if mode == BASE_PROJECT and not self._project_ok:
            return "The default model is not installed."
        return None

    def _sync(self) -> None:
        mode = self.mode()
        self.folder.setEnabled(mode == BASE_FOLDER)
        self.folder_browse.setEnabled(mode == BASE_FOLDER)
        self.photos.setEnabled(mode == BASE_PRETRAIN)
        self.photos_browse.setEnabled(mode == BASE_PRETRAIN)
        problem = self.problem()
        self.message.setText(f"<span style='color:#b00020'>{problem}</span>" if problem else "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 — Qt override
        return self.problem() is None


def _spin(lo: int, hi: int, value: int, tip: str = "", step: int = 1) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def _lr(value: float) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setDecimals(5)
    s.setRange(1e-5, 1e-1)
    s.setSingleStep(1e-4)
    s.setValue(value)
    return s


class SettingsPage(_Page):
    """4. Stage settings (defaults that work on a laptop CPU), device, output folder and model name."""

    def __init__(self) -> None:
        super().__init__()
        from hsi_studio.core.stages import default_config

        self.setTitle("Settings")
        self.setSubTitle("The defaults train a usable model in a few hours on a laptop CPU; a GPU is much faster.")
        d1, d2, dr = (default_config(k) for k in ("stage1", "stage2", "rgb-pretrain"))
        self.s1_steps = _spin(1, 1_000_000, d1.steps, "Optimiser steps", 100)
        self.s1_batch = _spin(1, 512, d1.batch_size)
        self.s1_crop = _spin(4, 1024, d1.crop, "Crop size in pixels", 8)
        self.s1_lr = _lr(d1.lr)
        self.s2_steps = _spin(1, 1_000_000, d2.steps, "Optimiser steps (SpaAE fine-tuning + ULDM)", 100)
        self.s2_spaae = _spin(0, 1_000_000, int(d2.stage["spaae_steps"]),
                              "First steps fine-tune the SpaAE on codes; the rest train the ULDM", 100)
        self.s2_refine = _spin(0, 1_000_000, int(d2.stage.get("refine_steps", 0)),
                               "Last steps train the RGB-guided code refiner on the ULDM's own samples", 100)
        self.s2_batch = _spin(1, 512, d2.batch_size)
        self.s2_crop = _spin(16, 1024, d2.crop, "Crop size in pixels: a multiple of what the base model "
                             "needs (32 px for HSI Studio's base)", 8)
        self.s2_lr = _lr(d2.lr)
        self.rgb_steps = _spin(1, 1_000_000, dr.steps, "RGB pre-training steps (VAE + UNet)", 100)
        self.rgb_vae = _spin(0, 1_000_000, int(dr.stage["vae_steps"]), "Of which VAE steps", 100)
        self.device = QComboBox()
        self.device.addItem("auto (the first GPU, else the CPU)", "auto")
        self.device.addItem("cpu", "cpu")
        self.threads = _spin(0, 256, 0, "CPU threads for the trainer (0: torch's default)")
        self.threads.setSpecialValueText("auto")
        self.tiny = QCheckBox("Tiny model — a smoke test of the data and settings (seconds; not a usable model)")
        self.out_root = QLineEdit()
        self.out_browse = QPushButton("Browse…")
        self.name = QLineEdit(time.strftime("uldm-%Y%m%d-%H%M"))
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setMaximumHeight(90)
        self.command.setToolTip("The same training from a terminal")
        self.message = QLabel("")
        self.message.setWordWrap(True)

        g1 = QGroupBox("Stage 1 — SpeUAE")
        f1 = QFormLayout(g1)
        f1.addRow("Steps", self.s1_steps)
        f1.addRow("Batch", self.s1_batch)
        f1.addRow("Crop", self.s1_crop)
        f1.addRow("Learning rate", self.s1_lr)
        g2 = QGroupBox("Stage 2 — ULDM")
        f2 = QFormLayout(g2)
        f2.addRow("Steps", self.s2_steps)
        f2.addRow("SpaAE steps", self.s2_spaae)
        f2.addRow("Refiner steps", self.s2_refine)
        f2.addRow("Batch", self.s2_batch)
        f2.addRow("Crop", self.s2_crop)
        f2.addRow("Learning rate", self.s2_lr)
        self.g_rgb = QGroupBox("RGB pre-training")
        fr = QFormLayout(self.g_rgb)
        fr.addRow("Steps", self.rgb_steps)
        fr.addRow("VAE steps", self.rgb_vae)
        grid = QGridLayout()
        grid.addWidget(g1, 0, 0)
        grid.addWidget(g2, 0, 1)
        grid.addWidget(self.g_rgb, 0, 2)
        run = QFormLayout()
        run.addRow("Device", self.device)
        run.addRow("Threads", self.threads)
        run.addRow("Save under", _folder_row(self.out_root, self.out_browse))
        run.addRow("Model name", self.name)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addWidget(self.tiny)
        lay.addLayout(run)
        lay.addWidget(QLabel("Commands:"))
        lay.addWidget(self.command)
        lay.addWidget(self.message)
        self.out_browse.clicked.connect(self._browse)
        for w in (self.out_root, self.name):
            w.textChanged.connect(lambda _t: self._changed())
        for w in (self.s1_steps, self.s1_batch, self.s1_crop, self.s2_steps, self.s2_spaae, self.s2_refine,
                  self.s2_batch, self.s2_crop, self.rgb_steps, self.rgb_vae, self.threads):
            w.valueChanged.connect(lambda _v: self._changed())
        self.device.currentIndexChanged.connect(lambda _i: self._changed())
        self.tiny.toggled.connect(self._tiny_toggled)

    def initializePage(self) -> None:  # noqa: N802 — Qt override
        wiz = self.wizard()
        if not self.out_root.text():
            saved = self.settings.value("train/out_root", "", str) if self.settings else ""
            self.out_root.setText(saved or str(wiz.models_root))
        self.g_rgb.setVisible(wiz.base_page.mode() == BASE_PRETRAIN)
        self._fill_devices(wiz.devices)
        if self.tiny.isChecked():  # the base may have changed since Tiny was ticked
            self._fit_crop_to_base()
        self._changed()

    def pad_multiple(self) -> int:
        """The stage-2 crop multiple the chosen base needs (8, the latents' factor, when not known)."""
        wiz = self.wizard()
        return (wiz.plan(check=False).pad_multiple() if wiz is not None else None) or 8

    def _fit_crop_to_base(self) -> None:
        m = self.pad_multiple()
        self.s2_crop.setSingleStep(m)
        if self.s2_crop.value() % m:
            self.s2_crop.blockSignals(True)
            self.s2_crop.setValue(round_up(self.s2_crop.value(), m))
            self.s2_crop.blockSignals(False)

    def _fill_devices(self, devices) -> None:
        while self.device.count() > 2:
            self.device.removeItem(2)
        for dev, desc in devices or []:
            self.device.addItem(f"{dev} — {desc}", dev)

    def _tiny_toggled(self, on: bool) -> None:
        """Tiny models train in seconds: load the tiny defaults into the fields (still editable)."""
        from hsi_studio.core.stages import default_config

        d1, d2, dr = (default_config(k, tiny=on) for k in ("stage1", "stage2", "rgb-pretrain"))
        for w, v in ((self.s1_steps, d1.steps), (self.s1_batch, d1.batch_size), (self.s1_crop, d1.crop),
                     (self.s1_lr, d1.lr), (self.s2_steps, d2.steps), (self.s2_spaae, d2.stage["spaae_steps"]),
                     (self.s2_refine, d2.stage.get("refine_steps", 0)),
                     (self.s2_batch, d2.batch_size), (self.s2_crop, d2.crop), (self.s2_lr, d2.lr),
                     (self.rgb_steps, dr.steps), (self.rgb_vae, dr.stage["vae_steps"])):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self._fit_crop_to_base()  # the tiny crop (16 px) is too small for a base that downsamples 32×
        self._changed()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save models under", self.out_root.text())
        if folder:
            self.out_root.setText(folder)

    def overrides(self) -> tuple[dict, dict, dict]:
        s1 = {"steps": self.s1_steps.value(), "batch_size": self.s1_batch.value(), "crop": self.s1_crop.value(),
              "lr": self.s1_lr.value()}
        s2 = {"steps": self.s2_steps.value(), "batch_size": self.s2_batch.value(), "crop": self.s2_crop.value(),
              "lr": self.s2_lr.value(), "stage": {"spaae_steps": self.s2_spaae.value(),
                                                    "refine_steps": self.s2_refine.value()}}
        rgb = {"steps": self.rgb_steps.value(), "stage": {"vae_steps": self.rgb_vae.value()}}
        return rgb, s1, s2

    def problem(self) -> str | None:
        if not self.out_root.text().strip():
            return "Choose where to save the model."
        name = safe_name(self.name.text())
        if not name:
            return "Give the model a name (letters, digits, '.', '_' or '-')."
        m = self.pad_multiple()
        if self.s2_crop.value() % m:
            return (f"The stage-2 crop must be a multiple of {m} px for this base model (its autoencoder and "
                    f"UNet downsample {m}×): e.g. {round_up(self.s2_crop.value(), m)}.")
        plan = self.wizard().plan(check=False)
        if plan.model_dir.exists() and not plan.run_dir.exists():
            return f"{plan.model_dir} already exists; choose another name."
        return None

    def _changed(self) -> None:
        if self.wizard() is None:
            return
        problem = self.problem()
        notes = []
        if problem:
            notes.append(f"<span style='color:#b00020'>{problem}</span>")
        else:
            plan = self.wizard().plan(check=False)
            self.command.setPlainText(plan.command_text())
            if plan.run_dir.exists():
                notes.append(f"{plan.run_dir} exists: finished stages are kept and an interrupted one resumes "
                             "from its last checkpoint.")
            free = disk_free_gb(plan.out_root)
            if free is not None and free < 2:
                notes.append(f"<span style='color:#b00020'>Only {free:.1f} GB free there; checkpoints need "
                             "about 1 GB.</span>")
        self.message.setText("<br>".join(notes))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 — Qt override
        return self.problem() is None

    def validatePage(self) -> bool:  # noqa: N802 — Qt override
        if self.settings is not None:
            self.settings.setValue("train/out_root", self.out_root.text().strip())
        return True


class RunPage(_Page):
    """5. The training itself: live curves, progress and ETA, Pause / Cancel / Resume, the process log.
    After a stop or a failure, Resume continues the run and Start over trains afresh with the current settings."""

    #: Start over asks before it deletes the run's checkpoints (scripted runs and tests may turn it off)
    confirm_restart = True

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Training")
        self.setSubTitle("Training runs in a separate process; closing this window stops it after a checkpoint.")
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel("")
        self.start_btn = QPushButton("Start")
        self.start_btn.setToolTip("Train with these settings")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Save a checkpoint and stop; Resume continues exactly")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Save a checkpoint and stop (Back lets you change settings; Resume continues)")
        self.resume_btn = QPushButton("Resume")
        self.loss_plot = self._plot("Training loss", "loss", log_y=True)
        self.psnr_plot = self._plot("Validation PSNR", "dB")
        self.sam_plot = self._plot("Validation SAM", "degrees")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(400)
        self.log.setMaximumHeight(110)
        self.runner: TrainingRunner | None = None
        self.curves: dict[str, dict] = {}
        self.offsets: dict[str, int] = {}
        self.stage_index, self.stage_count, self.stage_key = 0, 1, ""
        self.records = 0
        self._dirty = False
        self._redraw = QTimer(self)
        self._redraw.setInterval(150)
        self._redraw.timeout.connect(self._draw)

        buttons = QHBoxLayout()
        for b in (self.start_btn, self.pause_btn, self.cancel_btn, self.resume_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.eta)
        plots = QHBoxLayout()
        for p in (self.loss_plot, self.psnr_plot, self.sam_plot):
            plots.addWidget(p)
        lay = QVBoxLayout(self)
        lay.addWidget(self.status)
        lay.addWidget(self.progress)
        lay.addLayout(buttons)
        lay.addLayout(plots, 1)
        lay.addWidget(self.log)
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.clicked.connect(lambda: self.runner and self.runner.pause())
        self.cancel_btn.clicked.connect(lambda: self.runner and self.runner.cancel())
        self.resume_btn.clicked.connect(self.resume)
        self._sync("idle")

    @staticmethod
    def _plot(title: str, unit: str, log_y: bool = False) -> pg.PlotWidget:
        p = pg.PlotWidget(title=title)
        p.setBackground("w")
        p.setLabel("bottom", "step")
        p.setLabel("left", unit)
        p.showGrid(x=True, y=True, alpha=0.3)
        for side in ("left", "bottom"):  # plain numbers: no "loss (x0.001)" with "7·10²" ticks
            p.getAxis(side).enableAutoSIPrefix(False)
        if log_y:
            p.setLogMode(y=True)
        p.addLegend(offset=(-10, 10))
        p.setMinimumHeight(180)
        return p

    def initializePage(self) -> None:  # noqa: N802 — Qt override
        plan = self.wizard().plan()
        if self.runner is None or self.runner.plan.run_dir != plan.run_dir or self.runner.state == "done":
            self._new_runner(plan)
        else:
            self.runner.plan = plan
            self.runner.stages = plan.stages()
        self._sync(self.runner.state)

    def _new_runner(self, plan: TrainPlan) -> None:
        if self.runner is not None:
            self.runner.shutdown()
            self.runner.deleteLater()
        self.runner = TrainingRunner(plan, self)
        self.runner.record.connect(self.on_record)
        self.runner.stage_started.connect(self._stage_started)
        self.runner.state_changed.connect(self._sync)
        self.runner.log_line.connect(self.log.appendPlainText)
        self.runner.failed.connect(self._failed)
        self.runner.finished.connect(self._done)
        self.curves.clear()
        self.offsets.clear()
        for p in (self.loss_plot, self.psnr_plot, self.sam_plot):
            p.clear()
        self.records = 0

    def start(self) -> None:
        """Start the run; after a stop or a failure, a fresh run with the current settings (Start over)."""
        if self.runner is None or self.runner.running():
            return
        if self.runner.state != "idle":
            plan = self.wizard().plan()
            if not self._confirm_restart(plan):
                return
            import shutil

            shutil.rmtree(plan.run_dir, ignore_errors=True)  # its checkpoints and finished stages
            self._new_runner(plan)
            self.progress.setValue(0)
            self.progress.setFormat("0 %")
        self.status.setText("Starting…")
        self.eta.setText("")
        self.runner.start()

    def _confirm_restart(self, plan: TrainPlan) -> bool:
        if not self.confirm_restart:
            return True
        answer = QMessageBox.question(
            self, "Start over?", f"Delete this run's checkpoints and finished stages ({plan.run_dir}) and train "
            "from the beginning with the current settings?\n\nResume instead continues from the last checkpoint.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def resume(self) -> None:
        if self.runner is None:
            return
        self.runner.plan = self.wizard().plan()
        self.runner.stages = self.runner.plan.stages()
        self.status.setText("Resuming from the last checkpoint…")
        self.runner.resume()

    def _stage_started(self, index: int, count: int, key: str) -> None:
        self.stage_index, self.stage_count, self.stage_key = index, count, key
        if key not in self.offsets:
            self.offsets[key] = sum(r.steps for r in self.runner.stages[:index])
        if key not in self.curves:
            colour = STAGE_COLOURS.get(key, (0, 0, 0))
            pen = pg.mkPen(colour, width=1.5)
            label = STAGE_LABELS.get(key, key)
            self.curves[key] = {
                "loss": self.loss_plot.plot([], [], pen=pen, name=label),
                "psnr": self.psnr_plot.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=colour,
                                            name=label),
                "sam": self.sam_plot.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=colour,
                                          name=label),
                "data": {"loss": ([], []), "psnr": ([], []), "sam": ([], [])},
            }
        self.status.setText(f"{STAGE_LABELS.get(key, key)} — stage {index + 1} of {count}")
        self.eta.setText(f"{STAGE_LABELS.get(key, key)}: starting…")  # not the previous stage's last step
        self._redraw.start()

    def on_record(self, key: str, rec: dict) -> None:
        self.records += 1
        event = rec.get("event")
        run = self.runner.current if self.runner else None
        if event == "start" and run is not None:
            self.status.setText(f"{run.label} — stage {self.stage_index + 1} of {self.stage_count}: "
                                f"{rec['steps']} steps" + (f", from step {rec['step']}" if rec["step"] else ""))
        if event == "step" and key in self.curves:
            data = self.curves[key]["data"]
            x = self.offsets.get(key, 0) + int(rec["step"])
            data["loss"][0].append(x)
            data["loss"][1].append(max(float(rec["loss"]), 1e-8))
            val = rec.get("val") or {}
            for k in ("psnr", "sam"):
                if isinstance(val.get(k), (int, float)) and np.isfinite(val[k]):
                    data[k][0].append(x)
                    data[k][1].append(float(val[k]))
            steps = run.steps if run is not None else 1
            done = (self.stage_index + min(int(rec["step"]) / max(steps, 1), 1.0)) / max(self.stage_count, 1)
            self.progress.setValue(int(1000 * done))
            self.progress.setFormat(f"{100 * done:.0f} %")
            remaining = [r.steps for r in self.runner.stages[self.stage_index + 1:]] if self.runner else []
            stage_eta = rec.get("eta_s")
            self.eta.setText(f"step {rec['step']}/{steps} · {rec.get('phase', '')} · this stage ETA "
                             f"{format_seconds(stage_eta)}" + (f" · then {len(remaining)} more stage(s)"
                                                                if remaining else ""))
            self._dirty = True
        elif event == "cancelled":
            self.log.appendPlainText(f"checkpoint saved at step {rec.get('step')}")

    def _draw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for c in self.curves.values():
            for k in ("loss", "psnr", "sam"):
                xs, ys = c["data"][k]
                c[k].setData(np.asarray(xs, float), np.asarray(ys, float))

    def _sync(self, state: str) -> None:
        running = state in ("running", "stopping")
        restart = state in ("paused", "cancelled", "failed")
        self.start_btn.setText("Start over" if restart else "Start")
        self.start_btn.setToolTip("Delete this run's checkpoints and train afresh with the current settings"
                                  if restart else "Train with these settings")
        self.start_btn.setVisible(state == "idle" or restart)
        self.start_btn.setEnabled(state == "idle" or restart)
        self.pause_btn.setEnabled(state == "running")
        self.cancel_btn.setEnabled(state == "running")
        self.resume_btn.setEnabled(state in ("paused", "cancelled", "failed"))
        if state == "stopping":
            self.status.setText("Stopping: saving a checkpoint…")
        elif state == "paused":
            self.status.setText("Paused. A checkpoint was saved; Resume continues exactly where it stopped.")
        elif state == "cancelled":
            self.status.setText("Cancelled. A checkpoint was saved: Resume continues, or go Back to change "
                                "settings (finished stages are kept).")
        if not running:
            self._draw()
            self._redraw.stop()
        wiz = self.wizard()
        if wiz is not None:
            wiz.button(QWizard.WizardButton.BackButton).setEnabled(not running)
            wiz.button(QWizard.WizardButton.CancelButton).setEnabled(True)
        self.completeChanged.emit()

    def _failed(self, message: str, details: str) -> None:
        """Say which stage failed and why (the trainer's error line is already in the log: not added twice)."""
        import html

        last = details.splitlines()[0] if details else ""
        run = self.runner.current if self.runner is not None else None
        where = f"Stage {self.stage_index + 1} of {self.stage_count} ({run.label})" if run is not None else "Training"
        self.status.setText(f"<b style='color:#b00020'>{html.escape(message)}</b>"
                            + (f"<br>{html.escape(last)}" if last else ""))
        self.eta.setText(f"{where} failed")
        self.wizard().last_error = message + ("\n" + last if last else "")

    def _done(self, model: str) -> None:
        self.progress.setValue(1000)
        self.progress.setFormat("100 %")
        self.status.setText(f"Done. The model is in {model}.")
        self.eta.setText(f"all {self.stage_count} stage(s) finished")
        self.wizard().model_trained(model)

    def isComplete(self) -> bool:  # noqa: N802 — Qt override
        return self.runner is not None and self.runner.state == "done"


class FinishPage(_Page):
    """6. Validation scores of the new model against the analytic baselines."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Finished")
        self.setSubTitle("Validation scores against every baseline (the model's recommended solver steps).")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.table = _table(["Method", "PSNR (dB)", "SAM (°)", "ΔE00 under A", "MRAE", "RMSE"], stretch=(0,))
        self.rows: list[dict] | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addWidget(self.table, 1)

    def initializePage(self) -> None:  # noqa: N802 — Qt override
        wiz = self.wizard()
        model = wiz.trained_model
        self.rows = None
        self.table.setRowCount(0)
        if not model:
            return
        self.message.setText(f"Model: {model}. It is listed in the Reconstruct dock. Scoring…")
        self.jobs.start(score_model, model, wiz.data_page.validation_files(), wiz.camera_page.response(),
                        lighting=wiz.data_page.lighting.currentData(), name="score-model", on_finished=self._scored, on_failed=self._score_failed)

    def _scored(self, rows: list[dict]) -> None:
        self.rows = rows
        labels = {"uldm": "New model (ULDM)", "physics:mallett2019": "Mallett 2019",
                  "physics:otsu2018": "Otsu 2018", "physics:minnorm": "Minimum norm",
                  "rootpoly": "Root-polynomial regression (shipped)", "mlp": "Per-pixel MLP (shipped)"}
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = [labels.get(row["method"], row["method"]), f"{row['psnr']:.2f}", f"{row['sam']:.2f}",
                      f"{row.get('de_a', float('nan')):.2f}", f"{row['mrae']:.4f}", f"{row['rmse']:.4f}"]
            for c, v in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(v))
        model = self.wizard().trained_model
        n = rows[0]["cubes"] if rows else 0
        protocol = rows[0].get("protocol", "photo") if rows else "photo"
        how = ("photo protocol: each cube photographed as a white-balanced daylight sRGB photo, reflectance "
               "scored" if protocol == "photo" else
               "camera protocol (NTIRE 2022): radiance through the camera response, same exposure; methods that "
               "assume a D65 white are left out")
        self.message.setText(f"Model: {model} — listed in the Reconstruct dock. Mean over {n} validation "
                             f"cube(s); {how}.")
        self.completeChanged.emit()

    def _score_failed(self, message: str, _details: str) -> None:
        self.message.setText(f"The model is in the Reconstruct dock, but scoring it failed: {message}")


class TrainWizard(QWizard):
    """The training wizard. ``model_ready(path)`` is emitted when a model has been trained and published."""

    model_ready = Signal(str)
    #: closing mid-run asks first (scripted shutdowns and tests may turn it off)
    confirm_stop = True

    def __init__(self, parent=None, *, settings: QSettings | None = None, models_root: str | Path | None = None,
                 devices: list | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.settings = settings
        self.models_root = Path(models_root) if models_root else default_models_root()
        self.devices = devices or []
        self.jobs = JobSet(self)
        self.trained_model: str | None = None
        self.last_error: str | None = None
        self.data_page = DataPage()
        self.camera_page = CameraPage()
        self.base_page = BasePage()
        self.settings_page = SettingsPage()
        self.run_page = RunPage()
        self.finish_page = FinishPage()
        for pid, page in enumerate((self.data_page, self.camera_page, self.base_page, self.settings_page,
                                    self.run_page, self.finish_page)):
            self.setPage(pid, page)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.resize(1100, 760)

    def set_devices(self, devices: list) -> None:
        self.devices = list(devices)
        if self.currentId() == PAGE_SETTINGS:
            self.settings_page._fill_devices(self.devices)

    def plan(self, check: bool = True) -> TrainPlan:
        s = self.settings_page
        rgb, s1, s2 = s.overrides()
        threads = s.threads.value() or None
        return TrainPlan(
            out_root=Path(s.out_root.text().strip() or self.models_root).expanduser().absolute(),
            name=safe_name(s.name.text()) or "model",
            data=self.data_page.data_folder(), val_files=self.data_page.validation_files(),
            generated=self.data_page.generated.value(), lighting=self.data_page.lighting.currentData(),
            response=self.camera_page.response(),
            base_mode=self.base_page.mode(), base_folder=self.base_page.folder.text().strip() or None,
            photos=self.base_page.photos.text().strip() or None, device=s.device.currentData() or "auto",
            threads=threads, tiny=s.tiny.isChecked(), rgb=rgb, stage1=s1, stage2=s2)

    def model_trained(self, path: str) -> None:
        self.trained_model = path
        self.model_ready.emit(path)
        self.button(QWizard.WizardButton.NextButton).setEnabled(True)

    def shutdown(self) -> None:
        """Stop the training process (after a checkpoint) and join the worker threads."""
        if self.run_page.runner is not None:
            self.run_page.runner.shutdown()
        self.run_page._redraw.stop()
        self.jobs.shutdown()

    def training_running(self) -> bool:
        runner = self.run_page.runner
        return runner is not None and runner.running()

    def stop_in_background(self) -> None:
        """Closing the wizard mid-run: ask the trainer to checkpoint and exit, without waiting for it (the GUI
        stays responsive; the main window waits for it only when the application quits)."""
        if self.training_running():
            self.run_page.runner.cancel()
        self.run_page._redraw.stop()
        self.jobs.cancel_all()

    def confirm_stop_training(self) -> bool:
        """True when no training runs, or the user agrees to stop it (it saves a checkpoint first)."""
        if not self.confirm_stop or not self.training_running():
            return True
        current = self.run_page.runner.current if self.run_page.runner is not None else None
        stage = STAGE_LABELS.get(current.key, current.key) if current is not None else "A model"
        answer = QMessageBox.question(
            self, "Stop training?",
            f"{stage} is still training. Stop it and close?\n\nA checkpoint is saved first; open the wizard "
            "with the same save folder and model name and press Resume to continue from it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:  # Cancel, Esc and the window's close button
        if self.confirm_stop_training():
            super().reject()

    def done(self, result: int) -> None:  # noqa: D401 — Qt override: accept/reject/close all end here
        self.stop_in_background()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 — Qt override (QDialog's asks reject(), which may refuse)
        super().closeEvent(event)
        if event.isAccepted():
            self.stop_in_background()


__all__ = ["TrainWizard", "scan_folder", "score_model", "format_seconds", "PAGE_DATA", "PAGE_CAMERA", "PAGE_BASE",
           "PAGE_SETTINGS", "PAGE_RUN", "PAGE_FINISH"]
