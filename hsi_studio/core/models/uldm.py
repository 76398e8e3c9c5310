"""ULDM — the unobservable-feature latent diffusion model (DESIGN §2.3).

The SpaAE (the RGB base's ``AutoencoderKL``) encodes the RGB condition ``y → z_y`` and the SpeUAE code image
``u → z_u``; the RGB-pretrained UNet, with ``conv_in`` widened for ``[z_t ‖ z_y]``, learns to predict the
noise added to ``z_u``. Inference samples ``z_u`` with DPM-Solver++ (or DDIM) in a few steps, decodes ``u`` and
turns ``(y, u)`` into a spectrum with the SpeUAE decoder — which reprojects exactly to ``y``. ``samples=K``
draws K codes and returns the mean cube and the per-pixel spectral standard deviation.

Choices:

- **RGB condition**: the linear RGB is clipped to [0, 1], sRGB-encoded and scaled to [−1, 1] before the
  VAE — the distribution an RGB-pretrained VAE (ours: sRGB photo crops; Stable Diffusion: sRGB images) knows.
  The code image ``u`` is already in [−1, 1] and is encoded as is. Latents are latent means × ``latent_scale``
  (the VAE's ``scaling_factor``). The SpeUAE decoder sees the unclipped linear RGB.
- **Prediction type**: the base's scheduler config decides (ours and SD 1.x: ``epsilon``); ``v_prediction``
  and ``sample`` bases are trained with the matching target, and the solvers read the same config.
- **Solvers**: ``DPMSolverMultistepScheduler(algorithm_type="dpmsolver++")`` or ``DDIMScheduler``, built from
  the stored DDPM config with ``timestep_spacing="trailing"`` so that even 1–2 steps start from pure noise.
- **Precision**: fp32 on CPU (bf16 autocast there is ~20× slower, DESIGN §5); on CUDA the UNet runs under
  bf16/fp16 autocast unless ``precision="fp32"``; the VAE and SpeUAE always run in fp32.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from torch import nn

from ..cube import check_size
from ..errors import InputError, NonFiniteError, ShapeError
from ..jobs import NEVER_CANCEL
from .base import RGBLDM, expand_conv_in, srgb_encode_t, unet_eps
from .regression import nonnegative_consistent
from .speuae import SpeUAE

SCHEDULERS = ("dpmsolver++", "ddim")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def _no_progress(fraction: float, message: str = "") -> None:
    pass


class ULDM(nn.Module):
    """SpeUAE + SpaAE (``vae``) + the adapted UNet + the DDPM noise schedule it was trained with."""

    def __init__(self, speuae: SpeUAE, vae, unet: nn.Module, sched_config: dict, latent_scale: float,
                 refiner: nn.Module | None = None):
        super().__init__()
        self.speuae, self.vae, self.unet = speuae, vae, unet
        self.refiner = refiner  # optional CodeRefiner: RGB-guided detail after the SpaAE decoder
        self.scheduler_config = dict(sched_config)
        self.noise_scheduler = DDPMScheduler(**self.scheduler_config)
        self.register_buffer("latent_scale", torch.tensor(float(latent_scale)))

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, speuae: SpeUAE, base: RGBLDM) -> ULDM:
        """Adapt an RGB LDM: widen its UNet's ``conv_in`` for the RGB latents (zero-initialised), and train it
        with v-prediction: with few trailing solver steps the first step sits at ᾱ ≈ 0, where turning an
        ε-prediction into a clean-latent estimate divides by √ᾱ and diverges; v-prediction stays stable."""
        unet = expand_conv_in(base.unet, int(base.vae.config.latent_channels))
        sched = {**base.scheduler_config, "prediction_type": "v_prediction"}
        return cls(speuae, base.vae, unet, sched, float(base.latent_scale))

    @classmethod
    def from_base(cls, base: RGBLDM | str | Path, speuae: SpeUAE) -> ULDM:
        """``base``: an :class:`RGBLDM`, or a folder (an ``rgb-pretrain`` bundle or a local Stable Diffusion
        checkpoint in diffusers layout, loaded offline). The base's UNet is adapted in place."""
        if not isinstance(base, RGBLDM):
            from .base import load_base

            base = load_base(base)
        return cls.from_parts(speuae, base)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> ULDM:
        """Verify and load a ULDM bundle written by :meth:`save`."""
        from .bundle import load_bundle

        model = load_bundle(path, device=device)
        if not isinstance(model, cls):
            raise InputError(f"{path} holds a {type(model).__name__} bundle; expected a ULDM bundle "
                             "(stage 2's model/ folder)")
        return model

    # -- description -------------------------------------------------------------------------------------
    @property
    def response(self):
        return self.speuae.response

    @property
    def wavelengths(self) -> np.ndarray:
        return np.asarray(self.speuae.config.wavelengths, dtype=np.float64)

    @property
    def prediction_type(self) -> str:
        return str(self.noise_scheduler.config.prediction_type)

    @property
    def pad_multiple(self) -> int:
        """Input sizes must be multiples of this: the VAE's and the UNet's downsampling factors."""
        inner = getattr(self.unet, "unet", self.unet)
        vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return vae_factor * 2 ** (len(inner.config.block_out_channels) - 1)

    # -- latents -----------------------------------------------------------------------------------------
    def rgb_latents(self, y: torch.Tensor) -> torch.Tensor:
        """Linear RGB N×3×H×W → scaled latents of the sRGB-encoded image in [−1, 1]."""
        return self.vae.encode(srgb_encode_t(y) * 2 - 1).latent_dist.mean * self.latent_scale

    def code_latents(self, u: torch.Tensor) -> torch.Tensor:
        """Code image u ∈ [−1, 1] (N×3×H×W) → scaled latents."""
        return self.vae.encode(u).latent_dist.mean * self.latent_scale

    def decode_codes(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents → code image u, clipped to [−1, 1]."""
        return self.vae.decode(z / self.latent_scale).sample.clamp(-1, 1)

    def codes_from_latents(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scaled latents → code image u, refined with the full-resolution RGB ``y`` when there is a refiner."""
        u = self.decode_codes(z)
        return self.refiner(u, y) if self.refiner is not None else u

    def add_refiner(self, **config) -> nn.Module:
        from .refiner import CodeRefiner

        self.refiner = CodeRefiner(**config).to(self.latent_scale.device)
        return self.refiner

    # -- training ----------------------------------------------------------------------------------------
    def refine_loss(self, x: torch.Tensor, y: torch.Tensor, source: str = "samples", steps: int = 8) -> torch.Tensor:
        """Train the refiner (everything else frozen): code L1 plus the relative L1 of the spectrum decoded from
        the refined code. ``source="samples"``: refine what the ULDM actually produces (a ``steps``-step sample
        given ``y``, noise drawn from torch's RNG, which the trainer seeds per step); ``"roundtrip"``: refine
        SpaAE round trips of the true codes (cheaper; fixes only the autoencoder's loss)."""
        if source not in ("samples", "roundtrip"):
            raise InputError(f"refine source {source!r}; expected 'samples' or 'roundtrip'")
        with torch.no_grad():
            u = self.speuae.encode(x)
            if source == "samples":
                seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
                z = self.sample(self.rgb_latents(y), steps=steps, generator=torch.Generator().manual_seed(seed))
                u_hat = self.decode_codes(z)
            else:
                u_hat = self.decode_codes(self.code_latents(u))
        u_ref = self.refiner(u_hat, y)
        x_hat = self.speuae.decode(y, u_ref)
        denom = x.mean(dim=1, keepdim=True).clamp_min(1e-3)
        return (u_ref - u).abs().mean() + ((x_hat - x).abs() / denom).mean()

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        """Denoising MSE on the code latents, conditioned on the RGB latents (target per prediction type)."""
        with torch.no_grad():
            z_u = self.code_latents(self.speuae.encode(x))
            z_y = self.rgb_latents(y)
        noise = torch.randn(z_u.shape, generator=generator, device="cpu").to(z_u)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (z_u.shape[0],),
                          generator=generator, device="cpu").to(z_u.device)
        z_t = self.noise_scheduler.add_noise(z_u, noise, t)
        pred = unet_eps(self.unet, torch.cat([z_t, z_y], 1), t)
        return nn.functional.mse_loss(pred, self._target(z_u, noise, t))

    def _target(self, z0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        kind = self.prediction_type
        if kind == "v_prediction":
            return self.noise_scheduler.get_velocity(z0, noise, t)
        return z0 if kind == "sample" else noise

    def spaae_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fine-tune the SpaAE on code images: reconstruct u, and the spectrum decoded from it."""
        with torch.no_grad():
            u = self.speuae.encode(x)
        post = self.vae.encode(u).latent_dist
        u_hat = self.vae.decode(post.mean).sample.clamp(-1, 1)
        x_hat = self.speuae.decode(y, u_hat)
        denom = x.mean(dim=1, keepdim=True).clamp_min(1e-3)
        return (u_hat - u).abs().mean() + ((x_hat - x).abs() / denom).mean() + 1e-6 * post.kl().mean()

    # -- sampling ----------------------------------------------------------------------------------------
    def make_scheduler(self, name: str = "dpmsolver++"):
        """A fresh few-step solver built from the stored noise-schedule config."""
        if name not in SCHEDULERS:
            raise InputError(f"scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}")
        cfg = {k: v for k, v in self.scheduler_config.items() if not k.startswith("_")}
        if name == "ddim":
            return DDIMScheduler.from_config(cfg, timestep_spacing="trailing", clip_sample=False,
                                             set_alpha_to_one=True)
        return DPMSolverMultistepScheduler.from_config(cfg, algorithm_type="dpmsolver++",
                                                       timestep_spacing="trailing")

    def sample(self, z_y: torch.Tensor, *, steps: int = 8, scheduler: str = "dpmsolver++",
               generator: torch.Generator | None = None, progress=None, cancel=None,
               amp_dtype: torch.dtype | None = None) -> torch.Tensor:
        """Sample code latents ``z_u`` (same shape as ``z_y``) given the RGB latents ``z_y``.

        Noise comes from a CPU ``generator`` (same result on every device); ``progress(fraction, message)``
        is called after each solver step and ``cancel`` (a CancelToken) is checked before each."""
        cancel = cancel or NEVER_CANCEL
        progress = progress or _no_progress
        sched = self.make_scheduler(scheduler)
        sched.set_timesteps(int(steps), device=z_y.device)
        z = torch.randn(z_y.shape, generator=generator, device="cpu").to(z_y) * sched.init_noise_sigma
        n = len(sched.timesteps)
        for i, t in enumerate(sched.timesteps):
            cancel.check()
            model_in = torch.cat([sched.scale_model_input(z, t), z_y], 1)
            with self._autocast(z_y.device, amp_dtype):
                pred = unet_eps(self.unet, model_in, t).float()
            z = sched.step(pred, t, z).prev_sample
            progress((i + 1) / n, f"step {i + 1}/{n}")
        return z

    sample_codes = sample  # the earlier name

    @staticmethod
    def _autocast(device: torch.device, dtype: torch.dtype | None):
        if dtype is None or device.type != "cuda":
            return nullcontext()
        return torch.autocast("cuda", dtype=dtype)

    # -- RGB → cube --------------------------------------------------------------------------------------
    def reconstruct(self, rgb_linear, *, steps: int = 8, samples: int = 1, seed: int = 0,
                    scheduler: str = "dpmsolver++", device: str = "cpu", progress=None, cancel=None,
                    precision: str = "auto"):
        """Linear RGB H×W×3 (numpy or torch) → ``(mean H×W×B float32, std H×W×B float32 or None)``.

        Sample ``k`` uses seed ``seed + k``, so a result does not depend on how many samples follow it.
        Sizes that are not a multiple of :attr:`pad_multiple` are reflect-padded and cropped back."""
        rgb = _check_rgb(rgb_linear)
        steps, samples = _check_counts(steps, samples, scheduler, precision)
        h, w, _ = rgb.shape
        m = self.pad_multiple
        padded = np.pad(rgb, ((0, (-h) % m), (0, (-w) % m), (0, 0)), mode="reflect")
        was_training = self.training
        self.to(device).eval()
        try:
            with torch.inference_mode():
                stats = self._sample_cubes(padded, (h, w), steps, samples, seed, scheduler, torch.device(device),
                                           precision, progress or _no_progress, cancel or NEVER_CANCEL)
        finally:
            self.train(was_training)
        return stats.mean(), (stats.std() if samples > 1 else None)

    def _sample_cubes(self, padded: np.ndarray, size: tuple[int, int], steps: int, samples: int, seed: int,
                      scheduler: str, dev: torch.device, precision: str, report, cancel) -> _RunningStats:
        h, w = size
        amp = _amp_dtype(dev, precision)
        stats = _RunningStats()
        y = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)))[None].to(dev)
        z_y = self.rgb_latents(y)
        for k in range(samples):
            def sub(frac, msg="", k=k):
                report((k + 0.9 * frac) / samples, f"sample {k + 1}/{samples} {msg}".strip())

            gen = torch.Generator(device="cpu").manual_seed(int(seed) + k)
            z = self.sample(z_y, steps=steps, scheduler=scheduler, generator=gen, progress=sub, cancel=cancel,
                            amp_dtype=amp)
            cancel.check()
            x = self.speuae.decode(y, self.codes_from_latents(z.float(), y))[0, :, :h, :w].permute(1, 2, 0)
            x = nonnegative_consistent(x, y[0, :, :h, :w].permute(1, 2, 0), self.speuae.pinv, self.speuae.S)
            stats.add(x.cpu().numpy())
            report((k + 1) / samples, f"sample {k + 1}/{samples} decoded")
        return stats

    # -- persistence -------------------------------------------------------------------------------------
    def save(self, path, extra: dict | None = None) -> Path:
        """Write a bundle (diffusers layout + spectral.json + manifest, atomically); see :mod:`.bundle`."""
        from .bundle import save_bundle

        self.vae.register_to_config(scaling_factor=float(self.latent_scale))
        spectral = self.speuae.spectral_info()
        spectral["rgb"]["vae_condition"] = "clip to [0, 1], sRGB-encode, scale to [-1, 1]"
        spectral["prediction_type"] = self.prediction_type
        parts = {"speuae": self.speuae, "vae": self.vae, "unet": self.unet}
        if self.refiner is not None:
            parts["refiner"] = self.refiner
        return save_bundle(path, "ULDM", parts,
                           scheduler=self.scheduler_config, extra=extra, spectral=spectral)


# -- helpers -------------------------------------------------------------------------------------------------
class _RunningStats:
    """Welford's running mean / population standard deviation over samples, in float64."""

    def __init__(self) -> None:
        self.n, self._mean, self._m2 = 0, None, None

    def add(self, x: np.ndarray) -> None:
        x = x.astype(np.float64)
        self.n += 1
        if self._mean is None:
            self._mean, self._m2 = x.copy(), np.zeros_like(x)
            return
        delta = x - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (x - self._mean)

    def mean(self) -> np.ndarray:
        return self._mean.astype(np.float32)

    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self._m2 / self.n, 0.0)).astype(np.float32)


def _check_rgb(rgb) -> np.ndarray:
    if isinstance(rgb, torch.Tensor):
        rgb = rgb.detach().to("cpu", torch.float32).numpy()
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ShapeError(f"RGB input has shape {arr.shape}; expected (height, width, 3) linear RGB")
    check_size(arr.shape[0], arr.shape[1], 3, what="RGB input")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"RGB input has dtype {arr.dtype}; expected real numbers")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise NonFiniteError("RGB input holds NaN/Inf values; expected finite linear RGB")
    return arr


def _check_counts(steps, samples, scheduler: str, precision: str) -> tuple[int, int]:
    if int(steps) < 1 or int(samples) < 1:
        raise InputError(f"steps={steps}, samples={samples}; expected at least 1 of each")
    if scheduler not in SCHEDULERS:
        raise InputError(f"scheduler {scheduler!r}; expected one of {', '.join(SCHEDULERS)}")
    if precision not in PRECISIONS:
        raise InputError(f"precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    return int(steps), int(samples)


def _amp_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    if device.type != "cuda" or precision == "fp32":
        return None  # CPU: fp32 only (DESIGN §5)
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


__all__ = ["ULDM", "SCHEDULERS", "PRECISIONS"]
