"""What the training wizard runs: the ``hsi-studio train …`` command lines for each stage, their config files
and output folders. Pure Python (no Qt, no torch), so the plan is easy to test and to repeat by hand."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

STAGE_LABELS = {"rgb-pretrain": "RGB pre-training", "stage1": "Stage 1 (SpeUAE)", "stage2": "Stage 2 (ULDM)"}
BASE_PROJECT, BASE_FOLDER, BASE_PRETRAIN = "project", "folder", "pretrain"
STOP_FILE = "STOP"
#: The crop multiple of the base that RGB pre-training creates before it exists on disk (core.models.base: a
#: VAE with 4 levels, 8×, and a UNet with 2 levels when tiny, 3 otherwise); read from its configs once it exists.
PRETRAIN_PAD_MULTIPLE = {True: 16, False: 32}


def cli_prefix() -> list[str]:
    """How to start ``hsi-studio`` as a subprocess: the frozen executable itself, or this Python with ``-m``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "hsi_studio"]


def camera_database(path: str | Path | None = None) -> tuple[str | None, str]:
    """The camspec database of real camera sensitivities that training through real cameras draws from:
    ``path``, else ``<shared data>/cameras/camspec_database.txt`` when there is one. Returns (the file or None,
    a line for the user: how many training cameras it holds, or what is wrong and what is expected)."""
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.ml.data.libraries import shared_data_dir
    from hsi_studio.core.spectral import cameras as cam

    if path is None:
        shared = shared_data_dir()
        found = shared / "cameras" / cam.CAMSPEC_FILE if shared is not None else None
        if found is None or not found.is_file():
            return None, (f"No camera database found: choose the camspec database ({cam.CAMSPEC_FILE}: camera "
                          "names, each followed by R, G and B lines of 31 sensitivities, 400–700 nm).")
        path = found
    try:
        cameras = cam.read_camspec(path)
    except InputError as exc:
        return None, str(exc)
    train = cam.split(cameras, "train")
    if not train:
        return None, f"{Path(path).name} holds only held-out cameras; expected training cameras too."
    n = len(train)
    return str(path), (f"{Path(path).name}: {n} training camera{'s' if n != 1 else ''} ({len(cameras) - n} held out "
                       "for testing, never trained on).")


def safe_name(name: str) -> str:
    """A model name usable as a folder name on every platform."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-")
    return cleaned[:64]


def folder_pad_multiple(folder: str | Path) -> int | None:
    """The multiple a base model folder needs its stage-2 crops to be (its VAE's × its UNet's downsampling),
    read from ``vae/config.json`` and ``unet/config.json`` without loading the model; None when unknown."""
    root = Path(folder)
    try:
        vae = json.loads((root / "vae" / "config.json").read_text())
        unet = json.loads((root / "unet" / "config.json").read_text())
        return 2 ** (len(vae["block_out_channels"]) - 1) * 2 ** (len(unet["block_out_channels"]) - 1)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def round_up(value: int, multiple: int) -> int:
    return max(multiple, -(-int(value) // multiple) * multiple)


def format_seconds(s: float | None) -> str:
    """A duration (an ETA) for people: ``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``; ``"—"`` when unknown."""
    if s is None or not math.isfinite(s):
        return "—"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


@dataclass
class StageRun:
    key: str  # rgb-pretrain | stage1 | stage2
    argv: list[str]  # arguments after ``hsi-studio``
    out: Path
    config: dict
    steps: int

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.key]

    @property
    def model(self) -> Path:
        return self.out / "model"

    def has_checkpoint(self) -> bool:
        ckpts = self.out / "checkpoints"
        return ckpts.is_dir() and any(p.name.startswith("step-") for p in ckpts.iterdir())

    def finished(self) -> bool:
        return (self.model / "manifest.json").is_file()


@dataclass
class TrainPlan:
    """Everything the wizard collected. ``stage1`` / ``stage2`` / ``rgb``: overrides of the stage defaults
    (steps, batch_size, crop, lr, and stage options such as ``spaae_steps``)."""

    out_root: Path
    name: str
    data: str | None = None
    val_files: list[str] = field(default_factory=list)
    generated: float = 0.5
    lighting: str = "varied"  # how generated scenes are lit (core.scenes.LIGHTINGS)
    response: str = "cie1964-srgb"
    cameras: float = 0.0  # share of stage-2 crops seen through a real camera (core.ml.data.source's sim option)
    camera_file: str | None = None  # the camspec database (None: the one in the shared data)
    base_mode: str = BASE_PROJECT
    base_folder: str | None = None
    photos: str | None = None  # folder of photos for RGB pre-training; None: the built-in photos
    device: str = "auto"
    threads: int | None = None
    tiny: bool = False
    rgb: dict = field(default_factory=dict)
    stage1: dict = field(default_factory=dict)
    stage2: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return Path(self.out_root) / "runs" / self.name

    @property
    def model_dir(self) -> Path:
        """Where the finished model is published (a folder the Reconstruct dock lists)."""
        return Path(self.out_root) / self.name

    @property
    def stop_file(self) -> Path:
        return self.run_dir / STOP_FILE

    def base_path(self) -> str:
        if self.base_mode == BASE_PRETRAIN:
            return str(self.run_dir / "rgb-pretrain" / "model")
        if self.base_mode == BASE_FOLDER:
            if not self.base_folder:
                raise ValueError("choose the base model folder")
            return str(self.base_folder)
        from hsi_studio.core.ml.reconstruct import default_model_path

        return str(default_model_path())

    def pad_multiple(self) -> int | None:
        """What the stage-2 crop must be a multiple of for the chosen base (None: not known yet)."""
        try:
            known = folder_pad_multiple(self.base_path())
        except ValueError:
            return None
        if known is None and self.base_mode == BASE_PRETRAIN:
            return PRETRAIN_PAD_MULTIPLE[bool(self.tiny)]
        return known

    def _config(self, key: str, overrides: dict) -> dict:
        from hsi_studio.services.training import default_config

        cfg = default_config(key, tiny=self.tiny).to_dict()
        stage_opts = dict(overrides.get("stage", {}))
        for k, v in overrides.items():
            if k != "stage" and v is not None:
                cfg[k] = v
        cfg["stage"].update({k: v for k, v in stage_opts.items() if v is not None})
        if cfg["stage"].get("spaae_steps") is not None:
            cfg["stage"]["spaae_steps"] = min(int(cfg["stage"]["spaae_steps"]), int(cfg["steps"]))
        if cfg["stage"].get("refine_steps"):  # the refiner's steps come after the SpaAE's
            room = int(cfg["steps"]) - int(cfg["stage"].get("spaae_steps") or 0)
            cfg["stage"]["refine_steps"] = max(0, min(int(cfg["stage"]["refine_steps"]), room))
        if cfg["stage"].get("head_steps"):  # the code head's steps are the very last ones
            room = (int(cfg["steps"]) - int(cfg["stage"].get("spaae_steps") or 0)
                    - int(cfg["stage"].get("refine_steps") or 0))
            cfg["stage"]["head_steps"] = max(0, min(int(cfg["stage"]["head_steps"]), room))
        if cfg["stage"].get("vae_steps") is not None:
            cfg["stage"]["vae_steps"] = min(int(cfg["stage"]["vae_steps"]), int(cfg["steps"]))
        cfg.pop("stage_name", None)
        return cfg

    def _common(self, key: str) -> list[str]:
        out = self.run_dir / key
        args = ["--out", str(out), "--config", str(self.run_dir / f"{key}.json"), "--jsonl",
                "--device", self.device, "--stop-file", str(self.stop_file)]
        if self.threads:
            args += ["--threads", str(self.threads)]
        if self.tiny:
            args.append("--tiny")
        return args

    def _data_args(self) -> list[str]:
        args: list[str] = []
        if self.data:
            args += ["--data", str(self.data)]
        if self.val_files:
            args += ["--val", *map(str, self.val_files)]
        args += ["--generated", f"{float(self.generated):g}", "--lighting", self.lighting]
        return args

    def stages(self) -> list[StageRun]:
        runs: list[StageRun] = []
        if self.base_mode == BASE_PRETRAIN:
            cfg = self._config("rgb-pretrain", self.rgb)
            src = ["--images", str(self.photos)] if self.photos else ["--builtin"]
            runs.append(StageRun("rgb-pretrain", ["train", "rgb-pretrain", *src, *self._common("rgb-pretrain")],
                                 self.run_dir / "rgb-pretrain", cfg, int(cfg["steps"])))
        cfg = self._config("stage1", self.stage1)
        runs.append(StageRun("stage1", ["train", "stage1", *self._data_args(), "--response", self.response,
                                        *self._common("stage1")], self.run_dir / "stage1", cfg, int(cfg["steps"])))
        cfg = self._config("stage2", self.stage2)
        if self.cameras > 0:
            sim = {**(cfg["stage"].get("sim") or {}), "cameras": float(self.cameras)}
            if self.camera_file:
                sim["camera_file"] = str(self.camera_file)
            cfg["stage"]["sim"] = sim
        runs.append(StageRun("stage2", ["train", "stage2", *self._data_args(), "--stage1",
                                        str(self.run_dir / "stage1" / "model"), "--base", self.base_path(),
                                        *self._common("stage2")], self.run_dir / "stage2", cfg, int(cfg["steps"])))
        return runs

    def write_configs(self) -> None:
        """Write each stage's config JSON and the plan itself (``plan.json``, with the command lines)."""
        from hsi_studio.core.storage.atomic import atomic_write

        self.run_dir.mkdir(parents=True, exist_ok=True)
        stages = self.stages()
        files = {f"{r.key}.json": r.config for r in stages}
        files["plan.json"] = {"name": self.name, "model": str(self.model_dir),
                              "commands": [["hsi-studio", *r.argv] for r in stages]}
        for name, content in files.items():
            with atomic_write(self.run_dir / name) as tmp:
                Path(tmp).write_text(json.dumps(content, indent=2))

    def command_text(self) -> str:
        """The command lines, as a user would type them."""
        import shlex

        return "\n".join(shlex.join(["hsi-studio", *r.argv]) for r in self.stages())


def weighted_progress(steps: list[int], index: int, step: int, elapsed_s: float, eta_s: float | None,
                      first_step: int = 0, finished_s: dict[int, float] | None = None) -> float:
    """The whole run's progress in [0, 1], weighted by time rather than by stage: stage ``index`` is at ``step``
    of ``steps[index]`` after ``elapsed_s`` seconds (it started, or resumed, at ``first_step``), with ``eta_s``
    to go (None: from its seconds per step). A stage finished in this session counts its measured seconds
    (``finished_s``); any other stage, before or after, its steps at this stage's seconds per step. So 4 quick
    stage-1 steps then step 3 of 150 of stage 2 read about 2 %, not 51 %."""
    finished_s = finished_s or {}
    per_step = elapsed_s / max(step - first_step, 1)
    remaining = eta_s if eta_s is not None and eta_s >= 0 else per_step * max(steps[index] - step, 0)
    seconds = [finished_s.get(i, n * per_step) for i, n in enumerate(steps)]
    done = sum(seconds[:index]) + per_step * max(step, 0)
    total = done + remaining + sum(seconds[index + 1:])
    return min(max(done / total, 0.0), 1.0) if total > 0 else 0.0


__all__ = ["TrainPlan", "StageRun", "camera_database", "cli_prefix", "safe_name", "folder_pad_multiple", "round_up", "format_seconds",
           "STAGE_LABELS", "BASE_PROJECT", "BASE_FOLDER", "BASE_PRETRAIN", "weighted_progress"]
