"""Typed training settings: what each training stage takes, checked where it is read, merged in one place.

- :class:`TrainConfig` — the settings every ULDM stage shares (steps, batch, crop, learning rate, EMA, device …)
  and ``stage``, the stage's own settings as a dict;
- one dataclass per stage: :class:`RGBPretrainSettings`, :class:`Stage1Settings`, :class:`Stage2Settings` (the
  ``stage`` dict of ``rgb-pretrain``, ``stage1``, ``stage2``), :class:`RegressionSettings` (``train regression``;
  ``train fast``'s are in :mod:`.fast_config`). Presets are class methods (``default()``, ``smoke()``,
  :meth:`TrainConfig.preset`); an unknown key is refused with the closest valid name
  (:class:`UnknownSettingError`: ``"hiden"`` → did you mean ``'hidden'``?);
- :func:`resolve_stage_config` — the one merge of a stage's settings: the preset, then the recipe JSON
  (``--config``: only the keys it names), then the command-line flags.

No torch here: the CLI's ``--help`` and the GUI's wizard read these.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from hsi_studio.core.errors import InputError, one_line
from hsi_studio.core.storage.files import read_json

# The diffusers learning-rate schedules that need nothing but warm-up and total steps.
LR_SCHEDULES = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial",
                "inverse_sqrt")
MAX_STEPS = 10**9
_INT_RANGES = {"steps": (1, MAX_STEPS), "batch_size": (1, 4096), "crop": (1, 4096), "warmup_steps": (0, MAX_STEPS),
               "grad_accum": (1, 1024), "val_every": (1, MAX_STEPS), "ckpt_every": (1, MAX_STEPS),
               "keep_last": (1, 1000), "seed": (0, 2**63 - 1), "threads": (0, 4096)}
_FLOAT_RANGES = {"lr": (0.0, 10.0, False), "weight_decay": (0.0, 10.0, False), "max_grad_norm": (0.0, 1e6, False),
                 "ema_decay": (0.0, 1.0, True)}


def show_value(value: Any) -> str:
    """A setting's value as shown in a message (repr, one line, at most 60 characters)."""
    return one_line(repr(value), 60)


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    want = {0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer ≥ {lo}") + f" up to {hi:,}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"training setting {name}={show_value(value)} ({type(value).__name__}); expected {want}")
    if not lo <= value <= hi:
        raise InputError(f"training setting {name}={value}; expected {want}")


def _check_float(name: str, value: Any, lo: float, hi: float, hi_open: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"training setting {name}={show_value(value)}; expected a finite number")
    if not (lo <= value < hi if hi_open else lo <= value <= hi):
        raise InputError(f"training setting {name}={value!r}; expected a number in [{lo:g}, {hi:g}"
                         f"{')' if hi_open else ']'}")


def check_stage_settings(stage: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Check a stage dict's values against the types of the stage's defaults: integers stay integers (≥ 1 for
    sizes — ``hidden``, ``layers``, ``*_crop`` — else ≥ 0), fractions in [0, 1], flags booleans, names
    strings. Keys without a default are left to the stage."""
    if not isinstance(stage, dict):
        raise InputError(f"training setting stage={show_value(stage)}; expected a JSON object of stage settings")
    for key, value in stage.items():
        if key not in defaults:
            continue
        default, where = defaults[key], f"stage setting {key}={show_value(value)}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise InputError(f"{where}; expected true or false")
        elif isinstance(default, int):
            lo = 1 if key in ("hidden", "layers") or key.endswith("_crop") else 0
            hi = 4096 if key.endswith("_crop") or key in ("hidden", "layers") else MAX_STEPS
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InputError(f"{where}; expected an integer from {lo} to {hi:,}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise InputError(f"{where}; expected a number from 0 to 1")
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise InputError(f"{where}; expected a string")
        elif default is None and not (value is None or isinstance(value, (str, list))):
            raise InputError(f"{where}; expected a path (a string), a list of paths, or null")


@dataclass
class TrainConfig:
    """Settings common to every stage. Stage-specific settings live in ``stage``: the dict of the stage's typed
    settings (:class:`StageSettings`; :func:`resolve_stage_config` checks it against the stage's dataclass), the
    form the stages read and ``config.json`` / ``training.json`` record."""

    steps: int = 1000
    batch_size: int = 8
    crop: int = 64
    lr: float = 2e-4
    weight_decay: float = 1e-4
    lr_schedule: str = "cosine"  # any diffusers.optimization scheduler name
    warmup_steps: int = 50
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    ema_decay: float = 0.999
    ema: bool = True
    mixed_precision: str = "auto"  # auto: bf16/fp16 on CUDA, no on CPU (bf16 on CPU is ~20× slower here)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    val_every: int = 200
    ckpt_every: int = 200
    keep_last: int = 2
    seed: int = 0
    threads: int = 0  # torch intra-op threads on CPU (0 = torch default)
    stage: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        if not isinstance(d, dict):
            raise InputError(f"training settings are a {type(d).__name__}; expected a JSON object")
        refuse_unknown(d, [f.name for f in fields(cls)], "training setting")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    @classmethod
    def read_json(cls, path: str | Path) -> dict[str, Any]:
        """The settings a JSON file names (and only those), each checked by type and range."""
        d = read_json(path, "training config", error=InputError)
        try:
            cls.from_dict({**cls().to_dict(), **d})  # type and range checks of the named keys
        except UnknownSettingError as exc:
            raise exc.at(path) from None
        except InputError as exc:
            raise InputError(one_line(exc), path=str(path)) from None
        return d

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict({**cls().to_dict(), **cls.read_json(path)})

    def validate(self) -> None:
        for name, (lo, hi) in _INT_RANGES.items():
            _check_int(name, getattr(self, name), lo, hi)
        for name, (lo, hi, hi_open) in _FLOAT_RANGES.items():
            _check_float(name, getattr(self, name), lo, hi, hi_open)
        if not (self.lr > 0):
            raise InputError(f"training setting lr={self.lr!r}; expected a positive number")
        if not isinstance(self.ema, bool):
            raise InputError(f"training setting ema={self.ema!r}; expected true or false")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"training setting lr_schedule={show_value(self.lr_schedule)}; expected one of "
                             f"{', '.join(LR_SCHEDULES)}")
        if self.mixed_precision not in ("auto", "no", "fp16", "bf16"):
            raise InputError(f"mixed_precision={show_value(self.mixed_precision)}; expected auto, no, fp16 or bf16")
        if not (isinstance(self.device, str) and re.fullmatch(r"auto|cpu|mps|cuda(:\d{1,3})?", self.device)):
            raise InputError(f"training setting device={show_value(self.device)}; expected auto, cpu, cuda, cuda:N "
                             "or mps")
        if not isinstance(self.stage, dict):
            raise InputError(f"training setting stage={show_value(self.stage)}; expected a JSON object of stage "
                             "settings")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def preset(cls, stage: str, *, tiny: bool = False) -> TrainConfig:
        """Settings that work out of the box on a 2-core CPU (tiny: a few seconds, for tests and smoke runs)."""
        kind = settings_class(stage)
        cfg = cls(**kind.TRAIN, stage=kind.preset(tiny=tiny).to_dict())
        if tiny:
            for name, value in kind.TINY_TRAIN.items():
                setattr(cfg, name, value)
            cfg.val_every = cfg.ckpt_every = 2
            cfg.warmup_steps = 1
        return cfg


# ---------------------------------------------------------------------------------------------------------
# Unknown keys
# ---------------------------------------------------------------------------------------------------------
def closest_name(key: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to ``key`` (difflib), or None when none is close."""
    found = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=0.6)
    return found[0] if found else None


class UnknownSettingError(InputError):
    """A setting the stage does not have (a typo such as ``"hiden"``); the message names the closest valid one."""

    def __init__(self, key: Any, valid: Iterable[str], what: str, *, path: str | Path | None = None):
        self.key, self.valid, self.what = str(key), tuple(valid), what
        self.suggestion = closest_name(self.key, self.valid)
        hint = f"; did you mean {self.suggestion!r}?" if self.suggestion else ";"
        super().__init__(f"unknown {what} {self.key!r}{hint} expected one of {', '.join(self.valid)}",
                         path=None if path is None else str(path))

    def at(self, path: str | Path) -> UnknownSettingError:
        """The same error, naming the file it came from."""
        return UnknownSettingError(self.key, self.valid, self.what, path=path)


def refuse_unknown(d: Mapping[str, Any], valid: Iterable[str], what: str, *, path: str | Path | None = None) -> None:
    """Raise :class:`UnknownSettingError` for the first key of ``d`` that is not in ``valid``."""
    valid = tuple(valid)
    for key in d:
        if key not in valid:
            raise UnknownSettingError(key, valid, what, path=path)


# ---------------------------------------------------------------------------------------------------------
# The stages' own settings (TrainConfig.stage)
# ---------------------------------------------------------------------------------------------------------
@dataclass
class StageSettings:
    """The settings of one training stage. Fields named in ``OPTIONAL`` have no default: they are part of the
    stage's dict only once set (a recipe's ``val_crop``, ``--light``'s ``sim``), in the order they were set."""

    STAGE: ClassVar[str] = ""
    OPTIONAL: ClassVar[tuple[str, ...]] = ()
    TRAIN: ClassVar[dict[str, Any]] = {}  # the stage's TrainConfig defaults
    TINY_TRAIN: ClassVar[dict[str, Any]] = {}  # … and their tiny preset
    TINY: ClassVar[dict[str, Any]] = {}  # the stage settings of the tiny preset

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if not f.name.startswith("_"))

    @classmethod
    def preset(cls, *, tiny: bool = False) -> StageSettings:
        settings = cls(tiny=tiny)  # type: ignore[call-arg]  (every stage has ``tiny``)
        return settings.replaced(cls.TINY) if tiny else settings

    @classmethod
    def default(cls) -> StageSettings:
        """The settings that work out of the box on a 2-core CPU."""
        return cls.preset()

    @classmethod
    def smoke(cls) -> StageSettings:
        """Tiny settings: a run of a few seconds, for tests and smoke runs."""
        return cls.preset(tiny=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, tiny: bool = False, path: str | Path | None = None) -> StageSettings:
        """The preset with ``d``'s keys (checked) on top."""
        return cls.preset(tiny=tiny).merged(d, path=path)

    def merged(self, d: Mapping[str, Any], *, path: str | Path | None = None) -> StageSettings:
        """These settings with ``d``'s keys on top: an unknown key is refused with the closest valid name, each
        value is checked against the type of this stage's default (see :func:`check_stage_settings`)."""
        if not isinstance(d, Mapping):
            raise InputError(f"training setting stage={show_value(d)}; expected a JSON object of stage settings")
        refuse_unknown(d, self.names(), f"{self.STAGE} setting", path=path)
        check_stage_settings(dict(d), self.to_dict())
        for key, value in d.items():
            if key in self.OPTIONAL:
                _check_optional(key, value)
        return self.replaced(d)

    def replaced(self, d: Mapping[str, Any]) -> StageSettings:
        """A copy with ``d``'s keys set, unchecked (the command-line flags, already parsed)."""
        refuse_unknown(d, self.names(), f"{self.STAGE} setting")
        kw = {name: getattr(self, name) for name in self.names()}
        kw.update(d)
        order = list(self._order) + [k for k in d if k in self.OPTIONAL and k not in self._order]
        return type(self)(**kw, _order=order)

    def to_dict(self) -> dict[str, Any]:
        """The stage dict (``TrainConfig.stage``): every field with a default, in order, then the optional ones that
        were set, in the order they were set."""
        out = {name: getattr(self, name) for name in self.names() if name not in self.OPTIONAL}
        out.update((name, getattr(self, name)) for name in self._order)
        return out


def _check_optional(key: str, value: Any) -> None:
    where = f"stage setting {key}={show_value(value)}"
    if key == "sim" and not isinstance(value, dict):
        raise InputError(f"{where}; expected a JSON object of RGB simulation options (e.g. {{\"light\": \"D65\"}})")
    if key == "val_crop" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096):
        raise InputError(f"{where}; expected an integer from 1 to 4,096")
    if key == "refine_source" and not isinstance(value, str):
        raise InputError(f"{where}; expected a string")


@dataclass
class RGBPretrainSettings(StageSettings):
    """``rgb-pretrain``: the project's small RGB latent diffusion model, VAE first (``vae_steps`` on
    ``vae_crop`` crops), then its UNet; on a folder of photos (``images``) or scikit-image's (``builtin``)."""

    STAGE: ClassVar[str] = "rgb-pretrain"
    TRAIN: ClassVar[dict[str, Any]] = {"steps": 3000, "batch_size": 8, "crop": 128, "lr": 3e-4, "val_every": 250,
                                       "ckpt_every": 250, "ema_decay": 0.995}
    TINY_TRAIN: ClassVar[dict[str, Any]] = {"steps": 4, "crop": 32, "batch_size": 2}
    TINY: ClassVar[dict[str, Any]] = {"vae_steps": 2, "vae_crop": 32}

    vae_steps: int = 1500
    vae_crop: int = 64
    builtin: bool = False
    images: str | None = None
    tiny: bool = False
    _order: list[str] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Stage1Settings(StageSettings):
    """``stage1``: the SpeUAE on (cube, RGB) pairs of the ``data`` folder (+ generated scenes), through the camera
    ``response``."""

    STAGE: ClassVar[str] = "stage1"
    OPTIONAL: ClassVar[tuple[str, ...]] = ("sim", "val_crop")
    TRAIN: ClassVar[dict[str, Any]] = {"steps": 3000, "batch_size": 8, "crop": 32, "lr": 1e-3, "val_every": 250,
                                       "ckpt_every": 250}
    TINY_TRAIN: ClassVar[dict[str, Any]] = {"steps": 4, "crop": 8, "batch_size": 2}
    TINY: ClassVar[dict[str, Any]] = {"hidden": 8, "layers": 1}

    response: str = "cie1964-srgb"
    generated: float = 0.5
    lighting: str = "varied"
    data: str | None = None
    val: list[str] | None = None
    val_fraction: float = 0.2
    hidden: int = 64
    layers: int = 3
    spatial: bool = True
    code_pool: int = 0
    prior_weight: float = 0.0
    photos: str | None = None
    tiny: bool = False
    sim: dict[str, Any] | None = None  # RGB simulation options (``light``: the illuminant lighting the cubes)
    val_crop: int | None = None  # validation crop (the stage's default: 128)
    _order: list[str] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Stage2Settings(StageSettings):
    """``stage2``: the ULDM — from a stage-1 SpeUAE and an RGB base, or ``init`` (fine-tune a ULDM); ``mean``: a
    fast model whose spatial mean it corrects; SpaAE, diffusion and refiner phases."""

    STAGE: ClassVar[str] = "stage2"
    OPTIONAL: ClassVar[tuple[str, ...]] = ("sim", "refine_source")
    TRAIN: ClassVar[dict[str, Any]] = {"steps": 4000, "batch_size": 8, "crop": 64, "lr": 2e-4, "val_every": 500,
                                       "ckpt_every": 250}
    TINY_TRAIN: ClassVar[dict[str, Any]] = {"steps": 4, "crop": 16, "batch_size": 2}
    TINY: ClassVar[dict[str, Any]] = {"val_steps": 2, "val_crop": 16, "spaae_steps": 2,
                                      "refine_steps": 1}  # every phase runs (but head)

    generated: float = 0.5
    lighting: str = "varied"
    data: str | None = None
    val: list[str] | None = None
    val_fraction: float = 0.2
    stage1: str | None = None
    base: str | None = None
    init: str | None = None
    val_steps: int = 8
    val_crop: int = 64
    spaae_steps: int = 300
    refine_steps: int = 0
    head_steps: int = 0  # the last steps distil the SpaAE decoder into a latent-resolution code head
    spaae_crop: int = 64
    mean: str | None = None
    photos: str | None = None
    tiny: bool = False
    sim: dict[str, Any] | None = None
    refine_source: str | None = None  # the refiner's inputs (the stage's default: "samples")
    _order: list[str] = field(default_factory=list, repr=False, compare=False)


SETTINGS = {cls.STAGE: cls for cls in (RGBPretrainSettings, Stage1Settings, Stage2Settings)}
STAGES = tuple(SETTINGS)


def settings_class(stage: str) -> type[StageSettings]:
    cls = SETTINGS.get(stage)
    if cls is None:
        raise InputError(f"unknown training stage {stage!r}; expected one of {', '.join(STAGES)}")
    return cls


def stage_settings(stage: str, cfg: TrainConfig) -> StageSettings:
    """The typed view of ``cfg.stage`` for ``stage``."""
    cls = settings_class(stage)
    return cls.preset(tiny=bool(cfg.stage.get("tiny"))).replaced(cfg.stage)


# ---------------------------------------------------------------------------------------------------------
# The merge: preset < recipe JSON < command-line flags
# ---------------------------------------------------------------------------------------------------------
TRAIN_FLAGS = ("steps", "batch_size", "crop", "lr", "seed", "device", "threads")
POSITIVE_FLAGS = ("steps", "batch_size", "crop", "threads")
STAGE_FLAGS = ("images", "builtin", "data", "val", "response", "generated", "lighting", "stage1", "base", "init",
               "mean", "photos", "tiny")


def resolve_stage_config(stage: str, *, config: str | Path | None = None, flags: Mapping[str, Any] | None = None,
                         tiny: bool = False) -> TrainConfig:
    """A stage's settings, merged in this order: the preset (:meth:`TrainConfig.preset`, ``tiny`` or not), the
    keys the recipe JSON ``config`` names (checked; an unknown stage key is refused with the closest valid
    name), then the command-line ``flags`` that were given (None / False: not given): :data:`TRAIN_FLAGS`,
    :data:`STAGE_FLAGS` and ``light`` (the stage's ``sim.light``; ``none``: no light)."""
    flags = dict(flags or {})
    named = TrainConfig.read_json(config) if config else {}  # only the keys the file names
    base = TrainConfig.preset(stage, tiny=tiny).to_dict()
    settings = settings_class(stage).preset(tiny=tiny)
    if "stage" in named:
        settings = settings.merged(named["stage"], path=config)
    base.update({k: v for k, v in named.items() if k != "stage"})
    for name in POSITIVE_FLAGS:
        value = flags.get(name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} {value}; expected a positive integer")
    for name in TRAIN_FLAGS:
        if flags.get(name) is not None:
            base[name] = flags[name]
    settings = settings.replaced({k: flags[k] for k in STAGE_FLAGS if flags.get(k) not in (None, False)})
    if flags.get("light"):
        light = None if str(flags["light"]).lower() == "none" else flags["light"]
        settings = settings.replaced({"sim": {**(getattr(settings, "sim", None) or {}), "light": light}})
    base["stage"] = settings.to_dict()
    return TrainConfig.from_dict(base)


def explicit_seed(config: str | Path | None, seed: int | None) -> int | None:
    """The seed given on the command line or named in the recipe ``config`` (None: neither)."""
    if seed is not None:
        return int(seed)
    if config:
        named = TrainConfig.read_json(config)
        if "seed" in named:
            return int(named["seed"])
    return None


# ---------------------------------------------------------------------------------------------------------
# The per-pixel regression and the fast model (``train regression``, ``train fast``)
# ---------------------------------------------------------------------------------------------------------
MAX_BATCH_PIXELS = 1 << 22  # 4 Mi pixels a step: far above useful, far below what exhausts memory
MAX_LR = 10.0


def typed_from_dict(cls, d: Mapping[str, Any], what: str, path: str | Path | None = None):
    if not isinstance(d, Mapping):
        raise InputError(f"{what}s are a {type(d).__name__}; expected a JSON object")
    refuse_unknown(d, [f.name for f in fields(cls)], what, path=path)
    return cls(**d)


@dataclass
class RegressionSettings:
    """``train regression``: a per-pixel baseline — ``rootpoly`` (Lin & Finlayson 2020, ``degree``) or ``mlp``
    (``hidden`` units, ``steps`` of ``batch_pixels``) — fitted on the ``data`` cubes lit by ``light``."""

    data: str = ""
    out: str = ""
    val: list[str] | None = None
    kind: str = "rootpoly"
    degree: int = 2
    hidden: int = 128
    steps: int = 3000
    batch_pixels: int = 8192
    lr: float = 2e-3
    response: str = "cie1964-srgb"
    light: str = "D65"
    generated: float = 0.0
    photos: str | None = None
    cameras: float = 0.0
    seed: int = 0
    threads: int = 1
    force: bool = False

    @classmethod
    def default(cls) -> RegressionSettings:
        return cls()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, path: str | Path | None = None) -> RegressionSettings:
        return typed_from_dict(cls, d, "regression setting", path)

    def check(self, cpu_count: int | None) -> None:
        """The numbers, refused with one line before any work (``cpu_count``: this machine's cores)."""
        most = max(4 * (cpu_count or 1), 16)
        if not 1 <= self.threads <= most:
            raise InputError(f"--threads {self.threads}; expected 1 … {most} (this machine has {cpu_count} CPU "
                             "cores)")
        if self.steps < 1 or not 64 <= self.batch_pixels <= MAX_BATCH_PIXELS:
            raise InputError(f"--steps {self.steps}, --batch-pixels {self.batch_pixels}; expected steps ≥ 1 and "
                             f"batch pixels 64 … {MAX_BATCH_PIXELS:,}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= MAX_LR):
            raise InputError(f"--lr {self.lr:g}; expected a learning rate above 0 and at most {MAX_LR:g} (e.g. 2e-3)")

    def check_generated(self) -> None:
        if not 0 <= self.generated <= 1 or not 0 <= self.cameras <= 1:
            raise InputError(f"--generated {self.generated}, --cameras {self.cameras}; expected shares in [0, 1]")

    @property
    def light_name(self) -> str | None:
        """The illuminant lighting the cubes; None: ``none`` (the cubes are radiance)."""
        return None if str(self.light).lower() == "none" else self.light


__all__ = ["LR_SCHEDULES", "MAX_BATCH_PIXELS", "MAX_LR", "MAX_STEPS", "POSITIVE_FLAGS", "SETTINGS",
           "STAGES", "STAGE_FLAGS", "TRAIN_FLAGS", "RGBPretrainSettings",
           "RegressionSettings", "Stage1Settings", "Stage2Settings", "StageSettings", "TrainConfig",
           "UnknownSettingError", "check_stage_settings", "closest_name", "explicit_seed", "refuse_unknown",
           "resolve_stage_config", "settings_class", "show_value", "stage_settings", "typed_from_dict"]
