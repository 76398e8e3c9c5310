"""GUI responsiveness (offscreen Qt).

* launch → window shown, in a fresh process (goal ≤ 2 s; torch must not be loaded);
* band switch at 512×512×31: slider → repainted view (goal ≤ 16 ms);
* relight update at 512×512×31: illuminant change → relit image repainted (goal ≤ 50 ms; the ΔE map runs on
  a worker and is reported separately);
* the largest event-loop stall while a reconstruction runs and its cube is shown (a 5 ms QTimer probe;
  goal ≤ 50 ms): the training-free baselines and, when torch is installed, a random ULDM bundle of the
  shipped default's size (4 steps).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py [--size 512] [--repeat 3] [--model physics:otsu2018] [--no-learned]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as hsi_studio.gui.app.main does

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import synthetic_cube  # noqa: E402

GOALS = {"launch_s": 2.0, "band_ms": 16.0, "relight_ms": 50.0, "stall_ms": 50.0}


def _line(name: str, value: float, unit: str, goal: float, extra: str = "") -> None:
    ok = "ok" if value <= goal else "OVER GOAL"
    print(f"{name:<44} {value:8.1f} {unit:<3} (goal ≤ {goal:g} {unit}) {ok}{'  ' + extra if extra else ''}")


def bench_launch(repeat: int) -> None:
    code = "import sys; from hsi_studio.gui.app import main; sys.exit(main([]))"
    env = {**os.environ, "HSI_STUDIO_SMOKE": "1", "QT_QPA_PLATFORM": "offscreen"}
    times, torch_loaded = [], False
    for _ in range(repeat):
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("{"))
        info = json.loads(line)
        times.append(info["shown_at"] - t0)
        torch_loaded |= bool(info["torch"])
    _line(f"launch → window shown (median of {repeat})", float(np.median(times)), "s", GOALS["launch_s"],
          f"max {max(times):.2f} s, torch imported: {torch_loaded}")


def _window():
    from PySide6.QtCore import QSettings

    from hsi_studio.gui.main_window import MainWindow

    settings = QSettings(str(Path(os.environ.get("TMPDIR", "/tmp")) / "hsi-bench-settings.ini"),
                         QSettings.Format.IniFormat)
    settings.clear()
    win = MainWindow(settings, warm_up=False)
    win.resize(1400, 860)
    win.show()
    return win


def bench_band_switch(app, size: int) -> None:
    from hsi_studio.services.files import preview_render

    cube = synthetic_cube(size)
    win = _window()
    win.set_cube(cube, render=preview_render(cube))
    view = win.band_view
    view.set_mode("band")
    app.processEvents()
    times = []
    for _ in range(3):
        for b in range(cube.bands):
            t0 = time.perf_counter()
            view.set_band(b)
            app.processEvents()  # the repaint
            times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    _line(f"band switch {size}×{size} (median)", float(np.median(ms)), "ms", GOALS["band_ms"],
          f"p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms")
    win.close()


def bench_relight(app, size: int) -> None:
    from hsi_studio.services.files import preview_render

    cube = synthetic_cube(size)
    win = _window()
    win.set_cube(cube, render=preview_render(cube))
    win.tabs.setCurrentIndex(1)
    panel = win.relight
    panel.show_de.setChecked(False)
    names = ["A", "D50", "FL2", "FL11", "LED-B1", "HP1", "F32T8/TL841 (Philips)", "D65"]
    names = [n for n in names if panel.select_illuminant(n)]

    def update(name):
        t0 = time.perf_counter()
        panel.select_illuminant(name)
        panel.update_now()
        app.processEvents()
        return (time.perf_counter() - t0) * 1e3

    first = [update(n) for n in names]  # matrices built on first use
    cached = [update(n) for n in names * 3]
    _line(f"relight update {size}×{size} (median, cached)", float(np.median(cached)), "ms", GOALS["relight_ms"],
          f"max {max(cached):.1f} ms; first use of an illuminant (matrix build) median {np.median(first):.0f} ms")
    cct = [update(f"cct:{k}") for k in range(2000, 9000, 700)]
    print(f"{'relight update, new CCT each time (median)':<44} {np.median(cct):8.1f} ms")
    from hsi_studio.core.spectral import relight

    t0 = time.perf_counter()
    relight.delta_e_map(panel.relit, panel.original)
    print(f"{'ΔE2000 map (on a worker, not the GUI thread)':<44} {(time.perf_counter() - t0) * 1e3:8.1f} ms")
    win.close()


def bench_stall(app, size: int, model: str, runs: int = 3, options: dict | None = None,
                label: str | None = None) -> None:
    """Largest probe gap in each of ``runs`` reconstructions: the median run and the worst run."""
    worst = [_stall_once(app, size, model, options) for _ in range(runs)]
    maxima = sorted(w[0] for w in worst)
    _line(f"event-loop stall, {label or model} {size}×{size}", maxima[len(maxima) // 2], "ms", GOALS["stall_ms"],
          f"median of {runs} runs; worst run {maxima[-1]:.0f} ms; job {np.median([w[1] for w in worst]):.2f} s")


def _settle(app, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def learned_bundle(folder: Path) -> str | None:
    """A random ULDM bundle of the shipped default's size (weights do not change the timing), or None when
    the learned pipeline (torch, diffusers) is not installed."""
    try:
        import torch

        from hsi_studio.core.ml.models import RGBLDM, ULDM, SpeUAE, save_uldm
        from hsi_studio.core.spectral.responses import camera_response
    except ImportError:
        return None
    torch.manual_seed(0)
    path = folder / "bench-uldm"
    save_uldm(ULDM.from_base(RGBLDM.create(), SpeUAE.from_response(camera_response())).eval(), path)
    return str(path)


def _stall_once(app, size: int, model: str, options: dict | None = None) -> tuple[float, float]:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from hsi_studio.core.cube import RGBImage
    from hsi_studio.services.files import preview_render

    cube = synthetic_cube(size)
    rgb = RGBImage(preview_render(cube).astype(np.float32) / 255, "srgb")
    win = _window()
    win.set_rgb(rgb)
    _settle(app)  # the window's first layout and paint are not part of the reconstruction
    dock = win.dock
    if Path(model).is_dir():
        dock.choose_models_folder(str(Path(model).parent))
    dock.model.setCurrentIndex(dock.model.findData(model))
    for name, value in (options or {}).items():
        getattr(dock, name).setValue(value)
    if (options or {}) and dock.device.findData("cpu") >= 0:
        dock.device.setCurrentIndex(dock.device.findData("cpu"))
    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(5)

    def tick():
        gaps.append(clock.restart())

    probe.timeout.connect(tick)
    done = []
    dock.result_ready.connect(lambda r: done.append(r))
    dock.job_failed.connect(lambda m, d: done.append(m))
    clock.start()
    probe.start()
    t0 = time.perf_counter()
    dock.run()
    while not done:
        app.processEvents()
        time.sleep(0.001)
    t_job = time.perf_counter() - t0
    end = time.perf_counter() + 0.3  # the cube is shown after the job: keep probing through that
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    probe.stop()
    stalls = np.maximum(np.array(gaps[1:], dtype=float) - probe.interval(), 0)
    if isinstance(done[0], str):
        print("  reconstruction failed:", done[0])
    win.close()
    return float(stalls.max()), t_job


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeat", type=int, default=3, help="launches to time")
    p.add_argument("--model", action="append", help="reconstruction model(s) for the stall probe "
                   "(default: physics:otsu2018 and physics:mallett2019)")
    p.add_argument("--no-learned", action="store_true", help="skip the stall probe with a learned model")
    args = p.parse_args(argv)
    bench_launch(args.repeat)
    from hsi_studio.gui.app import create_application

    app = create_application()
    bench_band_switch(app, args.size)
    bench_relight(app, args.size)
    for model in args.model or ["physics:otsu2018", "physics:mallett2019"]:
        bench_stall(app, args.size, model)
    if not args.no_learned:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            bundle = learned_bundle(Path(tmp))
            if bundle is None:
                print("event-loop stall, learned model: skipped (torch / diffusers not installed)")
            else:
                bench_stall(app, args.size, bundle, runs=1, options={"steps": 4, "samples": 1},
                            label="learned, 4 steps")
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
