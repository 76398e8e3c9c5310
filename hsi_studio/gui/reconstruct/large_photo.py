"""The Reconstruct dock's warning before a large photo (issue 24, item 5): the estimated time and memory of the
run (:mod:`hsi_studio.services.estimate`, the CLI's memory-budget estimate) and two offers — downscale the photo
to ≤ 2 MP (in linear light, on a worker) or select the fast model. Inline, never modal: the GUI never blocks."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from hsi_studio.services import estimate as est


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class LargePhotoOffer(QFrame):
    """Shown while the dock's input is over :data:`~hsi_studio.services.estimate.LARGE_PHOTO_PIXELS`."""

    downscaled = Signal(object)  # the resized RGBImage: it becomes the photo

    def __init__(self, dock) -> None:
        super().__init__()
        self.dock = dock
        self.job = None
        self.setObjectName("large_photo_offer")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.downscale_btn = QPushButton(f"Downscale to ≤ {est.DOWNSCALE_PIXELS / 1e6:g} MP")
        self.downscale_btn.setToolTip("Resize the photo (in linear light, with anti-aliasing) so the cube is "
                                      "smaller and the run faster; the file on disk is not changed")
        self.fast_btn = QPushButton("Use the fast model")
        self.fast_btn.setToolTip("Select the fast model (one pass, no sampling)")
        row = QHBoxLayout()
        row.addWidget(self.downscale_btn)
        row.addWidget(self.fast_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.label)
        lay.addLayout(row)
        self.downscale_btn.clicked.connect(self.downscale)
        self.fast_btn.clicked.connect(self.use_fast)
        self.hide()

    def model_kind(self) -> str:
        spec = str(self.dock.model.currentData() or "")
        if spec.startswith("physics:"):
            return "physics"
        if self.dock.uses_sampling():
            return "diffusion"
        return "fast" if spec == "fast" or self.dock._classes.get(spec) == "SpatialResidual" else "regression"

    def fast_index(self) -> int:
        """The shipped fast model's row in the picker: listed by its bundle's path (``…/models/fast``), or
        as ``fast``; -1 when it is not installed."""
        combo = self.dock.model
        for i in range(combo.count()):
            spec = str(combo.itemData(i) or "")
            if spec == "fast" or (not spec.startswith("physics:") and Path(spec).name == "fast"):
                return i
        return -1

    def refresh(self) -> None:
        rgb = self.dock.input_rgb()
        if rgb is None or rgb.height * rgb.width <= est.LARGE_PHOTO_PIXELS:
            self.hide()
            return
        kind = self.model_kind()
        e = est.estimate(rgb.height, rgb.width, kind, steps=self.dock.steps.value(),
                         samples=self.dock.samples.value() if kind == "diffusion" else 1)
        warn = "" if e["fits"] else (" — <b>over the memory budget</b> "
                                     f"({e['budget'] / 1024**3:.1f} GiB): downscale it")
        self.label.setText(f"Large photo: {rgb.width}×{rgb.height} ({e['megapixels']:.1f} MP). This model "
                           f"({kind}) takes about {_duration(e['seconds'])} on the CPU and about "
                           f"{e['bytes'] / 1024**3:.1f} GiB of memory{warn}.")
        self.label.setToolTip(f"Time: a rough figure of {est.SECONDS_PER_MP[kind]:g} s per megapixel for a "
                              f"{kind} model, measured on one thread of the development machine's CPU (more threads or a GPU "
                              "are faster). "
                              "Memory: the same estimate hsi-studio reconstruct refuses a photo over its memory "
                              "budget with.")
        fast = self.fast_index()
        self.fast_btn.setVisible(fast >= 0)
        self.fast_btn.setEnabled(fast >= 0 and self.dock.model.currentIndex() != fast and not self.dock.running)
        self.downscale_btn.setEnabled(self.job is None and not self.dock.running)
        self.show()

    def use_fast(self) -> None:
        fast = self.fast_index()
        if fast >= 0:
            self.dock.model.setCurrentIndex(fast)
            self.refresh()

    def downscale(self) -> None:
        rgb = self.dock.rgb
        if rgb is None or self.job is not None or self.dock.jobs.closed:
            return
        self.downscale_btn.setEnabled(False)
        self.label.setText(f"Downscaling to ≤ {est.DOWNSCALE_PIXELS / 1e6:g} MP…")
        self.job = self.dock.jobs.start(est.downscale, rgb, name="downscale", on_finished=self._done,
                                        on_failed=self._failed)
        self.job.done.connect(self._job_done)

    def _done(self, small) -> None:
        self.downscaled.emit(small)

    def _failed(self, message: str, _details: str = "") -> None:
        self.label.setText(f"Downscaling failed: {message}")

    def _job_done(self) -> None:
        self.job = None
        self.refresh()


__all__ = ["LargePhotoOffer"]
