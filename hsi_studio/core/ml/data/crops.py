"""Crops and augmentation shared by the photo and cube training sources (numpy only)."""

from __future__ import annotations

import numpy as np


def _rng(seed: int, *pos: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *[int(p) for p in pos]])


def augment(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random flips and 90° rotations of the first two axes (rotations by 90° only for square arrays).
    Apply it to a cube *before* projecting it to RGB and the pair stays aligned."""
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    if rng.random() < 0.5:
        arr = arr[::-1]
    k = int(rng.integers(4))
    return np.rot90(arr, k if arr.shape[0] == arr.shape[1] else 2 * (k % 2))


def random_crop(arr: np.ndarray, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random (h, w) window; an array smaller than that is reflect-padded first."""
    (h, w), (ah, aw) = hw, arr.shape[:2]
    if ah < h or aw < w:
        pad = [(0, max(h - ah, 0)), (0, max(w - aw, 0))] + [(0, 0)] * (arr.ndim - 2)
        arr = np.pad(arr, pad, mode="reflect" if min(ah, aw) > 1 else "edge")
        ah, aw = arr.shape[:2]
    top, left = int(rng.integers(ah - h + 1)), int(rng.integers(aw - w + 1))
    return arr[top : top + h, left : left + w]


__all__ = ["augment", "random_crop"]
