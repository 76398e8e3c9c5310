"""The settings of ``train fast`` (issue 21's fast model): :class:`FastConfig`, the fit (recorded in the run's
``training.json``), and :class:`FastSettings`, the whole run (data, folders, prior, resume) that makes it. Checked
where they are read, like the stages' in :mod:`.config`. No torch here: the CLI's ``--help`` reads these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.training.config import typed_from_dict


@dataclass
class FastConfig:
    """The fit of the fast model (:func:`hsi_studio.core.ml.training.fast_fit.fit_fast`); recorded in its
    ``training.json``."""

    steps: int = 3000
    minutes: float | None = None
    batch: int = 8
    crop: int = 64
    lr: float = 1e-3
    warmup: int = 50
    gain: tuple[float, float] = (0.5, 1.0)
    width: int = 32
    seed: int = 0
    save_minutes: float = 5.0
    light: str = "D65"
    generated: float = 0.0  #: share of crops drawn from the generated scenes (when there are any)
    scenes: int = 0  #: generated scenes made before training (recorded; the caller makes them)
    scene_size: int = 128
    cameras: float = 0.0  #: share of crops seen through a real training camera (data.source.camera_responses)
    sam_weight: float = 0.0  #: weight of the spectral-angle term (chord between unit spectra) beside the L1

    @classmethod
    def default(cls) -> FastConfig:
        return cls()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, path: str | Path | None = None) -> FastConfig:
        return typed_from_dict(cls, d, "fast model setting", path)


#: what a resumed fast run takes from the run it continues
FAST_RESUMED = ("batch", "crop", "lr", "warmup", "width", "seed", "light", "save_minutes", "generated", "scenes",
                "scene_size", "cameras", "sam_weight")


@dataclass
class FastSettings:
    """``train fast``: the run (data, validation files, run folder, prior or initial bundle, resume) and the fit's
    settings (:class:`FastConfig`, made by :meth:`fit_config`)."""

    data: str = ""
    out: str = ""
    val: list[str] | None = None
    prior: str | None = None
    init: str | None = None
    resume: bool = False
    steps: int | None = None
    minutes: float | None = None
    batch: int = 8
    crop: int = 64
    lr: float = 1e-3
    width: int = 32
    light: str = "D65"
    save_minutes: float = 5.0
    generated: float = 0.0
    scenes: int = 400
    scene_size: int = 128
    photos: str | None = None
    cameras: float = 0.0
    sam_weight: float = 0.0
    seed: int = 0
    threads: int = 1
    force: bool = False

    @classmethod
    def default(cls) -> FastSettings:
        return cls()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, path: str | Path | None = None) -> FastSettings:
        return typed_from_dict(cls, d, "fast model setting", path)

    def check(self) -> None:
        """The numbers and the run options, refused with one line before any work."""
        if self.threads < 1 or (self.steps is not None and self.steps < 1) or self.batch < 1 or self.crop < 8 \
                or self.crop % 4:
            raise InputError("--threads, --steps and --batch must be ≥ 1 and --crop a multiple of 4 (≥ 8)")
        if self.minutes is not None and self.minutes <= 0:
            raise InputError(f"--minutes {self.minutes}; expected a positive number")
        if not 0 <= self.sam_weight <= 100:
            raise InputError(f"--sam-weight {self.sam_weight}; expected a weight in [0, 100] (0: the L1 loss only)")
        if self.resume and self.init:
            raise InputError("--resume continues the run in --out; --init starts a new one: pass one of them")

    def check_scenes(self) -> None:
        if not 0 <= self.generated <= 1 or not 1 <= self.scenes <= 100_000 or not 16 <= self.scene_size <= 1024 \
                or not 0 <= self.cameras <= 1:
            raise InputError(f"--generated {self.generated}, --scenes {self.scenes}, --scene-size {self.scene_size}, "
                             f"--cameras {self.cameras}; expected shares in [0, 1], 1–100000 scenes of 16–1024 px")

    def fit_config(self) -> FastConfig:
        return FastConfig(steps=self.steps or 3000, minutes=self.minutes, batch=self.batch, crop=self.crop,
                          lr=self.lr, width=self.width, seed=self.seed, save_minutes=self.save_minutes,
                          light=self.light, generated=float(self.generated),
                          scenes=int(self.scenes) if self.generated else 0, scene_size=int(self.scene_size),
                          cameras=float(self.cameras), sam_weight=float(self.sam_weight))


__all__ = ["FAST_RESUMED", "FastConfig", "FastSettings"]
