"""How far can *any* learned RGB → spectrum mapping get on held-out cubes with a given training set?

A probe for the data, not a product model. It trains a small deterministic CNN (a few 3×3 layers, receptive
field ``2·layers + 1`` px) that predicts the stage-1 code ``u`` from the RGB, through the shipped model's
frozen SpeUAE decoder (so every output reprojects exactly to its RGB, like the ULDM's), on exactly the
training batches stage 2 sees (:class:`TrainingSource`: real cubes + generated scenes). It then scores the
held-out cubes next to two references computed with the same decoder:

* ``u = 0``: the decoder with no unobservable information at all;
* ``stage-1 oracle``: the true codes of the held-out cube (the ceiling of any code predictor).

``--train-on-val`` trains on the held-out cubes themselves: it measures how learnable the mapping is when
the training data contains those materials (an upper bound, never a result). Comparing the two runs
separates "the model cannot learn it" from "the training data does not contain it".

    python benchmarks/generalisation.py --data TRAIN_DIR --val ../shared/data/cave/cloth_256.mat \\
        [--generated 0.5 --lighting varied|flat] [--steps 1000] [--train-on-val] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from hsi_studio.core.ml.data import CubeFolder, TrainingSource  # noqa: E402
from hsi_studio.core.ml.data.scenes import SceneGenerator  # noqa: E402
from hsi_studio.core.ml.evaluation import scores  # noqa: E402
from hsi_studio.core.ml.models import load_bundle  # noqa: E402
from hsi_studio.core.spectral.responses import simulate_rgb  # noqa: E402


class CodeProbe(nn.Module):
    """RGB chromaticity + log intensity → u ∈ [−1, 1]³ with a (2·layers + 1)-px receptive field."""

    def __init__(self, width: int = 64, layers: int = 2):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(4, width, 1), nn.GELU()]
        for _ in range(layers):
            mods += [nn.Conv2d(width, width, 3, padding=1, padding_mode="replicate"), nn.GELU()]
        mods += [nn.Conv2d(width, width, 1), nn.GELU(), nn.Conv2d(width, 3, 1)]
        self.net = nn.Sequential(*mods)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        inten = y.mean(1, keepdim=True).clamp_min(1e-4)
        return torch.tanh(self.net(torch.cat([(y / inten).clamp(-1, 3), inten.log() / 5], 1)))


def _nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(0, 3, 1, 2) if a.ndim == 4 else \
        torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="folder of training cubes (any supported format)")
    ap.add_argument("--val", nargs="+", required=True, help="held-out cube files")
    ap.add_argument("--model", default=str(ROOT / "models" / "default"), help="bundle whose SpeUAE decodes")
    ap.add_argument("--generated", type=float, default=0.5, help="fraction of batches from generated scenes")
    ap.add_argument("--lighting", default="varied", help="lighting of generated scenes: varied or flat")
    ap.add_argument("--train-on-val", action="store_true", help="upper bound: train on the held-out cubes")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--crop", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    model = load_bundle(args.model)
    speuae = getattr(model, "speuae", model).eval().requires_grad_(False)
    response = speuae.response
    val_folder = CubeFolder.load(args.val)
    val = []
    for name, cube in zip(val_folder.names, val_folder.cubes, strict=True):
        sim = simulate_rgb(cube, response, exposure="max")
        val.append((name, cube.data * sim.scale, _nchw(sim.rgb)))
    if args.train_on_val:
        train_cubes = val_folder.cubes
    elif args.data:
        train_cubes = CubeFolder.load(sorted(str(f) for f in CubeFolder(args.data).files
                                             if f.resolve() not in {Path(v).resolve() for v in args.val})).cubes
    else:
        train_cubes = []
    frac = 0.0 if args.train_on_val else args.generated
    gen = SceneGenerator.default(seed=args.seed, lighting=args.lighting) if frac > 0 or not train_cubes else None
    source = TrainingSource(train_cubes, gen, frac, response, seed=args.seed)

    def score(fn) -> list[dict]:
        out = []
        with torch.no_grad():
            for name, gt, y in val:
                pred = speuae.decode(y, fn(y, gt))[0].permute(1, 2, 0).numpy()
                out.append({"cube": name, **scores(pred, gt)})
        return out

    probe = CodeProbe(layers=args.layers)
    opt = torch.optim.AdamW(probe.parameters(), 2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.steps, 1))
    t0 = time.perf_counter()
    for step in range(args.steps):
        b = source.batch(step, args.batch_size, args.crop)
        x, y = _nchw(b["cube"]), _nchw(b["rgb"])
        loss = ((speuae.decode(y, probe(y)) - x).abs() / x.mean(1, keepdim=True).clamp_min(1e-3)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % max(args.steps // 5, 1) == 0:
            print(f"step {step + 1}/{args.steps}  loss {float(loss.detach()):.4f}  {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    probe.eval()
    rows = {"u = 0": score(lambda y, gt: torch.zeros_like(y)),
            "stage-1 oracle (true codes)": score(lambda y, gt: speuae.encode(_nchw(gt))),
            f"probe ({'trained on val' if args.train_on_val else 'trained on --data'})": score(lambda y, gt: probe(y))}
    print(f"{'cube':<26} {'decoder input':<34} {'PSNR':>6} {'SAM°':>6} {'MRAE':>7}")
    for what, rs in rows.items():
        for r in rs:
            print(f"{r['cube']:<26} {what:<34} {r['psnr']:6.2f} {r['sam']:6.2f} {r['mrae']:7.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows,
                                               "train_seconds": time.perf_counter() - t0}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
