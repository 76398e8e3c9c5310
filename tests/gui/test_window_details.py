"""The window's details: readouts that follow the cube, silent choices said out loud, the
spectrum plot at 1280×720, patch-coloured library swatches, the band marker, Help, the σ cube's export and
view, and the training / reconstruction progress details."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hsi_studio.services.files import preview_render


def _wait_idle(window, qtbot, timeout: int = 20000) -> None:
    from hsi_studio.gui.workers import active_workers

    qtbot.waitUntil(lambda: not window.jobs.running and not active_workers(), timeout=timeout)


# -- item 1: the ROI curve follows the cube ------------------------------------------------------------------
def test_roi_curve_follows_a_new_cube_of_the_same_size(window, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    roi = window.band_view.add_roi("rect")
    roi.setPos((3, 3))
    roi.setSize((12, 12))  # the first patch
    np.testing.assert_allclose(window.spectrum.roi.values, cc_cube.data[5, 5], rtol=1e-5)
    other = cc_cube.with_data(cc_cube.data * 0.5)  # "another model's reconstruction" of the same photo
    window.set_cube(other, keep_input=True)
    np.testing.assert_allclose(window.spectrum.roi.values, other.data[5, 5], rtol=1e-5)
    x, y = window.spectrum.roi_curve.getData()
    np.testing.assert_allclose(y, other.data[5, 5], rtol=1e-5)
    # the curve is one the Analyse tab can use as a reference, with the new numbers
    roi_mean = next(s for s in window.spectrum.curves() if s.label.startswith("ROI"))
    np.testing.assert_allclose(roi_mean.values, other.data[5, 5], rtol=1e-5)


# -- item 8: readouts that update ----------------------------------------------------------------------------
def test_held_pixel_text_goes_with_its_file(window, cc_cube, make_photo):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    window.spectrum.on_click(5, 5, False)
    assert "held" in window.spectrum.info.text()
    window.set_rgb(make_photo(40, 56, seed=2))  # another file
    assert "held" not in window.spectrum.info.text() and "x=5" not in window.spectrum.info.text()
    window.set_cube(cc_cube.with_data(cc_cube.data[:30, :40].copy()))  # a cube of another size
    assert "x=5" not in window.spectrum.info.text()


def test_similarity_reference_list_follows_pins_and_roi(window, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    panel = window.analysis

    def refs():
        return [panel.ref_combo.itemText(i) for i in range(panel.ref_combo.count())]

    window.spectrum.pin(5, 5)
    assert any("pinned (x=5, y=5)" in t or "pinned x=5 y=5" in t for t in refs()), refs()
    window.band_view.add_roi("rect")
    assert any("ROI" in t for t in refs()), refs()
    window.spectrum.clear_pinned()
    assert not any("pinned" in t for t in refs()), refs()


def test_index_text_goes_with_its_cube(window, qtbot, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    panel = window.analysis
    panel.band_a.setText("600-700")
    panel.band_b.setText("450")
    panel.compute_index()
    qtbot.waitUntil(lambda: panel.index is not None, timeout=20000)
    assert "600–700 nm" in panel.index_label.text()
    panel.run_pca()
    qtbot.waitUntil(lambda: panel.pca_result is not None, timeout=20000)
    assert "Explained variance" in panel.pca_label.text()
    _wait_idle(window, qtbot)
    window.set_cube(cc_cube.with_data(cc_cube.data * 0.5), keep_input=True)
    assert "600–700 nm" not in panel.index_label.text()
    assert "Explained variance" not in panel.pca_label.text()


# -- item 9: silent choices said out loud --------------------------------------------------------------------
def test_an_rgba_photo_says_its_alpha_was_dropped(window, qtbot, tmp_path):
    from PIL import Image

    rgba = np.random.default_rng(3).integers(0, 256, (20, 24, 4)).astype(np.uint8)
    path = tmp_path / "with_alpha.png"
    Image.fromarray(rgba).save(path)
    with qtbot.waitSignal(window.file_loaded, timeout=20000) as blocker:
        window.open_path(path)
    assert any("alpha" in n for n in blocker.args[0].notes)
    assert "alpha channel dropped" in window.statusBar().currentMessage()
    _wait_idle(window, qtbot)


def test_sampling_options_only_for_a_diffusion_model(window):
    from hsi_studio.services.models import REGRESSION_LABELS  # noqa: F401 — the shipped regressions exist

    dock = window.dock
    specs = [dock.model.itemData(i) for i in range(dock.model.count())]
    regressions = [s for s in specs if str(s).endswith(("/mlp", "/rootpoly"))]
    assert regressions, specs
    for spec in [*regressions, "physics:mallett2019"]:
        dock.model.setCurrentIndex(dock.model.findData(spec))
        for w in (dock.steps, dock.samples, dock.seed):
            assert not w.isEnabled(), spec
            assert "deterministic" in w.toolTip()
    dock.model.setCurrentIndex(dock.model.findData(regressions[0]))
    assert dock.device.isEnabled()  # a learned regression can still run on a GPU


# -- item 2: the spectrum plot at 1280×720 -------------------------------------------------------------------
def _visible_x_range(spectrum) -> tuple[float, float]:
    """The wavelengths at the left and right edges of the plot area that is on screen (inside the widget)."""
    from PySide6.QtCore import QPointF

    view = spectrum.plot
    vb = view.getPlotItem().getViewBox()
    rect = vb.sceneBoundingRect()
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    left, right = max(rect.left(), shown.left()), min(rect.right(), shown.right())
    y = rect.center().y()
    return vb.mapSceneToView(QPointF(left, y)).x(), vb.mapSceneToView(QPointF(right, y)).x()


def test_the_spectrum_plot_fits_1280x720_with_long_legend_entries(window, qtbot, cc_cube):
    from PySide6.QtWidgets import QApplication

    window.resize(1280, 720)
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    spectrum = window.spectrum
    spectrum.on_click(5, 5, False)
    for row, col in ((5, 20), (20, 5), (30, 30), (40, 70)):
        spectrum.pin(row, col)
    window.band_view.add_roi("rect")
    window.set_cube(cc_cube.with_data(cc_cube.data * 0.9), keep_input=True)  # the pins say "re-sampled"
    spectrum.legend.addItem(spectrum.curve, "ROI mean ± std (60000 px) · a long entry " * 3)
    for _ in range(5):
        QApplication.processEvents()
    lo, hi = _visible_x_range(spectrum)
    assert lo <= 400.5 and hi >= 699.5, (lo, hi)
    # the plot item is no wider than its widget, and every legend entry is on screen whole (wrapped, not cut)
    width = spectrum.plot.viewport().width()
    assert spectrum.plot.getPlotItem().sceneBoundingRect().width() <= width + 1
    height = spectrum.plot.viewport().height()
    bottom = min(height, spectrum.legend.sceneBoundingRect().bottom())  # the legend's last row was cut off
    for _, label in spectrum.legend.items:
        assert label.sceneBoundingRect().right() <= width + 1, label.text
        text = label.item.mapRectToScene(label.item.boundingRect())
        assert text.right() <= width + 1 and text.bottom() <= bottom + 1, (label.text, text, bottom)
    # the x axis is labelled every 50 nm, 400 to 700
    ticks = spectrum.plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [v for v, _ in ticks] == [400, 450, 500, 550, 600, 650, 700]
    assert [t for _, t in ticks] == ["400", "450", "500", "550", "600", "650", "700"]


# -- item 7: library swatches in the patches' own colours ----------------------------------------------------
def test_library_swatches_are_the_patch_colours(window, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    panel = window.analysis
    lib = panel.library
    assert lib.load("builtin:colorchecker")
    names = lib.lib.names

    def swatch(name):
        colour = lib.table.item(names.index(name), 0).background().color()
        return colour.red(), colour.green(), colour.blue()

    r, g, b = swatch("orange")
    assert r > g > b and r > 180, (r, g, b)
    r, g, b = swatch("blue sky")
    assert b > g > r, (r, g, b)
    r, g, b = swatch("white 9.5 (.05 D)")
    assert min(r, g, b) > 220
    # a selected entry is plotted in its swatch's colour, with a light outline (a dark blue shows on black)
    row = names.index("blue")
    from PySide6.QtCore import QItemSelectionModel

    # through the selection model: selectRow() follows the keyboard modifiers Qt thinks are held, and an earlier
    # test's Shift+click can leave Shift "held" in the offscreen platform
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    lib.table.selectionModel().select(lib.table.model().index(row, 1), flags)
    assert lib.selected_names() == ["blue"]
    panel._plot_spectra()
    curve = next(c for c in panel._curves if c.isVisible())
    assert curve.opts["pen"].color().name() == lib.table.item(row, 0).background().color().name()
    outline = curve.opts["shadowPen"]
    assert outline is not None and outline.color().lightness() > 150 and outline.widthF() > curve.opts["pen"].widthF()


# -- item 11: the band marker, Help, the drop hint -----------------------------------------------------------
def test_band_marker_follows_the_slider(window, cc_cube, make_photo):
    line = window.spectrum.band_line
    assert not line.isVisible()
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    assert line.isVisible() and line.value() == float(cc_cube.wavelengths[window.band_view.band])
    assert line.label.toPlainText() == f"{cc_cube.wavelengths[window.band_view.band]:g} nm"
    window.band_view.set_band(3)
    assert line.value() == float(cc_cube.wavelengths[3])
    assert line.label.toPlainText() == f"{cc_cube.wavelengths[3]:g} nm"
    window.band_view.step_band(1)
    assert line.value() == float(cc_cube.wavelengths[4])
    window.set_rgb(make_photo())
    assert not line.isVisible()


def test_help_shows_the_documentation_and_the_model_card(window, qtbot):
    assert window.act_docs in window.menuBar().actions()[-1].menu().actions()
    dialog = window.show_documentation()
    assert dialog is not None and dialog.isVisible()
    assert "The desktop app" in dialog.browser.toPlainText() and dialog.browser.isReadOnly()
    dialog.close()
    dock = window.dock
    mlp = next(i for i in range(dock.model.count()) if str(dock.model.itemData(i)).endswith("/mlp"))
    dock.model.setCurrentIndex(mlp)
    card = window.show_model_card()
    assert card is not None and "MLP" in card.browser.toPlainText().upper()
    assert "Model card" in card.windowTitle()
    card.close()
    dock.model.setCurrentIndex(dock.model.findData("physics:mallett2019"))
    assert window.show_model_card() is None
    assert "no model card" in window.statusBar().currentMessage()


def test_the_empty_image_area_says_drop_here(window, cc_cube):
    hint = window.band_view.drop_hint
    assert hint.isVisible() and "Drop" in hint.text()
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    assert not hint.isVisible()


# -- item 10: the uncertainty cube's export and its σ-band view ----------------------------------------------
def test_the_sigma_cube_can_be_exported_and_viewed(window, qtbot, tmp_path, cc_cube):
    from hsi_studio.core.io import api as io
    from hsi_studio.gui.explore.band_view import MODES

    view = window.band_view
    sigma_item = view.mode_combo.model().item(MODES.index("sigma"))
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    assert not window.act_export_std.isEnabled() and not sigma_item.isEnabled()
    assert window.export_cube(tmp_path / "none_std.h5", what="std") is None
    rng = np.random.default_rng(0)
    std = cc_cube.with_data(rng.uniform(0.0, 0.05, cc_cube.shape).astype(np.float32))
    window.set_cube(cc_cube, std=std, render=preview_render(cc_cube), keep_input=True)
    assert window.act_export_std.isEnabled() and sigma_item.isEnabled()
    assert window.act_export_std in window.menuBar().actions()[0].menu().actions()
    worker = window.export_cube(tmp_path / "chart_std.h5", what="std")
    with qtbot.waitSignal(worker.finished, timeout=20000) as blocker:
        pass
    _wait_idle(window, qtbot)
    np.testing.assert_array_equal(io.read_cube(Path(blocker.args[0])).data, std.data)
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: no temporary left behind
    # the σ band view shows the σ of the slider's band
    view.set_mode("sigma")
    view.set_band(7)
    np.testing.assert_array_equal(view.canvas.image.image, std.data[:, :, 7])
    assert view.slider.isEnabled() and view.bar.isVisible()
    # a cube without σ: the view falls back to the band itself
    window.set_cube(cc_cube.with_data(cc_cube.data * 0.5), keep_input=True)
    assert view.mode == "band" and not sigma_item.isEnabled()


# -- item 6: Start over asks and sits apart; the first ETA says "estimating…" --------------------------------
def test_start_over_asks_first_and_is_not_where_pause_was(qtbot, settings, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication, QMessageBox

    from hsi_studio.gui.training import wizard as tw

    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    qtbot.addWidget(wiz)
    page = wiz.run_page
    wiz.resize(1100, 760)
    wiz.show()
    qtbot.waitExposed(wiz)
    page.runner = page.runner or tw.run_page.TrainingRunner(wiz.plan(), page)

    def laid_out(state):
        page._sync(state)
        page.resize(1000, 640)
        page.layout().invalidate()
        page.layout().activate()
        QApplication.processEvents()

    laid_out("running")
    pause_at = page.pause_btn.geometry()
    page.runner.state = "paused"
    laid_out("paused")
    assert page.start_btn.text() == "Start over" and page.start_btn.isEnabled()
    assert page.pause_btn.geometry() == pause_at  # the buttons did not move …
    assert pause_at.width() > 0 and page.start_btn.geometry().left() > pause_at.right() + 100  # … Start over apart
    # it asks before deleting the run's checkpoints; No keeps everything
    run_dir = wiz.plan().run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "checkpoint.pt").write_bytes(b"x")
    asked = []

    def answer_no(*args, **kwargs):
        asked.append(args[1:3])
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer_no)
    page.confirm_restart = True
    runner = page.runner
    page.start_btn.click()
    assert asked and "Start over" in asked[0][0] and str(run_dir) in asked[0][1]
    assert (run_dir / "checkpoint.pt").exists() and page.runner is runner and runner.state == "paused"
    runner.state = "idle"
    wiz.shutdown()
    wiz.close()


def test_pause_and_cancel_say_different_things(qtbot, settings, tmp_path):
    from hsi_studio.gui.training import wizard as tw

    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    qtbot.addWidget(wiz)
    page = wiz.run_page
    page.runner = page.runner or tw.run_page.TrainingRunner(wiz.plan(), page)
    runner = page.runner
    # Pause: the trainer's stop record (event "cancelled") must read as a pause, with the step to resume from
    runner._stop_as = "paused"
    page.on_record("s1", {"event": "cancelled", "step": 37})
    runner.state = "paused"
    page._sync("paused")
    log = page.log.toPlainText()
    assert "paused — Resume continues from step 37" in log and "cancelled" not in log.lower()
    assert "Paused" in page.status.text() and "step 37" in page.status.text()
    assert "cancel" not in page.status.text().lower()
    # Cancel: says cancelled
    page.log.clear()
    runner._stop_as = "cancelled"
    page.on_record("s1", {"event": "cancelled", "step": 40})
    runner.state = "cancelled"
    page._sync("cancelled")
    assert "cancelled at step 40" in page.log.toPlainText()
    assert page.status.text().startswith("Cancelled")
    runner.state = "idle"
    wiz.shutdown()
    wiz.close()


def test_the_first_eta_says_estimating(window, monkeypatch):
    import hsi_studio.gui.reconstruct.reconstruct_dock as rd

    dock = window.dock
    clock = [100.0]
    monkeypatch.setattr(rd.time, "monotonic", lambda: clock[0])
    dock._t0, dock._updates = 100.0, 0
    texts = []
    for fraction in (0.02, 0.1, 0.2, 0.3, 0.4):
        clock[0] += 2.0
        dock._progress(fraction, "")
        texts.append(dock.progress.format())
    assert all("estimating…" in t for t in texts[:3]), texts
    assert "ETA 0:15" in texts[4], texts  # 10 s for 40 %: 15 s to go


# -- item 3: one switch, reflectance or radiance, for the plot and the Analyse tab ---------------------------
def test_view_as_reflectance_switches_the_plot_and_the_analysis(window, cc_cube):
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.ml import evaluation

    d = evaluation.photo_divisor().astype(np.float32)
    radiance = HSCube(cc_cube.data * d, cc_cube.wavelengths, {"response": "cie1964-srgb"}, kind="radiance")
    window.set_cube(radiance, render=preview_render(radiance))
    act, spectrum, panel = window.act_reflectance, window.spectrum, window.analysis
    axis = spectrum.plot.getPlotItem().getAxis("left")
    assert act.isEnabled() and not act.isChecked() and window.quantity() == "radiance"
    assert axis.labelText.startswith("Relative radiance") and "radiance" in panel.readout.text()
    spectrum.on_click(5, 5, False)
    spectrum.pin(20, 20)
    np.testing.assert_allclose(spectrum.curve.getData()[1], radiance.data[5, 5], rtol=1e-5)
    act.trigger()  # View ▸ Show as reflectance
    assert window.quantity() == "reflectance" and axis.labelText == "Reflectance (estimated)"
    np.testing.assert_allclose(spectrum.curve.getData()[1], cc_cube.data[5, 5], rtol=1e-4)  # the patch itself
    assert spectrum.clicked_px == (5, 5) and [p for p, _ in spectrum.pinned] == [(20, 20)]
    assert not any("re-sampled" in label.text for _, label in spectrum.legend.items)
    assert panel.cube.kind == "reflectance" and "reflectance" in panel.readout.text().lower()
    assert panel.plot.getPlotItem().getAxis("left").labelText == "Reflectance (estimated)"
    panel.library.load("builtin:colorchecker")
    ranked = panel.library.match(panel.cube.data[20, 20].astype(np.float64), "pixel")
    assert ranked[0].name == panel.library.lib.names[7] and ranked[0].sam_deg < 1.0  # row 1, col 1: patch 8
    # the choice is kept, and a new reconstruction is shown the same way
    assert window.settings.value("view/reflectance", False, bool)
    window.set_cube(radiance.with_data(radiance.data * 0.5), keep_input=True)
    assert axis.labelText == "Reflectance (estimated)" and window.analysis.cube.kind == "reflectance"
    act.trigger()
    assert axis.labelText.startswith("Relative radiance") and panel.cube.kind == "radiance"
    window.set_cube(cc_cube)  # a measured reflectance cube: nothing to switch
    assert not act.isEnabled() and window.quantity() == "radiance" and axis.labelText == "Reflectance"


# -- item 4: exposure-normalised scores and a warning --------------------------------------------------------
def test_scores_beside_exposure_normalised_ones_with_a_warning(window, qtbot, cc_cube):
    from hsi_studio.core.cube import HSCube

    rng = np.random.default_rng(1)
    noisy = np.clip(cc_cube.data + rng.normal(0, 0.01, cc_cube.shape), 0, None).astype(np.float32)
    brighter = cc_cube.with_data(noisy * np.float32(1.652))  # a photo exposed ×1.652, reconstructed
    window.set_cube(brighter, render=preview_render(brighter))
    window.set_ground_truth(cc_cube, "chart.h5")
    compare = window.compare
    qtbot.waitUntil(lambda: compare.result is not None, timeout=20000)
    _wait_idle(window, qtbot)
    raw, normalised = float(compare.metric_text("psnr")), float(compare.metric_text("psnr", normalised=True))
    assert normalised > raw + 8, (raw, normalised)
    assert compare.metric_text("sam") == compare.metric_text("sam", normalised=True)  # SAM ignores a scale
    header = compare.table.horizontalHeaderItem(2).text().replace("-\n", "-")
    assert "Exposure-normalised" in header and "×0.6" in header  # 1 / 1.652 = 0.605
    assert compare.warning.isVisible() and "exposures differ" in compare.warning.text()
    # the same exposure and kind: no warning
    window.set_cube(cc_cube.with_data(noisy), keep_input=True)
    qtbot.waitUntil(lambda: compare.result is not None, timeout=20000)
    _wait_idle(window, qtbot)
    assert not compare.warning.isVisible()
    # a ground truth of unknown kind is named
    window.set_ground_truth(HSCube(cc_cube.data.copy(), cc_cube.wavelengths), "unknown.npy")
    qtbot.waitUntil(lambda: compare.result is not None, timeout=20000)
    _wait_idle(window, qtbot)
    assert compare.warning.isVisible() and "unknown" in compare.warning.text()


def test_comparison_warns_on_radiance_against_reflectance(cc_cube):
    from hsi_studio.core.cube import HSCube
    from hsi_studio.services.comparison import compare

    radiance = HSCube(cc_cube.data * 2.0, cc_cube.wavelengths, kind="radiance")
    result = compare(radiance, cc_cube)
    assert abs(result["scale"] - 0.5) < 1e-6 and result["normalised"]["mrae"] < 1e-6
    assert any("radiance" in w and "reflectance" in w for w in result["warnings"])


# -- item 11: a custom illuminant SPD in the Relight panel ---------------------------------------------------
def test_relight_loads_an_illuminant_csv(window, qtbot, tmp_path, make_photo):
    from hsi_studio.core.spectral import recovery, relight

    cube = recovery.recover(make_photo(40, 56), "mallett2019")
    window.set_cube(cube, render=preview_render(cube))
    panel = window.relight
    with qtbot.waitSignal(panel.rendered, timeout=10000):
        window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=20000)
    bad = tmp_path / "bad.csv"
    bad.write_text("nm,value\n500,1\n")
    assert not panel.load_spd_csv(str(bad)) and "illuminant CSV" in panel.status.text()
    wl = np.arange(380, 781, 5)
    warm = tmp_path / "warm led.csv"
    warm.write_text("nm,value\n" + "".join(f"{w},{0.2 + 0.8 * (w - 380) / 400:.4f}\n" for w in wl))
    assert panel.load_spd_csv(str(warm))
    assert panel.illuminant_spec() == f"csv:{warm.resolve()}"
    assert panel.list.currentItem().text() == "CSV: warm led.csv"
    panel.update_now(force=True)
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=20000)
    expected = relight.render_uint8(cube, f"csv:{warm}", **panel.render_options())
    np.testing.assert_array_equal(panel.relit, expected)
    assert panel.views.labels["relit"].text.startswith("Relit: CSV warm led.csv")
    assert panel.load_spd_csv(str(warm)) and sum(                     # loading it again selects the same entry
        panel.list.item(i).text() == "CSV: warm led.csv" for i in range(panel.list.count())) == 1
    _wait_idle(window, qtbot)


# -- item 11: PCA loadings ------------------------------------------------------------------------------------
def test_pca_plots_its_loadings(window, qtbot, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    panel = window.analysis
    panel.run_pca()
    qtbot.waitUntil(lambda: panel.pca_result is not None, timeout=20000)
    _wait_idle(window, qtbot)
    panel._plot_spectra()
    shown = [c for c in panel._curves if c.isVisible()]
    names = [label.text for _, label in panel.legend.items]
    assert len(shown) == 3 and names[0].startswith("PC1 loading (") and names[2].startswith("PC3 loading")
    np.testing.assert_allclose(shown[0].getData()[1], panel.pca_result.eigenvectors[:, 0])
    assert panel.plot.getPlotItem().getAxis("left").labelText == "Loading"
    panel.tools.setCurrentIndex(0)  # back to Similarity: the value axis again
    panel._plot_spectra()
    assert panel.plot.getPlotItem().getAxis("left").labelText == "Reflectance"


# -- item 6: the training bar is weighted by measured time per step ------------------------------------------
def test_weighted_progress_counts_time_not_stages():
    from hsi_studio.services.training_plan import weighted_progress

    # 4 quick stage-1 steps (2 s), then step 3 of 150 of stage 2 at 2 s a step: about 2 %, not 51 %
    assert weighted_progress([4, 150], 1, 3, 6.0, None, finished_s={0: 2.0}) < 0.05
    assert weighted_progress([4, 150], 1, 150, 300.0, 0.0, finished_s={0: 2.0}) == 1.0
    assert abs(weighted_progress([10, 10], 0, 5, 5.0, 5.0) - 0.25) < 1e-9  # halfway through the first of two


def test_the_training_bar_follows_time(qtbot, settings, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from hsi_studio.gui.training import wizard as tw
    from hsi_studio.gui.training.wizard import run_page as rp

    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    qtbot.addWidget(wiz)
    page = wiz.run_page
    page._new_runner(wiz.plan())
    stages = [SimpleNamespace(steps=4, label="Stage 1", key="stage1"),
              SimpleNamespace(steps=150, label="Stage 2", key="stage2")]
    monkeypatch.setattr(page.runner, "stages", stages)
    clock = [0.0]
    monkeypatch.setattr(rp.time, "monotonic", lambda: clock[0])
    page._stage_started(0, 2, "stage1")
    page.runner.index = 0
    page.on_record("stage1", {"event": "start", "step": 0, "steps": 4})
    for step in range(1, 5):
        clock[0] += 0.5
        page.on_record("stage1", {"event": "step", "step": step, "loss": 0.1, "eta_s": 0.5 * (4 - step)})
    page._stage_started(1, 2, "stage2")
    page.runner.index = 1
    page.on_record("stage2", {"event": "start", "step": 0, "steps": 150})
    for step in range(1, 4):
        clock[0] += 2.0
        page.on_record("stage2", {"event": "step", "step": step, "loss": 0.1, "eta_s": 2.0 * (150 - step)})
    assert page.progress.value() < 50, page.progress.format()  # ~2 %, where counting stages gave 51 %
    wiz.shutdown()
    wiz.close()


# -- item 5: a large photo gets an estimate and two offers; the downscale is real and in linear light ---------
def test_large_photo_estimate_and_offers(window, qtbot):
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.services import estimate as est

    h, w = 1500, 2800  # 4.2 MP: over the threshold
    data = np.full((h, w, 3), 0.4, np.float32)
    data[::2, :, :] = 1.0  # alternate rows 1.0 / 0.4: a resize in linear light keeps their mean brightness
    window.set_rgb(RGBImage(data))
    offer = window.dock.large
    assert offer.isVisibleTo(window.dock)
    text = offer.label.text()
    need = est.memory_needed(h, w, window.dock.samples.value()) / 1024**3
    assert "4.2 MP" in text and f"{need:.1f} GiB" in text and ("min" in text or " s " in text)
    assert "per megapixel" in offer.label.toolTip() and "CPU" in offer.label.toolTip()
    from hsi_studio.core.ml.reconstruct import models_dir

    shipped = (models_dir() / "fast").is_dir()
    assert (offer.fast_index() >= 0) == shipped  # listed by its bundle path, not as "fast"
    if shipped:  # the shipped fast model is listed: the offer selects it
        window.dock.model.setCurrentIndex(0 if offer.fast_index() else 1)
        assert offer.fast_btn.isVisibleTo(offer) and offer.fast_btn.isEnabled()
        offer.fast_btn.click()
        assert Path(window.dock.model.currentData()).name == "fast" and not offer.fast_btn.isEnabled()
        assert "(fast)" in offer.label.text()
    offer.downscale_btn.click()  # on a worker: the GUI goes on
    qtbot.waitUntil(lambda: window.rgb is not None and window.rgb.height * window.rgb.width <= est.DOWNSCALE_PIXELS,
                    timeout=30000)
    small = window.rgb
    assert small.width / small.height == pytest.approx(w / h, rel=0.01)
    assert small.height * small.width > 0.98 * est.DOWNSCALE_PIXELS
    assert window.dock.rgb is small and not offer.isVisibleTo(window.dock)
    from hsi_studio.core.spectral.responses import srgb_decode

    linear_mean = float(srgb_decode(np.array([1.0, 0.4], np.float32)).mean())
    got = float(srgb_decode(small.data[h // 4:h // 2, :, 1]).mean())
    assert got == pytest.approx(linear_mean, abs=0.01)  # averaged in linear light …
    assert abs(float(srgb_decode(np.float32(0.7))) - linear_mean) > 0.1  # … which an sRGB-space average is not
    assert small.metadata["downscaled_from"] == f"{w}x{h}"


# -- item 11: the finish page compares the new model with the shipped default ---------------------------------
def test_finish_page_shows_the_shipped_default_beside_the_baselines(qtbot, settings, tmp_path):
    from hsi_studio.gui.training import wizard as tw
    from hsi_studio.services.scoring import SHIPPED_DEFAULT

    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    qtbot.addWidget(wiz)
    wiz.trained_model = str(tmp_path / "models" / "new")
    fin = wiz.finish_page
    row = {"protocol": "camera", "cubes": 1, "psnr": 30.0, "sam": 3.0, "de_a": 1.0, "mrae": 0.1, "rmse": 0.01}
    fin._scored([{**row, "method": "physics:minnorm"}, {**row, "method": "uldm"},
                 {**row, "method": SHIPPED_DEFAULT, "psnr": 28.5}])
    names = [fin.table.item(r, 0).text() for r in range(fin.table.rowCount())]
    assert names[1:] == ["New model (ULDM)", "Shipped default model (ULDM)"]
    assert fin.table.item(2, 1).text() == "28.50" and "shipped default" in fin.subTitle()
    wiz.close()
