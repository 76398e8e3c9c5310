"""2. The camera response the model is trained for, with its curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

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
