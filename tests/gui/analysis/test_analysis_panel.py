"""The Analyse tab: similarity map + live mask, library load/match/save, k-means as a cancellable
background job that leaves no thread, PCA view, index map, exports, and a screenshot of each tool."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hsi_studio.core.analysis.library import read_library
from hsi_studio.core.cube import HSCube
from hsi_studio.gui.workers import active_workers


def _wait_idle(qtbot, window, timeout=20000):
    qtbot.waitUntil(lambda: not window.jobs.running and not active_workers(), timeout=timeout)


@pytest.fixture
def analysed(window, cc_cube, qtbot):
    window.set_cube(cc_cube, name="chart")
    window.tabs.setCurrentIndex(3)
    panel = window.analysis
    assert panel.cube is cc_cube
    return window, panel


def _patch_centre(i: int, patch: int = 12, border: int = 3) -> tuple[int, int]:
    r, c = divmod(i, 6)
    step = patch + border
    return border + r * step + patch // 2, border + c * step + patch // 2


def test_click_gives_sam_map_mask_and_library_matches(analysed, qtbot):
    window, panel = analysed
    assert panel.library.load("builtin:colorchecker")
    row, col = _patch_centre(14)  # "red"
    panel._clicked(row, col, False)
    _wait_idle(qtbot, window)
    assert panel.score is not None and panel.score.shape == panel.cube.shape[:2]
    assert panel.score[row, col] == pytest.approx(0, abs=0.05)
    panel.set_threshold(1.0)
    mask = panel.current_mask()
    assert mask.sum() == 144  # exactly the 12×12 red patch
    assert "144 pixels" in panel.mask_label.text()
    best = panel.library.matches.item(0, 0).text()
    assert best == "red" and float(panel.library.matches.item(0, 1).text()) < 0.5
    assert "resampled" in panel.library.note.text()  # 81-band library on a 31-band cube says so
    panel.set_threshold(45)
    assert panel.current_mask().sum() > 144  # the slider is live
    panel.measure_combo.setCurrentIndex(1)  # SID
    _wait_idle(qtbot, window)
    assert panel.score_kind == "sid" and panel.score[row, col] == pytest.approx(0, abs=1e-4)


def test_uncertain_pixels_left_out(window, cc_cube, qtbot):
    std = np.zeros_like(cc_cube.data)
    std[:, : cc_cube.width // 2] = 1.0
    window.set_cube(cc_cube, std=HSCube(std, cc_cube.wavelengths), name="chart")
    panel = window.analysis
    assert panel.std_check.isEnabled()
    panel._clicked(*_patch_centre(0), False)
    _wait_idle(qtbot, window)
    panel.set_threshold(45)
    full = panel.current_mask().sum()
    panel.std_check.setChecked(True)
    panel.std_spin.setValue(0.5)
    masked = panel.current_mask()
    assert masked.sum() < full and not masked[:, : cc_cube.width // 2].any()


def test_library_add_save_and_reload(analysed, qtbot, tmp_path):
    window, panel = analysed
    panel._clicked(*_patch_centre(3), False)
    _wait_idle(qtbot, window)
    panel._reference_to_library()
    assert panel.library.lib is not None and len(panel.library.lib) == 1
    path = panel.library.save(tmp_path / "mine.sli")
    back = read_library(path)
    assert back.names == panel.library.lib.names and back.bands == 31
    panel.library.set_library(None)
    assert panel.library.load(tmp_path / "mine.hdr") and len(panel.library.lib) == 1


def test_bad_library_file_is_reported(analysed, tmp_path):
    window, panel = analysed
    (tmp_path / "bad.csv").write_text("not,a,library\n")
    seen = []
    panel.library.failed.connect(lambda t, m: seen.append(m))
    window.analysis.failed.disconnect()  # no modal dialog in the test
    assert not panel.library.load(tmp_path / "bad.csv")
    assert seen and "expected" in seen[0]


def test_kmeans_runs_in_background_shows_classes_and_exports(analysed, qtbot, tmp_path):
    window, panel = analysed
    panel.k_spin.setValue(3)
    panel.iter_spin.setValue(10)
    job = panel.run_kmeans()
    assert job is not None and not panel.run_kmeans_btn.isEnabled()
    qtbot.waitUntil(lambda: panel.classes is not None, timeout=20000)
    _wait_idle(qtbot, window)
    assert panel.classes.labels.shape == panel.cube.shape[:2]
    shown = [c for c in panel.plot.getPlotItem().listDataItems()
             if c.isVisible() and c.xData is not None and len(c.xData)]
    assert len(shown) == 3  # each class's mean spectrum
    written = panel.export_classes(tmp_path / "cls.png")
    names = sorted(p.name for p in written)
    assert names == ["cls.npy", "cls.png", "cls_classes.sli"]
    assert np.array_equal(np.load(tmp_path / "cls.npy"), panel.classes.labels)
    assert read_library(tmp_path / "cls_classes.sli").names == ["class 0", "class 1", "class 2"]


def test_kmeans_cancel_leaves_no_thread(window, qtbot):
    rng = np.random.default_rng(0)
    big = HSCube(rng.random((256, 256, 31), dtype=np.float32), np.arange(400.0, 701.0, 10.0))
    window.set_cube(big, name="noise")
    panel = window.analysis
    panel.k_spin.setValue(16)
    panel.iter_spin.setValue(1000)
    job = panel.run_kmeans()
    qtbot.waitUntil(lambda: panel.kmeans_progress.value() > 0, timeout=20000)  # it is iterating
    t0 = time.monotonic()
    panel.cancel_kmeans_btn.click()
    qtbot.waitUntil(lambda: job.outcome is not None, timeout=20000)
    assert job.outcome == "cancelled" and time.monotonic() - t0 < 10
    _wait_idle(qtbot, window)
    assert panel.classes is None and "cancelled" in panel.classes_label.text()
    assert panel.run_kmeans_btn.isEnabled() and not panel.cancel_kmeans_btn.isEnabled()


def test_new_cube_cancels_kmeans_and_drops_its_result(window, qtbot, cc_cube):
    rng = np.random.default_rng(1)
    big = HSCube(rng.random((200, 200, 31), dtype=np.float32), cc_cube.wavelengths)
    window.set_cube(big, name="noise")
    panel = window.analysis
    panel.iter_spin.setValue(1000)
    job = panel.run_kmeans()
    window.set_cube(cc_cube, name="chart")
    qtbot.waitUntil(lambda: job.outcome is not None, timeout=20000)
    _wait_idle(qtbot, window)
    assert panel.classes is None


def test_pca_and_index_views(analysed, qtbot):
    window, panel = analysed
    panel.run_pca()
    qtbot.waitUntil(lambda: panel.pca_result is not None, timeout=20000)
    assert "PC1" in panel.pca_label.text() and panel.shown == "pca"
    panel.band_a.setText("600-700")
    panel.band_b.setText("500")
    panel.index_kind.setCurrentIndex(0)
    panel.compute_index()
    qtbot.waitUntil(lambda: panel.index is not None, timeout=20000)
    _wait_idle(qtbot, window)
    assert panel.shown == "index" and "600–700 nm" in panel.index_label.text()
    lo_before = panel.canvas.bar.levels()
    panel.stretch_lo.setValue(30.0)
    assert panel.canvas.bar.levels() != lo_before  # the stretch follows the percentiles


def test_screenshots_of_each_tool(analysed, qtbot, shots):
    from hsi_studio.gui.explore.band_view import qimage_to_rgb

    window, panel = analysed
    panel.library.load("builtin:colorchecker")
    panel._clicked(*_patch_centre(5), False)
    _wait_idle(qtbot, window)
    panel.set_threshold(8)
    steps = [("similarity", lambda: None),
             ("library", lambda: (panel.tools.setCurrentIndex(1), panel.library.table.selectRow(5))),
             ("classes", lambda: (panel.k_spin.setValue(6), panel.run_kmeans())),
             ("pca", panel.run_pca),
             ("index", panel.compute_index)]
    for name, action in steps:
        action()
        _wait_idle(qtbot, window)
        qtbot.wait(50)
        img = qimage_to_rgb(window.grab().toImage())
        path = shots / f"analysis_{name}.png"
        window.grab().save(str(path))
        assert path.exists() and img.std() > 5  # content, not a blank window
    assert panel.shown == "index"
