"""The training wizard (Reconstruct ▸ Train a model…): data → camera response → base model → settings → run →
finish, one module per page (:mod:`.data_page`, :mod:`.camera_page`, :mod:`.base_page`, :mod:`.settings_page`,
:mod:`.run_page`, :mod:`.finish_page`) and the window in :mod:`.wizard`.

Training runs as ``hsi-studio train … --jsonl`` subprocesses (:mod:`~hsi_studio.gui.training.training_runner`), so a crash
or a hung GPU in training never takes the GUI down; its JSON lines drive live loss and validation curves,
progress and ETA. Pause and Cancel make the trainer save a checkpoint and exit; Resume continues exactly. The
finish page scores the new model against the baselines on the validation cubes (on a worker thread) and the
model appears in the Reconstruct dock. The Qt-free work lives in :mod:`hsi_studio.services` (the plan, the data
report, the scoring).
"""

from hsi_studio.gui.training.wizard.base_page import BasePage
from hsi_studio.gui.training.wizard.camera_page import CameraPage
from hsi_studio.gui.training.wizard.common import (
           PAGE_BASE,
           PAGE_CAMERA,
           PAGE_DATA,
           PAGE_FINISH,
           PAGE_RUN,
           PAGE_SETTINGS,
)
from hsi_studio.gui.training.wizard.data_page import COL_FILE, COL_FORMAT, COL_STATUS, COL_VAL, DataPage
from hsi_studio.gui.training.wizard.finish_page import FinishPage
from hsi_studio.gui.training.wizard.run_page import RunPage
from hsi_studio.gui.training.wizard.settings_page import SettingsPage
from hsi_studio.gui.training.wizard.wizard import TrainWizard, default_models_root

__all__ = ["COL_FILE", "COL_FORMAT", "COL_STATUS", "COL_VAL", "PAGE_BASE", "PAGE_CAMERA", "PAGE_DATA", "PAGE_FINISH",
           "PAGE_RUN", "PAGE_SETTINGS", "BasePage", "CameraPage", "DataPage", "FinishPage", "RunPage", "SettingsPage",
           "TrainWizard", "default_models_root"]
