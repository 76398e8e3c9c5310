"""2. The camera response the model is trained for, with its curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from hsi_studio.gui.training.wizard.common import Page


def response_curves(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    from hsi_studio.services.spectra import camera_response

    r = camera_response(name)
    return np.asarray(r.wavelengths), np.asarray(r.matrix), r.name


class CameraPage(Page):
    """2. The camera response the model is trained for, with its curves."""

    def __init__(self) -> None:
        super().__init__()
        from hsi_studio.services.spectra import DEFAULT_RESPONSE, RESPONSE_NAMES

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
        # Training through real cameras (issue 21): a share of the stage-2 crops gets its RGB from a real
        # camera's sensitivities, white balance and colour matrix, so photos from real cameras reconstruct better.
        self.cameras = QDoubleSpinBox()
        self.cameras.setRange(0.0, 1.0)
        self.cameras.setSingleStep(0.1)
        self.cameras.setDecimals(2)
        self.cameras.setValue(0.0)
        self.cameras.setToolTip(
            "Share of the stage-2 training crops whose RGB comes from a real camera instead of the response above: "
            "one of the database's training cameras (never a held-out one), with its white balance and 3×3 colour "
            "matrix to this response fitted on measured reflectances. Real photos carry that camera's errors; a "
            "model that has seen them copes better (the shipped default used 0.5). 0: the response only.")
        self.cameras_btn = QPushButton("Camera database…")
        self.cameras_btn.setToolTip("The camspec database of camera sensitivities (camspec_database.txt)")
        self.cameras_note = QLabel("")
        self.cameras_note.setWordWrap(True)
        self.camera_file: str | None = None
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.load_btn)
        cams = QHBoxLayout()
        cams.addWidget(QLabel("Seen through real cameras"))
        cams.addWidget(self.cameras)
        cams.addWidget(QLabel("of the stage-2 crops"))
        cams.addWidget(self.cameras_btn)
        cams.addWidget(self.cameras_note, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(self.plot, 1)
        lay.addLayout(cams)
        self.combo.currentIndexChanged.connect(self.show_response)
        self.load_btn.clicked.connect(self.load_csv)
        self.cameras_btn.clicked.connect(self.choose_camera_file)
        self.show_response()
        self.use_camera_file(None)

    def use_camera_file(self, path: str | None) -> bool:
        """Take the camspec database at ``path`` (None: the one in the shared data, when there is one); the
        share of crops through real cameras can be set only once a usable database is known."""
        from hsi_studio.services.training_plan import camera_database

        found, line = camera_database(path)
        if found is None and path is not None and self.camera_file is not None:
            self.cameras_note.setText(f"<b style='color:#b00020'>{line}</b> Still using "
                                      f"{Path(self.camera_file).name}.")
            return False
        self.camera_file = found
        self.cameras.setEnabled(found is not None)
        if found is None:
            self.cameras.setValue(0.0)
        chosen_bad = found is None and path is not None
        self.cameras_note.setText(f"<b style='color:#b00020'>{line}</b>" if chosen_bad else line)
        return found is not None

    def choose_camera_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Camera sensitivities (camspec database)", "",
                                              "Text (*.txt *.csv);;All files (*)")
        if path:
            self.use_camera_file(path)

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
        except Exception as exc:  # shown to the user, nothing is lost
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
        except Exception as exc:
            self.message.setText(f"<b style='color:#b00020'>{exc}</b>")
            return
        peak = float(np.abs(m).max()) or 1.0
        for k, curve in enumerate(self.curves):
            curve.setData(wl, m[:, k] / peak)
        self.message.setText(f"{name}: {wl.size} samples, {wl[0]:g}–{wl[-1]:g} nm")


__all__ = ["CameraPage", "response_curves"]
