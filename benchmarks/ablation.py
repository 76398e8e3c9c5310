"""The ablation of the default model (issue 21): each row a method or a bundle, scored the same way.

    python benchmarks/ablation.py --data runs/data/cave_val/ \
        --row "Otsu 2018=physics:otsu2018" --row "per-pixel MLP=runs/r21/mlp_mix" \
        --row "+ spatial mean=models/fast" --row "+ diffusion correction, mean of 4=PATH@4" [--json out.json]

A row is ``LABEL=METHOD`` where METHOD is a method name of benchmarks/quality.py (``physics:otsu2018``, ``mlp``…)
or a bundle path (any kind; ``@K`` draws K samples and scores their mean, ``@K/S`` with S solver steps). A corrective
ULDM's path may carry switches that undo its parts, for the ablation's rows: ``PATH+gain1`` scores the raw mean of
the samples (correction gain 1), ``PATH+spaae`` decodes with the SpaAE decoder instead of the code head (e.g.
``models/default+gain1+spaae@4/4``). Every row gets the same input — the
``photo`` protocol of :mod:`hsi_studio.core.ml.evaluation` (reflectance × D65 → CIE 1964 10° → sRGB 8-bit) — and the
same scorer, on the validation scenes and on the rendered ColorChecker (never training data). Printed per row:
mean PSNR / SAM / relit ΔE2000 (CIE A) over the scenes, the chart's mean SAM, the worst scene's PSNR below the best
per-pixel or physics baseline on that scene (rows whose label starts with ``baseline:`` count as baselines), and
the seconds per scene.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import colorchecker_cube  # noqa: E402
from hsi_studio.core.ml.data import CubeFolder, cube_paths  # noqa: E402
from hsi_studio.core.ml.evaluation import evaluate_cube  # noqa: E402


def parse_row(text: str) -> tuple[str, str, int | None, int | None]:
    if "=" not in text:
        raise SystemExit(f"--row {text!r}: expected LABEL=METHOD_OR_BUNDLE[@K[/STEPS]]")
    label, spec = text.split("=", 1)
    samples = steps = None
    if "@" in spec:
        spec, k = spec.rsplit("@", 1)
        k, _, st = k.partition("/")
        samples, steps = int(k), (int(st) if st else None)
    return label.strip(), spec.strip(), samples, steps


SWITCHES = ("gain1", "spaae")


def load_row_model(spec: str) -> str:
    """A bundle path with ``+switch`` suffixes → a temporary copy of the bundle with those parts undone (saved
    through the bundle writer, so it is scored exactly like a shipped bundle); anything else as is."""
    path, *switches = spec.split("+")
    if not switches:
        return spec
    bad = [w for w in switches if w not in SWITCHES]
    if bad or not Path(path).is_dir():
        raise SystemExit(f"row model {spec!r}: expected a bundle folder with switches from {', '.join(SWITCHES)}")
    import tempfile

    from hsi_studio.core.ml.models import load_bundle
    from hsi_studio.core.ml.models.bundle import save_uldm

    model = load_bundle(path)
    if "gain1" in switches:
        model.correction_gain = 1.0
    if "spaae" in switches:
        model.code_head = None
    extra = json.loads((Path(path) / "training.json").read_text())
    out = Path(tempfile.mkdtemp(prefix="hsi-ablation-")) / Path(path).name
    save_uldm(model, out, extra={**extra, "ablation": f"{path} with {', '.join(switches)}"})
    return str(out)


def score(spec: str, samples: int | None, name: str, cube, steps: int | None) -> dict:
    if Path(spec).is_dir():
        (row,) = evaluate_cube(name, cube, ["uldm"], model=spec, steps=steps, samples=samples, protocol="photo")
    else:
        (row,) = evaluate_cube(name, cube, [spec], protocol="photo")
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--row", action="append", required=True)
    ap.add_argument("--steps", type=int, help="solver steps for diffusion rows (default: the model's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    files = cube_paths(args.data)
    cubes = CubeFolder.load(files).cubes
    scenes = [(f.stem, c) for f, c in zip(files, cubes, strict=True)]
    chart = colorchecker_cube()
    rows = [parse_row(r) for r in args.row]
    results = []
    for label, spec, k, row_steps in rows:
        steps = row_steps or args.steps
        model = load_row_model(spec)
        per = [score(model, k, n, c, steps) for n, c in scenes]
        ch = score(model, k, *chart, steps)
        results.append({"label": label, "spec": spec, "samples": k, "steps": steps,
                        "psnr": float(np.mean([r["psnr"] for r in per])),
                        "sam": float(np.mean([r["sam"] for r in per])),
                        "de_a": float(np.mean([r["de_a"] for r in per])),
                        "chart_sam": float(ch["sam"]), "chart_de_a": float(ch["de_a"]),
                        "seconds": float(np.mean([r["seconds"] for r in per])),
                        "rgb_rel_err": float(max(r["rgb_rel_err"] for r in per)),
                        "scenes": {r["cube"]: {"psnr": r["psnr"], "sam": r["sam"]} for r in per}})
        print(f"done: {label}", flush=True)
    base = [r for r in results if r["label"].startswith("baseline:")]
    print(f"\nphoto protocol, {len(scenes)} validation scenes + the rendered ColorChecker (BabelColor Average)")
    head = (f"{'row':<46} {'PSNR dB':>8} {'SAM °':>6} {'ΔE A':>5} {'chart SAM °':>11} {'chart ΔE A':>10} "
            f"{'worst vs best base':>18} {'s/scene':>8} {'RGB err':>8}")
    print(head)
    print("-" * len(head))
    for r in results:
        worst = "—"
        if base and not r["label"].startswith("baseline:"):
            worst = f"{min(r['scenes'][s]['psnr'] - max(b['scenes'][s]['psnr'] for b in base) for s in r['scenes']):+.2f}"
        print(f"{r['label']:<46} {r['psnr']:8.2f} {r['sam']:6.2f} {r['de_a']:5.2f} {r['chart_sam']:11.2f} "
              f"{r['chart_de_a']:10.2f} {worst:>18} {r['seconds']:8.1f} {r['rgb_rel_err']:8.1e}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": results, "scenes": [s for s, _ in scenes]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
