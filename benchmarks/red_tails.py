"""Do the training data contain the spectral shapes of the validation scenes? One shape, measured per source.

Among red-reflecting pixels (reflectance > ``--level`` at 620 nm), the share whose reflectance *falls* towards the
end of the range (700 nm below ``--fall`` × the 620 nm value): the red tail that an sRGB camera barely sees, so a
learned model predicts whatever its training data did there. Counted per cube folder (every pixel of every cube)
and for the measured reflectance library the generated scenes draw on (ColorChecker spectra excluded, as in
training). It also prints, per validation cube, the fast model's and Mallett 2019's RMSE at 700 nm (``--model``;
photo protocol).

    python benchmarks/red_tails.py --train runs/data/cave_train_nochart/ --val runs/data/cave_val/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsi_studio.core.ml.data import CubeFolder, cube_paths  # noqa: E402

I620, I700 = 22, 30  # band indices on the 400–700 nm, 10 nm grid


def falling(spectra: np.ndarray, level: float, fall: float) -> tuple[int, int]:
    """(red-reflecting spectra, those with a falling tail) among (N, 31) reflectances."""
    red = spectra[:, I620] > level
    return int(red.sum()), int((red & (spectra[:, I700] < fall * spectra[:, I620])).sum())


def tail_rmse(cube, model: str) -> dict[str, float]:
    """RMSE at 700 nm of ``model`` and Mallett 2019 on ``cube``'s photo (photo protocol)."""
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.core.ml.evaluation import as_reflectance, photo_of

    gt = np.maximum(cube.data, 0, dtype=np.float32)
    photo = photo_of(HSCube(gt, cube.wavelengths, kind="reflectance"), None)
    out = {}
    for name in (model, "physics:mallett2019"):
        pred = as_reflectance(pipeline.reconstruct(photo, name, device="cpu").cube)
        out[name] = float(np.sqrt(np.mean((pred[..., I700] - gt[..., I700]) ** 2)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", required=True, help="training cube folders or files")
    ap.add_argument("--val", nargs="+", required=True, help="validation cube folders or files")
    ap.add_argument("--level", type=float, default=0.3, help="reflectance at 620 nm above which a pixel is red")
    ap.add_argument("--fall", type=float, default=0.8, help="a falling tail: 700 nm below this × 620 nm")
    ap.add_argument("--model", default="fast", help="the learned model whose 700 nm error is printed")
    args = ap.parse_args(argv)
    from hsi_studio.core.ml.data.libraries import ReflectanceLibrary

    print(f"red: reflectance > {args.level} at 620 nm; falling tail: 700 nm < {args.fall} × 620 nm")
    print(f"{'source':<40} {'red':>8} {'falling':>8} {'share':>7}")
    val_cubes = []
    for label, paths in (("training", args.train), ("validation", args.val)):
        files = cube_paths(paths)
        cubes = CubeFolder.load(files).cubes
        if label == "validation":
            val_cubes = list(zip(files, cubes, strict=True))
        tot = [0, 0]
        for f, c in zip(files, cubes, strict=True):
            r, fl = falling(np.maximum(c.data, 0).reshape(-1, c.data.shape[-1]), args.level, args.fall)
            tot[0] += r
            tot[1] += fl
            if label == "validation":
                print(f"  {Path(f).stem:<38} {r:8d} {fl:8d} {fl / max(r, 1):7.1%}")
        print(f"{label + f' cubes ({len(files)})':<40} {tot[0]:8d} {tot[1]:8d} {tot[1] / max(tot[0], 1):7.1%}")
    lib = ReflectanceLibrary.load()
    r, fl = falling(np.asarray(lib.spectra), args.level, args.fall)
    print(f"{f'reflectance library ({len(lib)} spectra)':<40} {r:8d} {fl:8d} {fl / max(r, 1):7.1%}")
    print(f"\nRMSE at 700 nm (photo protocol): {args.model} / physics:mallett2019")
    for f, c in val_cubes:
        e = tail_rmse(c, args.model)
        print(f"  {Path(f).stem:<38} {e[args.model]:.3f} / {e['physics:mallett2019']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
