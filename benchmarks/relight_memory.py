"""Peak memory of relighting a 12 MP cube the way the Relight panel does (issue 24, item 5).

Builds a 4000×3000×31 float32 radiance cube (1.5 GB) that records an sRGB camera response (so the panel
divides by its capture illuminant, D65), then runs the panel's render path without Qt — the core calls
``gui/relight/relight_panel.py`` makes: ``relight.render_uint8`` for the reference view and the relit view (the
capture illuminant folded into the render matrix: no reflectance cube is built) and ``relight.delta_e_map``
for the ΔE2000 map. Prints the peak RSS (``resource.getrusage``) after each step and its growth over the
cube, as a ratio to the cube's size. Goal: the whole path adds well under one cube (≤ 4 GiB in all for 12 MP).

    python benchmarks/relight_memory.py [--width 4000] [--height 3000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hsi_studio.core.cube import HSCube
from hsi_studio.core.spectral import relight
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def synthetic_cube(height: int, width: int) -> HSCube:
    """Smooth random spectra, filled row block by row block (no float64 temporary of the cube's size)."""
    rng = np.random.default_rng(0)
    bands = len(STANDARD_WAVELENGTHS)
    data = np.empty((height, width, bands), dtype=np.float32)
    basis = np.stack([np.ones(bands), np.linspace(0, 1, bands), np.linspace(0, 1, bands) ** 2]).astype(np.float32)
    for top in range(0, height, 256):
        rows = data[top:top + 256]
        coeffs = rng.random((rows.shape[0], width, 3), dtype=np.float32) * np.float32(0.4)
        np.matmul(coeffs, basis, out=rows)
    return HSCube(data, STANDARD_WAVELENGTHS, {"response": "cie1931-srgb"}, kind="radiance")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    args = ap.parse_args(argv)
    base = peak_mb()
    cube = synthetic_cube(args.height, args.width)
    cube_mb = cube.data.nbytes / 2**20
    with_cube = peak_mb()
    print(f"cube {args.width}×{args.height}×{cube.bands} float32: {cube_mb:.0f} MiB; peak RSS before "
          f"{base:.0f} MiB, with the cube {with_cube:.0f} MiB")
    capture = relight.default_capture_illuminant(cube)
    opts = {"observer": relight.view_observer(cube), "adapt": "bradford", "capture_illuminant": capture,
            "exposure": 1.0}
    steps = [
        ("reference view (D65)", lambda: relight.render_uint8(cube, "D65", **{**opts, "adapt": "none"})),
        ("relit view (A, Bradford)", lambda: relight.render_uint8(cube, "A", **opts)),
    ]
    views = []
    for name, fn in steps:
        t0 = time.perf_counter()
        views.append(fn())
        print(f"{name:28s} {time.perf_counter() - t0:6.2f} s   peak RSS {peak_mb():7.0f} MiB")
    t0 = time.perf_counter()
    de = relight.delta_e_map(views[1], views[0])
    print(f"{'ΔE2000 map':28s} {time.perf_counter() - t0:6.2f} s   peak RSS {peak_mb():7.0f} MiB  "
          f"(median ΔE {float(np.median(de)):.2f})")
    after = peak_mb()
    print(f"peak RSS after relighting {after:.0f} MiB = {after / cube_mb:.2f}× the cube; growth over the cube "
          f"{after - with_cube:.0f} MiB = {(after - with_cube) / cube_mb:.2f}× the cube "
          f"({'within' if after <= 4096 else 'over'} the 4 GiB goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
