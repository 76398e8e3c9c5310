"""What a first-time user meets, in a real X server too: long tooltips wrap, the Reconstruct dock's
readouts follow the photo."""

from __future__ import annotations

import numpy as np


def test_a_long_tooltip_wraps_instead_of_crossing_the_screen(window, qtbot):
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    combo = window.band_view.mode_combo  # the view picker: ~400 characters on what each view and σ mean
    assert len(combo.toolTip()) > 300
    pos = QPoint(5, 5)
    QApplication.sendEvent(combo, QHelpEvent(QEvent.Type.ToolTip, pos, combo.mapToGlobal(pos)))
    try:
        qtbot.waitUntil(QToolTip.isVisible, timeout=3000)
        assert QToolTip.text().startswith("<p") and "σ" in QToolTip.text()
        tips = [w for w in QApplication.topLevelWidgets()
                if w.metaObject().className() == "QTipLabel" and w.isVisible()]
        assert tips and max(t.width() for t in tips) < 800  # one line of it was ~1150 px wide
    finally:
        QToolTip.hideText()
        qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=3000)


def test_short_and_rich_tooltips_stay_as_they_are():
    from hsi_studio.gui.tooltips import wrapped

    assert wrapped("Band") == "Band"
    assert wrapped("<b>rich</b> " + "x" * 200).startswith("<b>")
    long = "a < b & " + "word " * 40 + "\nsecond line"
    out = wrapped(long)
    assert out.startswith("<p") and "a &lt; b &amp;" in out and "\nsecond line" in out


def test_a_new_photo_clears_the_last_runs_done_readout(window, rgb_photo):
    dock = window.dock
    dock.progress.setValue(1000)  # what a finished run leaves
    dock.progress.setFormat("100 %  done in 68.6 s")
    dock.message.setText("Done on cpu.")
    window.set_rgb(rgb_photo)
    assert dock.progress.format() == "idle" and dock.progress.value() == 0 and dock.message.text() == ""


def test_a_downscaled_photo_says_so(window):
    from hsi_studio.core.cube import RGBImage

    small = RGBImage(np.full((30, 40, 3), 0.5, np.float32), metadata={"downscaled_from": "4000x3000"})
    window.set_rgb(small)
    assert "40×30" in window.dock.input_label.text() and "downscaled from 4000×3000" in window.dock.input_label.text()


def test_the_compare_tables_headers_are_not_cut_off(window, qtbot, cc_cube):
    from PySide6.QtWidgets import QApplication

    from hsi_studio.services.files import preview_render

    window.resize(1280, 720)
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    window.tabs.setCurrentWidget(window.compare)
    compare = window.compare
    compare._fill_table(None, None, scale=0.605)  # the widest header: "Exposure-normalised (×0.605)"
    QApplication.processEvents()
    header = compare.table.horizontalHeader()
    metrics = header.fontMetrics()
    for col in range(compare.table.columnCount()):
        text = compare.table.horizontalHeaderItem(col).text()
        widest = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
        assert widest <= header.sectionSize(col), (text, widest, header.sectionSize(col))


def test_the_training_wizard_fits_the_screen_with_its_buttons(qtbot, settings, tmp_path):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QWizard

    from hsi_studio.gui.training import wizard as tw

    area = QGuiApplication.primaryScreen().availableGeometry()  # 1280×720 under the xcb test run
    wiz = tw.TrainWizard(settings=settings, models_root=tmp_path / "models")
    qtbot.addWidget(wiz)
    wiz.show()
    qtbot.waitExposed(wiz)
    try:
        assert wiz.frameGeometry().height() <= area.height()  # it was 760 px high: Next / Cancel off a 720 screen
        for which in (QWizard.WizardButton.NextButton, QWizard.WizardButton.CancelButton):
            button = wiz.button(which)
            corner = button.mapToGlobal(QPoint(button.width(), button.height()))
            assert button.isVisible() and area.contains(corner), (corner, area)
    finally:
        wiz.shutdown()
        wiz.close()
