"""Device and precision choice, shared by inference (:mod:`.pipeline`) and training (:mod:`.training`).

- :func:`resolve_device` — ``auto`` → CUDA, then Apple MPS, then the CPU; an explicit device is checked;
- :func:`amp_dtype` — the autocast dtype of inference: ``None`` (fp32) on the CPU (bf16 there is ~20× slower) or with ``precision="fp32"``; on CUDA fp16/bf16 as asked, ``auto`` → bf16 where supported;
- :func:`mixed_precision` — Accelerate's ``mixed_precision`` for training: ``no`` off CUDA; ``auto`` → bf16
  where supported, else fp16;
- :func:`accelerators` — the accelerators torch can use (the GUI's device list);
- :func:`set_threads`, :func:`seed_torch` — torch's CPU threads and its global seed (the per-pixel and fast
  fits);
- :func:`process_share` — this process's share of a list under ``accelerate launch``.

Outside :mod:`hsi_studio.core.ml` nothing imports torch, diffusers or accelerate: the callers come here.
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


def accelerators() -> list[tuple[str, str]]:
    """(device, description) for each accelerator torch can use; [] when there is none (or no torch).
    Imports torch: run it on a worker, never at start-up."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return []
    import torch

    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append((f"cuda:{i}", f"{props.name}, {props.total_memory / 1024**3:.0f} GiB"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(("mps", "Apple GPU (MPS)"))
    return out


def set_threads(threads: int) -> None:
    """torch's intra-op CPU threads."""
    import torch

    torch.set_num_threads(int(threads))


def seed_torch(seed: int) -> None:
    """Seed torch's global generator (a fresh model's initial weights are then a function of the seed)."""
    import torch

    torch.manual_seed(int(seed))


def process_share(items: list) -> list:
    """This process's share of ``items`` under ``accelerate launch`` (Accelerate's split_between_processes);
    all of them when run alone."""
    from hsi_studio.core import settings

    if settings.world_size() <= 1:
        return items
    from accelerate import PartialState

    state = PartialState()
    with state.split_between_processes(items) as mine:
        return list(mine)


__all__ = ["accelerators", "amp_dtype", "mixed_precision", "process_share", "resolve_device", "seed_torch",
           "set_threads"]
