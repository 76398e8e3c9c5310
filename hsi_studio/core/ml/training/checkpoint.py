"""Pickle-free training checkpoints.

A checkpoint is a folder holding ``tensors.safetensors`` (every tensor of every state: model, EMA, optimiser,
RNG) and ``state.json`` (everything else: step, scheduler and scaler counters, config), written into a
temporary folder and renamed into place, with a ``manifest.json`` (sha256 per file) written last.
Nested states are flattened generically: a tensor becomes ``{"__tensor__": key}`` in the JSON tree, numpy
arrays ``{"__ndarray__": key}``, dicts with non-string keys and tuples are tagged so they round-trip exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hsi_studio.core.errors import FileFormatError, OutputError, one_line
from hsi_studio.core.storage.atomic import fault, staged_folder
from hsi_studio.core.storage.files import read_json
from hsi_studio.core.storage.manifest import fsync_write, verify_manifest, write_manifest

TENSORS, STATE = "tensors.safetensors", "state.json"


def flatten(obj: Any, tensors: dict, prefix: str = "s") -> Any:
    """JSON-able tree of ``obj`` with tensors moved into ``tensors`` (key → contiguous CPU tensor)."""
    import numpy as np
    import torch

    if isinstance(obj, torch.Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj)).clone()
        return {"__ndarray__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__map__": {k: flatten(v, tensors, f"{prefix}.{k}") for k, v in obj.items()}}
        return {"__items__": [[flatten(k, tensors, prefix), flatten(v, tensors, f"{prefix}.{k}")]
                              for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def unflatten(tree: Any, tensors: dict) -> Any:
    if isinstance(tree, list):
        return [unflatten(v, tensors) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__tensor__" in tree:
        if tree["__tensor__"] not in tensors:
            raise FileFormatError(f"checkpoint state names tensor {one_line(repr(tree['__tensor__']), 60)}, which "
                                  "tensors.safetensors lacks; expected every tensor it names")
        return tensors[tree["__tensor__"]]
    if "__ndarray__" in tree:
        return tensors[tree["__ndarray__"]].numpy()
    if "__map__" in tree:
        return {k: unflatten(v, tensors) for k, v in tree["__map__"].items()}
    if "__items__" in tree:
        return {unflatten(k, tensors): unflatten(v, tensors) for k, v in tree["__items__"]}
    if "__tuple__" in tree:
        return tuple(unflatten(v, tensors) for v in tree["__tuple__"])
    raise FileFormatError(f"unknown checkpoint node {sorted(tree)[:3]}; expected a HSI Studio checkpoint")


def save_checkpoint(folder: str | Path, state: dict, *, extra_manifest: dict | None = None) -> Path:
    """Atomically write ``state`` (nested dicts of tensors / JSON values) as a checkpoint folder."""
    from safetensors.torch import save_file

    folder = Path(folder)
    try:
        with staged_folder(folder) as tmp:  # removed on failure; an existing checkpoint survives
            tensors: dict = {}
            tree = flatten(state, tensors)
            save_file(tensors, str(tmp / TENSORS))
            with open(tmp / TENSORS, "rb") as f:
                os.fsync(f.fileno())
            fsync_write(tmp / STATE, json.dumps(tree).encode())
            write_manifest(tmp, extra_manifest)
            fault("checkpoint-written")
    except Exception as exc:
        if not isinstance(exc, (OSError, TypeError)) and type(exc).__name__ == "SafetensorError":
            # e.g. a full disk inside safetensors
            raise OutputError(f"cannot write checkpoint {folder.name} ({one_line(exc, 120)}); expected a writable "
                              "folder with free space", path=str(folder.parent)) from None
        raise
    return folder


def load_checkpoint(folder: str | Path) -> dict:
    """Verify and read a checkpoint written by :func:`save_checkpoint` (no pickle involved)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    verify_manifest(folder)
    tree = read_json(folder / STATE, "checkpoint state.json", expect=object)
    try:
        tensors = load_file(str(folder / TENSORS))
    except Exception as exc:  # safetensors raises its own error type for damaged files
        raise FileFormatError(f"checkpoint tensors are unreadable ({type(exc).__name__}: {one_line(exc, 120)}); "
                              "expected a complete safetensors file", path=str(folder)) from None
    try:
        return unflatten(tree, tensors)
    except FileFormatError as exc:
        raise FileFormatError(str(exc), path=str(folder)) from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise FileFormatError(f"checkpoint state.json does not match its tensors ({type(exc).__name__}: "
                              f"{one_line(exc, 80)}); expected a checkpoint written by HSI Studio",
                              path=str(folder)) from None


__all__ = ["flatten", "unflatten", "save_checkpoint", "load_checkpoint"]
