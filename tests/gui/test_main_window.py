"""The main window end to end (offscreen): reconstruct, cancel, band slider, spectra, relighting, compare."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from hsi_studio.core.spectral import recovery
from hsi_studio.gui.workers import active_workers
from hsi_studio.services.files import preview_render
from hsi_studio.services.reconstruction import Reconstruction


def slow_job(rgb, model, *, steps=8, samples=1, seed=0, device="auto", progress, cancel, n=40, dt=0.02,
             log=None):
    """A test-only reconstruction: reports progress in ``n`` steps, honours cancel, then a baseline cube."""
    for i in range(n):
        cancel.check()
        time.sleep(dt)
        progress((i + 1) / n, f"step {i + 1}/{n}")
        if log is not None:
            log.append(i)
    cube = recovery.recover(rgb, "mallett2019", cancel=cancel)
    return Reconstruction(cube, None, "test:slow", "cpu", n * dt, render=preview_render(cube))


def _select_model(dock, spec):
    index = dock.model.findData(spec)
    assert index >= 0, [dock.model.itemData(i) for i in range(dock.model.count())]
    dock.model.setCurrentIndex(index)


def test_reconstruct_with_a_baseline_reaches_100_and_shows_the_cube(window, qtbot, rgb_photo):
    window.set_rgb(rgb_photo)
    assert window.band_view.canvas.rgb_image.image.shape == (48, 64, 3)
    dock = window.dock
    _select_model(dock, "physics:mallett2019")
    assert not dock.steps.isEnabled()  # a baseline has no solver steps
    seen = []
    dock.job_fn = lambda *a, **k: slow_job(*a, **k, n=10, dt=0.01)
    with qtbot.waitSignal(dock.result_ready, timeout=20000):
        assert dock.run()
        dock.job.progress.connect(lambda f, m: seen.append(f))
    qtbot.waitUntil(lambda: not active_workers())
    assert dock.progress.value() == 1000 and "100 %" in dock.progress.format()
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    assert window.cube is not None and window.cube.shape == (48, 64, 31)
    assert window.band_view.mode == "rgb"
    shown = window.band_view.canvas.rgb_image.image
    assert shown.shape == (48, 64, 3) and shown.dtype == np.uint8
    # The reconstructed cube renders back close to the photo (Mallett 2019 reproduces sRGB).
    photo8 = (rgb_photo.data * 255).round()
    assert np.abs(shown.astype(float) - photo8).mean() < 4


def test_reconstruct_with_the_real_job(window, qtbot, rgb_photo):
    window.set_rgb(rgb_photo)
    _select_model(window.dock, "physics:minnorm")
    with qtbot.waitSignal(window.dock.result_ready, timeout=20000) as blocker:
        window.act_run.trigger()  # Ctrl+R
    result = blocker.args[0]
    assert result.cube.metadata["method"] == "physics:minnorm"
    assert window.cube is result.cube and window.dock.progress.value() == 1000


def test_cancel_mid_run_leaves_no_thread(window, qtbot, rgb_photo):
    window.set_rgb(rgb_photo)
    log: list[int] = []
    window.dock.job_fn = lambda *a, **k: slow_job(*a, **k, n=500, dt=0.01, log=log)
    assert window.dock.run()
    assert window.dock.cancel_btn.isEnabled() and not window.dock.run_btn.isEnabled()
    qtbot.waitUntil(lambda: window.dock.last_fraction > 0.02, timeout=10000)
    with qtbot.waitSignal(window.dock.job_cancelled, timeout=10000):
        window.act_cancel.trigger()  # Esc
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)
    assert 0 < len(log) < 500
    assert window.cube is None and window.dock.progress.format() == "cancelled"
    assert window.dock.run_btn.isEnabled()


def test_closing_the_window_mid_job_cancels_and_joins(qtbot, settings, rgb_photo):
    from hsi_studio.gui.main_window import MainWindow

    win = MainWindow(settings, warm_up=False)
    win.show()
    win.set_rgb(rgb_photo)
    log: list[int] = []
    win.dock.job_fn = lambda *a, **k: slow_job(*a, **k, n=1000, dt=0.01, log=log)
    win.dock.run()
    qtbot.waitUntil(lambda: len(log) > 2, timeout=10000)
    t0 = time.monotonic()
    win.close()
    assert time.monotonic() - t0 < 5
    assert not active_workers() and len(log) < 1000
    win.deleteLater()


def test_slider_changes_the_shown_band(window, qtbot, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    view = window.band_view
    view.set_mode("band")
    for nm in (450, 600, 700):
        view.slider.setValue(cc_cube.band_index(nm))
        np.testing.assert_array_equal(view.canvas.image.image, cc_cube.band(nm))
        assert f"{nm} nm" in view.band_label.text()
    with qtbot.waitSignal(view.band_changed):
        window.act_prev.trigger()
    assert view.band == cc_cube.band_index(690)
    view.set_mode("false")
    assert view.canvas.rgb_image.image.shape == cc_cube.shape[:2] + (3,)


def test_click_gives_that_pixels_spectrum_and_shift_click_pins(window, qtbot, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    qtbot.wait(50)
    canvas = window.band_view.canvas
    qtbot.mouseMove(canvas.viewport(), canvas.widget_pos_of(5, 8))  # hover follows the cursor
    qtbot.wait(20)
    np.testing.assert_allclose(window.spectrum.curve.yData, cc_cube.data[5, 8])
    row, col = 20, 40  # inside the second patch of the second row
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.widget_pos_of(row, col))
    curve = window.spectrum.curve
    np.testing.assert_allclose(curve.yData, cc_cube.data[row, col])
    np.testing.assert_allclose(curve.xData, cc_cube.wavelengths)
    assert "x=40, y=20" in window.spectrum.info.text()
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     pos=canvas.widget_pos_of(50, 5))
    assert [p for p, _ in window.spectrum.pinned] == [(50, 5)]
    labels = [label.text for _, label in window.spectrum.legend.items]
    assert any("pinned" in t for t in labels)
    window.spectrum.clear_pinned()
    assert not window.spectrum.pinned


def test_roi_gives_mean_and_std(window, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    roi = window.band_view.add_roi("rect")
    roi.setPos((3, 3))
    roi.setSize((12, 12))  # exactly the first patch
    spec = window.spectrum.roi
    assert spec is not None and "144 px" in spec.label
    np.testing.assert_allclose(spec.values, cc_cube.data[5, 5], rtol=1e-5)
    assert np.all(spec.spread < 1e-5)
    window.band_view.add_roi("polygon", points=[(3, 3), (15, 3), (15, 15), (3, 15)])
    assert "144 px" in window.spectrum.roi.label
    window.band_view.clear_roi()
    assert window.spectrum.roi is None


def test_a_reconstruction_is_relit_from_its_reflectance(window, qtbot, cc_cube):
    """A reconstruction records its sRGB camera response, so the Relight tab divides out D65 (the photo's white)
    by itself: the reference view is the photo's colours, not the radiance lit a second time."""
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.spectral import relight

    wl = cc_cube.wavelengths
    d65 = relight.illuminant_spd("D65", wl)
    white = d65 / float(d65 @ relight.xyz_matrix(wl, "E", "cie1964")[:, 1])  # a white pixel of a photo: Y = 1
    recon = HSCube(cc_cube.data * white.astype(np.float32), wl, {"response": "cie1964-srgb"}, kind="radiance")
    window.set_cube(recon, render=preview_render(recon))
    panel = window.relight
    with qtbot.waitSignal(panel.rendered, timeout=10000):
        window.tabs.setCurrentIndex(1)
    assert panel.capture.currentData() == "D65" and panel.capture.isEnabled()
    expected = relight.render_uint8(cc_cube, "D65", observer="cie1964")  # the observer its response records
    np.testing.assert_allclose(panel.original.astype(int), expected, atol=1)
    # … which is also what the Explore tab shows for the radiance as captured
    np.testing.assert_allclose(panel.original.astype(int), relight.render_view(recon), atol=1)
    window.set_cube(cc_cube, render=preview_render(cc_cube))  # reflectance: no capture illuminant
    panel.update_now()
    assert panel.capture.currentData() is None
    file_radiance = HSCube(recon.data, wl, kind="radiance")  # says nothing: the recorded D65 is not carried over
    window.set_cube(recon, render=preview_render(recon))
    panel.update_now()
    assert panel.capture.currentData() == "D65"
    window.set_cube(file_radiance, render=preview_render(file_radiance))
    panel.update_now()
    assert panel.capture.currentData() is None
    panel.capture.setCurrentIndex(panel.capture.findData("A"))  # chosen by hand: kept for the next such cube
    window.set_cube(HSCube(recon.data * 0.5, wl, kind="radiance"))
    panel.update_now()
    assert panel.capture.currentData() == "A"


def test_relighting_changes_the_render(window, qtbot, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    panel = window.relight
    with qtbot.waitSignal(panel.rendered, timeout=10000):
        window.tabs.setCurrentIndex(1)  # the panel renders when it is first shown
    assert panel.list.count() == 59 + 2
    panel.select_illuminant("D65")
    panel.update_now()
    d65 = panel.relit.copy()
    np.testing.assert_array_equal(d65, panel.original)
    with qtbot.waitSignal(panel.rendered, timeout=5000):
        panel.select_illuminant("A")
    assert panel.relit.shape == d65.shape and np.abs(panel.relit.astype(int) - d65).mean() > 5
    # A warm light: whites go orange (red above blue).
    white = panel.relit[3 * 15 + 3 + 6, 3 + 6].astype(int)
    assert white[0] > white[2] + 30
    with qtbot.waitSignal(panel.delta_e_ready, timeout=10000):
        pass
    assert panel.delta_e.shape == cc_cube.shape[:2] and panel.delta_e.mean() > 3
    # Adaptation pulls the white back to neutral.
    with qtbot.waitSignal(panel.rendered, timeout=5000):
        panel.adapt.setCurrentIndex(panel.adapt.findData("cat16"))
    white = panel.relit[3 * 15 + 3 + 6, 3 + 6].astype(int)
    assert abs(white[0] - white[2]) < 12
    # Black body via the CCT slider; the search box filters the catalogue.
    panel.select_illuminant("cct:3000")
    panel.update_now()
    assert panel.illuminant_spec() == "cct:3000" and panel.cct.isEnabled()
    panel.search.setText("led")
    visible = [panel.list.item(i).text() for i in range(panel.list.count()) if not panel.list.item(i).isHidden()]
    assert visible and all("led" in v.lower() for v in visible)
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=10000)


def test_compare_with_ground_truth(window, qtbot, cc_cube):
    from hsi_studio.core.analysis import metrics

    window.set_cube(cc_cube)
    rng = np.random.default_rng(0)
    gt = cc_cube.with_data(cc_cube.data * (1 + 0.05 * rng.standard_normal(cc_cube.shape)).astype(np.float32))
    with qtbot.waitSignal(window.compare.computed, timeout=20000):
        window.set_ground_truth(gt, "gt.h5")
    assert window.tabs.currentIndex() == 2
    expected = metrics.evaluate(cc_cube, gt)
    assert window.compare.metric_text("mrae") == f"{expected['mrae']:.4f}"
    assert window.compare.metric_text("sam") == f"{expected['sam']:.2f}"
    shown = window.compare.canvas.image.image
    np.testing.assert_allclose(shown, metrics.mrae_map(cc_cube, gt), rtol=1e-5)
    window.compare.map_combo.setCurrentIndex(window.compare.map_combo.findData("sam"))
    np.testing.assert_allclose(window.compare.canvas.image.image, metrics.sam_map(cc_cube, gt), rtol=1e-4)
    # The ground truth is overlaid on the spectrum plot.
    window.spectrum.on_click(10, 10, False)
    np.testing.assert_allclose(window.spectrum.gt_curve.yData, gt.data[10, 10])


def test_uncertainty_band_is_drawn(window, cc_cube):
    std = cc_cube.with_data(np.full(cc_cube.shape, 0.01, np.float32))
    window.set_cube(cc_cube, std=std)
    window.spectrum.on_click(10, 10, False)
    np.testing.assert_allclose(window.spectrum.std_hi.yData - window.spectrum.std_lo.yData, 0.02, atol=1e-6)


def test_shortcuts_and_about(window, qtbot):
    shortcuts = {a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()}
    assert {"Ctrl+O", "Ctrl+R", "Ctrl+S", "Ctrl+G", "Esc"} <= shortcuts
    box = window.about()
    assert "PySide6" in box.text() and "pyqtgraph" in box.text()
    box.close()
