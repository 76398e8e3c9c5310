"""Real camera photos of ColorChecker Classic charts: how well each method's reconstructed reflectance matches
the chart's measured spectra, as the photo comes, white-balanced, and chart-calibrated.

For each photo in ``../shared/data/colorchecker`` (``patches.json`` gives the true patch centres, used only to
*score*): read it colour-managed (its ICC profile), optionally downscale it (long side ≤ ``--max-side``), then

* ``as-is``      — reconstruct the photo as read;
* ``wb``         — ``--white-balance auto`` (shades of grey);
* ``chart``      — ``--chart auto`` (detected with colour-checker-detection; when detection fails, the four
  outer corners taken from the true centres, as a user would click them — the row says so).

Score: each patch's mean reflectance (a box inside the patch at the true centre) against colour-science's
``BabelColor Average`` reflectance; the mean spectral angle over the 24 patches (SAM, degrees; scale-free,
so exposure does not count). Methods: the shipped default ULDM, the shipped per-pixel root-polynomial and MLP
regressions, the fast model, Otsu 2018 and Mallett 2019. Also printed: each photo's chart detection (method, worst centre
error in patch pitches) and the chart fit's leave-one-out ΔE2000.

    python benchmarks/realphotos.py [--data ../shared/data/colorchecker] [--max-side 1024]
        [--methods default mlp rootpoly physics:otsu2018 physics:mallett2019] [--json out.json]
    python benchmarks/realphotos.py --from-json a.json b.json     # reprint (merged) tables of earlier runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsi_studio.core.analysis.metrics import spectral_angle  # noqa: E402
from hsi_studio.core.cube import RGBImage  # noqa: E402
from hsi_studio.core.errors import InputError  # noqa: E402
from hsi_studio.core.io import api as io  # noqa: E402
from hsi_studio.core.ml import reconstruct as pipeline  # noqa: E402
from hsi_studio.core.photo import chart_detect  # noqa: E402
from hsi_studio.core.photo import correction as pc  # noqa: E402
from hsi_studio.core.spectral.methods import TRAINING_FREE  # noqa: E402
from hsi_studio.core.spectral.relight import to_reflectance  # noqa: E402
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS  # noqa: E402
from hsi_studio.services.photo import prepare_photo  # noqa: E402

#: from the methods registry: every shipped learned model, and the training-free methods that return reflectance
#: (the chart is scored as reflectance; min-norm is relative radiance)
METHODS = (*(m.name for m in pipeline.methods() if m.learned),
           *(m.name for m in pipeline.methods(TRAINING_FREE) if m.quantity == "reflectance"))
CONDITIONS = ("as-is", "wb", "chart")
GAP = 0.25  # the patch grid's gap, as chart_detect draws it


def downscale(rgb: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    h, w = rgb.height, rgb.width
    f = max(h, w) / max_side
    if f <= 1:
        return rgb, 1.0
    from skimage.transform import resize

    nh, nw = int(round(h / f)), int(round(w / f))
    lin = pc.linear_of(rgb)  # average light, not encoded values
    small = resize(lin, (nh, nw), order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)
    return RGBImage(small, "linear", dict(rgb.metadata), rgb.bit_depth), w / nw


def corners_from_centres(c: np.ndarray) -> np.ndarray:
    """The outer corners of the patch grid from the 24 centres (what a user's four clicks give)."""
    u, v = (c[5] - c[0]) / 5, (c[18] - c[0]) / 3  # one column, one row
    half = 0.5 / (1 + GAP)
    return np.array([c[0] - (u + v) * half, c[5] + (u - v) * half, c[23] + (u + v) * half, c[18] + (v - u) * half])


def score(refl, centres: np.ndarray, half: int, reference: np.ndarray) -> tuple[float, np.ndarray]:
    data = refl.data
    means = np.array([data[max(0, int(round(y)) - half):int(round(y)) + half + 1,
                           max(0, int(round(x)) - half):int(round(x)) + half + 1].reshape(-1, data.shape[-1]).mean(0)
                      for x, y in centres])
    sam = spectral_angle(means, reference)
    return float(sam.mean()), sam


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "colorchecker"))
    ap.add_argument("--max-side", type=int, default=1024)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--only", nargs="*", help="photo ids to run (default: all)")
    ap.add_argument("--json", help="write the rows and detections to this file")
    ap.add_argument("--from-json", nargs="+", metavar="FILE",
                    help="print the tables of earlier --json runs (merged, e.g. methods run separately) and exit")
    args = ap.parse_args(argv)
    if args.from_json:
        rows, detections, methods = [], {}, []
        for f in args.from_json:
            rec = json.loads(Path(f).read_text())
            rows += rec["rows"]
            detections.update({d["photo"]: d for d in rec["detections"]})
            methods += [m for m in dict.fromkeys(r["method"] for r in rec["rows"]) if m not in methods]
        print_tables(rows, list(detections.values()), methods)
        return 0
    folder = Path(args.data)
    entries = json.loads((folder / "patches.json").read_text())
    if args.only:
        entries = [e for e in entries if e["id"] in args.only]
    wl = STANDARD_WAVELENGTHS
    reference = pc.reference_spectra("BabelColor Average", wl)
    rows, detections = [], []
    for e in entries:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = io.read_rgb(folder / e["file"])
        rgb, f = downscale(full, args.max_side)
        centres = np.asarray(e["centres"], dtype=np.float64) / f
        half = max(1, int(e["half_size"] / f))
        pitch = e["pitch"] / f
        t0 = time.monotonic()
        try:
            det = chart_detect.detect_chart(rgb.display_srgb())
            err = float(np.linalg.norm(det.centres - centres, axis=1).max() / pitch)
            found = err < 0.5
            how = det.method if found else f"WRONG ({det.method}, worst centre {err:.2f} pitch off)"
        except InputError as exc:
            det, err, found, how = None, None, False, f"not found ({str(exc)[:60]}…)"
        det_s = time.monotonic() - t0
        chart_spec = det.corners if found else corners_from_centres(centres)
        prepared = {"as-is": prepare_photo(rgb), "wb": prepare_photo(rgb, white_balance="auto"),
                    "chart": prepare_photo(rgb, chart=chart_spec)}
        cal = prepared["chart"].calibration
        detections.append({"photo": e["id"], "colour_space": full.colour_space, "size": f"{full.width}×{full.height}",
                           "scale": round(f, 2), "detected": found, "detection": how, "seconds": round(det_s, 2),
                           "chart_fit": cal.fit.label,
                           "loo_delta_e": round(float(cal.delta_e_after[cal.usable].mean()), 2),
                           "cast_warning": bool(prepared["as-is"].messages)})
        for method in args.methods:
            row = {"photo": e["id"], "method": method}
            for cond in CONDITIONS:
                res = pipeline.reconstruct(prepared[cond].rgb, method)
                refl = to_reflectance(res.cube)[0]
                row[cond], _ = score(refl, centres, half, reference)
                row[f"{cond}_s"] = round(res.seconds, 2)
            rows.append(row)
            print(f"{e['id']:<26} {method:<20} " + " ".join(f"{row[c]:6.2f}" for c in CONDITIONS), flush=True)
    print_tables(rows, detections, args.methods)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "detections": detections}, indent=1))
    return 0


def print_tables(rows: list[dict], detections: list[dict], methods) -> None:
    print("\nChart detection and calibration (colour-checker-detection segmentation; fit chosen by leave-one-out ΔE2000)")
    print(f"{'photo':<26} {'read as':<34} {'detected':<40} {'s':>5} {'LOO ΔE':>7} cast")
    for d in detections:
        print(f"{d['photo']:<26} {d['colour_space'][:34]:<34} {d['detection'][:40]:<40} {d['seconds']:5.1f} "
              f"{d['loo_delta_e']:7.2f} {'yes' if d['cast_warning'] else ''}")
    n_ok = sum(d["detected"] for d in detections)
    print(f"detected correctly: {n_ok}/{len(detections)}")
    photos = list(dict.fromkeys(r["photo"] for r in rows))
    print("\nMean patch SAM (degrees) against BabelColor Average — lower is better")
    head = f"{'photo':<26} " + " ".join(f"{m.replace('physics:', ''):>24}" for m in methods)
    print(head)
    print(f"{'':<26} " + " ".join(f"{'as-is    wb  chart':>24}" for _ in methods))
    print("-" * len(head))
    by = {(r["photo"], r["method"]): r for r in rows}
    for p in photos + ["MEAN"]:
        cells = []
        for m in methods:
            if p == "MEAN":
                vals = [np.mean([by[(q, m)][c] for q in photos]) for c in CONDITIONS]
            else:
                vals = [by[(p, m)][c] for c in CONDITIONS]
            cells.append(" ".join(f"{v:7.2f}" for v in vals))
        print(f"{p:<26} " + " ".join(f"{c:>24}" for c in cells))
    means = {m: {c: float(np.mean([by[(q, m)][c] for q in photos])) for c in CONDITIONS} for m in methods}
    best_uncal = min(min(means[m]["as-is"], means[m]["wb"]) for m in methods)
    if "default" in means:
        d = means["default"]["chart"]
        others = {m: v["chart"] for m, v in means.items() if m != "default"}
        print(f"\ndefault with --chart auto: {d:.2f}° = {d / best_uncal:.2f}× the best uncalibrated method's "
              f"{best_uncal:.2f}° (goal ≤ 0.80×); best other calibrated: "
              + (f"{min(others.values()):.2f}° ({min(others, key=others.get)})" if others else "—"))


if __name__ == "__main__":
    raise SystemExit(main())
