"""``hsi-studio train regression`` — fit a learned per-pixel baseline (root-polynomial or MLP) on cubes.

Fits in seconds (``rootpoly``) to a minute or two (``mlp``) on a CPU core and writes a ``PixelRegression``
bundle (config + safetensors + manifest) that ``reconstruct --model``, the Reconstruct dock and Compare accept.
Training pairs come from the same :class:`~hsi_studio.core.ml.data.TrainingSource` as the ULDM stages (same
response, exposure normalisation and random gain, and ``--light``), so the baselines see the ULDM's data. The
run itself (checks, data, fit, ``training.json``) is :func:`hsi_studio.core.ml.training.runs.run_regression`.
"""

from __future__ import annotations

import argparse


def register(tsub: argparse._SubParsersAction) -> None:
    s = tsub.add_parser("regression", help="fit a per-pixel baseline: root-polynomial regression or a small MLP")
    s.add_argument("--data", required=True, help="folder of HSI cubes (any supported format)")
    s.add_argument("--val", nargs="*", default=None, help="cube files never trained on (even inside --data)")
    s.add_argument("--kind", choices=("rootpoly", "mlp"), default="rootpoly",
                   help="rootpoly: Lin & Finlayson 2020 root-polynomial least squares; mlp: 3→H→H→B−3 MLP")
    s.add_argument("--degree", type=int, default=2, help="root-polynomial degree (1, 2 or 3; default 2)")
    s.add_argument("--hidden", type=int, default=128, help="MLP hidden units (default 128)")
    s.add_argument("--steps", type=int, default=3000, help="MLP optimiser steps (default 3000)")
    s.add_argument("--batch-pixels", type=int, default=8192, help="MLP pixels per step (default 8192)")
    s.add_argument("--lr", type=float, default=2e-3)
    s.add_argument("--response", default="cie1964-srgb", help="camera response (default cie1964-srgb)")
    s.add_argument("--light", default="D65",
                   help="illuminant that lights the cubes (taken as reflectance) before the camera sees them; "
                        "D65 (default) is the convention of white-balanced photos; 'none' uses them as radiance")
    s.add_argument("--generated", type=float, default=0.0,
                   help="share of pixels from generated scenes (real photos' regions carrying measured reflectance "
                        "spectra, ColorChecker spectra excluded; 0–1, default 0)")
    s.add_argument("--photos", help="folder of real photos for the generated scenes (default: scikit-image's)")
    s.add_argument("--cameras", type=float, default=0.0,
                   help="share of pixels seen through a real camera (the camspec database's training cameras, with "
                        "a fitted white balance and colour matrix) instead of the ideal observer (0–1, default 0)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    s.add_argument("--out", required=True, help="bundle folder to write")
    s.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    s.set_defaults(func=cmd_regression, stage="regression")


def cmd_regression(args) -> int:
    from hsi_studio.commands.common import Reporter
    from hsi_studio.services.training import RegressionSettings, train_regression

    settings = RegressionSettings(data=args.data, out=args.out, val=args.val, kind=args.kind, degree=args.degree,
                                  hidden=args.hidden, steps=args.steps, batch_pixels=args.batch_pixels, lr=args.lr,
                                  response=args.response, light=args.light, generated=args.generated,
                                  photos=args.photos, cameras=args.cameras, seed=args.seed, threads=args.threads,
                                  force=args.force)
    res = train_regression(settings, progress=Reporter(label=f"train regression ({args.kind})"))
    print(f"{res.label} fitted on {res.cubes} cubes in {res.seconds:.1f} s; written to {res.out}")
    return 0
