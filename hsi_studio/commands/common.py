"""Helpers shared by subcommand handlers: output, progress reporting (stderr bar or JSON lines)."""

from __future__ import annotations

import json
import sys
import time
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
    from hsi_studio.services.outputs import printable as show

    return show(path)


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
    """See :func:`hsi_studio.services.outputs.output_files`."""
    from hsi_studio.services.outputs import output_files as files

    return files(path)


def check_output(path: str | Path, force: bool) -> Path:
    """Refuse to clobber an existing output unless ``--force`` was given (:func:`hsi_studio.services.outputs.check_output`)."""
    from hsi_studio.services.outputs import check_output as check

    return check(path, force)


def writable_folder(folder: str | Path) -> Path:
    """See :func:`hsi_studio.services.outputs.writable_folder`."""
    from hsi_studio.services.outputs import writable_folder as check

    return check(folder)


CURRENT_ARGV: list[str] = []  # the arguments cli.main was given (set there; sys.argv when empty)


def command_line() -> str:
    """This command's line (``hsi-studio`` + its arguments), for a lock's holder record."""
    return " ".join(printable(a) for a in ["hsi-studio", *(CURRENT_ARGV or sys.argv[1:])])[:400]


def output_folder(folder: str | Path, force: bool):
    """The ``-o`` folder of a command that writes several outputs, locked in this command's name
    (:func:`hsi_studio.services.outputs.output_folder`)."""
    from hsi_studio.services.outputs import output_folder as folder_cm

    return folder_cm(folder, force, command_line())


def output_file(path: str | Path, force: bool):
    """A command writing one output, locked in this command's name (:func:`hsi_studio.services.outputs.output_file`)."""
    from hsi_studio.services.outputs import output_file as file_cm

    return file_cm(path, force, command_line())


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
