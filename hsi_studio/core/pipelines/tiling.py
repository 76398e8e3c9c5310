"""Overlapping tiles blended with linear ramps, for images too large to run at once (numpy only)."""

from __future__ import annotations

import numpy as np


def _tiles(h: int, w: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    step = max(tile - overlap, 8)
    tops = list(range(0, max(h - tile, 0) + 1, step)) or [0]
    lefts = list(range(0, max(w - tile, 0) + 1, step)) or [0]
    if tops[-1] + tile < h:
        tops.append(h - tile)
    if lefts[-1] + tile < w:
        lefts.append(w - tile)
    return [(t, lft, min(tile, h), min(tile, w)) for t in tops for lft in lefts]


def _ramp(n: int, overlap: int) -> np.ndarray:
    r = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k > 0:
        edge = (np.arange(k, dtype=np.float32) + 0.5) / k
        r[:k], r[-k:] = edge, edge[::-1]
    return r


def run_tiled(fn, lin: np.ndarray, bands: int, tile: int, overlap: int, progress, cancel):
    """Apply ``fn(rgb_tile, progress) -> (mean, std|None)`` over overlapping tiles, blending with ramps."""
    h, w, _ = lin.shape
    if h <= tile and w <= tile:
        return fn(lin, progress)
    boxes = _tiles(h, w, tile, overlap)
    acc = np.zeros((h, w, bands), np.float32)
    acc_var = None
    weight = np.zeros((h, w, 1), np.float32)
    for i, (t, lft, th, tw) in enumerate(boxes):
        cancel.check()

        def sub(frac, msg="", i=i):
            progress((i + frac) / len(boxes), f"tile {i + 1}/{len(boxes)} {msg}".strip())

        mean, std = fn(lin[t : t + th, lft : lft + tw], sub)
        wgt = (_ramp(th, overlap)[:, None] * _ramp(tw, overlap)[None, :])[..., None]
        acc[t : t + th, lft : lft + tw] += mean * wgt
        if std is not None:
            acc_var = np.zeros_like(acc) if acc_var is None else acc_var
            acc_var[t : t + th, lft : lft + tw] += (std**2) * wgt
        weight[t : t + th, lft : lft + tw] += wgt
    mean = acc / weight
    std = None if acc_var is None else np.sqrt(acc_var / weight)
    return mean, std


__all__ = ["run_tiled"]
