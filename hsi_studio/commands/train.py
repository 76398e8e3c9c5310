"""``hsi-studio train rgb-pretrain|stage1|stage2`` — the three ULDM training stages
(:mod:`hsi_studio.core.ml.training.stages`), through :mod:`hsi_studio.services.training`.

Every stage accepts ``--config FILE.json`` (TrainConfig fields + a ``stage`` dict, typed per stage in
:mod:`hsi_studio.core.ml.training.config`: an unknown key exits 2 naming the closest valid one), ``--steps``,
``--resume``, ``--jsonl`` (one JSON object per line on stdout: step, loss, lr, val, eta_s, phase), ``--device``.
The merge (preset < ``--config`` < flags) is :func:`hsi_studio.core.ml.training.config.resolve_stage_config`.
SIGINT / SIGTERM / SIGHUP save a checkpoint and exit 130 (further signals are ignored meanwhile); ``--resume``
continues exactly from the last one, with the seed the run recorded (a different ``--seed`` is refused).
Runs unchanged under ``accelerate launch`` (several GPUs or nodes).
"""

from __future__ import annotations

import argparse

from hsi_studio.services.training import LIGHTINGS

_LIGHTING_HELP = ("how generated scenes are lit: varied measured/daylight/black-body/catalogue lights (default) or "
                  "flat (equal-energy E: radiance = reflectance, like CAVE cubes and white-balanced photos)")


_LIGHT_HELP = ("an illuminant (e.g. D65) that lights every training cube, taken as reflectance, before the camera "
               "sees it: D65 trains for white-balanced photos (their reconstructions divide back to reflectance)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (checkpoints/, best/, model/)")
    p.add_argument("--config", help="JSON file with training settings (see TrainConfig) and a 'stage' dict")
    p.add_argument("--steps", type=int, help="optimiser steps (overrides the config)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--crop", type=int, help="training crop size in pixels")
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--tiny", action="store_true", help="tiny model configs (tests, smoke runs)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--jsonl", action="store_true", help="machine-readable progress on stdout")
    p.add_argument("--stop-file", metavar="PATH",
                   help="stop (checkpoint, exit 130) when this file appears — a portable SIGTERM for front ends")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the ULDM stages (rgb-pretrain, stage1, stage2), a per-pixel regression baseline or the fast model")
    tsub = p.add_subparsers(dest="stage", metavar="STAGE", required=True)

    s = tsub.add_parser("rgb-pretrain", help="pre-train the project's small RGB latent diffusion model")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", help="folder of RGB photos")
    src.add_argument("--builtin", action="store_true", help="the real photos that ship with scikit-image")
    _common(s)
    s.set_defaults(func=cmd_train)

    s = tsub.add_parser("stage1", help="train the spectral unobservable-feature autoencoder (SpeUAE)")
    s.add_argument("--data", help="folder of HSI cubes (any supported format)")
    s.add_argument("--val", nargs="*", default=None, help="validation cube files (default: a split of --data)")
    s.add_argument("--response", help="camera response the model is trained for (default cie1964-srgb)")
    s.add_argument("--generated", type=float, help="fraction of batches from the scene generator (0–1)")
    s.add_argument("--photos", help="folder of real photos laid out with measured reflectances in generated scenes "
                                    "(default: scikit-image's; scripts/fetch_photos.py writes runs/photos)")
    s.add_argument("--lighting", choices=LIGHTINGS, help=_LIGHTING_HELP)
    s.add_argument("--light", help=_LIGHT_HELP)
    _common(s)
    s.set_defaults(func=cmd_train)

    s = tsub.add_parser("stage2", help="train the ULDM (conditioned latent diffusion of the SpeUAE codes)")
    s.add_argument("--data", help="folder of HSI cubes (any supported format)")
    s.add_argument("--val", nargs="*", default=None, help="validation cube files")
    s.add_argument("--stage1", help="a trained SpeUAE bundle (stage 1's model/ folder)")
    s.add_argument("--base",
                   help="RGB-pretrained base: an rgb-pretrain model folder, a local Stable Diffusion folder, "
                        "or a trained ULDM bundle such as models/default (its SpaAE and UNet)")
    s.add_argument("--init", help="instead of --stage1/--base: continue training (fine-tune) an existing ULDM "
                                  "bundle, e.g. models/default")
    s.add_argument("--mean", help="corrective diffusion: a fast model bundle (train fast's model/) whose spatial mean "
                                  "the ULDM corrects; its code latents condition the UNet beside the RGB's")
    s.add_argument("--generated", type=float, help="fraction of batches from the scene generator (0–1)")
    s.add_argument("--photos", help="folder of real photos laid out with measured reflectances in generated scenes "
                                    "(default: scikit-image's; scripts/fetch_photos.py writes runs/photos)")
    s.add_argument("--lighting", choices=LIGHTINGS, help=_LIGHTING_HELP)
    s.add_argument("--light", help=_LIGHT_HELP)
    _common(s)
    s.set_defaults(func=cmd_train)

    from hsi_studio.commands.train_regression import register as register_regression

    register_regression(tsub)

    from hsi_studio.commands.train_fast import register as register_fast

    register_fast(tsub)


def _flags(args) -> dict:
    """The training flags given on the command line (None / False: not given)."""
    from hsi_studio.services.training import STAGE_FLAGS, TRAIN_FLAGS

    return {name: getattr(args, name, None) for name in (*TRAIN_FLAGS, *STAGE_FLAGS, "light")}


def build_config(args):
    """The stage's settings: preset < ``--config`` < flags, merged and checked in
    :func:`hsi_studio.core.ml.training.config.resolve_stage_config`."""
    from hsi_studio.services.training import stage_config

    return stage_config(args.stage, config=args.config, flags=_flags(args), tiny=args.tiny,
                        resume_from=args.out if args.resume else None)


def _watch_stop_file(path: str, token) -> None:
    """Cancel ``token`` once ``path`` exists (polled twice a second on a daemon thread)."""
    import os
    import threading
    import time

    def watch() -> None:
        while not token.cancelled:
            if os.path.exists(path):
                token.cancel()
                return
            time.sleep(0.5)

    threading.Thread(target=watch, name="stop-file", daemon=True).start()


def cmd_train(args) -> int:
    import json
    import signal
    import sys

    from hsi_studio.commands.common import Reporter
    from hsi_studio.core.jobs import CancelToken
    from hsi_studio.services.training import train_stage

    cfg = build_config(args)
    token = CancelToken()
    stops = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]

    def _stop(signum, frame):  # signal handler signature
        # The first signal stops the run at its next step, which checkpoints once and exits 130; later ones are
        # ignored from here on (SIG_IGN, which also holds while the interpreter shuts down — a Python handler
        # would be reset to the default there, and a second SIGTERM would kill the process with 143).
        token.cancel()
        for s in stops:
            if signal.getsignal(s) not in (signal.SIG_IGN, None):
                signal.signal(s, signal.SIG_IGN)

    for sig in stops:
        if signal.getsignal(sig) != signal.SIG_IGN:  # nohup / a background job: stays ignored
            signal.signal(sig, _stop)
    if args.stop_file:
        _watch_stop_file(args.stop_file, token)
    reporter = Reporter(jsonl=False, label=f"train {args.stage}")

    def log(rec: dict) -> None:
        if args.jsonl:
            sys.stdout.write(json.dumps(rec, default=float) + "\n")  # one write: ranks never split a line
            sys.stdout.flush()
        elif rec.get("event") == "step" and rec.get("val"):
            v = ", ".join(f"{k}={x:.4g}" for k, x in rec["val"].items() if isinstance(x, (int, float)))
            reporter.stream.write(f"\nstep {rec['step']}: val {v}\n")
        elif rec.get("event") in ("checkpoint", "resumed", "cancelled"):
            reporter.stream.write(f"\n{rec['event']}: step {rec['step']}\n")

    result = train_stage(args.stage, cfg, args.out, resume=args.resume, cancel=token, log=log,
                         progress=None if args.jsonl else reporter)
    if not args.jsonl and result.model_dir is not None:
        print(f"model written to {result.model_dir}")
    return 0
