"""Pickle-free training checkpoints (DESIGN §4.4–4.6).

A checkpoint is a folder holding ``tensors.safetensors`` (every tensor of every state: model, EMA, optimiser,
RNG) and ``state.json`` (everything else: step, scheduler and scaler counters, config), written into a
temporary folder and renamed into place, with a ``manifest.json`` (sha256 per file) written last.
Nested states are flattened generically: a tensor becomes ``{"__tensor__": key}`` in the JSON tree, numpy
arrays ``{"__ndarray__": key}``, dicts with non-string keys and tuples are tagged so they round-trip exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .errors import FileFormatError, UnsafeFileError
from .io_base import swap_folder

TENSORS, STATE, MANIFEST = "tensors.safetensors", "state.json", "manifest.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


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


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_manifest(folder: Path, extra: dict | None = None) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"files": {p.relative_to(folder).as_posix(): sha256(p) for p in files}, **(extra or {})}
    _fsync_write(folder / MANIFEST, json.dumps(manifest, indent=2).encode())


def verify_manifest(folder: Path) -> dict:
    """Check every file's sha256 against ``manifest.json``; refuse pickle files."""
    folder = Path(folder)
    for p in folder.rglob("*"):
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise UnsafeFileError(f"{p.name} is a pickle-based file; expected safetensors + JSON only",
                                  path=str(folder))
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise FileFormatError("manifest.json is missing (incomplete or foreign folder); expected one written "
                              "by HSI Studio", path=str(folder))
    try:
        manifest = json.loads(mpath.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"manifest.json is unreadable ({exc}); expected a JSON file list",
                              path=str(folder)) from None
    for rel, digest in files.items():
        p = folder / rel
        if not p.is_file():
            raise FileFormatError(f"{rel} listed in the manifest is missing", path=str(folder))
        if sha256(p) != digest:
            raise FileFormatError(f"{rel} does not match its sha256 in manifest.json (corrupt or modified)",
                                  path=str(folder))
    return manifest


def save_checkpoint(folder: str | Path, state: dict, *, extra_manifest: dict | None = None) -> Path:
    """Atomically write ``state`` (nested dicts of tensors / JSON values) as a checkpoint folder."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tensors: dict = {}
        tree = flatten(state, tensors)
        save_file(tensors, str(tmp / TENSORS))
        with open(tmp / TENSORS, "rb") as f:
            os.fsync(f.fileno())
        _fsync_write(tmp / STATE, json.dumps(tree).encode())
        write_manifest(tmp, extra_manifest)
        swap_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_checkpoint(folder: str | Path) -> dict:
    """Verify and read a checkpoint written by :func:`save_checkpoint` (no pickle involved)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    verify_manifest(folder)
    try:
        tensors = load_file(str(folder / TENSORS))
        tree = json.loads((folder / STATE).read_text())
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"checkpoint is unreadable ({exc}); expected safetensors + JSON",
                              path=str(folder)) from None
    return unflatten(tree, tensors)


__all__ = ["flatten", "unflatten", "save_checkpoint", "load_checkpoint", "write_manifest", "verify_manifest",
           "sha256", "PICKLE_SUFFIXES"]
