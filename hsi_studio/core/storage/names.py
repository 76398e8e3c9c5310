"""File names said and made safely (no Qt, no torch): :func:`hidden_name` (``.<name><tail>``, shortened with a
hash when it would exceed NAME_MAX bytes) for temporaries and lock files, :func:`safe_name` (a path as printable
text) for messages. Shared by :mod:`.atomic` and :mod:`.locks`."""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows)
SHORTENED_RE = re.compile(r"~[0-9a-f]{8}\Z")  # the end of a name hidden_name shortened


def hidden_name(stem: str, tail: str, *, limit: int = NAME_MAX) -> str:
    """``.<stem><tail>``, or, when that would exceed ``limit`` bytes (a name near NAME_MAX), ``stem`` cut short
    and marked with ``~`` + 8 hex digits of its hash, so that a temporary beside a long (valid) name is valid too."""
    name = f".{stem}{tail}"
    raw = os.fsencode(name)
    if len(raw) <= limit:
        return name
    stem_raw = os.fsencode(stem)
    digest = hashlib.sha1(stem_raw).hexdigest()[:8]
    keep = max(limit - len(os.fsencode(tail)) - 1 - 9, 0)
    return "." + os.fsdecode(stem_raw[:keep]) + "~" + digest + tail


def safe_name(path: Any) -> str:
    """A path as printable text: undecodable bytes of a non-UTF-8 file name become U+FFFD."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


__all__ = ["NAME_MAX", "SHORTENED_RE", "hidden_name", "safe_name"]
