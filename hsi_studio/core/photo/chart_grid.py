"""The ColorChecker Classic 24's patch grid as geometry: 6 × 4 patches with a gap of a quarter patch between them,
placed in an image by a homography from the unit square onto the four outer grid corners (patches 1, 6, 24,
19). numpy only; shared by the detection (:mod:`.chart_detect`) and its candidate search
(:mod:`.chart_candidates`)."""

from __future__ import annotations

import numpy as np

COLS, ROWS = 6, 4
GAP = 0.25  # gap between patches as a fraction of the patch side
HALF_PATCH = 0.5 / (1 + GAP)  # half a patch side in pitch units (0.4)


def unit_centres() -> np.ndarray:
    """(24, 2) patch centres in the unit square whose corners are the outer grid corners 1, 6, 24, 19."""
    u = (np.arange(COLS) * (1 + GAP) + 0.5) / (COLS + (COLS - 1) * GAP)
    v = (np.arange(ROWS) * (1 + GAP) + 0.5) / (ROWS + (ROWS - 1) * GAP)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    return np.stack([uu.ravel(), vv.ravel()], axis=1)


UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3×3 homography mapping 4 points ``src`` onto ``dst`` (direct linear solve)."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for k, ((x, y), (u, v)) in enumerate(zip(src, dst, strict=True)):
        a[2 * k] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * k + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * k], b[2 * k + 1] = u, v
    return np.append(np.linalg.solve(a, b), 1.0).reshape(3, 3)


def apply_homography(hm: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.asarray(pts, np.float64) @ hm[:, :2].T + hm[:, 2]
    return p[:, :2] / p[:, 2:3]


def signed_area(q: np.ndarray) -> float:
    x, y = q[:, 0], q[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def is_convex(q: np.ndarray) -> bool:
    """True for a strictly convex, non-self-intersecting quadrilateral (either orientation)."""
    e = np.roll(q, -1, axis=0) - q
    cross = e[:, 0] * np.roll(e[:, 1], -1) - e[:, 1] * np.roll(e[:, 0], -1)
    scale = max(float(np.abs(e).max()), 1e-12) ** 2
    return bool(np.all(cross > 1e-6 * scale) or np.all(cross < -1e-6 * scale))


def patch_grid(corners: np.ndarray) -> tuple[np.ndarray, float]:
    """Patch centres for ``corners`` (order 1, 6, 24, 19) and the smallest local patch pitch in pixels."""
    hm = homography(UNIT_SQUARE, corners)
    c = apply_homography(hm, unit_centres())
    g = c.reshape(ROWS, COLS, 2)
    dx = np.linalg.norm(np.diff(g, axis=1), axis=2)
    dy = np.linalg.norm(np.diff(g, axis=0), axis=2)
    return c, float(min(dx.min(), dy.min()))


__all__ = ["COLS", "ROWS", "GAP", "HALF_PATCH", "UNIT_SQUARE", "apply_homography", "homography", "is_convex",
           "patch_grid", "signed_area", "unit_centres"]
