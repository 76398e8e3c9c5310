"""Relighting and analytic-recovery speed.

Relighting a 512×512×31 float32 cube is reported as a ratio to ``cube.sum()`` of the same array, timed in the
same run (reading the cube once is the memory-read bound). Goal: ≤ 3×. Then pixels/second of each
training-free RGB → spectrum method on a 512×512 sRGB image (decode included).

    python benchmarks/relight.py [--size 512] [--repeat 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median_seconds

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.spectral import recovery, relight
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS

GOAL = 3.0


def _interleaved(fns: dict, repeat: int) -> dict:
    """Median ms of each function, the runs interleaved so that machine load affects all alike."""
    for fn in fns.values():
        fn()  # warm: caches, page faults, lookup tables
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) * 1e3 for name, t in times.items()}


def bench_relight(size: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    cube = HSCube(rng.random((size, size, 31), dtype=np.float32), STANDARD_WAVELENGTHS, kind="reflectance")
    relight.list_illuminants()  # import colour-science first: its import is not part of the matrix build
    t0 = time.perf_counter()
    relight.render_matrix(cube.wavelengths, "FL11", adapt="cat16")
    build_ms = (time.perf_counter() - t0) * 1e3
    fns = {
        "cube.sum()": lambda: cube.data.sum(),
        "render_uint8  D65, no adaptation": lambda: relight.render_uint8(cube, "D65"),
        "render_uint8  A, Bradford": lambda: relight.render_uint8(cube, "A", adapt="bradford"),
        "render_srgb   D65 (float32)": lambda: relight.render_srgb(cube, "D65"),
        "render_linear D65 (no clip/encode)": lambda: relight.render_linear(cube, "D65"),
    }
    ms = _interleaved(fns, repeat)
    base = ms.pop("cube.sum()")
    print(f"relight {size}×{size}×31 float32 ({cube.data.nbytes / 2**20:.0f} MiB), median of {repeat}:")
    print(f"  cube.sum() (memory-read bound)          {base:7.2f} ms")
    for name, value in ms.items():
        verdict = "ok" if value / base <= GOAL else "ABOVE GOAL"
        print(f"  {name:<38} {value:7.2f} ms = {value / base:4.2f}× cube.sum()  (goal ≤ {GOAL:g}×: {verdict})")
    print(f"  first use of an illuminant (matrix build via colour.sd_to_XYZ, then cached): {build_ms:.0f} ms")


def bench_recovery(size: int) -> None:
    rng = np.random.default_rng(1)
    rgb = RGBImage(rng.random((size, size, 3), dtype=np.float32))
    pixels = size * size
    print(f"training-free recovery, {size}×{size} sRGB → 31 bands (median of 3):")
    for method in recovery.METHODS:
        recovery.recover(RGBImage(rgb.data[:8]), method)  # warm the per-method tables
        ms = 1e3 * median_seconds(lambda m=method: recovery.recover(rgb, m), 3)
        print(f"  {method:<12} {ms:8.1f} ms  {pixels / ms * 1e3 / 1e6:6.2f} M pixels/s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    bench_relight(args.size, args.repeat)
    bench_recovery(args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
