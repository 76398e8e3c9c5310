"""6. The finished model's validation scores against every baseline (a worker runs
:func:`~hsi_studio.services.scoring.score_model`)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTableWidgetItem, QVBoxLayout

from hsi_studio.gui.training.wizard.common import Page, table
from hsi_studio.services.models import method_label
from hsi_studio.services.scoring import SHIPPED_DEFAULT, score_model

NEW_MODEL = "New model (ULDM)"  # the trained model's row ("uldm" in the scores)
DEFAULT_MODEL = "Shipped default model (ULDM)"  # the shipped default, scored on the same cubes


class FinishPage(Page):
    """6. Validation scores of the new model against the analytic baselines."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Finished")
        self.setSubTitle("Validation scores against every baseline and the shipped default model (recommended "
                         "solver steps).")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.table = table(["Method", "PSNR (dB)", "SAM (°)", "ΔE00 under A", "MRAE", "RMSE"], stretch=(0,))
        self.rows: list[dict] | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addWidget(self.table, 1)

    def initializePage(self) -> None:  # Qt override
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
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            name = {"uldm": NEW_MODEL, SHIPPED_DEFAULT: DEFAULT_MODEL}.get(row["method"]) or method_label(row["method"])
            values = [name, f"{row['psnr']:.2f}", f"{row['sam']:.2f}",
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


__all__ = ["FinishPage"]
