"""Where a corrective ULDM's time goes: each part of one reconstruction timed in this process.

    python benchmarks/default_parts.py [--model models/default] [--size 512] [--threads 2] [--repeats 2]

Prints the seconds of each part on a ``--size``² photo (scikit-image's astronaut) and its ratio to one UNet call,
measured in the same run, and what a ``K`` samples × ``S`` steps run spends on each: the spatial mean, the SpaAE
encodes of the photo and of the mean's code, the SpeUAE encoder once; per sample ``S`` UNet calls, one SpaAE
decode and one SpeUAE decode, plus one more decode pair for the mean's own round trip. A model with a code head
(``CodeHead``) is also timed the way it runs: the K samples' UNet calls batched, and each sample decoded by the
head with the correction at 1/``decode_pool`` resolution; then both paths end to end (the pipeline, ``--samples``
× ``--steps``), with their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    from skimage import data, transform

    from hsi_studio.core.ml.models.bundle import load_bundle

    torch.set_num_threads(args.threads)
    model = load_bundle(args.model)
    model.eval()
    if getattr(model, "mean", None) is None:
        raise SystemExit(f"{args.model} is not a corrective ULDM; expected one with a spatial mean")
    img = transform.resize(data.astronaut(), (args.size, args.size)).astype(np.float32) ** 2.2
    y = torch.from_numpy(img.transpose(2, 0, 1).copy())[None]

    def timed(fn):
        fn()
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            out = fn()
        return (time.perf_counter() - t0) / args.repeats, out

    with torch.inference_mode():
        t_mean, x_mean = timed(lambda: model.mean_spectra(y))
        t_rgb, z_y = timed(lambda: model.rgb_latents(y))
        t_enc, u = timed(lambda: model.speuae.encode(x_mean))
        t_code, z = timed(lambda: model.code_latents(u))
        t_dec, u_back = timed(lambda: model.decode_codes(z))
        t_spe, _ = timed(lambda: model.speuae.decode(y, u_back))
        cond = torch.cat([torch.randn_like(z), z_y, z], 1)
        t_unet, _ = timed(lambda: model.unet(cond, torch.tensor([500])))
    k, s = args.samples, args.steps
    parts = [("spatial mean", t_mean, 1), ("SpaAE encode, photo", t_rgb, 1), ("SpeUAE encode, mean", t_enc, 1),
             ("SpaAE encode, mean's code", t_code, 1), ("UNet call", t_unet, k * s),
             ("SpaAE decode", t_dec, k + 1), ("SpeUAE decode", t_spe, k + 1)]
    total = sum(t * n for _, t, n in parts)
    print(f"{args.model}: {args.size}² photo, {args.threads} threads, {k} samples × {s} steps")
    print(f"{'part':<28} {'s each':>8} {'× UNet':>7} {'calls':>6} {'share':>6}")
    for name, t, n in parts:
        print(f"{name:<28} {t:8.3f} {t / t_unet:7.2f} {n:6d} {t * n / total:6.0%}")
    print(f"{'sum':<28} {total:8.2f} s")
    if getattr(model, "code_head", None) is not None:
        from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

        with torch.inference_mode():
            cond_k = cond.expand(k, -1, -1, -1)
            t_batch, _ = timed(lambda: model.unet(cond_k, torch.tensor([500])))
            _, extra = model.condition(y, x_mean)
            t_fast, _ = timed(lambda: model.spectra_from_latents(z, y, dict(extra)))
        fast = [("UNet call, K batched", t_batch, s), ("head decode + correction", t_fast, k)]
        ftotal = sum(t * n for _, t, n in parts[:4] + fast)
        print(f"\nwith the code head (decode_pool {model.code_head.config.decode_pool}):")
        for name, t, n in parts[:4] + fast:
            print(f"{name:<28} {t:8.3f} {t / t_unet:7.2f} {n:6d} {t * n / ftotal:6.0%}")
        print(f"{'sum':<28} {ftotal:8.2f} s")
        rgb = img
        pipe = ULDMPipeline(model)
        walls = {}
        head = model.code_head
        for on in (False, True):
            model.code_head = head if on else None
            walls[on], _ = timed(lambda: pipe(rgb, steps=s, samples=k, seed=0))
        print(f"\nend to end, {k} × {s}: SpaAE decoding {walls[False]:.2f} s, code head {walls[True]:.2f} s "
              f"(ratio {walls[False] / walls[True]:.2f}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
