"""Comparing two reconstructions of one photo without a ground truth: per-pixel SAM / RMSE
difference maps, the numbers labelled as differences, and both spectra at the cursor."""

from __future__ import annotations

import numpy as np

from hsi_studio.core.analysis import metrics
from hsi_studio.gui.workers import active_workers


def _reconstruct(window, qtbot, spec: str) -> None:
    dock = window.dock
    dock.model.setCurrentIndex(dock.model.findData(spec))
    with qtbot.waitSignal(dock.result_ready, timeout=30000):
        assert dock.run()
    qtbot.waitUntil(lambda: not active_workers(), timeout=30000)


def test_two_reconstructions_are_compared_without_ground_truth(window, qtbot, make_photo, tmp_path):
    window.set_rgb(make_photo(48, 64), tmp_path / "photo.png")
    compare = window.compare
    assert not compare.previous_btn.isEnabled()
    _reconstruct(window, qtbot, "physics:mallett2019")
    first = window.cube
    assert not compare.previous_btn.isEnabled()  # nothing before it
    _reconstruct(window, qtbot, "physics:minnorm")
    second = window.cube
    assert compare.previous_btn.isEnabled() and "Mallett 2019 of photo.png" in compare.previous_btn.toolTip()
    with qtbot.waitSignal(compare.computed, timeout=20000):
        compare.previous_btn.click()
    assert window.tabs.currentIndex() == 2
    text = compare.gt_label.text()
    assert "Mallett 2019 of photo.png" in text and "No ground truth" in text and "differences" in text
    assert compare.table.horizontalHeaderItem(1).text() == "Difference"
    assert compare.map_label.text() == "Difference map"
    expected = metrics.evaluate(second, first)
    assert compare.metric_text("sam") == f"{expected['sam']:.2f}" and float(compare.metric_text("sam")) > 0
    compare.map_combo.setCurrentIndex(compare.map_combo.findData("sam"))
    np.testing.assert_allclose(compare.canvas.image.image, metrics.sam_map(second, first), rtol=1e-4, atol=1e-5)
    compare.map_combo.setCurrentIndex(compare.map_combo.findData("rmse"))
    assert compare.canvas.image.image.shape == (48, 64)
    # Both spectra at the cursor, the other one named in the legend.
    spectrum = window.spectrum
    spectrum.on_hover(10, 20)
    np.testing.assert_allclose(spectrum.curve.yData, second.data[10, 20])
    np.testing.assert_allclose(spectrum.gt_curve.yData, first.data[10, 20])
    labels = [label.text for _, label in spectrum.legend.items]
    assert "Mallett 2019 of photo.png" in labels and "ground truth" not in labels
    # A real ground truth afterwards is labelled as such again.
    with qtbot.waitSignal(compare.computed, timeout=20000):
        window.set_ground_truth(first, "truth.h5")
    assert compare.table.horizontalHeaderItem(1).text() == "Value" and "Ground truth" in compare.gt_label.text()
    assert "ground truth" in [label.text for _, label in spectrum.legend.items]
    # Another photo: the earlier reconstructions are of another scene, not offered.
    window.set_rgb(make_photo(48, 64, seed=5), tmp_path / "other.png")
    assert not compare.previous_btn.isEnabled()


def test_a_second_cube_from_a_file(window, qtbot, make_photo, tmp_path):
    from hsi_studio.core.io import api as io
    from hsi_studio.core.spectral import recovery

    photo = make_photo(48, 64)
    other = recovery.recover(photo, "otsu2018")
    io.write_cube(other, tmp_path / "otsu.h5")
    window.set_cube(recovery.recover(photo, "mallett2019"), source=tmp_path / "mallett.h5")
    with qtbot.waitSignal(window.compare.computed, timeout=20000):
        window.load_comparison(tmp_path / "otsu.h5")
    assert "Compared with: otsu.h5" in window.compare.gt_label.text()
    assert window.compare.table.horizontalHeaderItem(1).text() == "Difference"
    qtbot.waitUntil(lambda: not active_workers(), timeout=20000)
