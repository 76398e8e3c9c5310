"""Screenshots of the main window, the Relight and the Compare tab with a cube loaded. The checks are about
content (the chart is shown, spectra are plotted, the legend lists them), not pixels.

They are written into a temporary folder: a test never changes a tracked file. The README's
``docs/*.png`` are regenerated on purpose by ``scripts/docs_screenshots.sh`` (which sets
``HSI_SCREENSHOT_DIR=docs`` and runs these tests under a real X server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hsi_studio.gui.explore.band_view import qimage_to_rgb
from hsi_studio.services.files import preview_render


def _patch_centre(index: int, patch: int = 40, border: int = 8) -> tuple[int, int]:
    r, c = divmod(index, 6)
    step = patch + border
    return border + r * step + patch // 2, border + c * step + patch // 2


def test_main_window_screenshot(window, qtbot, make_chart, shots):
    cube = make_chart(patch=40, border=8)
    window.set_cube(cube, render=preview_render(cube), source=Path("colorchecker.h5"))
    for index in (14, 13, 12):  # red, green, blue patches pinned
        window.spectrum.on_click(*_patch_centre(index), True)
    window.spectrum.on_click(*_patch_centre(11), False)  # yellow-orange held
    roi = window.band_view.add_roi("rect")
    top, left = _patch_centre(18)  # the white patch
    roi.setPos((left - 15, top - 15))
    roi.setSize((30, 30))
    qtbot.wait(100)
    path = shots / "main_window.png"
    image = window.grab()
    assert image.save(str(path))
    rgb = qimage_to_rgb(image.toImage())
    assert rgb.shape[0] >= 700 and rgb.shape[1] >= 1200
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 200  # a colourful chart, not a blank window
    labels = [label.text for _, label in window.spectrum.legend.items]
    assert sum("pinned" in t for t in labels) == 3 and any("ROI" in t for t in labels)
    assert window.spectrum.roi is not None and window.spectrum.roi.values.mean() > 0.8  # white patch


def test_relight_screenshot(window, qtbot, make_chart, shots):
    cube = make_chart(patch=40, border=8)
    window.set_cube(cube, render=preview_render(cube), source=Path("colorchecker.h5"))
    window.tabs.setCurrentIndex(1)
    panel = window.relight
    panel.select_illuminant("FL11")
    panel.adapt.setCurrentIndex(panel.adapt.findData("bradford"))
    with qtbot.waitSignal(panel.delta_e_ready, timeout=20000):
        panel.update_now()
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=10000)
    if panel.delta_e is None or panel.delta_e.shape != cube.shape[:2]:
        with qtbot.waitSignal(panel.delta_e_ready, timeout=20000):
            panel.update_now()
    qtbot.wait(50)
    image = window.grab()
    assert image.save(str(shots / "relight.png"))
    assert "FL11" in panel.views.labels["relit"].text and "ΔE2000 mean" in panel.views.labels["delta_e"].text
    assert 0 < float(panel.delta_e.mean()) < 30


def test_compare_screenshot(window, qtbot, make_chart, shots):
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.core.spectral import recovery

    gt = make_chart(patch=40, border=8)
    photo = RGBImage(preview_render(gt).astype(np.float32) / 255)
    cube = recovery.recover(photo, "mallett2019")  # a baseline reconstruction of the chart's photo
    window.set_cube(cube, render=preview_render(cube), source=Path("colorchecker_mallett2019.h5"))
    with qtbot.waitSignal(window.compare.computed, timeout=20000):
        window.set_ground_truth(gt, "colorchecker.h5")
    qtbot.wait(50)
    image = window.grab()
    assert image.save(str(shots / "compare.png"))
    assert 0 < float(window.compare.metric_text("mrae")) < 1 and float(window.compare.metric_text("sam")) > 0
    assert window.compare.canvas.image.image.shape == gt.shape[:2]
