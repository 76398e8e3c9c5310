"""The spectrum plot (issue 14 items 2 and 8): no stale ± σ bands after another photo or cube, Clear clears,
the y-axis names what is plotted, pins are marked on the image and say when they re-sample a new cube, the
legend stays off the curves, and the chosen view mode survives a reconstruction."""

from __future__ import annotations

import numpy as np

from hsi_studio.core import recovery
from hsi_studio.gui import tasks


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
    window.set_cube(big, std=big.with_data(np.full(big.shape, 5.0, np.float32)), render=tasks.preview_render(big),
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
    window.set_cube(second, render=tasks.preview_render(second), keep_input=True)
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
