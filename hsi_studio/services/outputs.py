"""Writing outputs safely — the use case behind every command and dialog that writes files: check an output
before any work (free name, existing folder, writable location), lock it against a second writer, write each
file to a temporary and commit a whole set at once (all outputs of a job, or none), and print a file name
safely. The mechanisms are :mod:`hsi_studio.core.storage.atomic`'s; this module decides how a command uses
them (``--force``, one lock per output folder, no lock under ``accelerate launch``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from hsi_studio.core import settings
from hsi_studio.core.errors import OutputError
from hsi_studio.core.jobs import cancel_on_signals
from hsi_studio.core.storage.atomic import (
    StagedFiles,
    atomic_folder,
    atomic_write,
    exclusive_outputs,
    output_lock,
    safe_name,
    staged_files,
    swap_folder,
)


def printable(path: Any) -> str:
    """A path as printable text: undecodable bytes of a non-UTF-8 file name become U+FFFD."""
    return safe_name(path)


def output_files(path: str | Path) -> list[Path]:
    """Every path a write to ``path`` creates or replaces: both files of an ENVI pair (``x.hdr`` + ``x.img``),
    else the path itself (a file, or a PNG band folder)."""
    p = Path(path)
    if p.suffix.lower() in (".hdr", ".img") and not str(path).endswith(("/", os.sep)):
        return [p.with_suffix(".hdr"), p.with_suffix(".img")] if p.suffix.lower() == ".hdr" \
            else [p.with_suffix(".hdr"), p]
    return [p]


def check_output(path: str | Path, force: bool) -> Path:
    """Refuse to clobber an existing output (any file of an ENVI pair, or a band folder — a trailing slash
    too) unless ``force``; refuse a missing parent folder."""
    if not os.fspath(path).strip():
        raise OutputError("the output is an empty name; expected a file path")
    p = Path(path)
    for target in output_files(path):
        if os.path.lexists(target) and not force:
            raise OutputError(f"{target} already exists; expected a new path (or pass --force to replace it)")
    if not p.parent.is_dir():
        raise OutputError(f"folder {p.parent} does not exist; expected an existing folder for the output")
    return p


def check_new_outputs(paths, force: bool) -> None:
    """Refuse the first of ``paths`` that exists, unless ``force``."""
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing and not force:
        raise OutputError(f"{existing[0]} already exists; expected a new output (or pass --force to replace it)")


def writable_folder(folder: str | Path) -> Path:
    """Check that ``folder`` exists as a folder or can be created (its nearest existing ancestor is a
    writable folder) — before any work is done; nothing is created here."""
    if not os.fspath(folder).strip():
        raise OutputError("the output folder is an empty name; expected a folder path (use -o . for the current "
                          "folder)")
    p = Path(folder)
    probe = p
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{probe} is not a folder; expected {p} to be a folder or creatable")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"folder {probe} is not writable; expected a writable location for {p}")
    return p


def make_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) or raise an :class:`OutputError` saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror}); expected a writable location",
                          path=str(folder)) from None


def lock(target: str | Path, holder: str):
    """One writer per output: :func:`~hsi_studio.core.storage.atomic.output_lock` when run alone; no lock under
    ``accelerate launch`` (every rank writes its share)."""
    return output_lock(target, holder) if settings.world_size() <= 1 else nullcontext()


@contextmanager
def output_folder(folder: str | Path, force: bool, holder: str) -> Iterator[Path]:
    """The folder of a command that writes several outputs: checked (:func:`writable_folder`), locked for the
    command's duration (a second writer exits 2 naming ``holder``), created if missing — and removed again if
    the command wrote nothing into it — and, unless ``force``, every output is taken only if its name is still
    free when it is committed (:func:`hsi_studio.core.storage.atomic.exclusive_outputs`)."""
    p = writable_folder(folder)
    if os.path.lexists(p) and not p.is_dir():
        raise OutputError(f"{printable(p)} is a file; expected a folder for the outputs")
    made: list[Path] = []
    for d in reversed([p, *p.parents]):
        if not os.path.lexists(d):
            if d != p:  # the lock lives beside p: its parent first
                try:
                    d.mkdir()
                    made.append(d)
                except FileExistsError:
                    pass
    try:
        with lock(p, holder):
            try:
                p.mkdir()
                made.append(p)
            except FileExistsError:
                pass
            try:
                with exclusive_outputs(not force):
                    yield p
            finally:
                if made and made[-1] == p:
                    _rmdir_empty(made.pop())
    finally:
        for d in reversed(made):  # the parents this run created, now empty
            if not _rmdir_empty(d):
                break


@contextmanager
def output_file(path: str | Path, force: bool, holder: str) -> Iterator[None]:
    """A job writing one output (a file, an ENVI pair or a band folder): SIGINT/SIGTERM/SIGHUP cancel it with
    nothing committed, the output is locked against a second writer (naming ``holder``), and unless ``force``
    a name that appeared meanwhile is never overwritten."""
    target = output_files(path)[-1]
    with cancel_on_signals(), lock(target, holder), exclusive_outputs(not force):
        yield


def staged_temp(staged: StagedFiles, final: Path) -> Path:
    """The temporary of ``final`` in a staged set; an ENVI pair's ``.img`` travels with its ``.hdr``."""
    envi = final.suffix.lower() in (".hdr", ".img")
    return staged.temp(final.with_suffix(".hdr") if envi else final, (".img",) if envi else ())


def _rmdir_empty(d: Path) -> bool:
    try:
        d.rmdir()
        return True
    except OSError:
        return False


__all__ = ["StagedFiles", "atomic_folder", "atomic_write", "check_new_outputs", "check_output", "exclusive_outputs",
           "lock", "make_folder", "output_file", "output_files", "output_folder", "output_lock", "printable",
           "safe_name", "staged_files", "staged_temp", "swap_folder", "writable_folder"]
