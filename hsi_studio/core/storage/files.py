"""Small files read safely, and byte counts said plainly (no Qt, no torch): :func:`read_json` for settings,
manifests and indexes (size-bounded, typed errors), :func:`written_bytes` (what a write left on disk) and
:func:`format_bytes` for messages."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hsi_studio.core.errors import FileFormatError, InputError, one_line

JSON_MAX_BYTES = 64 * 1024**2


def read_json(path: str | os.PathLike[str], what: str = "JSON file", *, expect: type = dict,
              error: type[InputError] = FileFormatError) -> Any:
    """A small JSON file (settings, manifests, indexes) → its value, checked to be ``expect``; every failure
    (missing, unreadable, too large, not UTF-8, not JSON, nested too deeply, wrong type) is ``error``."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise error(f"{what} is not a regular file; expected a JSON file", path=str(p))
        if size > JSON_MAX_BYTES:
            raise error(f"{what} is {size:,} bytes; expected a JSON file under {JSON_MAX_BYTES // 1024**2} MiB",
                        path=str(p))
        value = json.loads(p.read_text(encoding="utf-8"))
    except InputError:
        raise
    except RecursionError:
        kind = "object" if expect is dict else "value"
        raise error(f"{what} is nested too deeply; expected a plain JSON {kind}", path=str(p)) from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise error(f"{what} is unreadable ({type(exc).__name__}: {one_line(exc, 120)}); expected valid JSON",
                    path=str(p)) from None
    if not isinstance(value, expect):
        raise error(f"{what} holds a JSON {type(value).__name__}; expected a JSON "
                    f"{'object' if expect is dict else expect.__name__}", path=str(p))
    return value


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def written_bytes(path: str | os.PathLike[str]) -> int:
    """The bytes on disk of what a cube writer wrote at ``path``: a file, an ENVI header with its data file, or
    a folder of PNG bands (0 when it cannot be read)."""
    p = Path(path)
    try:
        if p.is_dir():
            return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
        total = p.stat().st_size
        if p.suffix.lower() == ".hdr":
            total += sum(d.stat().st_size for d in (p.with_suffix(".img"), p.with_suffix("")) if d.is_file())
        return total
    except OSError:
        return 0
