"""Comparing a cube with a ground truth or another reconstruction: scores and per-pixel error maps (no torch:
the Compare view is on the viewing path)."""

from __future__ import annotations

from typing import Any

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress

#: an exposure off by more than this factor (either way) gets a warning beside the scores
SCALE_WARNING = 1.1


def compare(pred: HSCube, gt: HSCube, progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> dict[str, Any]:
    """Scalar metrics (``metrics.evaluate``), per-pixel maps (``metrics.error_maps``), the same metrics after one
    exposure factor (``normalised``, with ``scale``: ``metrics.exposure_scale``), and ``warnings`` when the
    two cubes hold different quantities or exposures (what the raw scores then mostly measure)."""
    from hsi_studio.core.analysis import metrics

    if pred.shape[:2] != gt.shape[:2]:
        raise InputError(f"ground truth is {gt.height}×{gt.width} but the cube is {pred.height}×{pred.width}; "
                         "expected the same image size")
    progress(0.1, "error maps")
    maps = metrics.error_maps(pred, gt)
    cancel.check()
    progress(0.4, "metrics")
    scores = metrics.evaluate(pred, gt)
    cancel.check()
    progress(0.7, "exposure-normalised metrics")
    scale = metrics.exposure_scale(pred, gt)
    normalised = metrics.evaluate(pred.with_data(pred.data * scale), gt)
    return {"metrics": scores, "maps": maps, "scale": scale, "normalised": normalised,
            "warnings": comparison_warnings(pred, gt, scale)}


def comparison_warnings(pred: HSCube, gt: HSCube, scale: float) -> list[str]:
    """What makes raw scores misleading: different kinds (radiance against reflectance), an unknown kind, an
    exposure off by more than :data:`SCALE_WARNING`."""
    out = []
    if pred.kind != gt.kind:
        if "unknown" in (pred.kind, gt.kind):
            which = "the ground truth" if gt.kind == "unknown" else "the cube"
            out.append(f"the kind of {which} is unknown (cube: {pred.kind}, ground truth: {gt.kind}); the "
                       "scores assume both hold the same quantity")
        else:
            out.append(f"the cube holds {pred.kind} but the ground truth {gt.kind}: the scores compare different "
                       "quantities (View ▸ Show as reflectance, or a ground truth of the same kind)")
    if scale > SCALE_WARNING or scale < 1.0 / SCALE_WARNING:
        out.append(f"the exposures differ: the cube matches the ground truth best when scaled by ×{scale:.3g}, so "
                   "MRAE, RMSE and PSNR mostly measure exposure; see the exposure-normalised column")
    return out


__all__ = ["SCALE_WARNING", "compare", "comparison_warnings"]
