"""What the benchmarks share: a smooth synthetic test cube and a median timer."""

from __future__ import annotations

import time

import numpy as np


def synthetic_cube(size: int):
    """A size×size 31-band reflectance cube: smooth spatial-spectral waves plus a little noise (seeded)."""
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    bands = np.linspace(0, 1, STANDARD_WAVELENGTHS.size, dtype=np.float32)
    data = 0.5 + 0.4 * np.sin(6 * xx[..., None] + 4 * bands) * np.cos(5 * yy[..., None] - 3 * bands)
    data += np.random.default_rng(0).random(data.shape, dtype=np.float32) * 0.05
    return HSCube(data.astype(np.float32), STANDARD_WAVELENGTHS, kind="reflectance")


def median_seconds(fn, repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
