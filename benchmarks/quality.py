"""Reconstruction quality on real cubes: the default ULDM against every baseline, under both protocols.

``photo`` (headline): each cube is taken as reflectance and photographed — × D65, CIE 1964 10°, sRGB, 8-bit —
and every method's reflectance (a reconstruction divided by the D65 it records; Otsu/Mallett natively) is
scored against the cube. ``camera`` (NTIRE 2022): the cube is radiance through the model's camera response,
input and target at the same exposure; Otsu/Mallett (which assume a D65 white) are marked out of convention.
Baselines: Mallett 2019, Otsu 2018, min-norm, and the learned per-pixel root-polynomial and MLP regressions
shipped in models/ (fitted on the default ULDM's training scenes); ``fast`` (models/fast: a residual spatial
U-Net over the MLP, one deterministic pass) runs beside them when installed. Scores: MRAE, RMSE, PSNR, SAM, SSIM over
400–700 and 410–700 nm, and mean ΔE2000 relit under CIE A and FL11. See hsi_studio/core/ml/evaluation.py.

    python benchmarks/quality.py --data ../shared/data/cave/cloth_256.mat DIR… [--protocol photo camera]
        [--model models/default] [--samples K] [--json out.json] [--chart]

``--chart`` adds a test that is never training data: the ColorChecker's published reflectances (colour-science's
``BabelColor Average``, 24 patches of 32×32 pixels) photographed by the photo protocol, every method scored on
it (SAM: the mean spectral angle to the chart's reflectance).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsi_studio.core.ml.data import CubeFolder, cube_paths  # noqa: E402
from hsi_studio.core.ml.evaluation import PROTOCOLS, baselines, evaluate_cube, summary  # noqa: E402
from hsi_studio.core.ml.reconstruct import installed  # noqa: E402
from hsi_studio.core.ml.reconstruct import methods as registered_methods  # noqa: E402
from hsi_studio.core.spectral.methods import FAST  # noqa: E402

COLS = (("MRAE", "mrae", 7, 4), ("RMSE", "rmse", 7, 4), ("PSNR", "psnr", 6, 2), ("SAM°", "sam", 6, 2),
        ("SSIM", "ssim", 6, 4), ("PSNR410", "psnr_410", 7, 2), ("SAM410", "sam_410", 6, 2),
        ("ΔE A", "de_a", 6, 2), ("ΔE F11", "de_fl11", 6, 2), ("RGB err", "rgb_rel_err", 8, 1))


def _fmt(r: dict, key: str, w: int, d: int) -> str:
    v = r.get(key)
    if v is None:
        return " " * (w - 1) + "—"
    return f"{v:{w}.{d}e}" if key == "rgb_rel_err" else f"{v:{w}.{d}f}"


def print_table(rows: list[dict], title: str, first: str = "cube") -> None:
    head = f"{first:<30} {'method':<20} " + " ".join(f"{c[0]:>{c[2]}}" for c in COLS)
    print(f"\n{title}")
    print(head)
    print("-" * len(head))
    for r in rows:
        label = r.get(first, "")
        if not r.get("scored", True):
            print(f"{label:<30} {r['method']:<20} {r.get('note', 'not scored')}")
            continue
        print(f"{label:<30} {r['method']:<20} " + " ".join(_fmt(r, k, w, d) for _, k, w, d in COLS))


def colorchecker_cube(patch: int = 32):
    """The ColorChecker as a reflectance cube: colour-science's ``BabelColor Average`` (24 measured patches,
    4 rows × 6), each ``patch``² pixels, on the 400–700 nm / 10 nm grid. A test input only — never training data."""
    import numpy as np

    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.spectral._colour import colour, quiet
    from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS

    wl = STANDARD_WAVELENGTHS
    with quiet():
        sds = list(colour.SDS_COLOURCHECKERS["BabelColor Average"].values())
        refl = np.stack([np.interp(wl, sd.wavelengths, sd.values) for sd in sds]).astype(np.float32)
    grid = refl.reshape(4, 6, 1, 1, wl.size)
    img = np.broadcast_to(grid, (4, 6, patch, patch, wl.size)).transpose(0, 2, 1, 3, 4).reshape(
        4 * patch, 6 * patch, wl.size)
    return "colorchecker", HSCube(np.ascontiguousarray(img), wl, kind="reflectance")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, nargs="+",
                    help="folders of cubes and/or cube files (commas also separate them)")
    ap.add_argument("--model", default="default", help="ULDM bundle (default: models/default)")
    ap.add_argument("--protocol", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    ap.add_argument("--methods", nargs="*", help="baselines to run (default: every installed one)")
    ap.add_argument("--steps", type=int, help="solver steps (default: what the model recommends)")
    ap.add_argument("--samples", type=int, help="samples (default: what the model recommends)")
    ap.add_argument("--no-uldm", action="store_true", help="baselines only")
    ap.add_argument("--json", default="quality.json", help="where to write the results")
    ap.add_argument("--chart", action="store_true",
                    help="also score a rendered ColorChecker (BabelColor Average; photo protocol; a test only)")
    args = ap.parse_args(argv)
    folder = CubeFolder.load(cube_paths([s for arg in args.data for s in arg.split(",") if s]))
    for r in folder.refused:
        print(f"refused {r['file']}: {r['reason']}", file=sys.stderr)
    response_name = "cie1964-srgb"
    methods = list(baselines() if args.methods is None else args.methods)
    if args.methods is None:  # the shipped fast model(s) that are installed, from the methods registry
        methods += [m.name for m in registered_methods(FAST) if installed(m)]
    if not args.no_uldm:
        from hsi_studio.core.ml.reconstruct import load_model, resolve_model

        response_name = load_model(resolve_model(args.model)).response.name
        methods.append("uldm")
    rows = []
    for protocol in args.protocol:
        mine = []
        for name, cube in zip(folder.names, folder.cubes, strict=True):
            mine += evaluate_cube(Path(name).stem, cube, methods, model=args.model, steps=args.steps,
                                  samples=args.samples, protocol=protocol, response_name=response_name)
        print_table(mine, f"protocol {protocol} — per scene (uldm = {args.model}, steps {args.steps or 'default'}, "
                          f"samples {args.samples or 'default'})")
        print_table(summary(mine), f"protocol {protocol} — mean of {len(folder.cubes)} scene(s)", "protocol")
        rows += mine
    if args.chart:
        name, cube = colorchecker_cube()
        mine = evaluate_cube(name, cube, methods, model=args.model, steps=args.steps, samples=args.samples,
                             protocol="photo", response_name=response_name)
        for r in mine:
            r["protocol"] = "chart"
        print_table(mine, "rendered ColorChecker (BabelColor Average) — photo protocol, a test never trained on")
        rows += mine
    Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary(rows), "model": args.model,
                                           "steps": args.steps, "samples": args.samples,
                                           "response": response_name}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
