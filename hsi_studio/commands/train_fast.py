"""``hsi-studio train fast`` — train the fast model: a residual spatial U-Net over a per-pixel prior (issue 21).

Writes ``OUT/model/`` (a ``SpatialResidual`` bundle that ``reconstruct --model``, the Reconstruct dock and
Compare accept) every ``--save-minutes`` and at the end, with ``OUT/state.safetensors`` (Adam's state and the
step) beside it: ``--resume`` continues the same run from there; ``--init BUNDLE`` starts a new run (fresh
optimiser and schedule) from a trained fast bundle, e.g. ``models/fast`` when a run folder is lost. SIGINT /
SIGTERM save and exit 130. The training pairs are those of ``train regression --light D65`` (see
:mod:`hsi_studio.core.ml.training.fast_fit`).
"""

from __future__ import annotations

import argparse


def register(tsub: argparse._SubParsersAction) -> None:
    s = tsub.add_parser("fast", help="train the fast model: a residual spatial U-Net over the per-pixel MLP prior")
    s.add_argument("--data", required=True, help="folder of HSI cubes (any supported format), taken as reflectance")
    s.add_argument("--val", nargs="*", default=None,
                   help="cube files never trained on (even inside --data); scored (photo protocol) at each save")
    s.add_argument("--out", required=True, help="run folder: model/ (the bundle) and state.safetensors")
    s.add_argument("--prior", help="the per-pixel prior, a PixelRegression bundle (default: the shipped models/mlp)")
    s.add_argument("--init", help="start from a trained fast bundle (e.g. models/fast) instead of a zero residual")
    s.add_argument("--resume", action="store_true", help="continue the run in --out from its last save")
    s.add_argument("--steps", type=int, help="optimiser steps (default 3000); with --resume: a new end for the "
                   "cosine schedule (e.g. to finish sooner), recorded in training.json")
    s.add_argument("--minutes", type=float,
                   help="instead of --steps: as many steps as fit in this many minutes at the rate measured over the "
                        "first 30 (the number is printed and recorded; --steps N repeats the run)")
    s.add_argument("--batch", type=int, default=8, help="crops per step (default 8)")
    s.add_argument("--crop", type=int, default=64, help="crop size, a multiple of 4 (default 64)")
    s.add_argument("--lr", type=float, default=1e-3, help="Adam peak learning rate (default 1e-3, cosine decay)")
    s.add_argument("--width", type=int, default=32, help="U-Net channels at full resolution (default 32)")
    s.add_argument("--light", default="D65", help="illuminant lighting the cubes, taken as reflectance (default D65)")
    s.add_argument("--save-minutes", type=float, default=5.0, help="save the bundle this often (default 5)")
    s.add_argument("--generated", type=float, default=0.0,
                   help="share of crops from generated scenes: real photos' regions carrying measured reflectance "
                        "spectra, ColorChecker spectra excluded (0–1; default 0: the cubes only)")
    s.add_argument("--scenes", type=int, default=400, help="generated scenes made before training (default 400)")
    s.add_argument("--scene-size", type=int, default=128, help="side of a generated scene in px (default 128)")
    s.add_argument("--photos", help="folder of real photos for the generated scenes' layout (default: scikit-image's; "
                   "scripts/fetch_photos.py writes runs/photos)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    s.add_argument("--force", action="store_true", help="replace an existing run folder at --out")
    s.set_defaults(func=cmd_fast, stage="fast")


def cmd_fast(args) -> int:
    import json
    import shutil
    import signal
    import sys
    from pathlib import Path

    import torch

    from hsi_studio.core.errors import InputError, OutputError
    from hsi_studio.core.ml.data import CubeFolder
    from hsi_studio.core.ml.models.bundle import load_bundle, save_fast
    from hsi_studio.core.ml.models.regression import PixelRegression
    from hsi_studio.core.ml.models.spatial import FastModel
    from hsi_studio.core.ml.reconstruct import models_dir
    from hsi_studio.core.ml.training.fast_fit import FastConfig, fit_fast, photo_pairs, save_state
    from hsi_studio.core.storage.provenance import data_files, folder_hash, library_versions

    out = Path(args.out)
    model_dir = out / "model"
    if args.threads < 1 or (args.steps is not None and args.steps < 1) or args.batch < 1 or args.crop < 8 or args.crop % 4:
        raise InputError("--threads, --steps and --batch must be ≥ 1 and --crop a multiple of 4 (≥ 8)")
    if args.minutes is not None and args.minutes <= 0:
        raise InputError(f"--minutes {args.minutes}; expected a positive number")
    if args.resume and args.init:
        raise InputError("--resume continues the run in --out; --init starts a new one: pass one of them")
    if out.exists() and not (args.resume or args.force):
        raise OutputError(f"{out} already exists; expected a new folder (--resume to continue it, --force to "
                          "replace it)")
    if args.force and not args.resume and out.exists():
        shutil.rmtree(out)
    torch.set_num_threads(int(args.threads))

    val = [Path(v) for v in args.val or ()]
    val_set = {v.resolve() for v in val}
    files = [f for f in CubeFolder(args.data).files if f.resolve() not in val_set]
    folder = CubeFolder.load(files)
    if not folder.cubes:
        raise InputError(f"{args.data} holds no readable cubes besides the validation files; expected HSI cubes")
    val_cubes = CubeFolder.load(val) if val else None
    pairs = photo_pairs(list(zip([p.name for p in val], val_cubes.cubes, strict=True))) if val_cubes else []

    if not 0 <= args.generated <= 1 or not 1 <= args.scenes <= 100_000 or not 16 <= args.scene_size <= 1024:
        raise InputError(f"--generated {args.generated}, --scenes {args.scenes}, --scene-size {args.scene_size}; "
                         "expected a share in [0, 1], 1–100000 scenes of 16–1024 px")
    cfg = FastConfig(steps=args.steps or 3000, minutes=args.minutes, batch=args.batch, crop=args.crop, lr=args.lr,
                     width=args.width, seed=args.seed, save_minutes=args.save_minutes, light=args.light,
                     generated=float(args.generated), scenes=int(args.scenes) if args.generated else 0,
                     scene_size=int(args.scene_size))
    start, total, state, prev, prev_prior = 0, None, None, None, None
    if args.resume:
        meta_file = model_dir / "training.json"
        if not meta_file.is_file() or not (out / "state.safetensors").is_file():
            raise InputError(f"{out} has no saved run (model/ and state.safetensors); expected a `train fast` run")
        saved = json.loads(meta_file.read_text())
        prev, prev_prior = saved["training"], saved.get("provenance", {}).get("prior")
        model = _load_fast(load_bundle, model_dir)
        for key in ("batch", "crop", "lr", "warmup", "width", "seed", "light", "save_minutes", "generated", "scenes",
                    "scene_size"):
            if key in prev:
                setattr(cfg, key, prev[key])
        cfg.gain = tuple(prev.get("gain", cfg.gain))
        cfg.minutes = None
        start, total, state = int(prev["steps_done"]), int(prev["steps"]), out
        if args.steps is not None:
            if args.steps <= start:
                raise InputError(f"--steps {args.steps}; expected more than the {start} steps already done")
            total = int(args.steps)
        cfg.steps = total
        print(f"resuming {out} at step {start}/{total}")
    elif args.init:
        model = _load_fast(load_bundle, Path(args.init))
        try:
            prev_prior = json.loads((Path(args.init) / "training.json").read_text())["provenance"]["prior"]
        except (OSError, ValueError, KeyError, TypeError):
            prev_prior = None
        cfg.width = int(model.spatial.config.width)
    else:
        prior_path = Path(args.prior) if args.prior else models_dir() / "mlp"
        prior = load_bundle(prior_path)
        if not isinstance(prior, PixelRegression):
            raise InputError(f"{prior_path} holds a {type(prior).__name__}; expected a PixelRegression bundle "
                             "(e.g. models/mlp)")
        torch.manual_seed(int(args.seed))  # the CNN's initial weights are a function of the seed
        model = FastModel.from_prior(prior, width=args.width)
    prior_from = str(args.init or (prev or {}).get("prior_from") or args.prior or "models/mlp")

    def save(m, record, opt) -> None:
        record = {**record, "kind": "fast", "prior_from": prior_from, "init": args.init,
                  "response": m.response.name, "data": [Path(n).name for n in folder.names],
                  "val_excluded": sorted(p.name for p in val),
                  "params": int(sum(p.numel() for p in m.spatial.parameters())),
                  "earlier": (prev or {}).get("earlier", []) + ([_short(prev)] if prev else [])}
        provenance = {"libraries": library_versions(), "data": data_files(files), "val": data_files(val)}
        provenance.update(extra_provenance)
        if prev_prior:
            provenance["prior"] = prev_prior
        elif not args.init:
            provenance["prior"] = {"path": prior_from, "manifest_sha256": folder_hash(prior_from)}
        save_fast(m, model_dir, extra={"training": record, "provenance": provenance})
        save_state(opt, m, out, {"steps_done": record["steps_done"], "steps": record["steps"]})

    stop = {"now": False}
    extra_provenance: dict = {}

    def _stop(signum, frame):  # signal handler signature
        stop["now"] = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    generated, scene_info = _generated_scenes(cfg, args.photos, log)
    if scene_info:
        extra_provenance["generated"] = scene_info
    model, record = fit_fast(model, folder.cubes, cfg, val=pairs, generated=generated, start=start, total=total,
                             state=state, save=save, log=log, cancel=lambda: stop["now"])
    print(f"fast model: {record['steps_done']}/{record['steps']} steps in {record['train_seconds'] / 60:.1f} min "
          f"({record['crops_per_second']:.2f} crops/s of {cfg.crop}²); written to {model_dir}")
    if record.get("stopped"):
        sys.stdout.flush()
        return 130
    return 0


def _generated_scenes(cfg, photos: str | None, log):
    """``cfg.scenes`` generated reflectance scenes (seeded by ``cfg.seed``) and their provenance, or ``([], None)``."""
    import time

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


def _load_fast(load_bundle, path):
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.ml.models.spatial import FastModel

    model = load_bundle(path)
    if not isinstance(model, FastModel):
        raise InputError(f"{path} holds a {type(model).__name__}; expected a fast model bundle (train fast's model/)")
    return model
