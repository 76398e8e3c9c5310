"""Spectral analysis timings (issue 16) on a synthetic 512×512×31 cube.

* core: SAM map, SID map, library best match (24 ColorChecker spectra), k-means (k=8, 10 iterations), PCA (3),
  index map — median wall time of ``--repeat`` runs;
* GUI: the largest event-loop stall (a 5 ms QTimer probe, goal ≤ 50 ms) while the Analyse tab's k-means job runs
  (k=8, 10 iterations) and its class map is shown, offscreen Qt.

    OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen python benchmarks/analysis.py [--size 512] [--repeat 3] [--no-gui]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import median_seconds, synthetic_cube  # noqa: E402

STALL_GOAL_MS = 50.0


def bench_core(size: int, repeat: int) -> dict[str, float]:
    from hsi_studio.core.analysis import maps as an
    from hsi_studio.core.analysis.library import builtin_library

    cube = synthetic_cube(size)
    ref = cube.data[size // 3, size // 4].astype(np.float64)
    lib = builtin_library().on_grid(cube.wavelengths)[0]
    cases = {
        "SAM map": lambda: an.sam_map(cube, ref),
        "SAM map + mask (10°)": lambda: an.similarity_mask(an.sam_map(cube, ref), 10.0),
        "SID map": lambda: an.sid_map(cube, ref),
        f"library best match ({len(lib)} spectra)": lambda: an.best_match_map(cube, lib, 10.0),
        "k-means k=8, 10 iterations": lambda: an.kmeans(cube, 8, 10),
        "PCA, 3 components": lambda: an.pca(cube, 3),
        "index map (R650−R550)/(R650+R550)": lambda: an.index_map(cube, 650, 550),
    }
    out = {}
    for name, fn in cases.items():
        out[name] = median_seconds(fn, repeat)
        print(f"{name + f' {size}×{size}×{cube.bands}':<56} {out[name] * 1000:9.1f} ms")
    return out


def bench_gui_stall(size: int) -> tuple[float, float]:
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from hsi_studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(os.environ.get("TMPDIR", "/tmp")) / "hsi-bench-analysis.ini"),
                         QSettings.Format.IniFormat)
    settings.clear()
    win = MainWindow(settings, warm_up=False)
    win.resize(1400, 860)
    win.show()
    win.set_cube(synthetic_cube(size), name="bench")
    win.tabs.setCurrentIndex(3)
    _settle(app, 0.5)
    panel = win.analysis
    panel.k_spin.setValue(8)
    panel.iter_spin.setValue(10)
    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(lambda: gaps.append(clock.restart()))
    clock.start()
    probe.start()
    t0 = time.perf_counter()
    job = panel.run_kmeans()
    while job.outcome is None:
        app.processEvents()
        time.sleep(0.001)
    t_job = time.perf_counter() - t0
    _settle(app, 0.3)  # the class map and the class means are painted after the job
    probe.stop()
    stalls = np.maximum(np.array(gaps[1:], dtype=float) - probe.interval(), 0)
    win.close()
    return float(stalls.max()), t_job


def _settle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-gui", action="store_true", help="skip the GUI stall probe")
    args = p.parse_args(argv)
    bench_core(args.size, args.repeat)
    if not args.no_gui:
        worst = [bench_gui_stall(args.size) for _ in range(args.repeat)]
        stalls = sorted(s for s, _ in worst)
        median = stalls[len(stalls) // 2]
        ok = "ok" if median <= STALL_GOAL_MS else "OVER GOAL"
        print(f"{'GUI event-loop stall during k-means (k=8, 10 it.)':<56} {median:9.1f} ms (goal ≤ "
              f"{STALL_GOAL_MS:g} ms) {ok}  worst of each run: {', '.join(f'{s:.0f}' for s in stalls)} ms; "
              f"job {np.median([t for _, t in worst]):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
