"""``hsi-studio train regression`` — fit a learned per-pixel baseline (root-polynomial or MLP) on cubes.

Fits in seconds (``rootpoly``) to a minute or two (``mlp``) on a CPU core and writes a ``PixelRegression``
bundle (config + safetensors + manifest) that ``reconstruct --model``, the Reconstruct dock and Compare accept.
Training pairs come from the same :class:`~hsi_studio.core.ml.data.TrainingSource` as the ULDM stages (same
response, exposure normalisation and random gain, and ``--light``), so the baselines see the ULDM's data.
"""

from __future__ import annotations

import argparse

MAX_BATCH_PIXELS = 1 << 22  # 4 Mi pixels a step: far above useful, far below what exhausts memory
MAX_LR = 10.0


def register(tsub: argparse._SubParsersAction) -> None:
    s = tsub.add_parser("regression", help="fit a per-pixel baseline: root-polynomial regression or a small MLP")
    s.add_argument("--data", required=True, help="folder of HSI cubes (any supported format)")
    s.add_argument("--val", nargs="*", default=None, help="cube files never trained on (even inside --data)")
    s.add_argument("--kind", choices=("rootpoly", "mlp"), default="rootpoly",
                   help="rootpoly: Lin & Finlayson 2016 root-polynomial least squares; mlp: 3→H→H→B−3 MLP")
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
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    s.add_argument("--out", required=True, help="bundle folder to write")
    s.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    s.set_defaults(func=cmd_regression, stage="regression")


def cmd_regression(args) -> int:
    import time
    from pathlib import Path

    import torch

    from hsi_studio.commands.common import Reporter
    from hsi_studio.core.errors import InputError, OutputError
    from hsi_studio.core.ml.data import CubeFolder, TrainingSource
    from hsi_studio.core.ml.models.bundle import save_regression
    from hsi_studio.core.ml.training.regression_fit import fit_regression
    from hsi_studio.core.spectral.responses import camera_response
    from hsi_studio.core.storage.provenance import data_files, library_versions

    out = Path(args.out)
    if out.exists() and not args.force:
        raise OutputError(f"{out} already exists; expected a new folder (or pass --force to replace it)")
    import math
    import os

    most = max(4 * (os.cpu_count() or 1), 16)
    if not 1 <= args.threads <= most:
        raise InputError(f"--threads {args.threads}; expected 1 … {most} (this machine has {os.cpu_count()} CPU "
                         "cores)")
    if args.steps < 1 or not 64 <= args.batch_pixels <= MAX_BATCH_PIXELS:
        raise InputError(f"--steps {args.steps}, --batch-pixels {args.batch_pixels}; expected steps ≥ 1 and "
                         f"batch pixels 64 … {MAX_BATCH_PIXELS:,}")
    if not (math.isfinite(args.lr) and 0 < args.lr <= MAX_LR):
        raise InputError(f"--lr {args.lr:g}; expected a learning rate above 0 and at most {MAX_LR:g} (e.g. 2e-3)")
    torch.set_num_threads(int(args.threads))
    val = {Path(v).resolve() for v in args.val or ()}
    files = [f for f in CubeFolder(args.data).files if f.resolve() not in val]
    folder = CubeFolder.load(files)
    if not folder.cubes:
        raise InputError(f"{args.data} holds no readable cubes besides the validation files; expected HSI cubes")
    light = None if str(args.light).lower() == "none" else args.light
    if not 0 <= args.generated <= 1:
        raise InputError(f"--generated {args.generated}; expected a share in [0, 1]")
    generator = None
    if args.generated:
        from hsi_studio.core.ml.data.scenes import SceneGenerator, folder_photos

        pics = folder_photos(args.photos)[0] if args.photos else None
        generator = SceneGenerator.default(seed=args.seed, photos=pics, lighting="flat")
    source = TrainingSource(folder.cubes, generator, float(args.generated), camera_response(args.response),
                            seed=args.seed, sim={"light": light}, names=folder.names)
    t0 = time.monotonic()
    model = fit_regression(source, args.kind, degree=args.degree, hidden=args.hidden, steps=args.steps,
                           batch=args.batch_pixels, lr=args.lr, seed=args.seed,
                           progress=Reporter(label=f"train regression ({args.kind})"))
    secs = time.monotonic() - t0
    record = {"kind": args.kind, "degree": args.degree, "hidden": args.hidden, "steps": args.steps,
              "batch_pixels": args.batch_pixels, "lr": args.lr, "seed": args.seed, "light": light,
              "response": args.response, "data": [Path(n).name for n in folder.names],
              "val_excluded": sorted(p.name for p in val), "fit_seconds": round(secs, 1),
              "generated": float(args.generated), "photos": args.photos}
    provenance = {"libraries": library_versions(), "data": data_files(files), "val": data_files(args.val or ())}
    if generator is not None:
        provenance["generated"] = generator.provenance()
    save_regression(model, out, extra={"training": record, "provenance": provenance})
    print(f"{model.label} fitted on {len(folder.cubes)} cubes in {secs:.1f} s; written to {out}")
    return 0
