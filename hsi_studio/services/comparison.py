"""Comparing a cube with a ground truth or another reconstruction: scores and per-pixel error maps (no torch:
the Compare view is on the viewing path)."""

from __future__ import annotations

from typing import Any

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress


def compare(pred: HSCube, gt: HSCube, progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> dict[str, Any]:
    """Scalar metrics (``metrics.evaluate``) and per-pixel maps (``metrics.error_maps``)."""
    from hsi_studio.core import metrics

    if pred.shape[:2] != gt.shape[:2]:
        raise InputError(f"ground truth is {gt.height}×{gt.width} but the cube is {pred.height}×{pred.width}; "
                         "expected the same image size")
    progress(0.1, "error maps")
    maps = metrics.error_maps(pred, gt)
    cancel.check()
    progress(0.5, "metrics")
    scores = metrics.evaluate(pred, gt)
    return {"metrics": scores, "maps": maps}


__all__ = ["compare"]
