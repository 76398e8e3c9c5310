"""Robustness to real cameras: every method on the ``photo`` protocol taken through the held-out cameras.

    python benchmarks/cameras.py --data runs/data/cave_val/ \
        --row "Otsu 2018=physics:otsu2018" --row "MLP=runs/r22/mlp19" --row "MLP, cameras=runs/r23/mlp19cam" \
        [--cameras held-out|all] [--threads 1] [--json out.json]

A real camera is not the CIE observer. Each validation scene (and the rendered ColorChecker, a test input only) is
photographed once through the ideal observer — the headline ``photo`` protocol — and once through each held-out
camera of the camspec database (``hsi_studio.core.spectral.cameras.HELD_OUT``: never trained on), whose processing
(white balance and 3×3 colour matrix to sRGB) is fitted on the chart-free reflectance library, as a camera maker
would fit it; 8-bit sRGB either way. Every row gets the same photos and the same scorer. Printed per row: mean PSNR
/ SAM over the scenes with the ideal observer and over the held-out cameras (and the worst camera's SAM), the
relit ΔE2000 (A) through the cameras, and the rendered chart's SAM, ideal and through the cameras.

A row is ``LABEL=METHOD`` as in benchmarks/ablation.py (a method name or a bundle path, ``@K[/S]`` for diffusion
samples and steps). Needs ``../shared/data`` (the cameras and the reflectance library).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ablation import load_row_model, parse_row  # noqa: E402
from benchmarks.quality import colorchecker_cube  # noqa: E402
from hsi_studio.core.ml.data import CubeFolder, cube_paths  # noqa: E402
from hsi_studio.core.ml.data.libraries import ReflectanceLibrary, shared_data_dir  # noqa: E402
from hsi_studio.core.ml.evaluation import camera_photo_matrix, evaluate_cube  # noqa: E402
from hsi_studio.core.spectral import cameras as cam  # noqa: E402


def camera_matrices(which: str) -> dict[str, np.ndarray | None]:
    shared = shared_data_dir()
    if shared is None or not (shared / "cameras" / cam.CAMSPEC_FILE).is_file():
        raise SystemExit(f"needs <shared data>/cameras/{cam.CAMSPEC_FILE} (../shared/data beside the project)")
    sens = cam.split(cam.read_camspec(shared / "cameras" / cam.CAMSPEC_FILE),
                     "test" if which == "held-out" else "all")
    spectra = ReflectanceLibrary.load().spectra
    return {"ideal": None} | {name: camera_photo_matrix(s, spectra) for name, s in sens.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--row", action="append", required=True)
    ap.add_argument("--cameras", choices=("held-out", "all"), default="held-out")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = [parse_row(r) for r in args.row]
    folder = CubeFolder.load(cube_paths(args.data))
    scenes = list(zip(folder.names, folder.cubes, strict=True)) + [colorchecker_cube()]
    mats = camera_matrices(args.cameras)
    out: list[dict] = []
    for label, spec, samples, steps in rows:
        model = load_row_model(spec)  # a bundle with +switches: loaded once, its parts undone
        for cname, mat in mats.items():
            for name, cube in scenes:
                kw = dict(model=model, steps=steps, samples=samples) if Path(model).is_dir() else {}
                (r,) = evaluate_cube(Path(name).stem, cube, ["uldm"] if kw else [model], protocol="photo",
                                     photo_matrix=mat, **kw)
                out.append({"row": label, "camera": cname, **{k: r[k] for k in ("cube", "psnr", "sam", "de_a")}})
        print(f"done: {label}", file=sys.stderr, flush=True)
    print(table(out, [r[0] for r in rows]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


def table(out: list[dict], labels: list[str]) -> str:
    head = (f"{'row':42s} {'ideal PSNR':>10s} {'SAM':>6s} | {'cameras PSNR':>12s} {'SAM':>6s} {'worst SAM':>9s} "
            f"{'ΔE A':>5s} | {'chart SAM ideal':>15s} {'cameras':>7s}")
    lines = ["photo protocol: ideal observer vs held-out real cameras (processing fitted on chart-free reflectances)",
             head, "-" * len(head)]
    for label in labels:
        mine = [r for r in out if r["row"] == label]
        scene = [r for r in mine if r["cube"] != "colorchecker"]
        chart = [r for r in mine if r["cube"] == "colorchecker"]

        def mean(rs, key):
            return float(np.mean([r[key] for r in rs])) if rs else float("nan")
        ideal = [r for r in scene if r["camera"] == "ideal"]
        cams = [r for r in scene if r["camera"] != "ideal"]
        per_cam = {c: mean([r for r in cams if r["camera"] == c], "sam") for c in {r["camera"] for r in cams}}
        worst = max(per_cam.values()) if per_cam else float("nan")
        lines.append(f"{label[:42]:42s} {mean(ideal, 'psnr'):10.2f} {mean(ideal, 'sam'):6.2f} | "
                     f"{mean(cams, 'psnr'):12.2f} {mean(cams, 'sam'):6.2f} {worst:9.2f} {mean(cams, 'de_a'):5.2f} | "
                     f"{mean([r for r in chart if r['camera'] == 'ideal'], 'sam'):15.2f} "
                     f"{mean([r for r in chart if r['camera'] != 'ideal'], 'sam'):7.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
