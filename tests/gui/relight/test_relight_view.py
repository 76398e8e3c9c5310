"""The Relight tab's three image views: updates keep the user's zoom (or the fit),
the views stay in register, the CCT slider follows the illuminant family, the ΔE colour bar follows the map."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from hsi_studio.core.spectral import recovery
from hsi_studio.services.files import preview_render


def _boxes(panel) -> list:
    return [item.getViewBox() for item in panel.views.items.values()]


def _ranges(panel) -> list[np.ndarray]:
    return [np.array(vb.viewRange()) for vb in _boxes(panel)]


def _assert_in_register(panel, expected=None) -> None:
    ranges = _ranges(panel)
    sizes = {(round(vb.width()), round(vb.height())) for vb in _boxes(panel)}
    assert len(sizes) == 1, f"the three views differ in size: {sizes}"
    for r in ranges[1:]:
        np.testing.assert_allclose(r, ranges[0], atol=1e-6)
    if expected is not None:
        np.testing.assert_allclose(ranges[0], expected, atol=1e-6)


def _fitted(panel) -> bool:
    """The whole image is shown and fills the views along one axis (with pyqtgraph's 2 % padding)."""
    (x0, x1), (y0, y1) = _boxes(panel)[0].viewRange()
    h, w = panel.views.shape
    inside = x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h
    tight = abs((x1 - x0) - w * 1.04) < 0.5 or abs((y1 - y0) - h * 1.04) < 0.5
    return inside and tight


@pytest.fixture
def relit(window, qtbot, make_photo):
    cube = recovery.recover(make_photo(96, 128), "mallett2019")
    window.set_cube(cube, render=preview_render(cube))
    panel = window.relight
    with qtbot.waitSignal(panel.rendered, timeout=10000):
        window.tabs.setCurrentIndex(1)
    yield panel
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=20000)


def _thirty_changes(panel, qtbot) -> None:
    specs = ["A", "FL2", "cct:5000"] + [f"cct:{5000 + 100 * i}" for i in range(1, 28)]
    for spec in specs:
        assert panel.select_illuminant(spec)
        panel.update_now()
        QApplication.processEvents()
    qtbot.wait(20)


def _wheel(view, vb, steps: int = 3) -> None:
    """A real mouse-wheel zoom over the centre of ``vb``."""
    centre = view.mapFromScene(vb.sceneBoundingRect().center())
    global_pos = view.viewport().mapToGlobal(centre)
    event = QWheelEvent(QPointF(centre), QPointF(global_pos), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), event)


def _double_click(view, vb) -> None:
    """Press, release, double-click, release: what a window system sends for a double-click."""
    centre = QPointF(view.mapFromScene(vb.sceneBoundingRect().center()))
    global_pos = QPointF(view.viewport().mapToGlobal(centre.toPoint()))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left), (QEvent.Type.MouseButtonRelease, none),
                          (QEvent.Type.MouseButtonDblClick, left), (QEvent.Type.MouseButtonRelease, none)):
        QApplication.sendEvent(view.viewport(), QMouseEvent(kind, centre, global_pos, left, buttons,
                                                            Qt.KeyboardModifier.NoModifier))
    QApplication.processEvents()


def test_illuminant_changes_keep_the_fit_and_the_views_in_register(relit, qtbot):
    panel = relit
    assert _fitted(panel)
    _assert_in_register(panel)
    before = _ranges(panel)[0]
    _thirty_changes(panel, qtbot)
    _assert_in_register(panel, before)
    assert _fitted(panel)


def test_a_zoom_is_shared_and_kept_and_fit_restores_the_image(relit, qtbot, window):
    panel = relit
    views = panel.views
    _wheel(views, _boxes(panel)[1])
    QApplication.processEvents()
    zoomed = _ranges(panel)[0]
    assert zoomed[0, 1] - zoomed[0, 0] < 0.9 * 128  # zoomed in
    _assert_in_register(panel, zoomed)
    _thirty_changes(panel, qtbot)
    _assert_in_register(panel, zoomed)
    # View ▸ Fit image
    assert window.act_fit in window.menuBar().actions()[1].menu().actions()
    window.act_fit.trigger()
    assert _fitted(panel)
    _assert_in_register(panel)
    # … and a double-click on a view does the same
    _wheel(views, _boxes(panel)[2])
    assert not _fitted(panel)
    _assert_in_register(panel)
    _double_click(views, _boxes(panel)[2])
    assert _fitted(panel)
    _assert_in_register(panel)


def test_the_cct_slider_follows_the_family_and_the_label_says_what_is_rendered(relit, qtbot):
    panel = relit
    assert panel.select_illuminant("cct:3000")
    assert panel.illuminant_spec() == "cct:3000" and panel.cct_label.text() == "3000 K"
    assert panel.cct.minimum() * 100 == 1000
    assert panel.select_illuminant("daylight:6500")
    assert panel.cct.minimum() * 100 == 4000 and panel.cct.maximum() * 100 == 25000
    panel.cct.setValue(30)  # 3000 K is not a CIE daylight: the slider stops at 4000 K
    assert panel.illuminant_spec() == "daylight:4000" and panel.cct_label.text() == "4000 K"
    for value in range(40, 60):  # stepping with the arrow keys: label and render agree on every step
        panel.cct.setValue(value)
        panel.update_now()
        kelvin = panel.illuminant_spec().split(":")[1]
        assert panel.cct_label.text() == f"{kelvin} K" and f"daylight:{kelvin}" in panel.views.labels["relit"].text
    assert panel.select_illuminant("cct:2000")  # back to the black body: its own range again
    assert panel.cct.minimum() * 100 == 1000 and panel.illuminant_spec() == "cct:2000"
    assert panel.cct_label.text() == "2000 K"


def test_delta_e_colour_bar_follows_the_map_unless_locked(relit, qtbot):
    from hsi_studio.gui.relight.relight_panel import delta_e_top

    panel = relit
    panel.adapt.setCurrentIndex(panel.adapt.findData("none"))
    with qtbot.waitSignal(panel.delta_e_ready, timeout=20000):
        panel.select_illuminant("cct:1500")  # a very warm light: ΔE far above 10
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=20000)
    de = panel.delta_e
    p99 = float(np.percentile(de, 99))
    assert p99 > 10
    lo, hi = panel.views.bar.levels()
    assert lo == 0 and hi == delta_e_top(de) and p99 <= hi < p99 + 0.5 + 1e-6
    assert float(np.mean(de > hi)) <= 0.011  # at most ~1 % of the map saturates
    panel.lock_de.setChecked(True)
    locked = panel.views.bar.levels()
    with qtbot.waitSignal(panel.delta_e_ready, timeout=20000):
        panel.select_illuminant("D50")
    qtbot.waitUntil(lambda: panel._de_job is None, timeout=20000)
    assert panel.views.bar.levels() == locked and delta_e_top(panel.delta_e) != locked[1]
    panel.lock_de.setChecked(False)  # unlocked: follows the map shown now
    assert panel.views.bar.levels() == (0.0, delta_e_top(panel.delta_e))
    panel.views.bar.sigLevelsChangeFinished.emit(panel.views.bar)  # the user dragged a handle: locked
    assert panel.lock_de.isChecked()
