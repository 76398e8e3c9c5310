"""Files through the window: drag-and-drop, bad files (a dialog, the app stays alive), recent files, every
cube writer, PNG / CSV exports, ground truth from disk, and ``main()`` opening a file without torch."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from hsi_studio.core.io import api as io
from hsi_studio.gui import dialogs
from hsi_studio.gui.workers import active_workers
from hsi_studio.services.files import preview_render

ROOT = Path(__file__).resolve().parents[2]


def _drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(window.width() // 2, window.height() // 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    return drop


def _error_boxes(window):
    return [b for b in window.findChildren(QMessageBox) if b.objectName() == "error_dialog" and b.isVisible()]


def test_drop_an_rgb_photo_shows_it(window, qtbot, tmp_path, rgb_photo):
    path = io.write_rgb(rgb_photo, tmp_path / "photo.png")
    with qtbot.waitSignal(window.file_loaded, timeout=10000):
        _drop(window, path)
    shown = window.band_view.canvas.rgb_image.image
    assert shown.shape == (48, 64, 3)
    np.testing.assert_allclose(shown, np.round(rgb_photo.data * 255), atol=1)
    assert window.rgb is not None and window.dock.run_btn.isEnabled()
    assert "photo.png" in window.dock.input_label.text() and "photo.png" in window.windowTitle()
    assert window.recent_files()[0] == str(path.resolve())


def test_drop_a_cube_shows_it(window, qtbot, tmp_path, cc_cube):
    path = io.write_cube(cc_cube, tmp_path / "chart.h5")
    with qtbot.waitSignal(window.file_loaded, timeout=10000):
        _drop(window, path, tmp_path / "ignored.png")
    assert window.cube is not None and window.cube.shape == cc_cube.shape
    np.testing.assert_allclose(window.cube.data, cc_cube.data)
    assert window.band_view.canvas.rgb_image.image.shape == cc_cube.shape[:2] + (3,)
    assert f"Cube {cc_cube.width}×{cc_cube.height}×31" in window.cube_label.text()


@pytest.mark.parametrize("name,content", [
    ("broken.png", b"\x89PNG\r\n\x1a\n this is not a png"),
    ("notes.txt", b"hello"),
    ("empty.h5", b""),
])
def test_bad_file_gives_a_dialog_and_the_app_stays_alive(window, qtbot, tmp_path, name, content, cc_cube):
    bad = tmp_path / name
    bad.write_bytes(content)
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_path(bad)
    message = blocker.args[0]
    assert name in message and "Traceback" not in message
    boxes = _error_boxes(window)
    assert len(boxes) == 1 and boxes[0].text() == message and not boxes[0].detailedText()
    boxes[0].close()
    # still alive: the next file opens
    good = io.write_cube(cc_cube, tmp_path / "good.npz")
    with qtbot.waitSignal(window.file_loaded, timeout=10000):
        window.open_path(good)
    assert window.cube is not None


def test_missing_file_and_recent_menu(window, qtbot, tmp_path, cc_cube):
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_path(tmp_path / "nope.h5")
    assert "no such file" in blocker.args[0]
    _error_boxes(window)[0].close()
    path = io.write_cube(cc_cube, tmp_path / "a.npz")
    with qtbot.waitSignal(window.file_loaded, timeout=10000):
        window.open_path(path)
    actions = [a for a in window.recent_menu.actions() if a.toolTip() == str(path.resolve())]
    assert actions
    window.set_rgb(_photo())
    assert window.cube is None
    with qtbot.waitSignal(window.file_loaded, timeout=10000):
        actions[0].trigger()
    assert window.cube is not None


def _photo():
    from hsi_studio.core.cube import RGBImage

    return RGBImage(np.full((4, 4, 3), 0.5, np.float32))


def test_every_cube_writer_round_trips(window, qtbot, tmp_path, cc_cube):
    window.set_cube(cc_cube)
    filters = dialogs.cube_write_filters()
    exts = [dialogs.extension_from_filter(f) for f in filters]
    assert set(io.CUBE_WRITE_EXTENSIONS) <= set(exts) and dialogs.FOLDER_FILTER in filters
    for ext in [*io.CUBE_WRITE_EXTENSIONS, "/"]:
        target = tmp_path / ("bands/" if ext == "/" else f"chart{ext}")
        worker = window.export_cube(target)
        with qtbot.waitSignal(worker.finished, timeout=20000) as blocker:
            pass
        written = Path(blocker.args[0])
        back = io.read_cube(written)
        np.testing.assert_allclose(back.data, cc_cube.data, atol=2e-5, err_msg=ext)
        np.testing.assert_allclose(back.wavelengths, cc_cube.wavelengths)
    qtbot.waitUntil(lambda: not active_workers())


def test_png_and_csv_exports(window, qtbot, tmp_path, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube), source=Path("chart.h5"))
    window.band_view.set_mode("band")
    window.band_view.set_band(cc_cube.band_index(600))
    band_png = window.export_band_png(tmp_path / "band.png")
    img = io.read_rgb(band_png)
    assert img.shape == cc_cube.shape[:2] + (3,) and img.data.std() > 0.05
    window.tabs.setCurrentIndex(1)
    window.relight.select_illuminant("A")
    relit_png = window.export_relit_png(tmp_path / "relit.png")
    np.testing.assert_allclose(io.read_rgb(relit_png).data * 255, window.relight.relit, atol=0.51)
    window.spectrum.on_click(10, 10, False)
    window.spectrum.pin(50, 50)
    window.band_view.add_roi("rect")
    out = window.export_spectra_csv(tmp_path / "spectra.csv")
    rows = list(csv.reader(out.open()))
    header = rows[0]
    assert header[0] == "wavelength_nm" and "pixel x=10 y=10" in header and "pinned x=50 y=50" in header
    assert any(h.startswith("ROI mean") for h in header) and any(h.endswith(" std") for h in header)
    data = np.array(rows[1:], dtype=float)
    assert data.shape == (31, len(header))
    np.testing.assert_allclose(data[:, 0], cc_cube.wavelengths)
    np.testing.assert_allclose(data[:, header.index("pixel x=10 y=10")], cc_cube.data[10, 10], rtol=1e-5)
    qtbot.waitUntil(lambda: window.relight._de_job is None, timeout=10000)


def test_export_into_a_missing_folder_gives_a_dialog(window, qtbot, tmp_path, cc_cube):
    window.set_cube(cc_cube, render=preview_render(cc_cube))
    assert window.export_band_png(tmp_path / "no" / "such" / "band.png") is None
    boxes = _error_boxes(window)
    assert len(boxes) == 1 and "Traceback" not in boxes[0].text()
    boxes[0].close()


def test_ground_truth_from_disk(window, qtbot, tmp_path, cc_cube):
    window.set_cube(cc_cube)
    gt = cc_cube.with_data(np.clip(cc_cube.data + 0.01, 0, 1))
    path = io.write_cube(gt, tmp_path / "gt.mat")
    with qtbot.waitSignal(window.compare.computed, timeout=20000):
        window.load_ground_truth(path)
    assert window.gt is not None and "gt.mat" in window.compare.gt_label.text()
    assert float(window.compare.metric_text("rmse")) == pytest.approx(0.01, abs=2e-3)
    # a photo is not a cube: a dialog, not a crash
    photo = io.write_rgb(np.full((8, 8, 3), 128, np.uint8), tmp_path / "p.png")
    with qtbot.waitSignal(window.error_shown, timeout=10000):
        window.load_ground_truth(photo)
    _error_boxes(window)[0].close()


def test_main_opens_a_file_without_importing_torch(tmp_path, cc_cube):
    path = io.write_cube(cc_cube, tmp_path / "chart.npz")
    env = {**os.environ, "HSI_STUDIO_SMOKE": "1", "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    code = "import sys; from hsi_studio.gui.app import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    assert info["visible"] and not info["torch"]


def test_hdf5_export_is_compressed_and_says_its_size(window, qtbot, tmp_path, make_photo):
    """Large reconstructions: HDF5 is written chunked with lossless gzip (readable by any HDF5 tool), and the
    status bar gives the size written."""
    import h5py

    from hsi_studio.core.spectral import recovery

    cube = recovery.recover(make_photo(192, 256), "mallett2019")  # smooth spectra, like a reconstruction
    window.set_cube(cube)
    worker = window.export_cube(tmp_path / "recon.h5")
    with qtbot.waitSignal(worker.finished, timeout=20000) as blocker:
        pass
    qtbot.waitUntil(lambda: not active_workers())
    path = Path(blocker.args[0])
    with h5py.File(path, "r") as f:
        ds = f["cube"]
        assert ds.compression == "gzip" and ds.shuffle and ds.chunks is not None
        np.testing.assert_array_equal(ds[()], cube.data)  # lossless
    assert path.stat().st_size < 0.8 * cube.data.nbytes
    message = window.statusBar().currentMessage()
    assert str(path) in message and (" MB" in message or " kB" in message)
    assert "smaller than raw" in message
    np.testing.assert_array_equal(io.read_cube(path).data, cube.data)


def test_export_reflectance_of_a_reconstruction(window, qtbot, tmp_path):
    """File ▸ Export reflectance cube: a reconstruction divided by the D65 it records (white reads 1); a cube
    that records no capture illuminant cannot be exported as reflectance (the action is disabled)."""
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.ml import evaluation
    from hsi_studio.core.spectral import relight
    from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL

    d = evaluation.photo_divisor()
    white = HSCube(np.tile(d, (8, 8, 1)).astype(np.float32), WL, {"response": "cie1964-srgb"}, kind="radiance")
    window.set_cube(white)
    assert window.act_export_refl.isEnabled()
    worker = window.export_cube(tmp_path / "white.h5", reflectance=True)
    with qtbot.waitSignal(worker.finished, timeout=20000) as blocker:
        pass
    qtbot.waitUntil(lambda: not active_workers())
    back = io.read_cube(Path(blocker.args[0]))
    assert back.kind == "reflectance"
    np.testing.assert_allclose(back.data, 1.0, rtol=1e-5)
    assert relight.recorded_capture_illuminant(white) == "D65"
    window.set_cube(HSCube(np.ones((8, 8, 31), np.float32), WL, kind="radiance"))  # nothing recorded
    assert not window.act_export_refl.isEnabled()
    assert window.export_cube(tmp_path / "no.h5", reflectance=True) is None and not (tmp_path / "no.h5").exists()
