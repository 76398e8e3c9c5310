"""Helpers shared by subcommand handlers: output, progress reporting (stderr bar or JSON lines)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def printable(path: Any) -> str:
    """A path as printable text: undecodable bytes of a non-UTF-8 file name become U+FFFD."""
    from hsi_studio.core.storage.atomic import safe_name

    return safe_name(path)


def int_tuple(text: str | None, n: int, flag: str) -> tuple[int, ...] | None:
    """``n`` comma-separated whole numbers ≥ 0 from a flag's text (None stays None), or an InputError."""
    from hsi_studio.core.errors import InputError

    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != n or any(v < 0 for v in values):
        raise InputError(f"{flag} {text!r}; expected {n} comma-separated whole numbers ≥ 0")
    return values


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
    too) unless ``--force`` was given; refuse a missing parent folder."""
    from hsi_studio.core.errors import OutputError

    if not os.fspath(path).strip():
        raise OutputError("the output is an empty name; expected a file path")
    p = Path(path)
    for target in output_files(path):
        if os.path.lexists(target) and not force:
            raise OutputError(f"{target} already exists; expected a new path (or pass --force to replace it)")
    if not p.parent.is_dir():
        raise OutputError(f"folder {p.parent} does not exist; expected an existing folder for the output")
    return p


def writable_folder(folder: str | Path) -> Path:
    """Check that ``folder`` exists as a folder or can be created (its nearest existing ancestor is a
    writable folder) — before any work is done; nothing is created here."""
    from hsi_studio.core.errors import OutputError

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


CURRENT_ARGV: list[str] = []  # the arguments cli.main was given (set there; sys.argv when empty)


def command_line() -> str:
    """This command's line (``hsi-studio`` + its arguments), for a lock's holder record."""
    return " ".join(printable(a) for a in ["hsi-studio", *(CURRENT_ARGV or sys.argv[1:])])[:400]


@contextmanager
def output_folder(folder: str | Path, force: bool) -> Iterator[Path]:
    """The ``-o`` folder of a command that writes several outputs: checked (:func:`writable_folder`), locked for
    the command's duration (a second writer exits 2 naming this one), created if missing — and removed again
    if the command wrote nothing into it — and, unless ``--force``, every output is taken only if its name is
    still free when it is committed (:func:`hsi_studio.core.storage.atomic.exclusive_outputs`)."""
    from hsi_studio.core import settings
    from hsi_studio.core.errors import OutputError
    from hsi_studio.core.storage.atomic import exclusive_outputs, output_lock

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
    lock_cm = output_lock(p, command_line()) if settings.world_size() <= 1 else nullcontext()
    try:
        with lock_cm:
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
def output_file(path: str | Path, force: bool) -> Iterator[None]:
    """A command writing one output (a file, an ENVI pair or a band folder): SIGINT/SIGTERM/SIGHUP cancel it with
    nothing committed (exit 130), the output is locked against a second writer (exit 2, naming it), and unless
    ``--force`` a name that appeared meanwhile is never overwritten."""
    from hsi_studio.core import settings
    from hsi_studio.core.jobs import cancel_on_signals
    from hsi_studio.core.storage.atomic import exclusive_outputs, output_lock

    target = output_files(path)[-1]
    lock_cm = output_lock(target, command_line()) if settings.world_size() <= 1 else nullcontext()
    with cancel_on_signals(), lock_cm, exclusive_outputs(not force):
        yield


def _rmdir_empty(d: Path) -> bool:
    try:
        d.rmdir()
        return True
    except OSError:
        return False


class Reporter:
    """Progress for the CLI: a one-line bar on stderr (when it is a terminal), or JSON lines on stdout."""

    def __init__(self, jsonl: bool = False, label: str = "", stream=None):
        self.jsonl = jsonl
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._t0 = time.monotonic()
        self._last = -1.0

    def __call__(self, fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        elapsed = time.monotonic() - self._t0
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else None
        if self.jsonl:
            rec = {"event": "progress", "label": self.label, "fraction": round(fraction, 4), "message": message,
                   "eta_s": None if eta is None else round(eta, 1)}
            print(json.dumps(rec), flush=True)
            return
        if not self.tty and fraction < 1.0 and fraction - self._last < 0.1:
            return
        self._last = fraction
        bar = "#" * int(fraction * 30)
        eta_s = "" if eta is None else f" ETA {eta:5.1f}s"
        end = "\r" if self.tty and fraction < 1.0 else "\n"
        self.stream.write(f"{self.label} [{bar:<30}] {fraction * 100:5.1f}%{eta_s} {message}"[:120] + end)
        self.stream.flush()

    def event(self, **record: Any) -> None:
        if self.jsonl:
            print(json.dumps(record, default=_json_default), flush=True)
