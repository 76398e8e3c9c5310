"""Ceilings for what a bundle may ask for (issue 23, items 7 and 8), checked before anything is built.

A component's ``config.json`` decides how much memory its constructor allocates (``layers_per_block``,
``block_out_channels``, ``hidden``, the band count …), so every number in it is bounded here **before** the
module is constructed; then the parameter count of the configured module is measured on the ``meta`` device
(no memory) and refused above :data:`MAX_PARAMETERS`. The weights are refused when a tensor is not floating
point, holds NaN/Inf, or a magnitude above :data:`MAX_WEIGHT` (trained weights of every shipped model are below
4; a bias of 1e30 is a broken or hostile file, not a model).

The ceilings are generous: they admit every shipped bundle and a ULDM built on a Stable Diffusion 1.x/2.x UNet
(0.86 G parameters, ``block_out_channels`` up to 1280, ``cross_attention_dim`` 1024).
"""

from __future__ import annotations

from typing import Any

from hsi_studio.core.errors import FileFormatError, one_line

#: any integer in a component config (channels, sizes, heads, dims) — SD's largest is 2816
MAX_INT = 8192
#: per-key ceilings, tighter than :data:`MAX_INT` where a value multiplies the number of modules
KEY_MAX = {"layers_per_block": 16, "layers": 64, "transformer_layers_per_block": 32, "num_attention_heads": 256,
           "code_pool": 1024, "degree": 3, "num_class_embeds": 4096}
#: list lengths: the band count (wavelengths, response rows) and the per-level lists of a UNet/VAE
MAX_BANDS = 1024
LIST_MAX = {"wavelengths": MAX_BANDS, "response": MAX_BANDS, "block_out_channels": 8, "down_block_types": 8,
            "up_block_types": 8, "dilations": 32}
MAX_LIST = 64
MAX_STRING = 1024
MAX_DEPTH = 6
#: parameters of one component (SD 1.x/2.x UNet: 0.87 G)
MAX_PARAMETERS = 2_000_000_000
#: the largest magnitude a weight may have
MAX_WEIGHT = 1e6


def _fail(where: str, root, what: str) -> FileFormatError:
    return FileFormatError(f"{where} config: {what}", path=str(root) if root is not None else None)


def check_config(config: Any, where: str, root=None) -> None:
    """Every number, list and string of a component config within its ceiling (see the module docstring);
    a :class:`FileFormatError` naming the key otherwise."""
    if not isinstance(config, dict):
        raise _fail(where, root, f"is a JSON {type(config).__name__}; expected an object")

    def walk(value: Any, key: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _fail(where, root, f"{key!r} is nested {depth} deep; expected at most {MAX_DEPTH}")
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int):
            top = KEY_MAX.get(key, MAX_INT)
            if not -1 <= value <= top:
                raise _fail(where, root, f"{key!r} is {value:,}; expected at most {top:,} (a size ceiling: the "
                                         "value decides how much memory the model allocates)")
            return
        if isinstance(value, float):
            if value != value or abs(value) > 1e12:
                raise _fail(where, root, f"{key!r} is {value!r}; expected a finite number of sensible size")
            return
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise _fail(where, root, f"{key!r} is a string of {len(value):,} characters; expected at most "
                                         f"{MAX_STRING:,}")
            return
        if isinstance(value, (list, tuple)):
            top = LIST_MAX.get(key, MAX_LIST) if depth <= 1 else MAX_LIST
            if len(value) > top:
                raise _fail(where, root, f"{key!r} has {len(value):,} entries; expected at most {top:,}")
            for item in value:
                walk(item, key, depth + 1)
            return
        if isinstance(value, dict):
            if len(value) > 256:
                raise _fail(where, root, f"{key!r} has {len(value):,} keys; expected at most 256")
            for k, v in value.items():
                walk(v, str(k), depth + 1)
            return
        raise _fail(where, root, f"{key!r} is a {type(value).__name__}; expected JSON numbers, strings and lists")

    if len(config) > 256:
        raise _fail(where, root, f"has {len(config):,} keys; expected at most 256")
    for k, v in config.items():
        walk(v, str(k), 1)


def count_parameters(cls, config: dict) -> int:
    """Parameters + buffers ``cls.from_config(config)`` would hold, built on the ``meta`` device (nothing
    allocated)."""
    import torch

    with torch.device("meta"):
        module = cls.from_config(config)
    return sum(t.numel() for t in module.parameters()) + sum(t.numel() for t in module.buffers())


def check_size(cls, config: dict, where: str, root=None) -> None:
    n = count_parameters(cls, config)
    if n > MAX_PARAMETERS:
        raise _fail(where, root, f"describes {n:,} parameters; expected at most {MAX_PARAMETERS:,}")


def check_weights(tensors: dict, where: str, root=None) -> None:
    """Every tensor floating point, finite and within ±:data:`MAX_WEIGHT`."""
    import torch

    for name, t in tensors.items():
        if not t.is_floating_point():
            raise FileFormatError(f"{where} weights: tensor {one_line(name, 80)} is {str(t.dtype).removeprefix('torch.')}; "
                                  "expected floating-point weights (float32/float16/bfloat16)",
                                  path=str(root) if root is not None else None)
        if not t.numel():
            continue
        if not bool(torch.isfinite(t).all()):
            raise FileFormatError(f"{where} weights: tensor {one_line(name, 80)} holds NaN/Inf; expected finite "
                                  "weights", path=str(root) if root is not None else None)
        top = float(t.abs().max())
        if top > MAX_WEIGHT:
            raise FileFormatError(f"{where} weights: tensor {one_line(name, 80)} holds a value of magnitude "
                                  f"{top:.3g}; expected at most {MAX_WEIGHT:.0e} (a broken or tampered model)",
                                  path=str(root) if root is not None else None)


__all__ = ["KEY_MAX", "MAX_BANDS", "MAX_INT", "MAX_PARAMETERS", "MAX_WEIGHT", "check_config", "check_size",
           "check_weights", "count_parameters"]
