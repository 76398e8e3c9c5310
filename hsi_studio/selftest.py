"""``hsi-studio --self-test``: prove an installation works end to end, offscreen, without network.

Opens the main window, reconstructs the bundled ColorChecker photo with the shipped default model through the
Reconstruct dock (the same worker thread a user's click starts), checks the cube (shape, finite, reproduces the
photo's RGB, close to the sample's true radiance), relights it under CIE A in the Relight tab and checks the
render turns warm, then closes the window. Prints one line per check and a JSON summary; exits 0 when every
check passed, 1 otherwise. Used on frozen bundles (packaging/) and in CI-like smoke runs.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from importlib import resources

RECONSTRUCT_TIMEOUT_S = 300
MIN_PSNR_DB = 20.0  # the default model scores ~26 dB on this sample; baselines ~19–22 dB


def sample_path(name: str):
    """A bundled sample file (``importlib.resources``: works from a checkout, a wheel and a frozen bundle)."""
    return resources.files("hsi_studio").joinpath("resources", "samples", name)


class _Checks:
    def __init__(self) -> None:
        self.results: list[dict] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.results.append({"check": name, "ok": bool(ok), "detail": detail})
        print(f"[{'PASS' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(ok)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r["ok"] for r in self.results)


def run(argv: list[str] | None = None) -> int:  # same signature as other entry points
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.perf_counter()
    checks = _Checks()
    try:
        _run(checks)
    except Exception as exc:  # a self-test reports every failure, never a bare traceback
        checks.check("self-test ran to the end", False, f"{type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
    summary = {"self_test": "passed" if checks.ok else "failed", "seconds": round(time.perf_counter() - t0, 1),
               "frozen": bool(getattr(sys, "frozen", False)), "checks": checks.results}
    print(json.dumps(summary), flush=True)
    return 0 if checks.ok else 1


def _run(checks: _Checks) -> None:
    import numpy as np

    import hsi_studio
    from hsi_studio.core.analysis import metrics
    from hsi_studio.core.io import api as io
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.core.ml.models import load_bundle
    from hsi_studio.core.spectral.recovery import linear_srgb

    checks.check("version", True, f"hsi_studio {hsi_studio.__version__}, Python {sys.version.split()[0]}")
    with resources.as_file(sample_path("colorchecker.png")) as photo_path, \
            resources.as_file(sample_path("colorchecker_radiance.h5")) as truth_path:
        rgb = io.read_rgb(photo_path)
        truth = io.read_cube(truth_path)
    checks.check("bundled sample", rgb.data.shape[2] == 3 and truth.bands == 31,
                 f"{photo_path.name} {rgb.data.shape[1]}×{rgb.data.shape[0]}, truth {truth.shape}")
    model_dir = pipeline.default_model_path()
    model = load_bundle(model_dir)  # verifies every file's sha256 against the manifest
    checks.check("default model", type(model).__name__ == "ULDM", f"{model_dir} (manifest verified)")

    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from hsi_studio.gui.app import create_application
    from hsi_studio.gui.main_window import MainWindow

    app = create_application([])
    scratch = tempfile.TemporaryDirectory(prefix="hsi-selftest-")
    settings = QSettings(os.path.join(scratch.name, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, warm_up=False)
    try:
        window.show()
        app.processEvents()
        checks.check("main window", window.isVisible(), f"platform {app.platformName()}")

        window.set_rgb(rgb, photo_path)
        dock = window.dock
        index = dock.model.findData("default")
        dock.model.setCurrentIndex(index)
        dock.device.setCurrentIndex(max(dock.device.findData("cpu"), 0))
        dock.steps.setValue(8)
        dock.samples.setValue(1)
        outcome: dict = {}
        loop = QEventLoop()
        dock.result_ready.connect(lambda r: (outcome.setdefault("result", r), loop.quit()))
        dock.job_failed.connect(lambda m, d: (outcome.setdefault("error", m), loop.quit()))
        t = time.perf_counter()
        started = index >= 0 and dock.run()
        checks.check("reconstruction started", started, "default model, 8 steps, CPU")
        if not started:
            return
        QTimer.singleShot(RECONSTRUCT_TIMEOUT_S * 1000, loop.quit)
        loop.exec()
        secs = time.perf_counter() - t
        if "result" not in outcome:
            checks.check("reconstruction finished", False, outcome.get("error", f"timed out after {secs:.0f} s"))
            dock.cancel()
            return
        cube = outcome["result"].cube
        h, w = rgb.data.shape[:2]
        checks.check("reconstruction finished", cube.shape == (h, w, 31) and bool(np.isfinite(cube.data).all()),
                     f"{cube.shape} in {secs:.1f} s")
        lin = linear_srgb(rgb)[0]
        reproj = float(np.abs(cube.data @ model.speuae.S.numpy() - lin).max() / max(float(lin.max()), 1e-9))
        checks.check("cube reproduces the photo", reproj <= 1e-4, f"relative RGB error {reproj:.1e}")
        view = window.band_view.render() if window.band_view.cube is cube else None
        diff = np.inf if view is None else float(np.abs(view.astype(np.float32) - rgb.data * 255).max())
        checks.check("its colour view looks like the photo", diff <= 2.0, f"max difference {diff:.1f} of 255 levels")
        scores = metrics.evaluate(cube, truth, ntire=True)  # as `hsi-studio evaluate --ntire` scores it
        checks.check("close to the true spectra", scores["psnr"] >= MIN_PSNR_DB,
                     f"PSNR {scores['psnr']:.2f} dB, SAM {scores['sam']:.2f}° (as `evaluate --ntire`)")

        panel = window.relight
        window.tabs.setCurrentIndex(1)
        app.processEvents()
        panel.select_illuminant("D65")
        panel.update_now(force=True)
        d65 = panel.relit.astype(int)
        panel.select_illuminant("A")
        panel.update_now(force=True)
        relit = panel.relit.astype(int)
        warm = float((relit[..., 0] - relit[..., 2]).mean() - (d65[..., 0] - d65[..., 2]).mean())
        checks.check("relit under CIE A", relit.shape == d65.shape and warm > 10,
                     f"mean (R − B) rises by {warm:.1f} levels against D65")
    finally:
        window.close()
        app.processEvents()
        del settings
        scratch.cleanup()


__all__ = ["run", "sample_path"]
