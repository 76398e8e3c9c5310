"""Pickle-free training checkpoints (DESIGN §4.4–4.6).

A checkpoint is a folder holding ``tensors.safetensors`` (every tensor of every state: model, EMA, optimiser,
RNG) and ``state.json`` (everything else: step, scheduler and scaler counters, config), written into a
temporary folder and renamed into place, with a ``manifest.json`` (sha256 per file) written last.
Nested states are flattened generically: a tensor becomes ``{"__tensor__": key}`` in the JSON tree, numpy
arrays ``{"__ndarray__": key}``, dicts with non-string keys and tuples are tagged so they round-trip exactly.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .atomic import fault, staged_folder
from .errors import FileFormatError, OutputError, UnsafeFileError, one_line
from .io_base import read_json
from .provenance import file_sha256

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


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_manifest(folder: Path, extra: dict | None = None) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"files": {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}, **(extra or {})}
    _fsync_write(folder / MANIFEST, json.dumps(manifest, indent=2).encode())


_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def manifest_files(folder: Path, manifest: Any) -> dict[str, str]:
    """The manifest's ``files`` map, every entry checked (before anything is hashed): a relative POSIX path
    inside ``folder`` (no '..', no absolute path, no symlink out) naming a regular file, with a sha256 digest."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise FileFormatError(f"manifest.json 'files' is {type(files).__name__}; expected an object mapping "
                              "each file's relative path to its sha256", path=str(folder))
    root = folder.resolve()
    for rel, digest in files.items():
        if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
            raise FileFormatError(f"manifest.json gives {one_line(repr(digest), 80)} as the sha256 of "
                                  f"{one_line(repr(rel), 80)}; expected 64 lowercase hex digits", path=str(folder))
        parts = PurePosixPath(rel).parts
        if (not rel or rel.startswith(("/", "\\")) or "\\" in rel or "\0" in rel or ".." in parts
                or PureWindowsPath(rel).drive):
            raise UnsafeFileError(f"manifest.json lists {one_line(repr(rel), 120)}, a path outside the folder; "
                                  "expected relative paths inside it", path=str(folder))
        p = folder / rel
        try:
            outside = not p.resolve().is_relative_to(root)
        except (OSError, RuntimeError):
            outside = True
        if outside:
            raise UnsafeFileError(f"manifest.json lists {one_line(repr(rel), 120)}, which leads outside the folder "
                                  "(a symbolic link?); expected files inside it", path=str(folder))
        if not p.is_file():
            raise FileFormatError(f"{rel} listed in the manifest is missing (or not a regular file)",
                                  path=str(folder))
    return files


def verify_manifest(folder: Path) -> dict:
    """Check every file's sha256 against ``manifest.json``; refuse pickle files and paths outside ``folder``."""
    folder = Path(folder)
    for p in folder.rglob("*"):
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise UnsafeFileError(f"{p.name} is a pickle-based file; expected safetensors + JSON only",
                                  path=str(folder))
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise FileFormatError("manifest.json is missing (incomplete or foreign folder); expected one written "
                              "by HSI Studio", path=str(folder))
    manifest = read_json(mpath, "manifest.json")
    files = manifest_files(folder, manifest)
    for rel, digest in files.items():
        if file_sha256(folder / rel) != digest:
            raise FileFormatError(f"{rel} does not match its sha256 in manifest.json (corrupt or modified)",
                                  path=str(folder))
    return manifest


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
            _fsync_write(tmp / STATE, json.dumps(tree).encode())
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
    except Exception as exc:  # noqa: BLE001 — safetensors raises its own error type for damaged files
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


__all__ = ["flatten", "unflatten", "save_checkpoint", "load_checkpoint", "write_manifest", "verify_manifest",
           "PICKLE_SUFFIXES"]
