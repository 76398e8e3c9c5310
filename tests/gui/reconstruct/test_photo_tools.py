"""The Photo section (white balance, chart calibration by four clicks or detection), the chart report window and
the colour space shown for a photo — offscreen, on a synthetic photo of a ColorChecker under a known cast."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.photo import correction as pc
from hsi_studio.core.spectral.responses import srgb_encode
from hsi_studio.gui.reconstruct.photo_tools import gui_message, short_colour_space
from hsi_studio.gui.workers import active_workers

H, W = 210, 300
PATCH, GAP = 32, 8  # the chart's gap is a quarter of a patch, as on a ColorChecker Classic
X0, Y0 = 34, 28
GRID_W, GRID_H = 6 * PATCH + 5 * GAP, 4 * PATCH + 3 * GAP
CORNERS = [(X0, Y0), (X0 + GRID_W, Y0), (X0 + GRID_W, Y0 + GRID_H), (X0, Y0 + GRID_H)]  # 1, 6, 24, 19
CAST = np.array([[1.15, 0.08, 0.0], [0.05, 1.0, 0.03], [0.0, 0.06, 0.5]])  # a warm light and a camera's crosstalk
GREY = 0.18
BACKGROUND_PIXEL = (195, 20)  # row, col: grey background below the chart


def chart_photo() -> RGBImage:
    """A 300×210 sRGB photo: the 24 patches (reference linear sRGB) on a grey card, all seen through ``CAST``."""
    lin = np.full((H, W, 3), GREY, dtype=np.float64)
    ref = pc.reference_linear()
    for i, colour in enumerate(ref):
        r, c = divmod(i, 6)
        top, left = Y0 + r * (PATCH + GAP), X0 + c * (PATCH + GAP)
        lin[top:top + PATCH, left:left + PATCH] = colour
    cast = np.clip(lin @ CAST.T, 0.0, 1.0)
    return RGBImage(srgb_encode(cast.astype(np.float32)), "srgb", {"colour_space": "sRGB (ICC profile 'sRGB')"})


def _wait_photo(qtbot, window, timeout=30000):
    qtbot.waitUntil(lambda: not window.photo.running, timeout=timeout)
    qtbot.waitUntil(lambda: not active_workers(), timeout=timeout)


def _click_corners(window, corners):
    for x, y in corners:
        window._image_clicked(int(y), int(x), False)  # what the image view's click signal reaches


def test_four_clicks_calibrate_reconstruct_and_report(window, qtbot, tmp_path):
    photo = chart_photo()
    window.set_rgb(photo)
    tools = window.photo
    _wait_photo(qtbot, window)  # the cast check
    assert not tools.warning_box.isHidden() and "colour-cast" in tools.warning.text()
    assert "--" not in tools.warning.text()  # no command-line advice in the GUI

    tools.choose(chart="corners")
    assert tools.pick == "corners" and "dark skin" in window.statusBar().currentMessage()
    _click_corners(window, CORNERS[:2])
    assert "corner 3 of 4" in window.statusBar().currentMessage() and "black" in window.statusBar().currentMessage()
    _click_corners(window, CORNERS[2:])
    assert tools.pick is None and tools.quad is not None
    assert tools.overlay.box_count == 24  # the placed chart is drawn before anything runs

    job = tools.apply()
    assert job is not None and not window.dock.run_btn.isEnabled()  # Run waits for the corrected photo
    _wait_photo(qtbot, window)
    prepared = tools.prepared
    assert prepared is not None and prepared.calibration is not None
    s = prepared.calibration.summary()
    assert s["delta_e_after_loo_mean"] < s["delta_e_before_mean"]
    assert "→" in tools.summary.text() and f"{s['delta_e_after_loo_mean']:.2f}" in tools.summary.text()
    assert tools.overlay.box_count == 24
    assert tools.warning_box.isHidden()  # corrected: the cast warning goes
    assert "chart-calibrated" in window.dock.input_label.text()
    assert window.band_view.rgb is prepared.rgb  # the view shows the photo as it will be reconstructed

    index = window.dock.model.findData("physics:otsu2018")
    window.dock.model.setCurrentIndex(index)
    with qtbot.waitSignal(window.dock.result_ready, timeout=30000):
        assert window.dock.run()
    assert window.dock.run_prepared is prepared
    assert window.cube.metadata["chart_correction"] == prepared.calibration.fit.label
    assert window.cube.metadata["colour_space"] == photo.colour_space
    qtbot.waitUntil(lambda: window.report_view is not None and window.report_view.isVisible(), timeout=30000)
    view = window.report_view
    assert window.act_chart_report.isEnabled()
    assert view.table.rowCount() == 24 and view.table.columnCount() == 6
    assert "mean SAM" in view.header.text()
    sam = window.chart_report["spectra"]["sam_mean_deg"]
    assert np.isfinite(sam) and f"{sam:.2f}°" in view.header.text()
    assert len(view.panels) == 24 and "leave-one-out" in view.notes.text()
    names = {view.table.item(r, 1).text() for r in range(24)}
    assert "dark skin" in names and len(names) == 24
    view.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # sortable by SAM
    sams = [float(view.table.item(r, 5).text()) for r in range(24)]
    assert sams == sorted(sams, reverse=True)

    job = view.export(tmp_path)
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    for ext in ("json", "csv", "png"):
        assert (tmp_path / f"photo_chart.{ext}").stat().st_size > 0
    assert "Wrote" in view.status.text()
    bad = view.export(tmp_path / "missing" / "folder")  # errors are shown, not raised
    qtbot.waitUntil(lambda: not bad.running, timeout=60000)
    assert "Could not write" in view.status.text()
    view.close()


def test_neutral_pixel_makes_that_pixel_grey(window, qtbot):
    window.set_rgb(chart_photo())
    tools = window.photo
    tools.choose(white_balance="pixel")
    assert tools.pick == "pixel"
    row, col = BACKGROUND_PIXEL
    before = window.rgb.display_srgb()[row, col]
    assert before[0] > before[2] + 0.1  # cast
    window._image_clicked(row, col, False)
    assert tools.pixel == (col, row) and tools.pick is None
    tools.apply()
    _wait_photo(qtbot, window)
    fixed = tools.prepared.rgb.data[row, col]
    assert tools.prepared.white_balance is not None and "pixel" in tools.prepared.white_balance.source
    np.testing.assert_allclose(fixed, fixed[1], rtol=1e-3)
    assert "White balance" in tools.summary.text()


def test_neutral_region_and_auto_button(window, qtbot):
    window.set_rgb(chart_photo())
    tools = window.photo
    tools.choose(white_balance="region")
    roi = tools.overlay.region
    assert roi is not None
    roi.setPos((10, 190))
    roi.setSize((40, 12))
    assert tools.overlay.region_rect() == (10, 190, 40, 12)
    tools.apply()
    _wait_photo(qtbot, window)
    np.testing.assert_allclose(tools.prepared.rgb.data[195, 20], tools.prepared.rgb.data[195, 20, 1], rtol=1e-3)
    tools.choose(white_balance=None)
    assert tools.overlay.region is None
    tools.auto_white_balance()  # the warning's button
    _wait_photo(qtbot, window)
    assert tools.wb_choice() == "auto" and "auto" in tools.prepared.white_balance.source


def test_bad_corners_show_an_error_and_the_window_stays_usable(window, qtbot, rgb_photo):
    window.set_rgb(chart_photo())
    tools = window.photo
    tools.choose(chart="corners")
    bow_tie = [CORNERS[0], CORNERS[2], CORNERS[1], CORNERS[3]]
    _click_corners(window, bow_tie)
    assert not tools.error.isHidden() and "convex" in tools.error.text()
    assert tools.quad is None and tools.pick == "corners"  # clicking again
    assert tools.overlay.box_count == 0
    assert window.findChildren(type(window), "error_dialog") == []  # no dialog: a line in the section
    window.cancel_current()  # Esc
    assert tools.pick is None
    assert tools.apply() is None and "not placed" in tools.error.text()  # Apply asks for the corners again
    tools.cancel()
    tiny = [(1, 1), (9, 1), (9, 5), (1, 5)]  # a quad too small to sample
    tools.choose(chart="corners")
    _click_corners(window, tiny)
    assert not tools.error.isHidden() and tools.quad is None
    tools.cancel()
    assert window.isEnabled() and window.dock.run_btn.isEnabled()
    _click_corners(window, CORNERS)  # clicks outside a pick go to the spectrum plot: nothing breaks
    assert tools.quad is None


def test_chart_not_found_offers_the_four_clicks(window, qtbot, rgb_photo):
    window.set_rgb(rgb_photo)
    tools = window.photo
    tools.choose(chart="auto")
    tools.apply()
    _wait_photo(qtbot, window)
    assert not tools.error.isHidden() and "four outer corners" in tools.error.text()
    assert "--chart" not in tools.error.text()
    assert tools.chart_choice() == "corners" and tools.pick == "corners"
    assert window.last_error == tools.error.text()
    assert tools.prepared is None and window.dock.input_rgb() is rgb_photo
    tools.cancel()


def test_a_linear_p3_photo_is_shown_encoded_with_its_colour_space(window):
    rng = np.random.default_rng(1)
    lin = rng.uniform(-0.05, 1.1, (20, 30, 3)).astype(np.float32)  # out-of-sRGB-gamut colours are kept
    label = "Display P3 (ICC profile 'Display P3', sRGB curve) → linear sRGB"
    rgb = RGBImage(lin, "linear", {"colour_space": label})
    window.set_rgb(rgb)
    shown = window.band_view.canvas.rgb_image.image
    np.testing.assert_array_equal(shown, (rgb.display_srgb() * 255 + 0.5).astype(np.uint8))
    mid = (lin > 0.05) & (lin < 0.9)
    assert np.abs(shown[mid].astype(float) - lin[mid] * 255).mean() > 20  # not the linear values
    assert "Display P3 → linear sRGB" in window.cube_label.text() and "30×20" in window.cube_label.text()
    assert "Display P3 → linear sRGB" in window.dock.input_label.text()


@pytest.mark.parametrize("text, short", [
    ("Display P3 (ICC profile 'Display P3', sRGB curve) → linear sRGB", "Display P3 → linear sRGB"),
    ("sRGB (assumed: no embedded colour profile)", "sRGB (assumed)"),
    ("sRGB (ICC profile 'sRGB IEC61966-2.1')", "sRGB"),
])
def test_short_colour_space(text, short):
    assert short_colour_space(text) == short


def test_gui_messages_drop_command_line_advice():
    msg = pc.cast_warning(np.clip(np.full((32, 32, 3), 0.3) * [1.0, 0.5, 0.2], 0, 1))
    assert msg and "--white-balance" in msg and "--" not in gui_message(msg)
