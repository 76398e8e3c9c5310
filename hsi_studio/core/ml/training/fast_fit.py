"""Training the fast model (:class:`~.models.spatial.FastModel`) — used by ``hsi-studio train fast``.

The pairs follow ``hsi-studio train regression --light D65`` exactly (the shipped per-pixel baselines'
convention, so ``--reflectance``, relighting and the scorer treat the result alike): each training cube is taken
as reflectance, lit by D65 (:func:`~.data.source.light_spectrum`: a white reflector's brightest RGB channel is
1) and seen through the response (CIE 1964 10° → linear sRGB); each crop is exposure-normalised (brightest RGB
→ 1) times a log-uniform gain in [0.5, 1]. The model returns that lit spectrum (relative radiance); the loss
is L1 on reflectance (the lit spectrum divided by the light).

Compute (docs/design.md §5: a 2-core CPU): the prior does not change, so it is computed once per training scene at the
scene's own scale and cropped/augmented with the cube — exact, because the prior is exposure-equivariant and
per-pixel (flips and rotations commute with it). A step is 8 random 64² crops with flips and 90° rotations;
sample ``i`` of step ``k`` draws from ``SeedSequence([seed, k, i])``, so a resumed run continues the same stream.
Adam, cosine decay to 5 % with a short warm-up, over ``steps`` steps (``minutes`` fixes ``steps`` from the rate
measured over the first steps, and records it: ``--steps N`` then repeats the run).

More data (issue 21): ``generated`` scenes — real photos' regions carrying measured reflectances
(:class:`~.scenes.SceneGenerator`, ``flat`` lighting, so they are reflectance like the CAVE cubes, ColorChecker
spectra excluded) — are cached the same way and drawn with probability ``cfg.generated``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.data.crops import augment, random_crop
from hsi_studio.core.ml.data.source import camera_responses, light_spectrum
from hsi_studio.core.ml.evaluation import photo_divisor, photo_of, spectral_scores
from hsi_studio.core.ml.models.spatial import FastModel
from hsi_studio.core.ml.training.fast_config import FastConfig
from hsi_studio.core.spectral.responses import (
    STANDARD_WAVELENGTHS,
    CameraResponse,
    project,
    resample_cube,
    srgb_decode,
)

WL = STANDARD_WAVELENGTHS
STATE = "state.safetensors"


class SceneCache:
    """Per training scene: the lit cube, its linear RGB and the prior's estimate, stacked (H, W, B+3+B)."""

    def __init__(self, cubes: Sequence[HSCube], model: FastModel, light: str = "D65",
                 generated: Sequence[HSCube] = (), generated_share: float = 0.0, cameras: float = 0.0,
                 camera_file: str | None = None):
        response: CameraResponse = model.response.resampled(WL)
        self.response = response
        self.light = light_spectrum(light, response)
        self.scenes = self._cache(cubes, model)
        self.generated = self._cache(generated, model)
        self.share = float(generated_share) if self.generated else 0.0
        # real cameras (TrainingSource's "cameras"): a crop drawn through one gets its RGB and prior remade
        self.model, self.cameras, self.camera_names = model, float(cameras), []
        self._cams: list[np.ndarray] = []
        if self.cameras:
            self.camera_names, self._cams = camera_responses(response, self.light, camera_file)

    def _cache(self, cubes: Sequence[HSCube], model: FastModel) -> list[np.ndarray]:
        scenes: list[np.ndarray] = []
        response = self.response
        for cube in cubes:
            if cube.bands != WL.size or not np.allclose(cube.wavelengths, WL):
                cube = resample_cube(cube, WL)
            x = np.maximum(cube.data, 0, dtype=np.float32) * self.light
            y = project(x, response).astype(np.float32)
            with torch.inference_mode():
                prior = model.prior_of(torch.from_numpy(y).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
            scenes.append(np.concatenate([x, y, prior], axis=-1).astype(np.float32))
        return scenes

    def batch(self, seed: int, step: int, n: int, crop: int, gain: tuple[float, float]):
        """(x, y, prior) float32 tensors (n, C, crop, crop) for step ``step`` — a pure function of (seed, step)."""
        b = WL.size
        out = np.empty((n, crop, crop, 2 * b + 3), np.float32)
        for i in range(n):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(step), i]))
            pool = self.generated if self.share and rng.random() < self.share else self.scenes
            scene = pool[int(rng.integers(len(pool)))]
            a = augment(random_crop(scene, (crop, crop), rng), rng)
            if self._cams and rng.random() < self.cameras:  # (no draw at all without cameras)
                a = self._through(a, self._cams[int(rng.integers(len(self._cams)))])
            peak = float(a[..., b:b + 3].max())
            g = float(np.exp(rng.uniform(*np.log(gain))))
            out[i] = a * np.float32(g / peak if peak > 0 else 1.0)
        t = torch.from_numpy(out).permute(0, 3, 1, 2)
        return t[:, :b], t[:, b:b + 3], t[:, b + 3:]


    def _through(self, a: np.ndarray, camera: np.ndarray) -> np.ndarray:
        """A cached crop (lit cube, RGB, prior) seen through a real camera: its processed RGB and that RGB's prior."""
        b = WL.size
        y = (a[..., :b] @ camera).astype(np.float32)
        with torch.inference_mode():
            prior = self.model.prior_of(torch.from_numpy(y).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        return np.concatenate([a[..., :b], y, prior], axis=-1)


def photo_pairs(cubes: Sequence[tuple[str, HSCube]]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, reflectance, linear photo RGB) per validation cube — the ``photo`` protocol's input."""
    out = []
    for name, cube in cubes:
        if cube.bands != WL.size or not np.allclose(cube.wavelengths, WL):
            cube = resample_cube(cube, WL)
        gt = np.maximum(cube.data, 0, dtype=np.float32)
        rgb = srgb_decode(photo_of(HSCube(gt, cube.wavelengths, kind="reflectance")).data).astype(np.float32)
        out.append((name, gt, rgb))
    return out


def validate(model: FastModel, pairs) -> dict[str, float]:
    """Mean PSNR and SAM (reflectance) of the model and of its prior on photo pairs."""
    from hsi_studio.core.ml.models.regression import nonnegative_consistent

    rows = {"psnr": [], "sam": [], "prior_psnr": [], "prior_sam": []}
    div = photo_divisor(WL)
    model.eval()
    with torch.inference_mode():
        for _, gt, rgb in pairs:
            y = torch.from_numpy(rgb).permute(2, 0, 1)[None]
            prior = model.prior_of(y)
            x = model(y, prior)[0].permute(1, 2, 0).reshape(-1, WL.size)
            x = nonnegative_consistent(x, y[0].permute(1, 2, 0).reshape(-1, 3), model.prior.pinv, model.S)
            p = prior[0].permute(1, 2, 0).numpy() / div
            s = spectral_scores(x.reshape(gt.shape).numpy() / div, gt)
            sp = spectral_scores(p, gt)
            rows["psnr"].append(s["psnr"])
            rows["sam"].append(s["sam"])
            rows["prior_psnr"].append(sp["psnr"])
            rows["prior_sam"].append(sp["sam"])
    model.train()
    return {k: float(np.mean(v)) for k, v in rows.items()} if pairs else {}


def fast_loss(pred: torch.Tensor, target: torch.Tensor, sam_weight: float = 0.0) -> torch.Tensor:
    """L1 between reflectance batches (N, B, H, W), plus ``sam_weight`` × the mean chord ‖p/‖p‖ − t/‖t‖‖ between
    unit spectra (2 sin(θ/2) for the spectral angle θ: smooth, and ≈ θ for small angles). The L1 is dominated by
    bright pixels; the chord weighs each pixel's spectral shape alike, dark ones too (what SAM scores)."""
    loss = (pred - target).abs().mean()
    if sam_weight > 0:
        unit_p = pred / pred.norm(dim=1, keepdim=True).clamp_min(1e-6)
        unit_t = target / target.norm(dim=1, keepdim=True).clamp_min(1e-6)
        loss = loss + float(sam_weight) * (unit_p - unit_t).norm(dim=1).mean()
    return loss


def _lr(cfg: FastConfig, step: int, total: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, total - cfg.warmup))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


def save_state(opt: torch.optim.Optimizer, model: FastModel, folder: Path, meta: dict) -> None:
    """Adam's moments (safetensors, no pickle) and the run's step/total (metadata), for ``--resume``."""
    import os

    from safetensors.torch import save_file

    tensors = {}
    for i, p in enumerate(model.spatial.parameters()):
        st = opt.state.get(p, {})
        if st:
            tensors[f"{i}.exp_avg"] = st["exp_avg"].contiguous()
            tensors[f"{i}.exp_avg_sq"] = st["exp_avg_sq"].contiguous()
            tensors[f"{i}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (STATE + ".tmp")
    save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta)})
    os.replace(tmp, folder / STATE)


def load_state(opt: torch.optim.Optimizer, model: FastModel, folder: Path) -> dict:
    from safetensors import safe_open

    path = folder / STATE
    if not path.is_file():
        raise InputError(f"{folder} has no {STATE}; expected a run folder of `hsi-studio train fast` to resume")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["meta"])
        keys = set(f.keys())
        for i, p in enumerate(model.spatial.parameters()):
            if f"{i}.exp_avg" in keys:
                opt.state[p] = {"exp_avg": f.get_tensor(f"{i}.exp_avg"), "exp_avg_sq": f.get_tensor(f"{i}.exp_avg_sq"),
                                "step": f.get_tensor(f"{i}.step").reshape(())}
    return meta


def fit_fast(model: FastModel, cubes: Sequence[HSCube], cfg: FastConfig, *, val=(), generated=(), start: int = 0,
             total: int | None = None, state: Path | None = None,
             save: Callable[[FastModel, dict, torch.optim.Optimizer], None] | None = None,
             log: Callable[[str], None] = print, cancel: Callable[[], bool] | None = None) -> tuple[FastModel, dict]:
    """Train ``model.spatial`` (the prior stays fixed) from step ``start`` to ``total`` (default ``cfg.steps``;
    ``cfg.minutes`` re-sizes it after the first steps). ``save(model, record, optimizer)`` is called every
    ``cfg.save_minutes``, when ``cancel()`` turns true, and at the end; ``state``: a folder whose Adam state
    (:func:`save_state`) to continue from. Returns the model and the run record."""
    torch.manual_seed(int(cfg.seed) + int(start))
    t_cache = time.monotonic()
    cache = SceneCache(cubes, model, cfg.light, generated, cfg.generated, cfg.cameras)
    cache_s = time.monotonic() - t_cache
    log(f"prior cached for {len(cache.scenes)} scenes and {len(cache.generated)} generated scenes "
        f"(drawn {cache.share:.0%} of the time) in {cache_s:.1f} s")
    inv_light = torch.from_numpy(1.0 / np.maximum(cache.light, 1e-6)).reshape(1, -1, 1, 1)
    opt = torch.optim.Adam(model.spatial.parameters(), lr=cfg.lr)
    if state is not None:
        load_state(opt, model, state)
    model.train()
    model.prior.eval().requires_grad_(False)
    total = int(total or cfg.steps)
    fixed = cfg.minutes is None or start > 0
    t0 = time.monotonic()
    last_save = t0
    losses: list[float] = []
    step = start
    history: list[dict] = []
    n_rate = 30

    def record_now() -> dict:
        el = time.monotonic() - t0
        return {**asdict(cfg), "steps": total, "steps_done": step, "start_step": start,
                "train_seconds": round(el, 1), "prior_cache_seconds": round(cache_s, 1),
                "crops_per_second": round((step - start) * cfg.batch / max(el, 1e-9), 3),
                "threads": torch.get_num_threads(), "val_history": history,
                **({"camera_names": cache.camera_names} if cache.camera_names else {})}

    def checkpoint() -> None:
        v = validate(model, val)
        history.append({"step": step, "minutes": round((time.monotonic() - t0) / 60, 2),
                        **{k: round(x, 4) for k, x in v.items()}})
        if v:
            log(f"step {step}: val photo PSNR {v['psnr']:.3f} dB SAM {v['sam']:.3f}° "
                f"(prior {v['prior_psnr']:.3f} dB / {v['prior_sam']:.3f}°)")
        if save is not None:
            save(model, record_now(), opt)

    stopped = False
    while step < total:
        if cancel is not None and cancel():
            log(f"stopped at step {step}")
            stopped = True
            break
        x, y, prior = cache.batch(cfg.seed, step, cfg.batch, cfg.crop, cfg.gain)
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step, total)
        pred = model.spatial(y, prior)
        loss = fast_loss(pred * inv_light, x * inv_light, cfg.sam_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        now = time.monotonic()
        if not fixed and step - start == n_rate:
            rate = (now - t0) / n_rate
            total = max(start + n_rate + 1, int(cfg.minutes * 60 / rate))
            fixed = True
            log(f"{rate:.3f} s/step over the first {n_rate} steps -> {total} steps for {cfg.minutes:g} min "
                f"(repeat with --steps {total})")
        if step % 25 == 0 or step == total:
            el = now - t0
            eta = el / max(step - start, 1) * (total - step)
            log(f"step {step}/{total} loss {np.mean(losses[-25:]):.5f} lr {_lr(cfg, step - 1, total):.2e} "
                f"{(step - start) * cfg.batch / max(el, 1e-9):.2f} crops/s elapsed {el / 60:.1f} min "
                f"eta {eta / 60:.1f} min")
        if step < total and now - last_save > cfg.save_minutes * 60:
            checkpoint()
            last_save = time.monotonic()
    if step > start or stopped:
        checkpoint()
    model.eval()
    return model, {**record_now(), "stopped": stopped}


__all__ = ["FastConfig", "SceneCache", "fast_loss", "fit_fast", "load_state", "photo_pairs", "save_state", "validate"]
