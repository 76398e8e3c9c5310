"""Scoring a trained model: mean validation scores of the new model and every baseline, under the evaluation
protocol that matches how the model was trained."""

from __future__ import annotations

import json
from pathlib import Path

from hsi_studio.core.cube import centre_crop
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress

SCORE_CROP = 256  # validation cubes larger than this are centre-cropped to it
GENERATED_SCENES = 2  # scenes scored when there are no validation cubes (64 px each)
SHIPPED_DEFAULT = "shipped-default"  # the shipped default model's row in :func:`score_model`


def scoring_protocol(model: str | Path) -> str:
    """The evaluation protocol a trained bundle is scored with: ``photo`` when it was trained on cubes lit by
    D65 (the convention of white-balanced photos, ``stage.sim.light``), else ``camera`` (NTIRE 2022)."""
    try:
        stage = json.loads((Path(model) / "training.json").read_text())["training"]["stage"]
        light = (stage.get("sim") or {}).get("light")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        light = None
    return "photo" if isinstance(light, str) and light.upper() == "D65" else "camera"


def _is_default(model) -> bool:
    from hsi_studio.core.ml.reconstruct import default_model_path

    if str(model) == "default":
        return True
    try:
        return Path(model).resolve() == default_model_path().resolve()
    except (OSError, TypeError, ValueError):
        return False


def score_model(model: str, val_files: list[str], response: str, progress=no_progress,
                cancel: CancelToken = NEVER_CANCEL, lighting: str = "varied",
                shipped_default: bool = True) -> list[dict]:
    """Mean validation scores of the new model and every baseline (analytic and the shipped learned per-pixel
    regressions), under :func:`scoring_protocol` (generated scenes without cubes, lit as the model was
    trained); then, when it is installed (and ``shipped_default``), the shipped default model on the same cubes
    (method :data:`SHIPPED_DEFAULT`). Each summary row carries its ``protocol``."""
    from hsi_studio.core.ml.data import CubeFolder
    from hsi_studio.core.ml.data.scenes import SceneGenerator
    from hsi_studio.core.ml.evaluation import evaluate, summary
    from hsi_studio.services.models import default_installed

    if val_files:
        folder = CubeFolder.load(list(val_files))
        cubes = list(zip(folder.names, folder.cubes, strict=True))
    else:
        gen = SceneGenerator.default(seed=0, lighting=lighting)
        cubes = [(f"generated scene {i + 1}", gen.generate(10_000_000 + i, 64)) for i in range(GENERATED_SCENES)]
    cubes = [(name, centre_crop(cube, SCORE_CROP)) for name, cube in cubes]
    protocol = scoring_protocol(model)
    compare_default = shipped_default and default_installed() and not _is_default(model)
    split = 0.8 if compare_default else 1.0
    rows = evaluate(cubes, model=model, protocol=protocol, response_name=response, device="cpu",
                    progress=lambda f, m="": progress(f * split, m), cancel=cancel)
    out = summary(rows)
    if compare_default:  # the shipped default model on the same cubes, photos and protocol, beside the baselines
        ref = evaluate(cubes, model="default", methods=[], protocol=protocol, response_name=response, device="cpu",
                       progress=lambda f, m="": progress(split + f * (1 - split), m), cancel=cancel)
        out += [{**row, "method": SHIPPED_DEFAULT} for row in summary(ref)]
    return out


__all__ = ["SHIPPED_DEFAULT", "score_model", "scoring_protocol"]
