"""The training engine shared by every stage (RGB pre-training, stage 1, stage 2), on Hugging Face Accelerate.

A *stage* (see :mod:`hsi_studio.core.ml.training.stages`) says what to build, how to compute the loss of a step, how to
validate and how to export the trained model; this module runs it: Accelerate (DDP on several GPUs/nodes,
``accelerate launch --cpu --num_processes 2`` with gloo), EMA (diffusers' ``EMAModel``), AdamW, a diffusers
learning-rate schedule with warm-up, gradient accumulation, mixed precision on GPU, validation every N steps,
pickle-free atomic checkpoints (keep last N + best), exact resume, progress / JSON-lines logging, cancel.

Exact resume: the data for optimiser step ``s``, micro-batch ``k`` on rank ``r`` is a pure function of
(seed, s, k, r) (the data layer's samplers are seeded that way), and the torch RNG is re-seeded from
(seed, s, r) at the start of every step, so a run stopped after step k and resumed equals an uninterrupted run.
The RNG states are saved in the checkpoint as well.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsi_studio.core import settings
from hsi_studio.core.errors import FileFormatError, InputError, OutputError, one_line
from hsi_studio.core.jobs import NEVER_CANCEL, Cancelled, CancelToken
from hsi_studio.core.ml import devices
from hsi_studio.core.ml.training.checkpoint import load_checkpoint, save_checkpoint, unflatten
from hsi_studio.core.ml.training.config import MAX_STEPS, TrainConfig, check_stage_settings
from hsi_studio.core.ml.training.config import show_value as _show
from hsi_studio.core.storage.atomic import (
    StaleTemporaryWarning,
    atomic_write,
    clean_stale_temporaries,
    safe_name,
)
from hsi_studio.core.storage.files import read_json
from hsi_studio.core.storage.provenance import library_versions, portable_config

WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                           errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG})
CKPT_DIR = "checkpoints"
MODEL_DIR = "model"


@dataclass
class TrainResult:
    out_dir: Path
    model_dir: Path | None
    step: int
    best: dict[str, Any] | None
    history: list[dict[str, Any]]
    weights_sha256: str


def weights_digest(module) -> str:
    """sha256 over every parameter and buffer (name-sorted) — identical weights give identical digests."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()


def _step_seed(seed: int, step: int, rank: int) -> int:
    return (int(seed) * 1_000_003 + int(step) * 7919 + int(rank) * 104_729) % (2**63 - 1)


def _check_state(state: Any, ckpt: Path, stage: str) -> None:
    """The JSON side of a checkpoint, by type and range, before anything is applied."""
    def bad(what: str) -> FileFormatError:
        return FileFormatError(f"checkpoint {ckpt.name}: {what}; expected a checkpoint written by HSI Studio",
                               path=str(ckpt))

    if not isinstance(state, dict):
        raise bad(f"its state is a {type(state).__name__}, not an object")
    if state.get("stage") != stage:
        raise InputError(f"checkpoint {ckpt.name} belongs to stage {_show(state.get('stage'))}; expected "
                         f"{stage!r}", path=str(ckpt))
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEPS:
        raise bad(f"'step' is {_show(step)}, not an integer from 0 to {MAX_STEPS:,}")
    for key in ("model", "optimizer", "scheduler", "rng"):
        if not isinstance(state.get(key), dict):
            raise bad(f"'{key}' is {type(state.get(key)).__name__}, not an object")
    for key in ("ema", "scaler", "best"):
        if state.get(key) is not None and not isinstance(state[key], dict):
            raise bad(f"'{key}' is {type(state[key]).__name__}, not an object or null")
    if not isinstance(state.get("history", []), list):
        raise bad("'history' is not a list")
    import torch

    if not isinstance(state["rng"].get("torch"), torch.Tensor):
        raise bad("the torch RNG state is missing")
    if not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise bad("the model state holds values that are not tensors")


def _check_shapes(opt, state: dict, ema) -> None:
    """Optimiser moments (and EMA weights) must have their parameters' shapes: ``load_state_dict`` does not
    check them, and a mismatch would only fail at the first step."""
    import torch

    for group in opt.param_groups:
        for p in group["params"]:
            for name, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() and value.shape != p.shape:
                    raise ValueError(f"optimizer {name} has shape {tuple(value.shape)} for a parameter of shape "
                                     f"{tuple(p.shape)}")
    shadow = (state.get("ema") or {}).get("shadow_params") if ema is not None else None
    if shadow is not None:
        params = [p for g in opt.param_groups for p in g["params"]]
        if not isinstance(shadow, list) or len(shadow) != len(params) or any(
                not isinstance(s, torch.Tensor) or s.shape != p.shape for s, p in zip(shadow, params, strict=False)):
            raise ValueError("EMA weights do not match the model's parameters")


PARTIAL_CKPT_RE = re.compile(r"\.step-\d+\.[a-z0-9_]{8}")  # partial checkpoints of earlier versions


def clean_partial_checkpoints(out_dir: Path) -> list[str]:
    """Remove hidden partial checkpoint folders left by a killed run (this version's and earlier ones');
    one line per removal, also issued as a warning."""
    folder = Path(out_dir) / CKPT_DIR
    if not folder.is_dir():
        return []
    done = clean_stale_temporaries(folder, warn=False)
    for p in folder.iterdir():
        if PARTIAL_CKPT_RE.fullmatch(p.name) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed partial checkpoint {p.name} (left by an interrupted run)")
    for line in done:
        warnings.warn(line, StaleTemporaryWarning, stacklevel=2)
    return done


def latest_checkpoint(out_dir: Path) -> Path | None:
    ckpts = sorted((out_dir / CKPT_DIR).glob("step-*"), key=lambda p: p.name)
    return ckpts[-1] if ckpts else None


def resume_seed(out_dir: str | Path, given: int | None) -> int | None:
    """The seed a resumed run must use: the one the last checkpoint in ``out_dir`` recorded (its
    ``state.json`` config). ``given`` (an explicit ``--seed`` or config seed, else None) must equal it — a
    resume with another seed would not be exact: :class:`InputError`. None when there is no checkpoint (the
    resume itself then says so)."""
    ckpt = latest_checkpoint(Path(out_dir))
    if ckpt is None:
        return given
    tree = read_json(ckpt / "state.json", f"checkpoint {ckpt.name} state.json", expect=object)
    try:
        cfg = unflatten(tree["__map__"]["config"], {})
        seed = cfg["seed"]
    except (KeyError, TypeError, FileFormatError):
        seed = None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise FileFormatError(f"checkpoint {ckpt.name} records no usable seed ({_show(seed)}); expected a "
                              "checkpoint written by HSI Studio", path=str(ckpt))
    if given is not None and int(given) != seed:
        raise InputError(f"--seed {given} differs from seed {seed}, which the run in {out_dir} was started with; "
                         "expected the same seed (or none: --resume uses the recorded one) so the resume is exact")
    return seed


class Trainer:
    """Runs one stage with a :class:`TrainConfig`. ``log`` receives one dict per event (JSON-able)."""

    def __init__(self, stage, cfg: TrainConfig, out_dir: str | Path, *, progress: Callable | None = None,
                 cancel: CancelToken | None = None, log: Callable[[dict], None] | None = None):
        self.stage, self.cfg, self.out_dir = stage, cfg, Path(out_dir)
        self.progress = progress or (lambda f, m="": None)
        self.cancel = cancel or NEVER_CANCEL
        self.log = log or (lambda rec: None)
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self._partials = 0

    # -- set-up ----------------------------------------------------------------------------------------------
    def _setup(self, resume: bool):
        import torch
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs
        from diffusers.optimization import get_scheduler
        from diffusers.training_utils import EMAModel

        cfg = self.cfg
        device = devices.resolve_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        self.acc = Accelerator(
            gradient_accumulation_steps=cfg.grad_accum,
            mixed_precision=devices.mixed_precision(cfg.mixed_precision, device),
            cpu=device == "cpu",
            step_scheduler_with_optimizer=False,
            kwargs_handlers=[DistributedDataParallelKwargs(
                find_unused_parameters=bool(getattr(self.stage, "find_unused_parameters", False)))],
        )
        torch.manual_seed(cfg.seed)
        try:
            built = self.stage.build(self.cfg)
        except InputError:
            raise
        except (ValueError, TypeError, RuntimeError, ZeroDivisionError, KeyError) as exc:
            raise InputError(f"stage {self.stage.name} cannot build its model from these settings "
                             f"({type(exc).__name__}: {one_line(exc, 160)}); expected valid stage settings") from None
        model = _loss_module(self.stage, built)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise InputError(f"stage {self.stage.name} has nothing to train; expected trainable parameters")
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = get_scheduler(cfg.lr_schedule, opt, num_warmup_steps=cfg.warmup_steps,
                              num_training_steps=cfg.steps)
        self.ema = EMAModel(params, decay=cfg.ema_decay) if cfg.ema else None
        self.step = 0
        if resume:
            self._restore(model, opt, sched)
        self.model, self.opt, self.sched = self.acc.prepare(model, opt, sched)
        if self.ema is not None:
            self.ema.to(self.acc.device)
        self.params = params

    def _restore(self, model, opt, sched) -> None:
        import torch

        ckpt = latest_checkpoint(self.out_dir)
        if ckpt is None:
            removed = f" (removed {self._partials} partial one(s) left by an interrupted run)" if self._partials \
                else ""
            raise InputError(f"--resume: no checkpoint in {self.out_dir / CKPT_DIR}{removed}; expected a "
                             "previous run's output folder")
        state = load_checkpoint(ckpt)
        _check_state(state, ckpt, self.stage.name)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            _check_shapes(opt, state, self.ema)
            sched.load_state_dict(state["scheduler"])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.load_state_dict(state["ema"])
            torch.set_rng_state(state["rng"]["torch"])
            if torch.cuda.is_available() and state["rng"].get("cuda"):
                torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        except InputError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
            raise FileFormatError(f"checkpoint {ckpt.name} does not fit this stage's model and settings "
                                  f"({type(exc).__name__}: {one_line(exc, 160)}); expected a checkpoint of the same "
                                  "stage, model size and settings", path=str(ckpt)) from None
        self.step = state["step"]
        self.history = list(state.get("history") or [])
        self.best = state.get("best")
        self._scaler_state = state.get("scaler")
        self.log({"event": "resumed", "step": self.step, "checkpoint": str(ckpt)})

    # -- loop ------------------------------------------------------------------------------------------------
    def run(self, *, resume: bool = False) -> TrainResult:
        import torch

        self._scaler_state = None
        self._saved_step: int | None = None
        self._setup(resume)
        if self._scaler_state and self.acc.scaler is not None:
            self.acc.scaler.load_state_dict(self._scaler_state)
        cfg, acc = self.cfg, self.acc
        self.stage.prepare_data(cfg, rank=acc.process_index, world=acc.num_processes)
        t0, start_step = time.monotonic(), self.step
        self.log({"event": "start", "stage": self.stage.name, "step": self.step, "steps": cfg.steps,
                  "rank": acc.process_index})
        try:
            while self.step < cfg.steps:
                self.cancel.check()
                torch.manual_seed(_step_seed(cfg.seed, self.step, acc.process_index))
                loss = self._one_step()
                self.step += 1
                rec = self._record(loss, t0, start_step)
                if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                    rec["val"] = self._validate()
                self.history.append(rec)
                self.log({"event": "step", **rec})
                self.progress(self.step / cfg.steps, f"step {self.step}/{cfg.steps} loss {rec['loss']:.4g}")
                if self.step % cfg.ckpt_every == 0 and self.step < cfg.steps:
                    self.save_checkpoint()
        except Cancelled:
            if self._saved_step != self.step:  # a periodic checkpoint of this very step is not written twice
                self.save_checkpoint()
            self.log({"event": "cancelled", "step": self.step})
            raise
        self.save_checkpoint()
        model_dir = self._export()
        digest = weights_digest(acc.unwrap_model(self.model))
        self.log({"event": "done", "step": self.step, "rank": acc.process_index, "weights_sha256": digest,
                  "model": str(model_dir) if model_dir else None, "best": self.best})
        acc.wait_for_everyone()
        acc.end_training()
        return TrainResult(self.out_dir, model_dir, self.step, self.best, self.history, digest)

    def _one_step(self) -> float:
        cfg, acc = self.cfg, self.acc
        total = 0.0
        for k in range(cfg.grad_accum):
            with acc.accumulate(self.model):
                batch = self.stage.batch(self.step, k, acc.device)
                with acc.autocast():
                    loss = self.model(batch, self.step)  # through DDP's forward, so gradients sync
                acc.backward(loss)
                if acc.sync_gradients and cfg.max_grad_norm:
                    acc.clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.opt.step()
                self.opt.zero_grad(set_to_none=True)
            total += float(loss.detach()) / cfg.grad_accum
        self.sched.step()
        if self.ema is not None:
            self.ema.step(self.params)
        return float(acc.reduce(__import__("torch").tensor(total, device=acc.device), "mean"))

    def _record(self, loss: float, t0: float, start_step: int) -> dict[str, Any]:
        done = self.step - start_step
        rate = (time.monotonic() - t0) / max(done, 1)
        return {"step": self.step, "loss": loss, "lr": float(self.sched.get_last_lr()[0]),
                "eta_s": round(rate * (self.cfg.steps - self.step), 1),
                "phase": self.stage.phase(self.step - 1), "val": None}

    def _with_ema(self, fn):
        if self.ema is None:
            return fn()
        self.ema.store(self.params)
        self.ema.copy_to(self.params)
        try:
            return fn()
        finally:
            self.ema.restore(self.params)

    def _validate(self) -> dict[str, float] | None:
        import torch

        model = self.acc.unwrap_model(self.model).model
        model.eval()
        try:
            with torch.no_grad():
                val = self._with_ema(lambda: self.stage.validate(model, self.acc.device, self.step))
        finally:
            model.train()
        if val:
            key, phase = self.stage.best_metric, self.stage.phase(self.step - 1)
            better = (self.best is None or self.best.get("phase") != phase
                      or val[key] < self.best["val"][key])
            if better:
                self.best = {"step": self.step, "phase": phase, "val": val}
                if self.acc.is_main_process:
                    self._export(dest=self.out_dir / "best")
        return val

    # -- persistence -----------------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path | None:
        import torch

        acc = self.acc
        acc.wait_for_everyone()
        self._saved_step = self.step  # on every rank, so all of them skip (or make) the same saves
        if not acc.is_main_process:
            return None
        state = {
            "stage": self.stage.name,
            "step": self.step,
            "config": portable_config(self.cfg.to_dict()),
            "provenance": self._provenance(),
            "model": acc.unwrap_model(self.model).state_dict(),
            "optimizer": self.opt.optimizer.state_dict() if hasattr(self.opt, "optimizer") else
            self.opt.state_dict(),
            "scheduler": self.sched.scheduler.state_dict() if hasattr(self.sched, "scheduler") else
            self.sched.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "scaler": acc.scaler.state_dict() if acc.scaler is not None else None,
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "history": self.history,
            "best": self.best,
        }
        path = save_checkpoint(self.out_dir / CKPT_DIR / f"step-{self.step:08d}", state,
                               extra_manifest={"kind": "hsi-studio-checkpoint", "stage": self.stage.name})
        ckpts = sorted((self.out_dir / CKPT_DIR).glob("step-*"))
        for old in ckpts[: -self.cfg.keep_last]:
            shutil.rmtree(old, ignore_errors=True)
        self.log({"event": "checkpoint", "step": self.step, "path": str(path)})
        return path

    def _provenance(self) -> dict:
        """The stage's record of its inputs (``stage.provenance()``), or the library versions alone."""
        describe = getattr(self.stage, "provenance", None)
        return describe() if callable(describe) else {"libraries": library_versions()}

    def _export(self, dest: Path | None = None) -> Path | None:
        acc = self.acc
        if dest is None:
            acc.wait_for_everyone()
        if not acc.is_main_process:
            return None
        dest = dest or self.out_dir / MODEL_DIR
        model = acc.unwrap_model(self.model).model
        self._with_ema(lambda: self.stage.export(model, dest, self.cfg, self.best))
        return dest


def _loss_module(stage, model):
    """Wrap ``model`` so the stage's loss is computed in ``forward`` — DDP only synchronises gradients of
    work done through the wrapped module's forward."""
    import torch

    class StageModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, batch, step):
            return stage.loss(self.model, batch, step)

    return StageModule()


def run_training(stage, cfg: TrainConfig, out_dir: str | Path, *, resume: bool = False,
                 progress: Callable | None = None, cancel: CancelToken | None = None,
                 log: Callable[[dict], None] | None = None) -> TrainResult:
    """Train ``stage`` with ``cfg`` into ``out_dir`` (checkpoints/, best/, model/, config.json)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file; expected a folder (new or a previous run's) for the training output")
    try:
        out.mkdir(parents=True, exist_ok=True)
        partials = len(clean_partial_checkpoints(out)) if settings.is_local_main() else 0
        if not resume and latest_checkpoint(out) is not None:
            raise InputError(f"{out} already holds checkpoints; expected a new folder (or pass --resume)")
        if settings.is_local_main():
            with atomic_write(out / "config.json") as tmp:
                tmp.write_text(json.dumps({"stage_name": stage.name, **portable_config(cfg.to_dict())}, indent=2))
        trainer = Trainer(stage, cfg, out, progress=progress, cancel=cancel, log=log)
        trainer._partials = partials
        return trainer.run(resume=resume)
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        raise OutputError(f"cannot write the training output ({os.strerror(exc.errno)}"
                          f"{': ' + safe_name(exc.filename) if exc.filename else ''}); expected a writable folder "
                          "with free space (finished checkpoints are kept: --resume continues)", path=str(out)) \
            from None


__all__ = ["TrainConfig", "TrainResult", "Trainer", "check_stage_settings", "run_training", "weights_digest",
           "latest_checkpoint", "resume_seed"]
