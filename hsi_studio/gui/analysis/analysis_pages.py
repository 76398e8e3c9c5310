"""The Analyse tab's tool pages (controls only): built by :class:`PagesMixin`, which
:class:`~.analysis_panel.AnalysisPanel` inherits; the panel's methods do the work."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from hsi_studio.services import analysis

CLASSES_HINT = "Unsupervised classes with SPy's k-means (runs in the background)."
PCA_HINT = "The first three principal components as red, green and blue."

class PagesMixin:
    """Builds the Similarity, Classes, PCA and Index pages; their signals call the panel's methods."""

    def _similarity_page(self) -> QWidget:
        w = QWidget()
        self.ref_combo = QComboBox()
        self.ref_combo.setToolTip("The reference: a clicked pixel, a spectrum shown in Explore (pins, ROI mean) "
                                  "or a library entry")
        self.refresh_refs_btn = QPushButton("↻")
        self.refresh_refs_btn.setToolTip("Refresh the list from the Explore tab's pins / ROI and the library")
        self.refresh_refs_btn.setMaximumWidth(32)
        self.measure_combo = QComboBox()
        self.measure_combo.addItem("Spectral angle (SAM, °)", "sam")
        self.measure_combo.addItem("Spectral information divergence (SID)", "sid")
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 450)  # 0.1° steps up to 45° (SID: up to 0.5)
        self.threshold.setValue(100)
        self.threshold_label = QLabel("")
        self.show_mask = QCheckBox("Show mask (pixels within the threshold)")
        self.show_mask.setChecked(True)
        self.std_check = QCheckBox("Leave out pixels with mean σ above")
        self.std_spin = QDoubleSpinBox()
        self.std_spin.setDecimals(4)
        self.std_spin.setRange(0.0, 1e6)
        self.std_spin.setSingleStep(0.005)
        self.std_spin.setValue(0.05)
        self.std_check.setToolTip("A reconstruction with K samples has a std cube: its uncertain pixels are not "
                                  "called a match")
        self.mask_label = QLabel("")
        self.mask_label.setWordWrap(True)
        self.to_library_btn = QPushButton("Add reference to library")
        self.export_sim_btn = QPushButton("Export map + mask…")
        ref_row = QHBoxLayout()
        ref_row.addWidget(self.ref_combo, 1)
        ref_row.addWidget(self.refresh_refs_btn)
        std_row = QHBoxLayout()
        std_row.addWidget(self.std_check)
        std_row.addWidget(self.std_spin)
        form = QFormLayout(w)
        form.addRow("Reference", ref_row)
        form.addRow("Measure", self.measure_combo)
        form.addRow("Threshold", self.threshold)
        form.addRow("", self.threshold_label)
        form.addRow(self.show_mask)
        form.addRow(std_row)
        form.addRow(self.mask_label)
        form.addRow(self.to_library_btn)
        form.addRow(self.export_sim_btn)
        hint = QLabel("Click a pixel to use it as the reference: the map shows how close every pixel is; the "
                      "mask finds more of this material.")
        hint.setWordWrap(True)
        form.addRow(hint)
        self.ref_combo.activated.connect(lambda _i: self._reference_picked())
        self.refresh_refs_btn.clicked.connect(self._refresh_refs)
        self.measure_combo.currentIndexChanged.connect(lambda _i: self.compute_similarity())
        self.threshold.valueChanged.connect(lambda _v: self._update_mask())
        self.show_mask.toggled.connect(lambda _on: self._update_mask())
        self.std_check.toggled.connect(lambda _on: self._update_mask())
        self.std_spin.valueChanged.connect(lambda _v: self._update_mask())
        self.to_library_btn.clicked.connect(self._reference_to_library)
        self.export_sim_btn.clicked.connect(lambda: self.export_similarity())
        return w

    def _classes_page(self) -> QWidget:
        w = QWidget()
        self.k_spin = QSpinBox()
        self.k_spin.setRange(2, analysis.MAX_K)
        self.k_spin.setValue(8)
        self.iter_spin = QSpinBox()
        self.iter_spin.setRange(1, analysis.MAX_ITERATIONS)
        self.iter_spin.setValue(10)
        self.run_kmeans_btn = QPushButton("Run k-means")
        self.cancel_kmeans_btn = QPushButton("Cancel")
        self.kmeans_progress = QProgressBar()
        self.kmeans_progress.setRange(0, 1000)
        self.kmeans_progress.setTextVisible(True)
        self.classes_label = QLabel(CLASSES_HINT)
        self.classes_label.setWordWrap(True)
        self.classes_to_lib_btn = QPushButton("Add class means to library")
        self.export_classes_btn = QPushButton("Export classes…")
        self.export_classes_btn.setToolTip("Class map PNG + label array (.npy) + class mean spectra (.sli)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_kmeans_btn)
        buttons.addWidget(self.cancel_kmeans_btn)
        form = QFormLayout(w)
        form.addRow("Classes k", self.k_spin)
        form.addRow("Iterations", self.iter_spin)
        form.addRow(buttons)
        form.addRow(self.kmeans_progress)
        form.addRow(self.classes_label)
        form.addRow(self.classes_to_lib_btn)
        form.addRow(self.export_classes_btn)
        self.run_kmeans_btn.clicked.connect(self.run_kmeans)
        self.cancel_kmeans_btn.clicked.connect(self.cancel_kmeans)
        self.classes_to_lib_btn.clicked.connect(self._classes_to_library)
        self.export_classes_btn.clicked.connect(lambda: self.export_classes())
        return w

    def _pca_page(self) -> QWidget:
        w = QWidget()
        self.run_pca_btn = QPushButton("Compute PCA")
        self.pca_label = QLabel(PCA_HINT)
        self.pca_label.setWordWrap(True)
        form = QFormLayout(w)
        form.addRow(self.run_pca_btn)
        form.addRow(self.pca_label)
        self.run_pca_btn.clicked.connect(self.run_pca)
        return w

    def _index_page(self) -> QWidget:
        w = QWidget()
        self.band_a, self.band_b = QLineEdit("650"), QLineEdit("550")
        for e in (self.band_a, self.band_b):
            e.setToolTip("A wavelength in nm (nearest band) or a range such as 600-700 (mean of its bands)")
        self.index_kind = QComboBox()
        self.index_kind.addItem("Normalised difference (A−B)/(A+B)", "nd")
        self.index_kind.addItem("Ratio A/B", "ratio")
        self.stretch_lo, self.stretch_hi = QDoubleSpinBox(), QDoubleSpinBox()
        for s, v in ((self.stretch_lo, 2.0), (self.stretch_hi, 98.0)):
            s.setRange(0.0, 100.0)
            s.setValue(v)
            s.setSuffix(" %")
        self.run_index_btn = QPushButton("Compute index")
        self.index_label = QLabel("")
        self.index_label.setWordWrap(True)
        stretch = QHBoxLayout()
        stretch.addWidget(self.stretch_lo)
        stretch.addWidget(QLabel("–"))
        stretch.addWidget(self.stretch_hi)
        form = QFormLayout(w)
        form.addRow("Band A", self.band_a)
        form.addRow("Band B", self.band_b)
        form.addRow("Index", self.index_kind)
        form.addRow("Stretch", stretch)
        form.addRow(self.run_index_btn)
        form.addRow(self.index_label)
        self.run_index_btn.clicked.connect(self.compute_index)
        for s in (self.stretch_lo, self.stretch_hi):
            s.valueChanged.connect(lambda _v: self.shown == "index" and self._show_index())
        return w


    def _reset_texts(self) -> None:
        """The result texts of every page back to their hints (a new cube: the old results are gone)."""
        self.mask_label.setText("")
        self.classes_label.setText(CLASSES_HINT)
        self.kmeans_progress.setValue(0)
        self.kmeans_progress.setFormat("%p%")
        self.pca_label.setText(PCA_HINT)
        self.index_label.setText("")


__all__ = ["PagesMixin"]
