"""Overlapping tiles blended with linear ramps, for images too large to run at once (numpy only).

:func:`run_tiled` assembles the whole H×W×B cube in memory — unless a *sink* is installed with
:func:`streaming`: then it keeps only one row of tiles (tile × W × B float32 accumulators), hands each finished
band of rows to ``sink(top, mean_rows, std_rows | None)`` from the top of the image to the bottom and returns
``(None, None)``. The streamed rows are bit-identical to the in-memory cube's: the same tiles are summed into
each pixel in the same order (issue 24: a 12 MP photo in bounded memory, written as it is reconstructed).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

# sink(top, mean rows (n, W, B) float32, std rows or None): installed by :func:`streaming` for this thread/context
EMIT_ROWS = 128  # rows per call of the sink
_SINK: contextvars.ContextVar[Callable | None] = contextvars.ContextVar("hsi_studio_tile_sink", default=None)


@contextmanager
def streaming(sink: Callable[[int, np.ndarray, np.ndarray | None], None]) -> Iterator[None]:
    """Within the block, :func:`run_tiled` streams its result to ``sink`` (in row order, each row once) and
    returns ``(None, None)`` instead of a cube."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


def streaming_active() -> bool:
    return _SINK.get() is not None


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
    """Apply ``fn(rgb_tile, progress) -> (mean, std|None)`` over overlapping tiles, blending with ramps; under
    :func:`streaming`, hand the result to the sink row band by row band and return ``(None, None)``."""
    h, w, _ = lin.shape
    sink = _SINK.get()
    if h <= tile and w <= tile:
        mean, std = fn(lin, progress)
        if sink is None:
            return mean, std
        sink(0, mean, std)
        return None, None
    boxes = _tiles(h, w, tile, overlap)
    if sink is not None:
        _run_streamed(fn, lin, bands, boxes, overlap, progress, cancel, sink)
        return None, None
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


def _run_streamed(fn, lin, bands, boxes, overlap, progress, cancel, sink) -> None:
    """:func:`run_tiled`'s loop over one row of tiles at a time: the accumulators cover the rows of the current
    row of tiles only; once a row of tiles is done, the rows above the next one are final and go to ``sink``."""
    h, w, _ = lin.shape
    th = boxes[0][2]  # every tile has the same height
    tops = sorted({b[0] for b in boxes})
    acc = np.zeros((th, w, bands), np.float32)
    acc_var: np.ndarray | None = None
    weight = np.zeros((th, w, 1), np.float32)
    base = 0  # the image row held in acc[0]
    i = 0
    for n_top, t in enumerate(tops):
        for box in (b for b in boxes if b[0] == t):
            _t, lft, _th, tw = box
            cancel.check()

            def sub(frac, msg="", i=i):
                progress((i + frac) / len(boxes), f"tile {i + 1}/{len(boxes)} {msg}".strip())

            mean, std = fn(lin[t : t + th, lft : lft + tw], sub)
            wgt = (_ramp(th, overlap)[:, None] * _ramp(tw, overlap)[None, :])[..., None]
            r = t - base
            acc[r : r + th, lft : lft + tw] += mean * wgt
            if std is not None:
                acc_var = np.zeros_like(acc) if acc_var is None else acc_var
                acc_var[r : r + th, lft : lft + tw] += (std**2) * wgt
            weight[r : r + th, lft : lft + tw] += wgt
            del mean, std
            i += 1
        done = (tops[n_top + 1] if n_top + 1 < len(tops) else h) - base  # rows no later tile touches
        for r0 in range(0, done, EMIT_ROWS):  # in short bands: the divisions' temporaries stay small
            r1 = min(r0 + EMIT_ROWS, done)
            sink(base + r0, acc[r0:r1] / weight[r0:r1],
                 None if acc_var is None else np.sqrt(acc_var[r0:r1] / weight[r0:r1]))
        for a in (acc, acc_var, weight):  # move the rows still open to the top, clear the rest
            if a is not None:
                keep = a.shape[0] - done
                a[:keep] = a[done:]
                a[keep:] = 0
        base += done


__all__ = ["EMIT_ROWS", "run_tiled", "streaming", "streaming_active"]
