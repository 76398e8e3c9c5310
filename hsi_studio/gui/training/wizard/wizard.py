"""The training wizard's window: its six pages in order, the :class:`~hsi_studio.services.training_plan.TrainPlan`
they describe, and stopping a run when the wizard closes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWizard

from hsi_studio.gui import APPLICATION
from hsi_studio.gui.training.wizard.base_page import BasePage
from hsi_studio.gui.training.wizard.camera_page import CameraPage
from hsi_studio.gui.training.wizard.common import PAGE_SETTINGS
from hsi_studio.gui.training.wizard.data_page import DataPage
from hsi_studio.gui.training.wizard.finish_page import FinishPage
from hsi_studio.gui.training.wizard.run_page import RunPage
from hsi_studio.gui.training.wizard.settings_page import SettingsPage
from hsi_studio.gui.workers import JobSet
from hsi_studio.services.training_plan import STAGE_LABELS, TrainPlan, safe_name


def default_models_root() -> Path:
    """``<user data>/HSI Studio/models`` (the application's data folder, named once: Qt's AppDataLocation
    appends both the organisation and the application name, both "HSI Studio")."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return (Path(base) / APPLICATION if base else Path.home() / ".hsi-studio") / "models"


def fitting_size(width: int, height: int) -> tuple[int, int]:
    """``width``×``height``, or less where the primary screen's free area is smaller (a title bar's margin)."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return width, height
    area = screen.availableGeometry()
    return min(width, area.width()), min(height, area.height() - 40)


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
        self.resize(*fitting_size(1100, 760))

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
            response=self.camera_page.response(), cameras=self.camera_page.cameras.value(),
            camera_file=self.camera_page.camera_file,
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

    def done(self, result: int) -> None:  # Qt override: accept/reject/close all end here
        self.stop_in_background()
        super().done(result)

    def closeEvent(self, event) -> None:  # Qt override (QDialog's asks reject(), which may refuse)
        super().closeEvent(event)
        if event.isAccepted():
            self.stop_in_background()


__all__ = ["TrainWizard", "default_models_root"]
