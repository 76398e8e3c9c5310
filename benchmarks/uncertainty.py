"""Is a ULDM's σ honest? Spearman(σ̄, RMSE) per pixel and the coverage of mean ± 2σ, before and after calibration.

    python benchmarks/uncertainty.py --model PATH --fit runs/data/cave_train_nochart/ --val runs/data/cave_val/
        [--samples 8] [--steps N] [--crop 128] [--fit-scenes 6] [--write CALIBRATED_BUNDLE] [--json out.json]

Photo protocol (the headline protocol of benchmarks/quality.py): each cube is taken as reflectance, photographed
under D65 (CIE 1964 10°, sRGB, 8-bit), reconstructed with K samples, and the mean and σ are divided by the D65 the
model records, then compared with the cube. The scale ``c`` is fitted on ``--fit`` scenes (training scenes: never
the scored ones) so that mean ± 2cσ covers 95 % of the band values (:func:`hsi_studio.core.analysis.uncertainty
.fit_sigma_scale`); the validation scenes are scored with σ as sampled (raw) and × c. ``--write`` saves a copy of
the bundle that records c in spectral.json (its pipeline then returns the calibrated σ) and ``--steps`` ×
``--samples`` as its recommended sampling (training.json).

``--fit-gain`` (a corrective ULDM): first fit, on the same training scenes, the gain λ ∈ [0, 1] that moves the mean
of the K samples from the spatial mean x̄ only as far as the samples point towards the truth, in least squares
(:func:`hsi_studio.core.analysis.uncertainty.fit_correction_gain`); the scale c is then fitted around that mean,
the validation scenes are scored with it (PSNR and SAM of x̄, of the raw mean of K and of the shrunk mean are
printed), and ``--write`` records λ too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsi_studio.core.analysis import uncertainty as unc  # noqa: E402
from hsi_studio.core.ml.data import CubeFolder, cube_paths  # noqa: E402
from hsi_studio.core.ml.evaluation import mean_scores, photo_divisor, spectral_scores  # noqa: E402
from hsi_studio.core.ml.training.fast_fit import photo_pairs  # noqa: E402
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL  # noqa: E402


def centre(a: np.ndarray, crop: int) -> np.ndarray:
    h, w = a.shape[:2]
    c = min(crop, h, w)
    y0, x0 = (h - c) // 2, (w - c) // 2
    return a[y0:y0 + c, x0:x0 + c]


def shrink(row, gain: float):
    """A :func:`run` row with its mean moved to x̄ + gain × (mean − x̄)."""
    name, m, s, t, x_bar = row
    return (name, x_bar + np.float32(gain) * (m - x_bar), s, t, x_bar)


def run(pipe, pairs, samples: int, steps: int, crop: int):
    """Per scene: (name, mean of K, σ, truth, the spatial mean x̄ or None), in reflectance."""
    import torch

    div = photo_divisor(WL)
    out = []
    for name, gt, rgb in pairs:
        t0 = time.monotonic()
        part = centre(rgb, crop)
        mean, std = pipe(part, steps=steps, samples=samples, seed=0)
        x_bar = None
        if getattr(pipe.model, "mean", None) is not None:
            with torch.inference_mode():
                y = torch.from_numpy(np.ascontiguousarray(part.transpose(2, 0, 1)))[None]
                x_bar = pipe.model.mean_spectra(y)[0].permute(1, 2, 0).numpy() / div
        out.append((name, mean / div, std / div, centre(gt, crop), x_bar))
        print(f"  {name}: {samples} samples in {time.monotonic() - t0:.1f} s", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--fit", nargs="+", required=True, help="training scenes to fit the scale on")
    ap.add_argument("--val", nargs="+", required=True, help="validation scenes to score")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None, help="solver steps (default: the model's recommendation)")
    ap.add_argument("--crop", type=int, default=128, help="centre crop of each scene (default 128)")
    ap.add_argument("--fit-scenes", type=int, default=6, help="use this many --fit scenes, evenly spaced")
    ap.add_argument("--fit-gain", action="store_true",
                    help="a corrective ULDM: fit the correction gain on the --fit scenes first (see above)")
    ap.add_argument("--write", help="save a copy of the bundle with the fitted scale here")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--why", help="with --write: why --steps × --samples is the recommended sampling (recorded in "
                                  "training.json → sampling, which the CLI and the GUI take as their defaults)")
    args = ap.parse_args(argv)

    import torch

    from hsi_studio.core.ml.models import load_bundle
    from hsi_studio.core.ml.models.bundle import save_uldm
    from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

    torch.set_num_threads(1)
    model = load_bundle(args.model)
    model.sigma_scale = 1.0  # score the raw spread
    model.correction_gain = 1.0  # and the raw mean of the samples
    if args.fit_gain and getattr(model, "mean", None) is None:
        ap.error(f"--fit-gain needs a corrective ULDM (one with a spatial mean); {args.model} has none")
    steps = args.steps or int(json.loads((Path(args.model) / "training.json").read_text())
                              .get("sampling", {}).get("steps", 8))
    pipe = ULDMPipeline(model)

    def load(paths):
        files = cube_paths(paths)
        return files, CubeFolder.load(files).cubes

    fit_files, fit_cubes = load(args.fit)
    keep = np.linspace(0, len(fit_cubes) - 1, min(args.fit_scenes, len(fit_cubes))).round().astype(int)
    fit_pairs = photo_pairs([(fit_files[i].name, fit_cubes[i]) for i in keep])
    val_files, val_cubes = load(args.val)
    val_pairs = photo_pairs([(f.name, c) for f, c in zip(val_files, val_cubes, strict=True)])
    print(f"fitting on {len(fit_pairs)} training scenes, K = {args.samples}, {steps} steps, {args.crop}² crops")
    fit = run(pipe, fit_pairs, args.samples, steps, args.crop)
    def flat(rows, i):
        return np.concatenate([r[i].reshape(-1, WL.size) for r in rows])

    gain = 1.0
    if args.fit_gain:
        gain = unc.fit_correction_gain(flat(fit, 1), flat(fit, 4), flat(fit, 3))
        print(f"correction gain λ = {gain:.3f} (the mean of K moved this fraction of the way from x̄)")
        fit = [shrink(r, gain) for r in fit]
    stack = [flat(fit, i) for i in (1, 2, 3)]
    scale = unc.fit_sigma_scale(*stack)
    print(f"sigma scale c = {scale:.3f} (mean ± 2cσ covers 95 % of the training band values)")
    print(f"scoring {len(val_pairs)} validation scenes")
    val = run(pipe, val_pairs, args.samples, steps, args.crop)
    if args.fit_gain:
        for label, rows_ in (("spatial mean x̄", [(r[0], r[4]) for r in val]), ("mean of K (λ = 1)",
                             [(r[0], r[1]) for r in val]), (f"x̄ + λ (mean − x̄), λ = {gain:.3f}",
                             [(r[0], shrink(r, gain)[1]) for r in val])):
            sc = mean_scores([spectral_scores(m, r[3]) for (_, m), r in zip(rows_, val, strict=True)])
            print(f"  validation, {label}: PSNR {sc['psnr']:.2f} dB, SAM {sc['sam']:.2f}°")
        val = [shrink(r, gain) for r in val]
    rows = []
    for name, m, s, t, _ in val:
        raw, cal = unc.uncertainty_scores(m, s, t), unc.uncertainty_scores(m, s, t, scale=scale)
        rows.append({"scene": name, "raw": raw, "calibrated": cal})
    allm, alls, allt = (flat(val, i) for i in (1, 2, 3))
    total = {"raw": unc.uncertainty_scores(allm, alls, allt), "calibrated": unc.uncertainty_scores(allm, alls, allt,
                                                                                            scale=scale)}
    print(f"\n{'scene':<28} {'Spearman':>9} {'cover raw':>10} {'cover cal':>10} {'σ̄ raw':>8} {'RMSE':>8}")
    for r in rows + [{"scene": "all validation pixels", **total}]:
        print(f"{r['scene']:<28} {r['raw']['spearman']:9.3f} {r['raw']['coverage_2sigma']:10.3f} "
              f"{r['calibrated']['coverage_2sigma']:10.3f} {r['raw']['sigma_mean']:8.4f} {r['raw']['rmse']:8.4f}")
    result = {"model": args.model, "samples": args.samples, "steps": steps, "crop": args.crop, "sigma_scale": scale,
              "correction_gain": gain,
              "fit_scenes": [p[0] for p in fit_pairs], "val": rows, "total": total}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.write:
        extra = json.loads((Path(args.model) / "training.json").read_text())
        extra["sampling"] = {"steps": steps, "samples": args.samples, "scheduler": "dpmsolver++",
                             **({"why": args.why} if args.why else {})}
        model.sigma_scale = scale
        if args.fit_gain:
            model.correction_gain = gain
            model.gain_calibration = {"fitted_on": result["fit_scenes"], "samples": args.samples, "steps": steps,
                                      "crop": args.crop}
        model.sigma_calibration = {"fitted_on": result["fit_scenes"], "samples": args.samples, "steps": steps,
                                   "crop": args.crop, "val_spearman": total["raw"]["spearman"],
                                   "val_coverage_raw": total["raw"]["coverage_2sigma"],
                                   "val_coverage_calibrated": total["calibrated"]["coverage_2sigma"]}
        save_uldm(model, args.write, extra=extra)
        print(f"wrote {args.write} (sigma_scale {scale:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
