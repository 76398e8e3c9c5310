"""Peak memory of ``hsi-studio reconstruct`` on a large photo, streamed against in memory (issue 24, item 5).

Writes a synthetic W×H JPEG (smooth colour fields with texture, like a photo), then runs
``hsi-studio reconstruct PHOTO -o OUT --model M`` as a child process twice — streamed (the default for a photo
larger than one tile: each finished band of rows goes to the file) and, as the reference measured in the same
run, the in-memory path (``HSI_STUDIO_STREAM=0``: the whole cube and its copies in RAM, with the memory budget
lifted so it is not refused) — and prints each child's peak RSS (``os.wait4``'s ``ru_maxrss``), its time and
the ratio. With ``--check`` it also reads both cubes back (row band by row band) and prints the largest
difference (0: the files hold the same numbers).

    python benchmarks/reconstruct_memory.py --model fast                           # 12 MP (4000×3000)
    python benchmarks/reconstruct_memory.py --model default --width 2000 --height 1500
    python benchmarks/reconstruct_memory.py --model fast --only streamed            # skip the reference
    python benchmarks/reconstruct_memory.py --model fast --gui                      # the Reconstruct dock's job

``--gui`` runs what the Reconstruct dock's worker runs instead (``services.reconstruction.reconstruct``: over
4 MP the cube is streamed into a temporary file the result maps) and then what View ▸ Show as reflectance does
(the Explore plot's reads — a band, a pixel's spectrum, an ROI — through ``reflectance_view``, against
``to_reflectance``'s second cube in the reference); it prints the peak RSS and, at the end, the resident memory
split into anonymous memory and mapped file pages (the page cache of the temporary, which the kernel can drop).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def synthetic_photo(path: Path, width: int, height: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    img = np.empty((height, width, 3), np.uint8)
    yy = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    for top in range(0, height, 500):  # row blocks: no float temporary of the whole photo
        n = min(500, height - top)
        x = np.linspace(top / height, (top + n) / height, n, dtype=np.float32)[:, None]
        block = np.stack([0.5 + 0.4 * np.sin(6 * x + 3 * yy), 0.5 + 0.4 * np.cos(5 * yy - 2 * x),
                          0.5 + 0.3 * np.sin(9 * x * yy)], -1)
        block += rng.normal(0, 0.03, block.shape).astype(np.float32)
        img[top:top + n] = np.clip(block * 255, 0, 255).astype(np.uint8)
    Image.fromarray(img).save(path, quality=92)


GUI_CHILD = """
import sys, time
import numpy as np
from hsi_studio.core.io.rgb import read_rgb
from hsi_studio.core.spectral import relight
from hsi_studio.services import reconstruction
from hsi_studio.services.reflectance_view import reflectance_view

def status():
    with open("/proc/self/status") as f:
        d = dict(line.split(":", 1) for line in f)
    return {k: int(d[k].split()[0]) / 1024 for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}

res = reconstruction.reconstruct(read_rgb(sys.argv[1]), sys.argv[2])
after = status()
view = reflectance_view(res.cube, res.std)[0] if sys.argv[3] == "view" else relight.to_reflectance(res.cube)[0]
h, w = view.height, view.width
mask = np.zeros((h, w), bool)
mask[h // 3 : h // 2, w // 3 : w // 2] = True
band, spectrum, roi = view.band(550), view.spectrum(h // 2, w // 2), view.data[mask].mean(0)
s = status()
print(f"reconstruct: peak {after['VmHWM']:.0f} MiB; reflectance view: peak {s['VmHWM']:.0f} MiB; resident at the "
      f"end {s['VmRSS']:.0f} MiB = anonymous {s['RssAnon']:.0f} + file pages {s['RssFile']:.0f}")
"""


def run(photo: Path, out: Path, model: str, streamed: bool, extra: list[str], gui: bool = False):
    env = {**os.environ, "HSI_STUDIO_STREAM": "1" if streamed else "0"}
    if not streamed:
        env["HSI_STUDIO_MAX_MEMORY"] = "64G"  # the reference: measured, not refused
    cmd = [sys.executable, "-m", "hsi_studio", "reconstruct", str(photo), "-o", str(out), "--model", model,
           "--force", *extra]
    if gui:
        cmd = [sys.executable, "-c", GUI_CHILD, str(photo), model, "view" if streamed else "copy"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE if gui else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - t0
    err = proc.stderr.read()
    if gui:
        print("          " + proc.stdout.read().strip(), flush=True)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(err[-2000:], file=sys.stderr)
    return usage.ru_maxrss / 1024.0, seconds, code  # Linux: KiB


def max_difference(a: Path, b: Path) -> float:
    import h5py

    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        da, db = fa["cube"], fb["cube"]
        worst = 0.0
        for top in range(0, da.shape[0], 256):
            worst = max(worst, float(np.max(np.abs(da[top:top + 256] - db[top:top + 256]))))
        return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--model", default="fast")
    ap.add_argument("--only", choices=("streamed", "memory"))
    ap.add_argument("--check", action="store_true", help="compare the two cubes")
    ap.add_argument("--gui", action="store_true", help="the Reconstruct dock's job and the reflectance view")
    ap.add_argument("extra", nargs="*", help="more reconstruct options (after --)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hsi-recon-mem-") as tmp:
        photo = Path(tmp) / "photo.jpg"
        synthetic_photo(photo, args.width, args.height)
        print(f"photo {args.width}×{args.height} ({args.width * args.height / 1e6:.1f} MP) JPEG, model "
              f"{args.model} {' '.join(args.extra)}; cube {args.width * args.height * 31 * 4 / 2**20:.0f} MiB float32",
              flush=True)
        results = {}
        for name in ("streamed", "memory"):
            if args.only and name != args.only:
                continue
            peak, seconds, code = run(photo, Path(tmp) / name, args.model, name == "streamed", args.extra,
                                      gui=args.gui)
            results[name] = peak
            print(f"{name:>8}: peak RSS {peak:7.0f} MiB ({peak / 1024:.2f} GiB), {seconds:6.1f} s, exit {code}",
                  flush=True)
        if len(results) == 2:
            print(f"streamed / in-memory peak: {results['streamed'] / results['memory']:.2f}")
            if args.check and not args.gui:
                print(f"largest |difference| of the cubes: "
                      f"{max_difference(Path(tmp) / 'streamed/photo.h5', Path(tmp) / 'memory/photo.h5'):.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
