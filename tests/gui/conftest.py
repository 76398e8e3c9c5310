"""GUI test fixtures: offscreen Qt, isolated settings, small cubes and photos; a test that leaves a worker
thread running or a top-level window open fails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, srgb_encode


@pytest.fixture(autouse=True)
def no_threads_or_windows_left(qapp):
    """Fail a test that leaves a worker thread running or a top-level window visible."""
    from PySide6.QtWidgets import QApplication

    from hsi_studio.gui.workers import active_workers

    yield
    QApplication.processEvents()
    workers = active_workers()
    windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for w in workers:  # clean up so one failure does not cascade into the next tests
        w.cancel_and_join(10000)
    for w in windows:
        w.close()
    QApplication.processEvents()
    problems = []
    if workers:
        problems.append(f"worker threads left running: {[w.name for w in workers]}")
    if windows:
        problems.append(f"windows left open: {[type(w).__name__ + ' ' + w.windowTitle() for w in windows]}")
    if problems:
        pytest.fail("; ".join(problems))


DOCS = Path(__file__).resolve().parents[2] / "docs"


def _docs_digest() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DOCS.glob("*.png"))}


@pytest.fixture(scope="session", autouse=True)
def docs_untouched():
    """The GUI tests leave the tracked docs/*.png alone unless asked to write them (HSI_SCREENSHOT_DIR, set by
    scripts/docs_screenshots.sh)."""
    before = _docs_digest()
    yield
    if not os.environ.get("HSI_SCREENSHOT_DIR"):
        assert _docs_digest() == before, "a GUI test overwrote a tracked docs/*.png"


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshot tests save their images: a temporary folder, or HSI_SCREENSHOT_DIR when set."""
    out = Path(os.environ.get("HSI_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """A shown main window with isolated settings (closed — jobs cancelled and joined — by qtbot)."""
    from hsi_studio.gui.main_window import MainWindow

    win = MainWindow(settings, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1400, 860)
    win.show()
    qtbot.waitExposed(win)
    return win


def colorchecker_cube(patch: int = 12, border: int = 3) -> HSCube:
    """The 24 ColorChecker reflectances (colour-science) as a 4×6 chart of ``patch``-pixel squares on black."""
    from hsi_studio.core.spectral._colour import colour

    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    spectra = np.stack([np.interp(STANDARD_WAVELENGTHS, sd.wavelengths, sd.values) for sd in sds.values()])
    step = patch + border
    h, w = 4 * step + border, 6 * step + border
    data = np.full((h, w, STANDARD_WAVELENGTHS.size), 0.03, dtype=np.float32)
    for i, spectrum in enumerate(spectra):
        r, c = divmod(i, 6)
        top, left = border + r * step, border + c * step
        data[top:top + patch, left:left + patch] = spectrum
    return HSCube(data, STANDARD_WAVELENGTHS.copy(), {"name": "ColorChecker N Ohta"}, kind="reflectance")


def photo(h: int = 48, w: int = 64, seed: int = 0) -> RGBImage:
    """A smooth colourful sRGB photo."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([xx / (w - 1), yy / (h - 1), 0.5 + 0.4 * np.sin(xx / 7 + yy / 11)], axis=2)
    rng = np.random.default_rng(seed)
    rgb = np.clip(rgb * 0.85 + 0.05 + rng.normal(0, 0.01, rgb.shape), 0, 1)
    return RGBImage(srgb_encode(rgb.astype(np.float32)), "srgb")


@pytest.fixture
def cc_cube():
    return colorchecker_cube()


@pytest.fixture
def make_chart():
    """``make_chart(patch, border)`` → a ColorChecker cube."""
    return colorchecker_cube


@pytest.fixture
def rgb_photo():
    return photo()


@pytest.fixture
def make_photo():
    """``make_photo(h, w, seed)`` → a smooth colourful sRGB photo."""
    return photo
