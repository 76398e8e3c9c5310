"""Candidate charts for :func:`~hsi_studio.core.photo.chart_detect.detect_chart`: corner sets (working-image
pixels, order 1, 6, 24, 19) built from what colour-checker-detection's segmentation found — every 6×4 window of
the lattice its square swatches form (:func:`lattice_candidates`), its own chart quadrilaterals
(:func:`quad_candidates`) — and a candidate re-fitted to the swatches it covers (:func:`refine`). Scoring the
candidates is :mod:`.chart_detect`'s; OpenCV (``cv2``) is passed in by the caller."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from hsi_studio.core.photo.chart_grid import (
    COLS,
    HALF_PATCH,
    ROWS,
    apply_homography,
    homography,
    is_convex,
    patch_grid,
    signed_area,
)

_MAX_SWATCHES = 600


def lattice_candidates(swatches: np.ndarray, cv2) -> list[np.ndarray]:
    """Candidate corner sets (working pixels, order 1, 6, 24, 19) from the square swatches the segmentation
    found: link neighbours into a lattice, fit a homography lattice → image, take every 6×4 window."""
    sw = np.asarray(swatches, np.float64).reshape(-1, 4, 2)
    if len(sw) < 4:
        return []
    centre = sw.mean(axis=1)
    e1 = sw[:, 1] - sw[:, 0]
    e2 = sw[:, 2] - sw[:, 1]
    l1, l2 = np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1)
    keep = (l1 > 2) & (l2 > 2)
    if keep.sum() > _MAX_SWATCHES:  # a textured scene: keep the largest
        keep &= l1 * l2 >= np.sort(l1 * l2)[-_MAX_SWATCHES]
    centre, e1, e2, l1, l2 = centre[keep], e1[keep], e2[keep], l1[keep], l2[keep]
    n = len(centre)
    if n < 4:
        return []
    side = np.sqrt(l1 * l2)
    a1, a2 = e1 / l1[:, None], e2 / l2[:, None]
    d = centre[None, :, :] - centre[:, None, :]  # d[k, l] = c_l - c_k
    dist = np.linalg.norm(d, axis=2)
    msize = np.sqrt(side[:, None] * side[None, :])
    ratio = np.maximum(side[:, None], side[None, :]) / np.minimum(side[:, None], side[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        u = d / dist[..., None]
        cos1 = np.abs(np.einsum("klc,kc->kl", u, a1))
        cos2 = np.abs(np.einsum("klc,kc->kl", u, a2))
    aligned = np.maximum(cos1, cos2) > math.cos(math.radians(22))
    rel = dist / msize
    cand = aligned & (ratio < 1.6) & (rel > 0.9) & (rel < 1.9)
    np.fill_diagonal(cand, False)
    if not cand.any():
        return []
    nearest = np.where(cand, rel, np.inf).min(axis=1)
    rho = float(np.median(nearest[np.isfinite(nearest)]))  # pitch / side
    step = rel / rho
    near_int = np.abs(step - np.rint(step)) < 0.22
    links = aligned & (ratio < 1.6) & near_int & (np.rint(step) >= 1) & (np.rint(step) <= 2)
    np.fill_diagonal(links, False)
    links = links & links.T
    stepi = np.rint(step).astype(int)

    out: list[np.ndarray] = []
    seen = np.zeros(n, bool)
    order = np.argsort(-links.sum(axis=1))
    for seed in order:
        if seen[seed] or not links[seed].any():
            continue
        coords = {int(seed): (0, 0)}
        frames = {int(seed): (a1[seed], a2[seed])}
        queue = deque([int(seed)])
        seen[seed] = True
        while queue:
            k = queue.popleft()
            fa, fb = frames[k]
            ik, jk = coords[k]
            for m in np.flatnonzero(links[k]):
                m = int(m)
                if m in coords:
                    continue
                ca, cb = float(u[k, m] @ fa), float(u[k, m] @ fb)
                s = int(stepi[k, m])
                if abs(ca) >= abs(cb):
                    di, dj = (s if ca > 0 else -s), 0
                else:
                    di, dj = 0, (s if cb > 0 else -s)
                coords[m] = (ik + di, jk + dj)
                # the neighbour's own axes, labelled like ours
                best, bscore = None, -np.inf
                for pa, pb in ((a1[m], a2[m]), (a2[m], a1[m])):
                    for sa in (1, -1):
                        for sb in (1, -1):
                            sc = sa * float(pa @ fa) + sb * float(pb @ fb)
                            if sc > bscore:
                                best, bscore = (sa * pa, sb * pb), sc
                frames[m] = best
                seen[m] = True
                queue.append(m)
        if len(coords) < 5:
            continue
        idx = np.array(list(coords.keys()))
        lat = np.array([coords[i] for i in idx], np.float64)
        pts = centre[idx]
        if len(np.unique(lat[:, 0])) < 2 or len(np.unique(lat[:, 1])) < 2:
            continue
        thr = 0.3 * float(np.median(side[idx])) * rho
        hm, mask = cv2.findHomography(lat.astype(np.float32), pts.astype(np.float32), cv2.RANSAC, thr)
        if hm is None:
            continue
        inl = lat[mask.ravel().astype(bool)]
        if len(inl) < 5 or len(np.unique(inl[:, 0])) < 2 or len(np.unique(inl[:, 1])) < 2:
            continue
        # refit on the inliers by least squares
        inl_pts = pts[mask.ravel().astype(bool)]
        hm2, _ = cv2.findHomography(inl.astype(np.float32), inl_pts.astype(np.float32), 0)
        if hm2 is not None:
            hm = hm2
        out.extend(_windows(hm, inl))
    return out


def _windows(hm: np.ndarray, inl: np.ndarray) -> list[np.ndarray]:
    """Corner sets for every 6×4 (or 4×6) window of the lattice that covers the detected swatches as well as
    it can, in both 180°-related assignments, with the chart's handedness."""
    imin, imax = int(inl[:, 0].min()), int(inl[:, 0].max())
    jmin, jmax = int(inl[:, 1].min()), int(inl[:, 1].max())
    out = []
    for ni, nj in ((COLS, ROWS), (ROWS, COLS)):
        if imax - imin + 1 > ni + 2 or jmax - jmin + 1 > nj + 2:
            continue
        for i0 in range(min(imin, imax - ni + 1), max(imin, imax - ni + 1) + 1):
            for j0 in range(min(jmin, jmax - nj + 1), max(jmin, jmax - nj + 1) + 1):
                a, b = i0 - HALF_PATCH, i0 + ni - 1 + HALF_PATCH
                c, d = j0 - HALF_PATCH, j0 + nj - 1 + HALF_PATCH
                box = np.array([[a, c], [b, c], [b, d], [a, d]])  # lattice corners, cyclic
                q = apply_homography(hm, box)
                if signed_area(q) < 0:  # make it clockwise on screen (y down), as the chart reads
                    q = q[::-1]
                    box = box[::-1]
                # the first edge 1→6 must run along the 6-patch side
                long_first = (ni == COLS) == (abs(box[1, 0] - box[0, 0]) > abs(box[1, 1] - box[0, 1]))
                starts = (0, 2) if long_first else (1, 3)
                for s in starts:
                    out.append(np.roll(q, -s, axis=0))
    return out


def quad_candidates(quad: np.ndarray) -> list[np.ndarray]:
    """Corner sets from one of the library's chart quadrilaterals (cell boundaries: half a gap outside the
    patches), in its four cyclic orders (the scoring rejects the ones that do not fit)."""
    q = np.asarray(quad, np.float64).reshape(4, 2)
    if signed_area(q) < 0:
        q = q[::-1]
    if not is_convex(q):
        return []
    box = np.array([[0.5 - HALF_PATCH, 0.5 - HALF_PATCH], [COLS - 0.5 + HALF_PATCH, 0.5 - HALF_PATCH], [COLS - 0.5 + HALF_PATCH, ROWS - 0.5 + HALF_PATCH],
                    [0.5 - HALF_PATCH, ROWS - 0.5 + HALF_PATCH]])
    cells = np.array([[0, 0], [COLS, 0], [COLS, ROWS], [0, ROWS]], np.float64)
    return [apply_homography(homography(cells, np.roll(q, -s, axis=0)), box) for s in range(4)]


_LATTICE = np.stack(np.meshgrid(np.arange(COLS), np.arange(ROWS)), axis=-1).reshape(-1, 2).astype(np.float64)
_LATTICE_CORNERS = np.array(
    [[-HALF_PATCH, -HALF_PATCH], [COLS - 1 + HALF_PATCH, -HALF_PATCH], [COLS - 1 + HALF_PATCH, ROWS - 1 + HALF_PATCH], [-HALF_PATCH, ROWS - 1 + HALF_PATCH]]
)


def refine(q: np.ndarray, points: np.ndarray, cv2) -> np.ndarray | None:
    """``q`` re-fitted to the swatch centres ``points`` that fall within 0.3 pitch of a predicted patch centre
    (None when too few do)."""
    if len(points) < 6:
        return None
    for _ in range(2):
        centres, pitch = patch_grid(q)
        d = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
        nearest = d.argmin(axis=1)
        close = d[np.arange(len(points)), nearest] < 0.3 * pitch
        pairs: dict[int, int] = {}
        for k in np.flatnonzero(close):
            p = int(nearest[k])
            if p not in pairs or d[k, p] < d[pairs[p], p]:
                pairs[p] = int(k)
        if len(pairs) < 6:
            return None
        lat = _LATTICE[list(pairs)]
        if len(np.unique(lat[:, 0])) < 2 or len(np.unique(lat[:, 1])) < 2:
            return None
        hm, _ = cv2.findHomography(lat.astype(np.float32), points[list(pairs.values())].astype(np.float32), 0)
        if hm is None:
            return None
        q = apply_homography(hm, _LATTICE_CORNERS)
        if not is_convex(q):
            return None
    return q


__all__ = ["lattice_candidates", "quad_candidates", "refine"]
