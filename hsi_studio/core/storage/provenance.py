"""Where a trained model came from: the inputs a bundle or checkpoint records (no torch import here).

- :func:`file_sha256` — a file's sha256, read in 1 MiB chunks;
- :func:`relative_path` — a path as recorded: relative to the current directory when it lies under it, else
  as given (never resolved to an absolute folder);
- :func:`library_versions` — torch, diffusers, numpy and hsi_studio versions (``None`` when not installed);
- :func:`data_files` — ``[{"path": …, "sha256": …}]`` for training data files (:func:`file_name`);
- :func:`folder_hash` — one sha256 for a model folder: its ``manifest.json``'s (which lists the sha256 of every
  file of an HSI Studio bundle), else a digest over every file's relative path and sha256 (a foreign folder,
  e.g. a Stable Diffusion checkpoint);
- :func:`portable_config` — a training config with its stage paths made relative (see :func:`relative_path`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
#: stage settings that name files or folders
PATH_KEYS = ("data", "val", "images", "stage1", "base", "init")


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def relative_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the current directory) when it lies under it, else as given."""
    p = Path(path)
    root = Path(cwd) if cwd is not None else Path.cwd()
    try:
        return Path(os.path.abspath(p)).relative_to(os.path.abspath(root)).as_posix() or "."
    except ValueError:
        return str(path)


def library_versions() -> dict[str, str | None]:
    from importlib import metadata

    from hsi_studio import __version__

    out: dict[str, str | None] = {}
    for name in ("torch", "diffusers", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["hsi_studio"] = __version__
    return out


def file_name(path: str | os.PathLike[str]) -> str:
    """A data file as recorded: relative to the current directory when under it, else its name alone (an
    absolute folder outside the checkout is never recorded; the sha256 identifies the file)."""
    rel = relative_path(path)
    return rel if not Path(rel).is_absolute() and not rel.startswith("..") else Path(path).name


def data_files(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, str]]:
    """One ``{"path", "sha256"}`` per file (paths as :func:`file_name` records them), in the given order."""
    return [{"path": file_name(p), "sha256": file_sha256(p)} for p in paths]


def folder_hash(folder: str | os.PathLike[str]) -> str:
    root = Path(folder)
    manifest = root / "manifest.json"
    if manifest.is_file():
        return file_sha256(manifest)
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        h.update(f"{p.relative_to(root).as_posix()}\0{file_sha256(p)}\n".encode())
    return h.hexdigest()


def model_input(path: str | os.PathLike[str]) -> dict[str, str]:
    """How a model folder used as an input is recorded: its path and :func:`folder_hash`."""
    return {"path": relative_path(path), "sha256": folder_hash(path)}


def portable_config(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``TrainConfig.to_dict()`` whose stage paths (:data:`PATH_KEYS`) are relative where possible."""
    out = dict(config)
    stage = dict(out.get("stage") or {})
    for key in PATH_KEYS:
        value = stage.get(key)
        if isinstance(value, str) and value:
            stage[key] = relative_path(value)
        elif isinstance(value, (list, tuple)):
            stage[key] = [relative_path(v) if isinstance(v, str) else v for v in value]
    out["stage"] = stage
    return out


__all__ = ["PATH_KEYS", "data_files", "file_name", "file_sha256", "folder_hash", "library_versions", "model_input",
           "portable_config", "relative_path"]
