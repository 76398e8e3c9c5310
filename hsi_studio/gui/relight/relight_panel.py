"""The relight panel: the cube rendered under a reference illuminant and under any illuminant of the
catalogue (searchable), a black body or CIE daylight at a chosen CCT, with a capture illuminant and a
chromatic adaptation; side by side, plus the ΔE2000 map between the two.

Renders are calls into core (``relight.render_uint8``, cached matrices); the ΔE map (``relight.delta_e_map``,
~0.7 s at 512²) runs on a worker so the panel stays live. Changes are coalesced: dragging the CCT slider
renders only the latest value. The image views are :mod:`.relight_views`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.gui.relight.relight_views import RelightViews
from hsi_studio.services.workspace import Workspace

PARAMETRIC = {"cct": ("Black body at CCT", (1000, 25000)), "daylight": ("CIE daylight at CCT", (4000, 25000))}
ADAPT_LABELS = {"none": "None", "bradford": "Bradford", "cat16": "CAT16"}
DELTA_E_PERCENTILE = 99.0  # the ΔE colour bar's automatic top


def delta_e_top(de: np.ndarray) -> float:
    """The ΔE colour bar's automatic top: the map's 99th percentile rounded up to a half unit (at least 1)."""
    finite = de[np.isfinite(de)]
    top = float(np.percentile(finite, DELTA_E_PERCENTILE)) if finite.size else 1.0
    return max(1.0, float(np.ceil(top * 2.0) / 2.0))


class RelightPanel(QWidget):
    """Live relighting of the current cube."""

    rendered = Signal()  # the relit image was updated
    delta_e_ready = Signal()

    def __init__(self, jobs=None, parent=None, *, workspace: Workspace | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs  # a workers.JobSet for the ΔE map (None: computed inline)
        self.workspace = workspace if workspace is not None else Workspace()  # the cube: its ``cube``
        self._stopped = False
        self.original: np.ndarray | None = None
        self.relit: np.ndarray | None = None
        self.delta_e: np.ndarray | None = None
        self._original_key = None
        self._populated = False
        self._recorded_capture: str | None = None
        self._auto_capture_index = -1  # the capture index set from a cube's record, while it stands
        self.stale = False
        self._de_job = None
        self._de_pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.update_now)
        self._build()
        self.workspace.events.photo.connect(self._cube_changed)
        self.workspace.events.cube.connect(self._cube_changed)

    @property
    def cube(self) -> HSCube | None:
        """The workspace's cube, relit as reconstructed (None once the panel is stopped)."""
        return None if self._stopped else self.workspace.cube

    # -- construction -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search illuminants…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setToolTip("Render the scene under this illuminant")
        self.cct = QSlider(Qt.Orientation.Horizontal)
        self.cct.setRange(10, 250)  # hundreds of kelvin: 1000–25000 K in 100 K steps
        self.cct.setValue(50)
        self.cct_label = QLabel("5000 K")
        self.capture = QComboBox()
        self.capture.setToolTip("The light the cube was captured under; the cube is divided by it to get "
                                "reflectance. A reconstruction of a photo records its light (D65 for an sRGB "
                                "photo), which is chosen for it. None: use the cube as it is, as reflectance "
                                "(a reflectance cube always is)")
        self.adapt = QComboBox()
        for key, label in ADAPT_LABELS.items():
            self.adapt.addItem(label, key)
        self.adapt.setToolTip("Chromatic adaptation of the relit view from the illuminant's white to the "
                              "display's D65 white. None: no adaptation (the view keeps the illuminant's colour "
                              "cast); the reference view is never adapted")
        self.reference = QComboBox()
        self.reference.setToolTip("The original view and the ΔE map use this illuminant")
        self.exposure = QDoubleSpinBox()
        self.exposure.setRange(0.05, 50.0)
        self.exposure.setSingleStep(0.1)
        self.exposure.setValue(1.0)
        self.auto_exposure = QCheckBox("Auto")
        self.auto_exposure.setToolTip("Map the 99th percentile of luminance to white")
        self.show_de = QCheckBox("ΔE2000 map")
        self.show_de.setToolTip("The ΔE2000 colour difference between the relit and the reference render")
        self.show_de.setChecked(True)
        self.lock_de = QCheckBox("Lock ΔE scale")
        self.lock_de.setToolTip(f"Off: the colour bar runs from 0 to the map's {DELTA_E_PERCENTILE:g}th percentile "
                                "for each render. On: keep the current range (dragging the bar's handles locks it)")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.csv_btn = QPushButton("Load SPD (CSV)…")
        self.csv_btn.setToolTip("Your own illuminant: a CSV of wavelength (nm) and relative power, a header line "
                                "and # comments allowed (as `hsi-studio relight --illuminant csv:PATH`)")
        self.csv_btn.clicked.connect(lambda: self.load_spd_csv())

        cct_row = QHBoxLayout()
        cct_row.addWidget(self.cct, 1)
        cct_row.addWidget(self.cct_label)
        exp_row = QHBoxLayout()
        exp_row.addWidget(self.exposure, 1)
        exp_row.addWidget(self.auto_exposure)
        form = QFormLayout()
        form.addRow("CCT", cct_row)
        form.addRow("Capture", self.capture)
        form.addRow("Adaptation", self.adapt)
        form.addRow("Reference", self.reference)
        form.addRow("Exposure", exp_row)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(2, 2, 2, 2)
        ll.addWidget(QLabel("Illuminant"))
        ll.addWidget(self.search)
        ll.addWidget(self.list, 1)
        ll.addWidget(self.csv_btn)
        ll.addLayout(form)
        de_row = QHBoxLayout()
        de_row.addWidget(self.show_de, 1)
        de_row.addWidget(self.lock_de)
        ll.addLayout(de_row)
        ll.addWidget(self.status)
        left.setMinimumWidth(230)
        left.setMaximumWidth(330)
        self.views = RelightViews()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.views)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

        self.search.textChanged.connect(self._filter)
        self.list.currentItemChanged.connect(lambda *_: self.schedule())
        self.cct.valueChanged.connect(self._cct_changed)
        for combo in (self.capture, self.adapt, self.reference):
            combo.currentIndexChanged.connect(lambda *_: self.schedule())
        self.exposure.valueChanged.connect(lambda *_: self.schedule())
        self.auto_exposure.toggled.connect(self._auto_toggled)
        self.show_de.toggled.connect(lambda *_: self.schedule())
        self.lock_de.toggled.connect(self._lock_toggled)
        self.views.bar.sigLevelsChangeFinished.connect(lambda _bar: self.lock_de.setChecked(True))
        self.list.currentItemChanged.connect(lambda *_: self._family_changed())
        self._sync_enabled()

    def populate(self) -> None:
        """Fill the catalogue (imports colour-science: done when the panel first renders a cube, not at
        start-up)."""
        if self._populated:
            return
        from hsi_studio.services import relighting as relight

        names = relight.list_illuminants()
        for widget in (self.list, self.capture, self.reference):
            widget.blockSignals(True)
        for key, (label, _) in PARAMETRIC.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.list.addItem(item)
        for name in names:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
        self.capture.addItem("None (cube is reflectance)", None)
        for name in names:
            self.capture.addItem(name, name)
            self.reference.addItem(name, name)
        self.reference.setCurrentText("D65")
        self.search.setPlaceholderText(f"Search {len(names)} illuminants…")
        for widget in (self.list, self.capture, self.reference):
            widget.blockSignals(False)
        self._populated = True
        self.select_illuminant("A")

    # -- state --------------------------------------------------------------------------------------------
    def select_illuminant(self, spec: str) -> bool:
        """Select a catalogue name, ``cct:K`` or ``daylight:K``; False when it is not in the list."""
        self.populate()
        kind, _, arg = spec.partition(":")
        key = kind if kind in PARAMETRIC and arg else spec
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == key:
                item.setHidden(False)
                self.list.setCurrentItem(item)  # sets the slider's range for the family
                if key in PARAMETRIC:
                    self.cct.setValue(round(float(arg) / 100))
                return True
        return False

    def load_spd_csv(self, path: str | None = None) -> bool:
        """Add an illuminant from a CSV (nm, value) to the list and select it; a bad file is a red line."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Illuminant SPD", "", "CSV (*.csv *.txt);;All files (*)")
            if not path:
                return False
        from pathlib import Path

        from hsi_studio.services import relighting as relight

        try:
            relight.read_spd_csv(path)  # checked now: a file that cannot be used never enters the list
        except InputError as exc:
            self.status.setText(f"<span style='color:#d33'>{exc}</span>")
            return False
        self.populate()
        spec = f"csv:{Path(path).resolve()}"
        if not self.select_illuminant(spec):
            item = QListWidgetItem(f"CSV: {Path(path).name}")
            item.setData(Qt.ItemDataRole.UserRole, spec)
            item.setToolTip(str(Path(path).resolve()))
            self.list.insertItem(len(PARAMETRIC), item)  # after the two families, before the catalogue
            self.select_illuminant(spec)
        return True

    def illuminant_spec(self) -> str | None:
        item = self.list.currentItem()
        if item is None:
            return None
        key = item.data(Qt.ItemDataRole.UserRole)
        if key in PARAMETRIC:
            return f"{key}:{self.cct.value() * 100}"  # the slider's range is the family's
        return key

    def render_options(self) -> dict:
        from hsi_studio.services import relighting as relight

        # The observer of the camera response a reconstruction records (so it renders back to its photo).
        observer = relight.view_observer(self.cube) if self.cube is not None else relight.DEFAULT_OBSERVER
        return {"adapt": self.adapt.currentData(), "capture_illuminant": self.capture.currentData(),
                "exposure": "auto" if self.auto_exposure.isChecked() else float(self.exposure.value()),
                "observer": observer}

    def _cube_changed(self) -> None:
        """A new cube in the workspace (or none: a photo was opened)."""
        cube = self.cube
        self._original_key = None
        self.delta_e = None
        # A reconstruction says what it was lit by: relighting starts from its reflectance (applied once the
        # catalogue is filled). For a cube that says nothing, a capture chosen by hand is kept and one that
        # was only the previous cube's record is cleared.
        self._recorded_capture = None
        if cube is not None:
            from hsi_studio.services import relighting as relight

            self._recorded_capture = relight.default_capture_illuminant(cube)
        if self._recorded_capture is None and 0 < self._auto_capture_index == self.capture.currentIndex():
            self.capture.setCurrentIndex(0)
        self._auto_capture_index = -1
        self._apply_recorded_capture()
        self._sync_enabled()
        self.schedule()

    def _apply_recorded_capture(self) -> None:
        i = self.capture.findData(self._recorded_capture) if self._recorded_capture else -1
        if i >= 0:
            self.capture.setCurrentIndex(i)
            self._recorded_capture = None
            self._auto_capture_index = i

    def _sync_enabled(self) -> None:
        has = self.cube is not None
        item = self.list.currentItem()
        parametric = item is not None and item.data(Qt.ItemDataRole.UserRole) in PARAMETRIC
        self.cct.setEnabled(has and parametric)
        self.cct_label.setEnabled(has and parametric)
        self.capture.setEnabled(has and self.cube.kind != "reflectance")
        if has and self.cube.kind == "reflectance" and self.capture.currentIndex() > 0:
            self.capture.setCurrentIndex(0)
        self.exposure.setEnabled(not self.auto_exposure.isChecked())

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _family_changed(self) -> None:
        """The CCT slider spans the chosen family's range (daylight 4000–25000 K, black body 1000–25000 K)."""
        item = self.list.currentItem()
        key = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if key in PARAMETRIC:
            lo, hi = PARAMETRIC[key][1]
            self.cct.setRange(lo // 100, hi // 100)  # clamps the value: the label follows (valueChanged)
        self._cct_label()

    def _cct_label(self) -> None:
        self.cct_label.setText(f"{self.cct.value() * 100} K")

    def _cct_changed(self, _value: int) -> None:
        self._cct_label()
        self.schedule()

    def _lock_toggled(self, locked: bool) -> None:
        if not locked and self.delta_e is not None:
            self._set_delta_e_levels(self.delta_e)

    def _auto_toggled(self, _on: bool) -> None:
        self._sync_enabled()
        self.schedule()

    # -- rendering ----------------------------------------------------------------------------------------
    def schedule(self) -> None:
        """Render on the next turn of the event loop (many changes in a row give one render)."""
        self._timer.start()

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        if self.stale:
            self.schedule()

    def stop(self) -> None:
        """No more renders (the window is closing)."""
        self._timer.stop()
        self._stopped = True

    def update_now(self, force: bool = False) -> None:
        """Render now (while hidden the work waits until the panel is shown, unless ``force``)."""
        self._timer.stop()
        if not (force or self.isVisible()):
            self.stale = True
            return
        self.stale = False
        if self.cube is not None:
            self.populate()
            self._apply_recorded_capture()
        self._sync_enabled()
        spec = self.illuminant_spec()
        if self.cube is None or spec is None:
            self._clear()
            return
        from hsi_studio.services import relighting as relight

        opts = self.render_options()
        reference = self.reference.currentData() or "D65"
        try:
            key = (reference, opts["capture_illuminant"], opts["exposure"])
            if key != self._original_key or self.original is None:
                # The reference view: no adaptation (the display's own white, D65 by default).
                self.original = relight.render_uint8(self.cube, reference, **{**opts, "adapt": "none"})
                self._original_key = key
            self.relit = relight.render_uint8(self.cube, spec, **opts)
        except InputError as exc:
            self.status.setText(f"<span style='color:#d33'>{exc}</span>")
            return
        self._show(reference, spec)
        self._show_spds(reference, spec)
        self.rendered.emit()
        if self.show_de.isChecked():
            self._request_delta_e()
        else:
            self.views.items["delta_e"].clear()
            self.views.labels["delta_e"].setText("ΔE2000 (off)")

    def _show(self, reference: str, spec: str) -> None:
        h, w = self.relit.shape[:2]
        self.views.set_shape(h, w)
        self.views.items["original"].setImage(self.original, autoLevels=False, levels=(0, 255))
        self.views.items["relit"].setImage(self.relit, autoLevels=False, levels=(0, 255))
        adapt = self.adapt.currentText()
        self.views.labels["original"].setText(f"Reference: {reference}")
        shown = f"CSV {spec[4:].replace(chr(92), '/').rsplit('/', 1)[-1]}" if spec.startswith("csv:") else spec
        self.views.labels["relit"].setText(f"Relit: {shown}" + (f" ({adapt})" if adapt != "None" else ""))
        self.status.setText("")

    def _show_spds(self, reference: str, spec: str) -> None:
        from hsi_studio.services import relighting as relight

        wl = self.cube.wavelengths
        try:
            self.views.spd_ref.setData(wl, relight.illuminant_spd(reference, wl))
            self.views.spd_new.setData(wl, relight.illuminant_spd(spec, wl))
        except InputError:
            self.views.spd_new.setData([], [])

    def _clear(self) -> None:
        self.original = self.relit = self.delta_e = None
        for key, item in self.views.items.items():
            item.clear()
            self.views.labels[key].setText("")
        self.views.spd_ref.setData([], [])
        self.views.spd_new.setData([], [])
        self.status.setText("Open a cube (or reconstruct one) to relight it." if self.cube is None else "")

    def _request_delta_e(self) -> None:
        from hsi_studio.services import relighting as relight

        if self.jobs is None:
            self._delta_e_done(relight.delta_e_map(self.relit, self.original))
            return
        if self.jobs.closed:
            return
        if self._de_job is not None:
            self._de_pending = True  # recompute with the newest renders when this one finishes
            return
        self.views.labels["delta_e"].setText("ΔE2000: computing…")
        self._de_job = self.jobs.start(relight.delta_e_map, self.relit, self.original, name="delta-e",
                                       pass_progress=False, on_finished=self._delta_e_done,
                                       on_failed=self._delta_e_failed)
        self._de_job.done.connect(self._delta_e_job_done)

    def _delta_e_job_done(self) -> None:
        self._de_job = None
        if self._de_pending and self.relit is not None:
            self._de_pending = False
            self._request_delta_e()

    def _delta_e_failed(self, message: str, _details: str) -> None:
        self.views.labels["delta_e"].setText("ΔE2000 failed")
        self.status.setText(message)

    def _set_delta_e_levels(self, de: np.ndarray) -> None:
        self.views.bar.setLevels((0.0, delta_e_top(de)))

    def _delta_e_done(self, de: np.ndarray) -> None:
        if self._de_pending or self.relit is None or de.shape != self.relit.shape[:2]:
            return  # stale: a newer request follows
        self.delta_e = de
        self.views.items["delta_e"].setImage(de, autoLevels=False, levels=self.views.bar.levels())
        if not self.lock_de.isChecked():
            self._set_delta_e_levels(de)
        self.views.labels["delta_e"].setText(f"ΔE2000 mean {float(de.mean()):.2f}, max {float(de.max()):.1f}")
        self.delta_e_ready.emit()


__all__ = ["RelightPanel", "PARAMETRIC", "delta_e_top"]
