"""The runs of ``train regression`` and ``train fast``: from their typed settings
(:class:`~.config.RegressionSettings`, :class:`~.config.FastSettings`) to a written bundle with its
``training.json`` — the data read, the prior or initial model loaded, a resumed run's settings taken back, the
fit run, and what it recorded. The command line only parses flags and prints (see
:mod:`hsi_studio.services.training`)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsi_studio.core.errors import InputError, OutputError
from hsi_studio.core.ml import devices
from hsi_studio.core.ml.training.config import RegressionSettings
from hsi_studio.core.ml.training.fast_config import FAST_RESUMED, FastConfig, FastSettings
from hsi_studio.core.storage.provenance import data_files, folder_hash, library_versions


# ---------------------------------------------------------------------------------------------------------
# train regression
# ---------------------------------------------------------------------------------------------------------
@dataclass
class RegressionResult:
    label: str
    cubes: int
    seconds: float
    out: Path


def run_regression(s: RegressionSettings, *, progress=None) -> RegressionResult:
    """Fit a per-pixel baseline on ``s.data`` (less the ``s.val`` files) and write its bundle to ``s.out``."""
    from hsi_studio.core.ml.data import CubeFolder, TrainingSource
    from hsi_studio.core.ml.models.bundle import save_regression
    from hsi_studio.core.ml.training.regression_fit import fit_regression
    from hsi_studio.core.spectral.responses import camera_response

    out = Path(s.out)
    if out.exists() and not s.force:
        raise OutputError(f"{out} already exists; expected a new folder (or pass --force to replace it)")
    s.check(os.cpu_count())
    devices.set_threads(s.threads)
    val = {Path(v).resolve() for v in s.val or ()}
    files = [f for f in CubeFolder(s.data).files if f.resolve() not in val]
    folder = CubeFolder.load(files)
    if not folder.cubes:
        raise InputError(f"{s.data} holds no readable cubes besides the validation files; expected HSI cubes")
    light = s.light_name
    s.check_generated()
    generator = None
    if s.generated:
        from hsi_studio.core.ml.data.scenes import SceneGenerator, folder_photos

        pics = folder_photos(s.photos)[0] if s.photos else None
        generator = SceneGenerator.default(seed=s.seed, photos=pics, lighting="flat")
    sim: dict = {"light": light} | ({"cameras": float(s.cameras)} if s.cameras else {})
    source = TrainingSource(folder.cubes, generator, float(s.generated), camera_response(s.response),
                            seed=s.seed, sim=sim, names=folder.names)
    t0 = time.monotonic()
    model = fit_regression(source, s.kind, degree=s.degree, hidden=s.hidden, steps=s.steps, batch=s.batch_pixels,
                           lr=s.lr, seed=s.seed, progress=progress)
    secs = time.monotonic() - t0
    record = {"kind": s.kind, "degree": s.degree, "hidden": s.hidden, "steps": s.steps,
              "batch_pixels": s.batch_pixels, "lr": s.lr, "seed": s.seed, "light": light,
              "response": s.response, "data": [Path(n).name for n in folder.names],
              "val_excluded": sorted(p.name for p in val), "fit_seconds": round(secs, 1),
              "generated": float(s.generated), "photos": s.photos}
    if s.cameras:
        record |= {"cameras": float(s.cameras), "camera_names": source.camera_names}
    provenance = {"libraries": library_versions(), "data": data_files(files), "val": data_files(s.val or ())}
    if generator is not None:
        provenance["generated"] = generator.provenance()
    save_regression(model, out, extra={"training": record, "provenance": provenance})
    return RegressionResult(model.label, len(folder.cubes), secs, out)


# ---------------------------------------------------------------------------------------------------------
# train fast
# ---------------------------------------------------------------------------------------------------------
@dataclass
class FastRun:
    """A prepared ``train fast`` run: its data read and its model built (from the prior, an initial bundle, or
    the saved run it resumes). :meth:`fit` trains and saves it."""

    settings: FastSettings
    cfg: FastConfig
    model: Any
    folder: Any
    files: list
    val: list
    pairs: list
    start: int = 0
    total: int | None = None
    state: Path | None = None
    prev: dict | None = None
    prev_prior: Any = None
    prior_from: str = ""
    resumed: bool = False
    extra_provenance: dict = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return Path(self.settings.out)

    @property
    def model_dir(self) -> Path:
        return self.out / "model"

    def _save(self, m, record, opt) -> None:
        from hsi_studio.core.ml.models.bundle import save_fast
        from hsi_studio.core.ml.training.fast_fit import save_state

        s, prev = self.settings, self.prev
        record = {**record, "kind": "fast", "prior_from": self.prior_from, "init": s.init,
                  "response": m.response.name, "data": [Path(n).name for n in self.folder.names],
                  "val_excluded": sorted(p.name for p in self.val),
                  "params": int(sum(p.numel() for p in m.spatial.parameters())),
                  "earlier": (prev or {}).get("earlier", []) + ([_short(prev)] if prev else [])}
        provenance = {"libraries": library_versions(), "data": data_files(self.files), "val": data_files(self.val)}
        provenance.update(self.extra_provenance)
        if self.prev_prior:
            provenance["prior"] = self.prev_prior
        elif not s.init:
            provenance["prior"] = {"path": self.prior_from, "manifest_sha256": folder_hash(self.prior_from)}
        save_fast(m, self.model_dir, extra={"training": record, "provenance": provenance})
        save_state(opt, m, self.out, {"steps_done": record["steps_done"], "steps": record["steps"]})

    def fit(self, *, log: Callable[[str], None], cancel: Callable[[], bool]) -> dict:
        """Train (saving every ``save_minutes``, when ``cancel()`` turns true, and at the end); the record."""
        from hsi_studio.core.ml.training.fast_fit import fit_fast

        self.out.mkdir(parents=True, exist_ok=True)
        generated, scene_info = generated_scenes(self.cfg, self.settings.photos, log)
        if scene_info:
            self.extra_provenance["generated"] = scene_info
        self.model, record = fit_fast(self.model, self.folder.cubes, self.cfg, val=self.pairs, generated=generated,
                                      start=self.start, total=self.total, state=self.state, save=self._save,
                                      log=log, cancel=cancel)
        return record


def prepare_fast(s: FastSettings) -> FastRun:
    """Check ``s``, read the data and build the model of a ``train fast`` run (nothing is trained yet)."""
    from hsi_studio.core.ml.data import CubeFolder
    from hsi_studio.core.ml.models.bundle import load_bundle
    from hsi_studio.core.ml.models.regression import PixelRegression
    from hsi_studio.core.ml.models.spatial import FastModel
    from hsi_studio.core.ml.reconstruct import models_dir
    from hsi_studio.core.ml.training.fast_fit import photo_pairs

    out = Path(s.out)
    model_dir = out / "model"
    s.check()
    if out.exists() and not (s.resume or s.force):
        raise OutputError(f"{out} already exists; expected a new folder (--resume to continue it, --force to "
                          "replace it)")
    if s.force and not s.resume and out.exists():
        shutil.rmtree(out)
    devices.set_threads(s.threads)

    val = [Path(v) for v in s.val or ()]
    val_set = {v.resolve() for v in val}
    files = [f for f in CubeFolder(s.data).files if f.resolve() not in val_set]
    folder = CubeFolder.load(files)
    if not folder.cubes:
        raise InputError(f"{s.data} holds no readable cubes besides the validation files; expected HSI cubes")
    val_cubes = CubeFolder.load(val) if val else None
    pairs = photo_pairs(list(zip([p.name for p in val], val_cubes.cubes, strict=True))) if val_cubes else []

    s.check_scenes()
    cfg = s.fit_config()
    run = FastRun(s, cfg, None, folder, files, val, pairs)
    if s.resume:
        meta_file = model_dir / "training.json"
        if not meta_file.is_file() or not (out / "state.safetensors").is_file():
            raise InputError(f"{out} has no saved run (model/ and state.safetensors); expected a `train fast` run")
        saved = json.loads(meta_file.read_text())
        run.prev, run.prev_prior = saved["training"], saved.get("provenance", {}).get("prior")
        run.model = _load_fast(load_bundle, model_dir, FastModel)
        for key in FAST_RESUMED:
            if key in run.prev:
                setattr(cfg, key, run.prev[key])
        cfg.gain = tuple(run.prev.get("gain", cfg.gain))
        cfg.minutes = None
        run.start, run.total, run.state = int(run.prev["steps_done"]), int(run.prev["steps"]), out
        if s.steps is not None:
            if s.steps <= run.start:
                raise InputError(f"--steps {s.steps}; expected more than the {run.start} steps already done")
            run.total = int(s.steps)
        cfg.steps = run.total
        run.resumed = True
    elif s.init:
        run.model = _load_fast(load_bundle, Path(s.init), FastModel)
        try:
            run.prev_prior = json.loads((Path(s.init) / "training.json").read_text())["provenance"]["prior"]
        except (OSError, ValueError, KeyError, TypeError):
            run.prev_prior = None
        cfg.width = int(run.model.spatial.config.width)
    else:
        prior_path = Path(s.prior) if s.prior else models_dir() / "mlp"
        prior = load_bundle(prior_path)
        if not isinstance(prior, PixelRegression):
            raise InputError(f"{prior_path} holds a {type(prior).__name__}; expected a PixelRegression bundle "
                             "(e.g. models/mlp)")
        devices.seed_torch(s.seed)  # the CNN's initial weights are a function of the seed
        run.model = FastModel.from_prior(prior, width=s.width)
    run.prior_from = str(s.init or (run.prev or {}).get("prior_from") or s.prior or "models/mlp")
    return run


def generated_scenes(cfg: FastConfig, photos: str | None, log):
    """``cfg.scenes`` generated reflectance scenes (seeded by ``cfg.seed``) and their provenance, or ``([], None)``."""
    from hsi_studio.core.ml.data.scenes import SceneGenerator, folder_photos

    if not cfg.generated:
        return [], None
    t0 = time.monotonic()
    pics, names = (None, None)
    if photos:
        pics, refused = folder_photos(photos)
        names = [f"{photos}: {i}" for i in range(len(pics))]
        if refused:
            log(f"{len(refused)} files in {photos} refused (not photos of ≥ 64 px)")
    gen = SceneGenerator.default(seed=cfg.seed, photos=pics, lighting="flat")
    if names:
        gen.photo_names = names
    scenes = [gen.generate(i, cfg.scene_size) for i in range(cfg.scenes)]
    log(f"{len(scenes)} generated scenes of {cfg.scene_size}² from {len(gen.photos)} photos and "
        f"{len(gen.reflectances)} reflectances in {time.monotonic() - t0:.1f} s")
    info = gen.provenance()
    info["photos"] = {"folder": photos or "scikit-image", "count": len(gen.photos)}
    return scenes, info


def _short(rec: dict) -> dict:
    return {k: rec.get(k) for k in ("steps", "steps_done", "start_step", "train_seconds", "crops_per_second")}


def _load_fast(load_bundle, path, fast_model):
    model = load_bundle(path)
    if not isinstance(model, fast_model):
        raise InputError(f"{path} holds a {type(model).__name__}; expected a fast model bundle (train fast's model/)")
    return model


__all__ = ["FastRun", "RegressionResult", "generated_scenes", "prepare_fast", "run_regression"]
