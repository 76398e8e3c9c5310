"""The spectrum plot: no stale ± σ bands after another photo or cube, Clear clears,
the y-axis names what is plotted, pins are marked on the image and say when they re-sample a new cube, the
legend stays off the curves, and the chosen view mode survives a reconstruction."""

from __future__ import annotations

import numpy as np

from hsi_studio.core.spectral import recovery
from hsi_studio.services.files import preview_render


def band_shown(fill) -> bool:
    """Whether a ± band is drawn (visible with a non-empty outline)."""
    return fill.isVisible() and not fill.path().isEmpty()


def _y_top(plot) -> float:
    plot.getPlotItem().getViewBox().updateAutoRange()
    return float(plot.getPlotItem().getViewBox().viewRange()[1][1])


def test_sigma_bands_do_not_outlive_their_cube(window, qtbot, make_photo):
    spectrum = window.spectrum
    first = recovery.recover(make_photo(48, 64, seed=1), "mallett2019")
    big = first.with_data(first.data * 20)  # a bright cube with a wide σ: a stale band would pin the y-axis
    window.set_cube(big, std=big.with_data(np.full(big.shape, 5.0, np.float32)), render=preview_render(big),
                    keep_input=True)
    spectrum.on_click(10, 10, False)  # hold a pixel: its ± σ band
    window.band_view.add_roi("rect")  # a region: its ± std band
    assert band_shown(spectrum.std_fill) and band_shown(spectrum.roi_fill)
    # Another photo is opened: nothing of the old cube stays on the plot.
    window.set_rgb(make_photo(40, 56, seed=2))
    qtbot.wait(10)
    assert not band_shown(spectrum.std_fill) and not band_shown(spectrum.roi_fill)
    # … and its reconstruction (no σ) shows only its own curves; the y-axis follows them.
    second = recovery.recover(make_photo(40, 56, seed=2), "mallett2019")
    window.set_cube(second, render=preview_render(second), keep_input=True)
    spectrum.on_hover(5, 5)
    assert not band_shown(spectrum.std_fill) and not band_shown(spectrum.roi_fill)
    assert _y_top(spectrum.plot) < 3 * float(second.data[5, 5].max()) + 0.1


def test_a_cube_without_sigma_after_one_with_it_shows_no_band(window, make_photo):
    spectrum = window.spectrum
    cube = recovery.recover(make_photo(48, 64), "mallett2019")
    window.set_cube(cube, std=cube.with_data(np.full(cube.shape, 0.05, np.float32)))
    spectrum.on_click(10, 10, False)
    assert band_shown(spectrum.std_fill)
    window.set_cube(cube.with_data(cube.data * 0.9))  # same size, no σ: the held pixel stays, its band goes
    assert spectrum.clicked_px == (10, 10) and not band_shown(spectrum.std_fill)


def test_clear_buttons_clear_the_bands(window, make_photo):
    spectrum = window.spectrum
    cube = recovery.recover(make_photo(48, 64), "mallett2019")
    window.set_cube(cube, std=cube.with_data(np.full(cube.shape, 0.05, np.float32)))
    spectrum.on_click(10, 10, False)
    spectrum.on_click(20, 30, True)  # a pinned spectrum too
    window.band_view.add_roi("rect")
    assert band_shown(spectrum.std_fill) and band_shown(spectrum.roi_fill)
    window.band_view.clear_roi_btn.click()  # the region's Clear
    assert not band_shown(spectrum.roi_fill) and spectrum.roi is None
    assert spectrum.clear_btn.isEnabled()
    spectrum.clear_btn.click()  # the plot's Clear: pins, the held pixel and its σ band
    assert not band_shown(spectrum.std_fill) and not spectrum.pinned and spectrum.clicked_px is None
    assert spectrum.curve.xData is None or len(spectrum.curve.xData) == 0
    assert not spectrum.clear_btn.isEnabled()


def test_y_axis_names_what_is_plotted(window, make_photo, cc_cube):
    axis = window.spectrum.plot.getPlotItem().getAxis("left")
    window.set_cube(cc_cube)
    assert axis.labelText == "Reflectance"
    recon = recovery.recover(make_photo(48, 64), "mallett2019")
    window.set_cube(recon)
    assert axis.labelText.startswith("Relative radiance" if recon.kind == "radiance" else "Reflectance")
    assert axis.labelText != "Value"
    window.set_cube(recon.with_data(recon.data))  # what the cube says it holds, nothing else
    window.set_cube(type(recon)(recon.data, recon.wavelengths, kind="unknown"))
    assert "unknown" in axis.labelText


def test_pinned_pixels_are_marked_on_the_image(window, cc_cube):
    spectrum, canvas = window.spectrum, window.band_view.canvas
    window.set_cube(cc_cube)
    spectrum.on_click(5, 8, True)
    spectrum.on_click(20, 30, True)
    spots = canvas.markers.points()
    assert sorted((p.pos().y(), p.pos().x()) for p in spots) == [(5.5, 8.5), (20.5, 30.5)]
    pens = {p.pen().color().name() for p in spots}
    assert pens == {item.opts["pen"].color().name() for _, item in spectrum.pinned}
    spectrum.clear_btn.click()
    assert len(canvas.markers.points()) == 0


def test_pins_say_when_they_re_sample_a_new_cube(window, cc_cube):
    spectrum = window.spectrum
    window.set_cube(cc_cube)
    spectrum.on_click(5, 8, True)
    labels = [label.text for _, label in spectrum.legend.items]
    assert any(t == "pinned (x=8, y=5)" for t in labels)
    window.set_cube(cc_cube.with_data(cc_cube.data * 0.5))  # same size: the pin now reads the new cube
    np.testing.assert_allclose(spectrum.pinned[0][1].yData, cc_cube.data[5, 8] * 0.5)
    labels = [label.text for _, label in spectrum.legend.items]
    assert any("pinned (x=8, y=5)" in t and "re-sampled" in t for t in labels)
    spectrum.on_click(6, 9, True)  # a pin taken on this cube says nothing more
    labels = [label.text for _, label in spectrum.legend.items]
    assert "pinned (x=9, y=6)" in labels


def test_the_legend_is_off_the_curves(window, qtbot, cc_cube):
    spectrum = window.spectrum
    window.set_cube(cc_cube)
    spectrum.on_click(10, 10, False)
    for r, c in ((5, 8), (20, 30), (40, 60), (50, 5)):
        spectrum.on_click(r, c, True)
    qtbot.wait(50)
    pi = spectrum.plot.getPlotItem()
    legend = spectrum.legend.sceneBoundingRect()
    assert len(spectrum.legend.items) == 5 and legend.height() > 10
    assert not legend.intersects(pi.getViewBox().sceneBoundingRect())  # below the data area, not over it


def test_the_chosen_view_mode_survives_a_reconstruction(window, qtbot, make_photo):
    dock = window.dock
    dock.model.setCurrentIndex(dock.model.findData("physics:mallett2019"))
    window.set_rgb(make_photo(48, 64))
    with qtbot.waitSignal(dock.result_ready, timeout=20000):
        dock.run()
    qtbot.waitUntil(lambda: dock.job is None or not dock.job.isRunning(), timeout=20000)
    assert window.band_view.mode == "rgb"  # the first reconstruction shows its render
    view = window.band_view
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("band"))
    view.mode_combo.activated.emit(view.mode_combo.currentIndex())  # picked by the user
    with qtbot.waitSignal(dock.result_ready, timeout=20000):
        dock.run()  # again (another model, other settings)
    assert view.mode == "band"
    window.set_rgb(make_photo(40, 56, seed=3))  # a new photo shows as a photo…
    assert view.mode == "rgb"
    with qtbot.waitSignal(dock.result_ready, timeout=20000):
        dock.run()
    assert view.mode == "band"  # … and its reconstruction in the mode the user chose
    qtbot.wait(50)
