"""ULDMPipeline — RGB → cube with a :class:`~hsi_studio.core.ml.models.uldm.ULDM` (docs/design.md §2.3).

Inference samples the code latents ``z_u`` given the RGB latents ``z_y`` with DPM-Solver++ (or DDIM) in a few
steps, decodes ``u`` (refined with the RGB when the model has a refiner) and turns ``(y, u)`` into a spectrum
with the SpeUAE decoder — which reprojects exactly to ``y``. A corrective model (``model.mean``) conditions on
its spatial mean's code latents too and returns the mean plus the decoded correction (:meth:`ULDM.condition`,
:meth:`ULDM.spectra_from_latents`). ``samples=K`` draws K codes and returns the mean
cube and the per-pixel spectral standard deviation (population, Welford in float64).

- **Solvers**: ``DPMSolverMultistepScheduler(algorithm_type="dpmsolver++")`` or ``DDIMScheduler``, built from
  the model's stored DDPM config with ``timestep_spacing="trailing"`` so that even 1–2 steps start from pure
  noise.
- **Precision**: fp32 on CPU (bf16 autocast there is ~20× slower, docs/design.md §5); on CUDA the UNet runs under
  bf16/fp16 autocast unless ``precision="fp32"`` (:func:`hsi_studio.core.ml.devices.amp_dtype`); the VAE and
  SpeUAE always run in fp32.
- **Seeds**: sample ``k`` uses seed ``seed + k`` (a CPU generator: the same result on every device), so a
  result does not depend on how many samples follow it.
- **Sizes**: inputs that are not a multiple of the model's ``pad_multiple`` are reflect-padded and cropped
  back; with ``tile`` set, larger images run in overlapping tiles (:func:`.tiling.run_tiled`).

References: the ULDM — K. Deng, J. Nie and Y. Qian, "RGB Pre-Training Enhanced Unobservable Feature Latent Diffusion
Model for Spectral Reconstruction", arXiv:2507.12967 (2025). DOI: 10.48550/arXiv.2507.12967.
The solvers — C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li and J. Zhu, "DPM-Solver++: Fast Solver for Guided Sampling of
Diffusion Probabilistic Models", arXiv:2211.01095 (2022), DOI: 10.48550/arXiv.2211.01095; J. Song, C. Meng and
S. Ermon, "Denoising Diffusion Implicit Models", ICLR 2021, arXiv:2010.02502, DOI: 10.48550/arXiv.2010.02502.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import NEVER_CANCEL, no_progress
from hsi_studio.core.ml.devices import amp_dtype
from hsi_studio.core.ml.models.bounds import raw_peak, upper_bounded_consistent
from hsi_studio.core.ml.models.regression import nonnegative_consistent
from hsi_studio.core.ml.models.rgb_base import unet_eps
from hsi_studio.core.ml.pipelines.base_pipeline import ModelPipeline
from hsi_studio.core.ml.pipelines.checks import SCHEDULERS, check_rgb, check_sampling
from hsi_studio.core.ml.pipelines.tiling import run_tiled

#: latent pixels (h × w per sample) sampled in one batch: 4 samples of a 1024² photo's 128² latents
MAX_LATENT_PIXELS = 4 * 128 * 128


def make_scheduler(scheduler_config: dict, name: str = "dpmsolver++"):
    """A fresh few-step solver built from a stored DDPM noise-schedule config."""
    if name not in SCHEDULERS:
        raise InputError(f"scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}")
    cfg = {k: v for k, v in scheduler_config.items() if not k.startswith("_")}
    if name == "ddim":
        return DDIMScheduler.from_config(cfg, timestep_spacing="trailing", clip_sample=False, set_alpha_to_one=True)
    return DPMSolverMultistepScheduler.from_config(cfg, algorithm_type="dpmsolver++", timestep_spacing="trailing")


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None or device.type != "cuda":
        return nullcontext()
    return torch.autocast("cuda", dtype=dtype)


class ULDMPipeline(ModelPipeline):
    """Sampling and reconstruction with a ULDM ``model`` (its components are not changed; its train/eval mode
    is restored after a call)."""

    def make_scheduler(self, name: str = "dpmsolver++"):
        return make_scheduler(self.model.scheduler_config, name)

    def sample(self, z_y: torch.Tensor, *, steps: int = 8, scheduler: str = "dpmsolver++",
               generator: torch.Generator | list[torch.Generator] | None = None, progress=None, cancel=None,
               amp_dtype: torch.dtype | None = None) -> torch.Tensor:
        """Sample code latents ``z_u`` given the condition ``z_y`` (the RGB latents; for a corrective model
        ``[z_y ‖ z_ū]``, :meth:`ULDM.condition`); ``z_u`` has the latent channel count of the SpaAE.

        Noise comes from a CPU ``generator`` (same result on every device); a list of K generators draws K
        samples in one batch (``z_y`` of batch 1 is shared), sample k's noise from generator k — the same
        samples as K separate calls, to float rounding. ``progress(fraction, message)`` is called after each
        solver step and ``cancel`` (a CancelToken) is checked before each."""
        cancel = cancel or NEVER_CANCEL
        progress = progress or no_progress
        sched = self.make_scheduler(scheduler)
        sched.set_timesteps(int(steps), device=z_y.device)
        shape = (z_y.shape[0], int(self.model.vae.config.latent_channels), *z_y.shape[2:])
        if isinstance(generator, (list, tuple)):
            if z_y.shape[0] != 1:
                raise InputError(f"{len(generator)} generators need one condition (batch 1); got batch {z_y.shape[0]}")
            noise = torch.cat([torch.randn(shape, generator=g, device="cpu") for g in generator])
            z_y = z_y.expand(len(generator), -1, -1, -1)
        else:
            noise = torch.randn(shape, generator=generator, device="cpu")
        z = noise.to(z_y) * sched.init_noise_sigma
        n = len(sched.timesteps)
        for i, t in enumerate(sched.timesteps):
            cancel.check()
            model_in = torch.cat([sched.scale_model_input(z, t), z_y], 1)
            with _autocast(z_y.device, amp_dtype):
                pred = unet_eps(self.model.unet, model_in, t).float()
            z = sched.step(pred, t, z).prev_sample
            progress((i + 1) / n, f"step {i + 1}/{n}")
        return z

    def __call__(self, rgb_linear, *, steps: int = 8, samples: int = 1, seed: int = 0,
                 scheduler: str = "dpmsolver++", device: str = "cpu", progress=None, cancel=None,
                 precision: str = "auto", tile: int | None = None, overlap: int = 32):
        """Linear RGB H×W×3 (numpy or torch) → ``(mean H×W×B float32, std H×W×B float32 or None)``; the std is
        None for ``samples=1``. ``tile``: run images larger than ``tile`` pixels a side in overlapping tiles."""
        rgb = check_rgb(rgb_linear)
        steps, samples = check_sampling(steps, samples, scheduler, precision, tile)
        progress = progress or no_progress
        cancel = cancel or NEVER_CANCEL

        def one(part: np.ndarray, report):
            return self._reconstruct(part, steps, samples, seed, scheduler, device, precision, report, cancel)

        if tile is None:
            return one(rgb, progress)
        return run_tiled(one, rgb, len(self.wavelengths), int(tile), int(overlap), progress, cancel)

    def _reconstruct(self, rgb: np.ndarray, steps: int, samples: int, seed: int, scheduler: str, device: str,
                     precision: str, report, cancel):
        model = self.model
        h, w, _ = rgb.shape
        m = model.pad_multiple
        padded = np.pad(rgb, ((0, (-h) % m), (0, (-w) % m), (0, 0)), mode="reflect")
        was_training = model.training
        model.to(device).eval()
        try:
            with torch.inference_mode():
                stats, x_mean = self._sample_cubes(padded, (h, w), steps, samples, seed, scheduler,
                                                   torch.device(device), precision, report, cancel)
        finally:
            model.train(was_training)
        scale = np.float32(getattr(model, "sigma_scale", 1.0))  # the bundle's calibration (core.uncertainty)
        mean = stats.mean()
        gain = float(getattr(model, "correction_gain", 1.0))
        if x_mean is not None and gain != 1.0:  # shrink the sampled correction (λ ∈ [0, 1]: a convex combination
            mean = x_mean + np.float32(gain) * (mean - x_mean)  # of RGB-consistent, non-negative spectra)
        return mean, (stats.std() * scale if samples > 1 else None)

    def _sample_cubes(self, padded: np.ndarray, size: tuple[int, int], steps: int, samples: int, seed: int,
                      scheduler: str, dev: torch.device, precision: str, report, cancel):
        model = self.model
        h, w = size
        amp = amp_dtype(dev, precision)
        stats = RunningStats()
        y = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)))[None].to(dev)
        z_y, extra = model.condition(y)
        # the K samples' latents in batches (a batched UNet call is ≈ 1.25× quicker per sample on a CPU, and latents
        # are small); each sample decoded on its own (full-resolution decoding of K at once would hold K cubes)
        batch = max(1, min(samples, MAX_LATENT_PIXELS // max(1, z_y.shape[-2] * z_y.shape[-1])))
        done = 0
        while done < samples:
            ks = range(done, min(samples, done + batch))

            def sub(frac, msg="", k0=done, nk=len(ks)):
                report((k0 + 0.9 * frac * nk) / samples, f"samples {k0 + 1}–{k0 + nk} of {samples} {msg}".strip()
                       if nk > 1 else f"sample {k0 + 1}/{samples} {msg}".strip())

            gens = [torch.Generator(device="cpu").manual_seed(int(seed) + k) for k in ks]
            zs = self.sample(z_y, steps=steps, scheduler=scheduler, generator=gens, progress=sub, cancel=cancel,
                             amp_dtype=amp)
            for j, k in enumerate(ks):
                cancel.check()
                x = model.spectra_from_latents(zs[j:j + 1].float(), y, extra)[0, :, :h, :w].permute(1, 2, 0)
                peak = raw_peak(x)  # the model's own output: a broken model is refused, never capped
                x = nonnegative_consistent(x, y[0, :, :h, :w].permute(1, 2, 0), model.speuae.pinv, model.speuae.S)
                x = upper_bounded_consistent(x, y[0, :, :h, :w].permute(1, 2, 0), model.speuae.S, self.light,
                                             raw_peak=peak)
                stats.add(x)
                report((done + 0.9 * len(ks) + 0.1 * (j + 1)) / samples, f"sample {k + 1}/{samples} decoded")
            done += len(ks)
        x_mean = extra.get("x_mean")
        if x_mean is None or float(getattr(model, "correction_gain", 1.0)) == 1.0:
            return stats, None  # the spatial mean is needed only to shrink the samples' mean towards it
        x_mean = x_mean[0, :, :h, :w].permute(1, 2, 0)  # within the same cap as the samples (the fast model's is)
        x_mean = upper_bounded_consistent(x_mean, y[0, :, :h, :w].permute(1, 2, 0), model.speuae.S, self.light,
                                          raw_peak=raw_peak(x_mean))
        return stats, x_mean.float().cpu().numpy()


class RunningStats:
    """Welford's running mean / population standard deviation over samples, in float64 (torch tensors updated in
    place — with numpy temporaries this bookkeeping took a third of a 512² default run)."""

    def __init__(self) -> None:
        self.n, self._mean, self._m2 = 0, None, None

    def add(self, x) -> None:
        x = torch.as_tensor(x).detach().to("cpu", torch.float64, copy=True)  # updated in place below
        self.n += 1
        if self._mean is None:
            self._mean, self._m2 = x, torch.zeros_like(x)  # x is this object's own copy
            return
        delta = x - self._mean
        self._mean.add_(delta, alpha=1.0 / self.n)
        self._m2.addcmul_(delta, x.sub_(self._mean))

    def mean(self) -> np.ndarray:
        return self._mean.to(torch.float32).numpy()

    def std(self) -> np.ndarray:
        return (self._m2 / self.n).clamp_min_(0.0).sqrt_().to(torch.float32).numpy()


_RunningStats = RunningStats  # the earlier name

__all__ = ["RunningStats", "ULDMPipeline", "make_scheduler"]
