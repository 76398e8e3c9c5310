"""ULDM — the unobservable-feature latent diffusion model (DESIGN §2.3).

The SpaAE (the RGB base's ``AutoencoderKL``) encodes the RGB condition ``y → z_y`` and the SpeUAE code image
``u → z_u``; the RGB-pretrained UNet, with ``conv_in`` widened for ``[z_t ‖ z_y]``, learns to predict the
noise added to ``z_u``. Inference samples ``z_u`` with DPM-Solver++ (or DDIM) in a few steps, decodes ``u`` and
turns ``(y, u)`` into a spectrum with the SpeUAE decoder — which reprojects exactly to ``y``. ``samples=K``
draws K codes and returns the mean cube and the per-pixel spectral standard deviation.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from torch import nn

from ..jobs import NEVER_CANCEL
from .base import LATENT_CHANNELS, RGBLDM, expand_conv_in, srgb_encode_t, unet_eps
from .speuae import SpeUAE


class ULDM(nn.Module):
    def __init__(self, speuae: SpeUAE, vae, unet: nn.Module, sched_config: dict, latent_scale: float):
        super().__init__()
        self.speuae, self.vae, self.unet = speuae, vae, unet
        self.scheduler_config = dict(sched_config)
        self.noise_scheduler = DDPMScheduler(**self.scheduler_config)
        self.register_buffer("latent_scale", torch.tensor(float(latent_scale)))

    @classmethod
    def from_parts(cls, speuae: SpeUAE, base: RGBLDM) -> ULDM:
        """Adapt an RGB LDM: widen its UNet's ``conv_in`` for the RGB latents (zero-initialised)."""
        unet = expand_conv_in(base.unet, LATENT_CHANNELS)
        return cls(speuae, base.vae, unet, base.scheduler_config, float(base.latent_scale))

    @property
    def response(self):
        return self.speuae.response

    @property
    def wavelengths(self) -> np.ndarray:
        return np.asarray(self.speuae.config.wavelengths, dtype=np.float64)

    @property
    def pad_multiple(self) -> int:
        """Input sizes must be multiples of this: 8 (VAE) × 2 per UNet downsampling."""
        inner = getattr(self.unet, "unet", self.unet)
        return 8 * 2 ** (len(inner.config.block_out_channels) - 1)

    # -- latents ---------------------------------------------------------------------------------------------
    def rgb_latents(self, y: torch.Tensor) -> torch.Tensor:
        """Linear RGB N×3×H×W → scaled latents of the sRGB-encoded image in [−1, 1]."""
        return self.vae.encode(srgb_encode_t(y) * 2 - 1).latent_dist.mean * self.latent_scale

    def code_latents(self, u: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(u).latent_dist.mean * self.latent_scale

    def decode_codes(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z / self.latent_scale).sample.clamp(-1, 1)

    # -- training --------------------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Noise-prediction MSE on the code latents, conditioned on the RGB latents."""
        with torch.no_grad():
            z_u = self.code_latents(self.speuae.encode(x))
            z_y = self.rgb_latents(y)
        noise = torch.randn_like(z_u)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (z_u.shape[0],), device=z_u.device)
        z_t = self.noise_scheduler.add_noise(z_u, noise, t)
        return nn.functional.mse_loss(unet_eps(self.unet, torch.cat([z_t, z_y], 1), t), noise)

    def spaae_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fine-tune the SpaAE on code images: reconstruct u, and the spectrum decoded from it."""
        with torch.no_grad():
            u = self.speuae.encode(x)
        post = self.vae.encode(u).latent_dist
        u_hat = self.vae.decode(post.mean).sample.clamp(-1, 1)
        x_hat = self.speuae.decode(y, u_hat)
        denom = x.mean(dim=1, keepdim=True).clamp_min(1e-3)
        return (u_hat - u).abs().mean() + ((x_hat - x).abs() / denom).mean() + 1e-6 * post.kl().mean()

    # -- inference -------------------------------------------------------------------------------------------
    def make_scheduler(self, name: str = "dpmsolver++"):
        if name == "ddim":
            return DDIMScheduler.from_config(self.scheduler_config)
        return DPMSolverMultistepScheduler.from_config(self.scheduler_config, algorithm_type="dpmsolver++")

    def sample_codes(self, z_y: torch.Tensor, *, steps: int, scheduler: str, generator: torch.Generator,
                     progress=None, cancel=None) -> torch.Tensor:
        cancel = cancel or NEVER_CANCEL
        sched = self.make_scheduler(scheduler)
        sched.set_timesteps(int(steps), device=z_y.device)
        z = torch.randn(z_y.shape, generator=generator, device="cpu").to(z_y)
        z = z * sched.init_noise_sigma
        for i, t in enumerate(sched.timesteps):
            cancel.check()
            model_in = torch.cat([sched.scale_model_input(z, t), z_y], 1)
            eps = unet_eps(self.unet, model_in, t)
            z = sched.step(eps, t, z).prev_sample
            if progress:
                progress((i + 1) / len(sched.timesteps), f"step {i + 1}/{len(sched.timesteps)}")
        return z

    def reconstruct(self, rgb_linear: np.ndarray, *, steps: int = 8, samples: int = 1, seed: int = 0,
                    scheduler: str = "dpmsolver++", device: str = "cpu", progress=None, cancel=None):
        """Linear RGB H×W×3 → (mean H×W×B float32, std H×W×B or None)."""
        cancel = cancel or NEVER_CANCEL
        report = progress or (lambda f, m="": None)
        h, w, _ = rgb_linear.shape
        m = self.pad_multiple
        ph, pw = (-h) % m, (-w) % m
        mode = "reflect" if ph < h and pw < w else "symmetric"
        arr = np.pad(rgb_linear, ((0, ph), (0, pw), (0, 0)), mode=mode)
        self.to(device).eval()
        use_amp = str(device).startswith("cuda")
        amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
        outs = []
        with torch.inference_mode(), torch.autocast("cuda", dtype=amp_dtype, enabled=use_amp):
            y = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None].float().to(device)
            z_y = self.rgb_latents(y)
            for k in range(int(samples)):
                gen = torch.Generator(device="cpu").manual_seed(int(seed) + k)

                def sub(frac, msg="", k=k):
                    report((k + frac * 0.9) / samples, f"sample {k + 1}/{samples} {msg}".strip())

                z = self.sample_codes(z_y, steps=steps, scheduler=scheduler, generator=gen, progress=sub,
                                      cancel=cancel)
                cancel.check()
                u = self.decode_codes(z.float() if not use_amp else z)
                x = self.speuae.decode(y.float(), u.float())
                outs.append(x[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy())
                report((k + 1) / samples, f"sample {k + 1}/{samples} decoded")
        stack = np.stack(outs)
        mean = stack.mean(axis=0).astype(np.float32)
        std = stack.std(axis=0).astype(np.float32) if samples > 1 else None
        return mean, std

    def save(self, path, extra: dict | None = None):
        from .bundle import save_bundle

        self.vae.register_to_config(scaling_factor=float(self.latent_scale))
        return save_bundle(path, "ULDM", {"speuae": self.speuae, "vae": self.vae, "unet": self.unet},
                           scheduler=self.scheduler_config, extra=extra,
                           spectral={"response": self.response.to_dict(), "wavelengths": self.wavelengths.tolist(),
                                     "rgb": "linear RGB through the response; photos are sRGB-decoded first; "
                                            "exposure-normalised so the brightest channel ≤ 1"})


__all__ = ["ULDM"]
