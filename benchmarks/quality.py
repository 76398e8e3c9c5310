"""Reconstruction quality on real cubes: the default ULDM against every training-free baseline.

For every cube in DIR (any format HSI Studio reads), simulate the camera RGB through the model's camera
response (exposure-normalised, noise-free), reconstruct with each method, and score MRAE, RMSE, PSNR
(data range 1) and SAM over 400–700 nm and over 410–700 nm (CAVE's 400 nm band is dark and noisy).

Mallett 2019 and Otsu 2018 return reflectance that reproduces the RGB under D65; they are turned into the
radiance the camera saw by multiplying by D65 (normalised so a white reflector has Y = 1), which is the
physically consistent reading of their output. Min-norm and the ULDM return radiance directly.

    python benchmarks/quality.py --data ../shared/data/cave [FILE…] [--model models/default] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsi_studio.core.data import CubeFolder, cube_paths  # noqa: E402
from hsi_studio.core.evaluation import BASELINES, evaluate_cube  # noqa: E402


def print_table(rows: list[dict]) -> None:
    head = (f"{'cube':<34} {'method':<20} {'MRAE':>7} {'RMSE':>7} {'PSNR':>6} {'SAM°':>6} | "
            f"{'MRAE':>7} {'PSNR':>6} {'SAM°':>6} | {'RGB err':>8} {'s':>6}")
    print(f"{'':<55} all 400–700 nm{'':<13}| 410–700 nm")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['cube']:<34} {r['method']:<20} {r['mrae']:7.4f} {r['rmse']:7.4f} {r['psnr']:6.2f} "
              f"{r['sam']:6.2f} | {r['mrae_410']:7.4f} {r['psnr_410']:6.2f} {r['sam_410']:6.2f} | "
              f"{r['rgb_rel_err']:8.1e} {r['seconds']:6.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, nargs="+",
                    help="folders of cubes and/or cube files (commas also separate them)")
    ap.add_argument("--model", default="default", help="ULDM bundle (default: models/default)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--no-uldm", action="store_true", help="baselines only")
    ap.add_argument("--json", default="quality.json", help="where to write the results")
    args = ap.parse_args(argv)
    folder = CubeFolder.load(cube_paths([s for arg in args.data for s in arg.split(",") if s]))
    for r in folder.refused:
        print(f"refused {r['file']}: {r['reason']}", file=sys.stderr)
    response_name = "cie1964-srgb"
    methods = list(BASELINES)
    if not args.no_uldm:
        from hsi_studio.core.pipeline import load_model, resolve_model

        uldm = load_model(resolve_model(args.model))
        response_name = uldm.response.name if uldm.response.name in ("cie1964-srgb",) else response_name
        methods.append("uldm")
    rows = []
    for name, cube in zip(folder.names, folder.cubes, strict=True):
        rows += evaluate_cube(name, cube, methods, model=args.model, steps=args.steps, samples=args.samples,
                              response_name=response_name)
    print_table(rows)
    Path(args.json).write_text(json.dumps({"rows": rows, "model": args.model, "steps": args.steps,
                                           "samples": args.samples, "response": response_name}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
