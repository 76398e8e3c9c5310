"""``hsi-studio train fast`` — train the fast model: a residual spatial U-Net over a per-pixel prior (issue 21).

Writes ``OUT/model/`` (a ``SpatialResidual`` bundle that ``reconstruct --model``, the Reconstruct dock and
Compare accept) every ``--save-minutes`` and at the end, with ``OUT/state.safetensors`` (Adam's state and the
step) beside it: ``--resume`` continues the same run from there; ``--init BUNDLE`` starts a new run (fresh
optimiser and schedule) from a trained fast bundle, e.g. ``models/fast`` when a run folder is lost. SIGINT /
SIGTERM save and exit 130. The training pairs are those of ``train regression --light D65`` (see
:mod:`hsi_studio.core.ml.training.fast_fit`); the run (checks, data, model, resume) is
:func:`hsi_studio.core.ml.training.runs.prepare_fast`.
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
    s.add_argument("--cameras", type=float, default=0.0,
                   help="share of crops seen through a real camera (the camspec database's training cameras, with a "
                        "fitted white balance and colour matrix) instead of the ideal observer (0–1, default 0)")
    s.add_argument("--sam-weight", type=float, default=0.0,
                   help="weight of a spectral-angle term beside the L1 loss: the chord between unit spectra, which "
                        "counts dark pixels' spectral shape as much as bright ones' (default 0: L1 only)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    s.add_argument("--force", action="store_true", help="replace an existing run folder at --out")
    s.set_defaults(func=cmd_fast, stage="fast")


def cmd_fast(args) -> int:
    import signal
    import sys

    from hsi_studio.services.training import FastSettings, prepare_fast

    settings = FastSettings(data=args.data, out=args.out, val=args.val, prior=args.prior, init=args.init,
                            resume=args.resume, steps=args.steps, minutes=args.minutes, batch=args.batch,
                            crop=args.crop, lr=args.lr, width=args.width, light=args.light,
                            save_minutes=args.save_minutes, generated=args.generated, scenes=args.scenes,
                            scene_size=args.scene_size, photos=args.photos, cameras=args.cameras, sam_weight=args.sam_weight,
                            seed=args.seed,
                            threads=args.threads, force=args.force)
    run = prepare_fast(settings)
    if run.resumed:
        print(f"resuming {run.out} at step {run.start}/{run.total}")
    stop = {"now": False}

    def _stop(signum, frame):  # signal handler signature
        stop["now"] = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)

    def log(msg: str) -> None:
        print(msg, flush=True)

    record = run.fit(log=log, cancel=lambda: stop["now"])
    print(f"fast model: {record['steps_done']}/{record['steps']} steps in {record['train_seconds'] / 60:.1f} min "
          f"({record['crops_per_second']:.2f} crops/s of {run.cfg.crop}²); written to {run.model_dir}")
    if record.get("stopped"):
        sys.stdout.flush()
        return 130
    return 0
