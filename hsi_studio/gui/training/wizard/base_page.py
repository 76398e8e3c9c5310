"""3. The RGB-pretrained base model: the project's own, a local folder, or RGB pre-training first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from hsi_studio.gui.training.wizard.common import Page, folder_row
from hsi_studio.services.training_plan import BASE_FOLDER, BASE_PRETRAIN, BASE_PROJECT


class BasePage(Page):
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
        lay.addLayout(folder_row(self.folder, self.folder_browse))
        lay.addWidget(self.pretrain)
        lay.addLayout(folder_row(self.photos, self.photos_browse))
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.folder_browse.clicked.connect(lambda: self._browse(self.folder, "Base model folder"))
        self.photos_browse.clicked.connect(lambda: self._browse(self.photos, "Folder of RGB photos"))
        self.group.idToggled.connect(lambda *_a: self._sync())
        self.folder.textChanged.connect(lambda _t: self._sync())
        self.photos.textChanged.connect(lambda _t: self._sync())
        from hsi_studio.services.reconstruction import default_model_path

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

    def isComplete(self) -> bool:  # Qt override
        return self.problem() is None


__all__ = ["BasePage"]
