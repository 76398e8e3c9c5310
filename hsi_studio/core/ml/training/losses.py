"""The training losses of the stages (:mod:`.stages`); the models (:mod:`.models`) only run forward passes.

- stage 1: :func:`speuae_loss` — relative L1 on the spectrum + a spread and a smoothness term on the codes u;
- rgb-pretrain: :func:`vae_loss` (phase ``vae``), :func:`denoise_loss` (phase ``unet``);
- stage 2: :func:`spaae_loss` (phase ``spaae``), :func:`uldm_loss` (phase ``uldm``: denoising of the code
  latents conditioned on the RGB latents), :func:`refine_loss` (phase ``refine``), :func:`code_head_loss`
  (phase ``head``).
"""

from __future__ import annotations

import torch
from torch import nn

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.models.rgb_base import unet_eps
from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline


def _rel_l1(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    denom = x.mean(dim=1, keepdim=True).clamp_min(1e-3)
    return ((x_hat - x).abs() / denom).mean()


# -- stage 1 -------------------------------------------------------------------------------------------------
def speuae_loss(model, x: torch.Tensor, y: torch.Tensor | None = None):
    """Relative L1 on the spectrum + a spread term (u uses [−1, 1]) + a small smoothness term on u; with
    ``prior_weight > 0`` the decoder is also trained with u = 0 and the codes are kept centred, so D(y, 0) is a
    per-pixel prior. Returns ``(loss, logs)``."""
    y = model.project(x) if y is None else y
    u = model.encode(x)
    xh = model.decode(y, u)
    denom = x.mean(dim=1, keepdim=True).clamp_min(1e-3)
    rel = ((xh - x).abs() / denom).mean()
    prior_w = float(getattr(model.config, "prior_weight", 0.0) or 0.0)
    prior = ((model.decode(y, torch.zeros_like(u)) - x).abs() / denom).mean() if prior_w > 0 else rel * 0
    std = u.flatten(2).transpose(0, 1).reshape(3, -1).std(dim=1)
    spread = torch.relu(0.4 - std).pow(2).mean()
    tv = (u[..., 1:, :] - u[..., :-1, :]).abs().mean() + (u[..., 1:] - u[..., :-1]).abs().mean()
    mean = u.flatten(2).transpose(0, 1).reshape(3, -1).mean(dim=1)
    centred = mean.pow(2).mean() if prior_w > 0 else rel * 0
    loss = rel + 0.1 * spread + 0.002 * tv + prior_w * prior + centred
    return loss, {"rel_l1": float(rel.detach()), "u_std": float(std.mean().detach()),
                  "prior_l1": float(prior.detach())}


# -- rgb-pretrain --------------------------------------------------------------------------------------------
def vae_loss(model, images: torch.Tensor, kl_weight: float = 1e-5) -> torch.Tensor:
    """An :class:`~.models.base.RGBLDM`'s VAE: L1 reconstruction of images in [−1, 1] + a small KL term."""
    post = model.vae.encode(images).latent_dist
    rec = model.vae.decode(post.sample()).sample
    return (rec - images).abs().mean() + kl_weight * post.kl().mean()


def denoise_loss(model, latents: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """An :class:`~.models.base.RGBLDM`'s UNet: noise-prediction MSE on scaled latents."""
    noise = torch.randn(latents.shape, generator=generator, device="cpu").to(latents)
    t = torch.randint(0, model.noise_scheduler.config.num_train_timesteps, (latents.shape[0],),
                      generator=generator, device="cpu").to(latents.device)
    noisy = model.noise_scheduler.add_noise(latents, noise, t)
    return nn.functional.mse_loss(unet_eps(model.unet, noisy, t), noise)


# -- stage 2 -------------------------------------------------------------------------------------------------
def prediction_target(model, z0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """What the UNet predicts under the model's prediction type (v, the clean latents, or the noise)."""
    kind = model.prediction_type
    if kind == "v_prediction":
        return model.noise_scheduler.get_velocity(z0, noise, t)
    return z0 if kind == "sample" else noise


def uldm_loss(model, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Denoising MSE on the code latents, conditioned on the RGB latents (target per prediction type)."""
    with torch.no_grad():
        z_u = model.code_latents(model.speuae.encode(x))
        z_y, _ = model.condition(y)  # a corrective model: [z_y ‖ z_ū], its spatial mean's code latents too
    noise = torch.randn(z_u.shape, generator=generator, device="cpu").to(z_u)
    t = torch.randint(0, model.noise_scheduler.config.num_train_timesteps, (z_u.shape[0],),
                      generator=generator, device="cpu").to(z_u.device)
    z_t = model.noise_scheduler.add_noise(z_u, noise, t)
    pred = unet_eps(model.unet, torch.cat([z_t, z_y], 1), t)
    return nn.functional.mse_loss(pred, prediction_target(model, z_u, noise, t))


def spaae_loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fine-tune the SpaAE on code images: reconstruct u, and the spectrum decoded from it."""
    with torch.no_grad():
        u = model.speuae.encode(x)
    post = model.vae.encode(u).latent_dist
    u_hat = model.vae.decode(post.mean).sample.clamp(-1, 1)
    x_hat = model.speuae.decode(y, u_hat)
    return (u_hat - u).abs().mean() + _rel_l1(x_hat, x) + 1e-6 * post.kl().mean()


def refine_loss(model, x: torch.Tensor, y: torch.Tensor, source: str = "samples", steps: int = 8) -> torch.Tensor:
    """Train the refiner (everything else frozen): code L1 plus the relative L1 of the spectrum decoded from
    the refined code. ``source="samples"``: refine what the ULDM actually produces (a ``steps``-step sample
    given ``y``, noise drawn from torch's RNG, which the trainer seeds per step); ``"roundtrip"``: refine
    SpaAE round trips of the true codes (cheaper; fixes only the autoencoder's loss)."""
    if source not in ("samples", "roundtrip"):
        raise InputError(f"refine source {source!r}; expected 'samples' or 'roundtrip'")
    with torch.no_grad():
        u = model.speuae.encode(x)
        if source == "samples":
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
            z = ULDMPipeline(model).sample(model.condition(y)[0], steps=steps,
                                           generator=torch.Generator().manual_seed(seed))
            u_hat = model.decode_codes(z)
        else:
            u_hat = model.decode_codes(model.code_latents(u))
    u_ref = model.refiner(u_hat, y)
    x_hat = model.speuae.decode(y, u_ref)
    return (u_ref - u).abs().mean() + _rel_l1(x_hat, x)


def code_head_loss(model, x: torch.Tensor, y: torch.Tensor, steps: int = 4) -> torch.Tensor:
    """Distil the SpaAE decoder into the latent-resolution :class:`CodeHead` (everything else frozen): L1 between
    the head's block codes and the SpaAE's decoded codes averaged over the same blocks, on the latents the model
    meets — a ``steps``-step sample given ``y`` (noise from torch's RNG, which the trainer seeds per step), the
    true codes' latents and, for a corrective model, its spatial mean's code latents."""
    with torch.no_grad():
        z_y, extra = model.condition(y)
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        zs = [ULDMPipeline(model).sample(z_y, steps=steps, generator=torch.Generator().manual_seed(seed)),
              model.code_latents(model.speuae.encode(x))]
        if "z_mean" in extra:
            zs.append(extra["z_mean"])
        z = torch.cat(zs)
        target = nn.functional.avg_pool2d(model.decode_codes(z), model.vae_factor)
    return (model.code_head(z) - target).abs().mean()


__all__ = ["code_head_loss", "denoise_loss", "prediction_target", "refine_loss", "spaae_loss", "speuae_loss", "uldm_loss",
           "vae_loss"]
