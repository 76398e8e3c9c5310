"""4. The stage settings (defaults that work on a laptop CPU), device, output folder and model name, with the
equivalent ``hsi-studio train`` command lines."""

from __future__ import annotations

import time

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from hsi_studio.gui.training.training_runner import disk_free_gb
from hsi_studio.gui.training.wizard.common import Page, folder_row
from hsi_studio.services.training_plan import BASE_PRETRAIN, round_up, safe_name


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


class SettingsPage(Page):
    """4. Stage settings (defaults that work on a laptop CPU), device, output folder and model name."""

    def __init__(self) -> None:
        super().__init__()
        from hsi_studio.services.training import default_config

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
        self.s2_head = _spin(0, 1_000_000, int(d2.stage.get("head_steps", 0)),
                             "The very last steps distil a latent-resolution code decoder from the SpaAE's: "
                             "reconstruction several times quicker (not used by a model with a refiner)", 100)
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
        f2.addRow("Code head steps", self.s2_head)
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
        run.addRow("Save under", folder_row(self.out_root, self.out_browse))
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
                  self.s2_head, self.s2_batch, self.s2_crop, self.rgb_steps, self.rgb_vae, self.threads):
            w.valueChanged.connect(lambda _v: self._changed())
        self.device.currentIndexChanged.connect(lambda _i: self._changed())
        self.tiny.toggled.connect(self._tiny_toggled)

    def initializePage(self) -> None:  # Qt override
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
        from hsi_studio.services.training import default_config

        d1, d2, dr = (default_config(k, tiny=on) for k in ("stage1", "stage2", "rgb-pretrain"))
        for w, v in ((self.s1_steps, d1.steps), (self.s1_batch, d1.batch_size), (self.s1_crop, d1.crop),
                     (self.s1_lr, d1.lr), (self.s2_steps, d2.steps), (self.s2_spaae, d2.stage["spaae_steps"]),
                     (self.s2_refine, d2.stage.get("refine_steps", 0)),
                     (self.s2_head, d2.stage.get("head_steps", 0)),
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
                                                    "refine_steps": self.s2_refine.value(),
                                                    "head_steps": self.s2_head.value()}}
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

    def isComplete(self) -> bool:  # Qt override
        return self.problem() is None

    def validatePage(self) -> bool:  # Qt override
        if self.settings is not None:
            self.settings.setValue("train/out_root", self.out_root.text().strip())
        return True


__all__ = ["SettingsPage"]
