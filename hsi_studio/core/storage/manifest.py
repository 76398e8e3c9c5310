"""Manifests of model bundles and checkpoints (no torch): a ``manifest.json`` written last with the sha256 of
every file, verified before anything is read, and the safe reads behind it (regular files only, no symbolic
links, bounded sizes). Used by :mod:`hsi_studio.core.ml.models.bundle` and
:mod:`hsi_studio.core.ml.training.checkpoint`.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from hsi_studio.core.errors import FileFormatError, UnsafeFileError, one_line
from hsi_studio.core.storage.files import read_json
from hsi_studio.core.storage.provenance import file_sha256

MANIFEST = "manifest.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_manifest(folder: Path, extra: dict | None = None) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"files": {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}, **(extra or {})}
    fsync_write(folder / MANIFEST, json.dumps(manifest, indent=2).encode())


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


#: the largest file :func:`read_verified` reads into memory (a ULDM on a Stable Diffusion UNet: 3.5 GB of weights)
MAX_FILE_BYTES = 4 * 1024**3


def read_regular(path: Path, rel: str, folder: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, read once through a descriptor opened without following a symbolic link
    (``O_NOFOLLOW``) and checked to be a regular file of at most ``max_bytes`` (from ``fstat``, before reading)."""
    import stat

    max_bytes = MAX_FILE_BYTES if max_bytes is None else int(max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError(f"{rel} is a symbolic link; expected a regular file inside the folder",
                                  path=str(folder)) from None
        raise FileFormatError(f"{rel} is unreadable ({os.strerror(exc.errno) if exc.errno else one_line(exc)}); "
                              "expected a readable file", path=str(folder)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileFormatError(f"{rel} is not a regular file; expected one", path=str(folder))
        if st.st_size > max_bytes:
            raise FileFormatError(f"{rel} is {st.st_size:,} bytes; expected at most {max_bytes:,}", path=str(folder))
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 24, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise FileFormatError(f"{rel} grew past {max_bytes:,} bytes while it was read; expected a file "
                                      "nobody writes to", path=str(folder))
        return b"".join(chunks)
    except OSError as exc:
        raise FileFormatError(f"{rel} is unreadable ({one_line(exc, 120)}); expected a readable file",
                              path=str(folder)) from None
    finally:
        os.close(fd)


def refuse_symlinks(folder: Path) -> None:
    """Refuse a symbolic link anywhere inside ``folder`` (at any depth; ``folder`` itself may be one): a link
    could put files no manifest covers — or files outside the folder — in its place."""
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            if p.is_symlink():
                rel = p.relative_to(folder).as_posix()
                raise UnsafeFileError(f"{one_line(rel, 120)} is a symbolic link; expected only regular files and "
                                      "folders inside (links are refused: they can lead to files the manifest does "
                                      "not cover)", path=str(folder))


def read_verified(folder: Path, max_file_bytes: int | None = None) -> tuple[dict, dict[str, bytes]]:
    """Load what you hash: ``(manifest, {relative path: bytes})`` — every file the manifest lists read **once**
    into memory and its sha256 checked on those bytes, which the caller then parses (a file rewritten in place
    meanwhile can no longer be read: no ``mmap`` of a changing file, no version mismatch). Symbolic links
    anywhere inside ``folder`` and pickle files are refused first."""
    import hashlib

    folder = Path(folder)
    refuse_symlinks(folder)
    for p in folder.rglob("*"):
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise UnsafeFileError(f"{p.name} is a pickle-based file; expected safetensors + JSON only",
                                  path=str(folder))
    if not (folder / MANIFEST).is_file():
        raise FileFormatError("manifest.json is missing (incomplete or foreign folder); expected one written "
                              "by HSI Studio", path=str(folder))
    raw = read_regular(folder / MANIFEST, MANIFEST, folder, max_bytes=64 * 1024**2)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(f"manifest.json is unreadable ({type(exc).__name__}: {one_line(exc, 120)}); expected "
                              "valid JSON", path=str(folder)) from None
    files = manifest_files(folder, manifest)
    data: dict[str, bytes] = {}
    for rel, digest in files.items():
        blob = read_regular(folder / rel, rel, folder, max_file_bytes)
        if hashlib.sha256(blob).hexdigest() != digest:
            raise FileFormatError(f"{rel} does not match its sha256 in manifest.json (corrupt or modified)",
                                  path=str(folder))
        data[rel] = blob
    return manifest, data
