"""The Relight tab's three image views (issue 14 items 1, 5, 7): updates keep the user's zoom (or the fit),
the views stay in register, the CCT slider follows the illuminant family, the ΔE colour bar follows the map."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from hsi_studio.core import recovery
from hsi_studio.gui import tasks


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
    window.set_cube(cube, render=tasks.preview_render(cube))
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
