"""Training — the use case of training a model, as ``hsi-studio train …`` and the training wizard run it: the
ULDM stages (``rgb-pretrain``, ``stage1``, ``stage2``) from a typed, merged configuration (preset < recipe JSON
< flags), the per-pixel regression and the fast model, the default validation split, and exact resume. The
engine, the stages and the typed settings are :mod:`hsi_studio.core.ml.training`'s; this module imports torch
only when a run starts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hsi_studio.core.ml.data.scenes import LIGHTINGS
from hsi_studio.core.ml.training.config import (
    STAGE_FLAGS,
    STAGES,
    TRAIN_FLAGS,
    RegressionSettings,
    RGBPretrainSettings,
    Stage1Settings,
    Stage2Settings,
    StageSettings,
    TrainConfig,
    UnknownSettingError,
    explicit_seed,
    resolve_stage_config,
    settings_class,
)
from hsi_studio.core.ml.training.fast_config import FastConfig, FastSettings


def default_config(stage: str, *, tiny: bool = False) -> TrainConfig:
    """A stage's preset (tiny: a few seconds, for tests and smoke runs)."""
    return TrainConfig.preset(stage, tiny=tiny)


def split_validation(items: list, fraction: float = 0.2):
    """(train, validation): the one train / validation rule of the training stages."""
    from hsi_studio.core.ml.data import split_validation as split

    return split(items, fraction)


def stage_config(stage: str, *, config: str | Path | None = None, flags: Mapping[str, Any] | None = None,
                 tiny: bool = False, resume_from: str | Path | None = None) -> TrainConfig:
    """A ULDM stage's settings (:func:`~hsi_studio.core.ml.training.config.resolve_stage_config`). With
    ``resume_from`` (a run folder), the seed that run recorded — an explicit different seed is refused — so the
    resume is exact."""
    cfg = resolve_stage_config(stage, config=config, flags=flags, tiny=tiny)
    if resume_from is not None:
        from hsi_studio.core.ml.training.engine import resume_seed

        recorded = resume_seed(resume_from, explicit_seed(config, (flags or {}).get("seed")))
        cfg.seed = cfg.seed if recorded is None else recorded
    return cfg


def train_stage(stage: str, cfg: TrainConfig, out: str | Path, *, resume: bool = False, cancel=None,
                log: Callable[[dict], None] | None = None, progress=None):
    """Train a ULDM stage into ``out`` (checkpoints/, best/, model/); the engine's result."""
    from hsi_studio.core.ml.training.engine import run_training
    from hsi_studio.core.ml.training.stages import make_stage

    return run_training(make_stage(stage, cfg), cfg, out, resume=resume, cancel=cancel, log=log, progress=progress)


def train_regression(settings: RegressionSettings, *, progress=None):
    """Fit a per-pixel baseline and write its bundle (see :func:`hsi_studio.core.ml.training.runs.run_regression`)."""
    from hsi_studio.core.ml.training.runs import run_regression

    return run_regression(settings, progress=progress)


def prepare_fast(settings: FastSettings):
    """A ``train fast`` run, its data read and model built; ``.fit(log=…, cancel=…)`` trains it."""
    from hsi_studio.core.ml.training.runs import prepare_fast as prepare

    return prepare(settings)


__all__ = ["LIGHTINGS", "STAGE_FLAGS", "STAGES", "TRAIN_FLAGS", "FastConfig", "FastSettings", "RGBPretrainSettings", "RegressionSettings",
           "Stage1Settings", "Stage2Settings", "StageSettings", "TrainConfig", "UnknownSettingError", "default_config",
           "explicit_seed", "prepare_fast", "resolve_stage_config", "settings_class", "split_validation",
           "stage_config", "train_regression", "train_stage"]
