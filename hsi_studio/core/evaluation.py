"""Score reconstruction methods on cubes with known spectra: simulate the camera's RGB from each cube, run
every method on it, compare with the cube. Used by ``benchmarks/quality.py`` and the training wizard's finish
page.

Mallett 2019 and Otsu 2018 return reflectance that reproduces the RGB under D65; they are turned into the
radiance the camera saw by multiplying by D65 (normalised so a white reflector has Y = 1), which is the
illuminant their RGB→reflectance inversion assumes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import metrics
from .cube import HSCube, RGBImage
from .jobs import NEVER_CANCEL, CancelToken, ProgressTracker, no_progress
from .spectral import STANDARD_WAVELENGTHS, camera_response, simulate_rgb

BASELINES = ("physics:mallett2019", "physics:otsu2018", "physics:minnorm")


def d65_radiance() -> np.ndarray:
    """D65 on the standard grid, scaled so that a perfect white reflector has Y = 1."""
    from .relight import illuminant_spd
    from .spectral import xyz_response

    spd = illuminant_spd("D65", STANDARD_WAVELENGTHS)
    return spd / float(spd @ xyz_response(wavelengths=STANDARD_WAVELENGTHS, normalise=True)[:, 1])


def scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """MRAE, RMSE, PSNR (data range 1) and SAM over 400–700 nm, and the same over 410–700 nm (``_410``)."""
    out: dict[str, float] = {}
    for tag, sl in (("", slice(None)), ("_410", slice(1, None))):
        p, g = pred[..., sl], gt[..., sl]
        out |= {f"mrae{tag}": metrics.mrae(p, g), f"rmse{tag}": metrics.rmse(p, g),
                f"psnr{tag}": metrics.psnr(p, g, 1.0), f"sam{tag}": metrics.sam(p, g)}
    return out


def evaluate_cube(name: str, cube: HSCube, methods: Sequence[str], *, model: Any = "default", steps: int = 8,
                  samples: int = 1, response_name: str = "cie1964-srgb", device: str = "auto",
                  cancel: CancelToken = NEVER_CANCEL) -> list[dict]:
    """One row per method; ``"uldm"`` in ``methods`` means ``model`` (a bundle path, ``default`` or a model)."""
    from . import pipeline

    response = camera_response(response_name)
    sim = simulate_rgb(cube, response, exposure="max")
    gt = cube.data * sim.scale
    rgb = RGBImage(sim.rgb, "linear")
    rows, d65 = [], d65_radiance()
    for method in methods:
        cancel.check()
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = ({"steps": steps, "samples": samples, "device": device}
                                  if not method.startswith("physics:") else {})
        if method == "physics:minnorm":
            kwargs["response"] = response_name
        res = pipeline.reconstruct(rgb, model if method == "uldm" else method, cancel=cancel, **kwargs)
        pred = res.cube.data * d65 if res.cube.kind == "reflectance" else res.cube.data
        secs = time.perf_counter() - t0
        reproj = float(np.abs(pred @ response.matrix - sim.rgb).max() / max(float(sim.rgb.max()), 1e-9))
        rows.append({"cube": name, "method": method, "seconds": secs, "rgb_rel_err": reproj, **scores(pred, gt)})
    return rows


def evaluate(cubes: Sequence[tuple[str, HSCube]], *, model: Any = None, steps: int = 8, samples: int = 1,
             response_name: str = "cie1964-srgb", device: str = "auto", progress=no_progress,
             cancel: CancelToken = NEVER_CANCEL) -> list[dict]:
    """Every baseline (and the ULDM ``model`` when given) on every ``(name, cube)``."""
    methods = [*BASELINES, *(["uldm"] if model is not None else [])]
    tracker = ProgressTracker(len(cubes), progress, cancel)
    rows: list[dict] = []
    for name, cube in cubes:
        rows += evaluate_cube(name, cube, methods, model=model, steps=steps, samples=samples,
                              response_name=response_name, device=device, cancel=cancel)
        tracker.step(name)
    return rows


def summary(rows: Sequence[dict]) -> list[dict]:
    """Mean scores per method over the cubes, in the order the methods first appear."""
    order: list[str] = []
    for r in rows:
        if r["method"] not in order:
            order.append(r["method"])
    keys = [k for k in rows[0] if isinstance(rows[0][k], float)] if rows else []
    return [{"method": m, "cubes": sum(r["method"] == m for r in rows),
             **{k: float(np.mean([r[k] for r in rows if r["method"] == m])) for k in keys}} for m in order]


__all__ = ["BASELINES", "d65_radiance", "scores", "evaluate_cube", "evaluate", "summary"]
