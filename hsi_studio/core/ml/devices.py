"""Device and precision choice, shared by inference (:mod:`.pipeline`) and training (:mod:`.training`).

- :func:`resolve_device` — ``auto`` → CUDA, then Apple MPS, then the CPU; an explicit device is checked;
- :func:`amp_dtype` — the autocast dtype of inference: ``None`` (fp32) on the CPU (bf16 there is ~20× slower) or with ``precision="fp32"``; on CUDA fp16/bf16 as asked, ``auto`` → bf16 where supported;
- :func:`mixed_precision` — Accelerate's ``mixed_precision`` for training: ``no`` off CUDA; ``auto`` → bf16
  where supported, else fp16.
"""

from __future__ import annotations

from hsi_studio.core.errors import InputError


def resolve_device(device: str) -> str:
    import torch

    if device in ("auto", "", None):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but no CUDA GPU is available; expected cpu or auto")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("device 'mps' requested but Apple MPS is not available; expected cpu or auto")
    if device != "cpu" and not device.startswith(("cuda", "mps")):
        raise InputError(f"unknown device {device!r}; expected auto, cpu, cuda, cuda:N or mps")
    return device


def amp_dtype(device, precision: str):
    """``torch.dtype`` for the UNet's autocast on ``device`` (a ``torch.device``), or None for fp32."""
    import torch

    if device.type != "cuda" or precision == "fp32":
        return None  # CPU: fp32 only (bf16 is ~20× slower there)
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def mixed_precision(requested: str, device: str) -> str:
    """Accelerate's ``mixed_precision`` for a training run on ``device`` (``requested``: auto, no, fp16, bf16)."""
    if requested != "auto":
        return requested if device.startswith("cuda") else "no"
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


__all__ = ["amp_dtype", "mixed_precision", "resolve_device"]
