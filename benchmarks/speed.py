"""Reconstruction speed and memory: seconds per megapixel and peak RSS for each method on this machine.

Each method runs in its own process on a 512×512 real photo (scikit-image's astronaut), so peak RSS is its
own; the table also prints each time as a ratio to ``physics:minnorm`` measured in the same run (a matrix
product: the floor any method pays). Every method runs with ``--threads`` torch threads (default 2, issue 21's
budget: ``torch.set_num_threads`` before anything is loaded; the thread count is printed with the table), and
each time is the median of ``--repeats`` runs after a warm-up (a shared machine is noisy).

Baselines: min-norm, Mallett 2019, Otsu 2018 and the learned root-polynomial and MLP regressions (when
installed in models/), and the fast model (models/fast: a residual U-Net over the MLP, one pass); the ULDM runs with the solver steps and samples its bundle records as its default.

    python benchmarks/speed.py [--model models/default] [--steps N] [--samples K] [--size 512] [--threads 2]
                               [--repeats 3] [--only fast,mlp] [--no-uldm]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads({threads})
import numpy as np, skimage.data
from skimage.transform import resize
from hsi_studio.core.ml import reconstruct as pipeline
from hsi_studio.core.cube import RGBImage
size, method, steps, samples, model = {size}, {method!r}, {steps}, {samples}, {model!r}
img = resize(skimage.data.astronaut(), (size, size), anti_aliasing=True).astype(np.float32)
rgb = RGBImage(img, "srgb")
kw = dict(steps=steps, samples=samples) if method == "uldm" else {{}}
target = model if method == "uldm" else method
pipeline.reconstruct(RGBImage(img[:64, :64], "srgb"), target, **kw)  # warm-up
times = []
for _ in range({repeats}):
    t = time.perf_counter()
    res = pipeline.reconstruct(rgb, target, **kw)
    times.append(time.perf_counter() - t)
print(json.dumps({{"seconds": float(np.median(times)), "all": times,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "device": res.device, "threads": torch.get_num_threads()}}))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--steps", type=int, default=None, help="solver steps (default: the model's recorded default)")
    ap.add_argument("--samples", type=int, default=None, help="samples (default: the model's recorded default)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--no-uldm", action="store_true")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for every method (default 2)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per method; the median is printed")
    ap.add_argument("--only", default=None, help="comma-separated methods to time (e.g. fast,mlp)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        ap.error("--threads and --repeats must be at least 1")
    from hsi_studio.core.ml.evaluation import baselines
    from hsi_studio.core.ml.reconstruct import installed, methods, model_defaults, resolve_model
    from hsi_studio.core.spectral.methods import FAST

    steps, samples = args.steps, args.samples
    if not args.no_uldm:
        d = model_defaults(resolve_model(args.model))
        steps, samples = steps or d["steps"], samples or d["samples"]
    args.steps, args.samples = steps or 8, samples or 1
    fast = [m.name for m in methods(FAST) if installed(m)]  # the shipped fast model(s), from the registry
    methods = ["physics:minnorm", *(m for m in baselines() if m != "physics:minnorm"), *fast] + (
        [] if args.no_uldm else ["uldm"])
    if args.only:
        wanted = {m.strip() for m in args.only.split(",") if m.strip()}
        methods = [m for m in methods if m in wanted or m.split(":", 1)[-1] in wanted]
    mp = args.size * args.size / 1e6
    rows = {}
    for m in methods:
        code = CHILD.format(root=str(ROOT), size=args.size, method=m, steps=args.steps, samples=args.samples,
                            model=args.model, threads=args.threads, repeats=args.repeats)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            print(f"{m}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        rows[m] = json.loads(out.stdout.strip().splitlines()[-1])
    ref = rows.get("physics:minnorm", {}).get("seconds")
    threads = sorted({r.get("threads") for r in rows.values()})
    print(f"{args.size}×{args.size} sRGB photo → 31 bands, {Path(sys.executable).name}, this machine, "
          f"torch threads: {', '.join(map(str, threads)) or args.threads}, median of {args.repeats} run(s)")
    print(f"{'method':<22} {'s/image':>9} {'s/MP':>9} {'× minnorm':>10} {'peak RSS MB':>12}")
    for m, r in rows.items():
        label = f"uldm ({args.steps} st × {args.samples})" if m == "uldm" else m
        ratio = f"{r['seconds'] / ref:10.1f}" if ref else "       n/a"
        print(f"{label:<22} {r['seconds']:9.3f} {r['seconds'] / mp:9.3f} {ratio} {r['rss_mb']:12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
