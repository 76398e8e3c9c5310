"""The typed error family raised for bad user input.

Every message says what was received and what was expected, in one line, so the CLI can print it as is and
the GUI can show it in a dialog. ``InputError`` subclasses ``ValueError`` so generic callers still catch it.
"""

from __future__ import annotations

from typing import Any


def one_line(text: Any, limit: int | None = 200) -> str:
    """``text`` (a message or an exception) on one line, white space folded, cut at ``limit`` characters with
    "…" (None: whole); an exception with no message gives its class name. The CLI, the GUI and the readers
    all show messages through this."""
    s = " ".join(str(text).split()) or (type(text).__name__ if isinstance(text, BaseException) else "")
    return s if limit is None or len(s) <= limit else s[: limit - 1] + "…"


class InputError(ValueError):
    """Base class: the input (file, array, argument) is not something HSI Studio can use."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class FileFormatError(InputError):
    """The file is corrupt, truncated, empty, or not in the format its extension claims."""


class UnsupportedFormatError(InputError):
    """The extension / container is not one HSI Studio reads or writes."""


class ShapeError(InputError):
    """Wrong number of dimensions, bands or channels, or a zero-sized axis."""


class WavelengthError(InputError):
    """Wavelengths are missing, not strictly increasing, non-finite, or do not match the bands / each other."""


class NonFiniteError(InputError):
    """The data holds NaN or Inf values."""


class SizeLimitError(InputError):
    """The data would exceed the size budget (checked from headers before decoding)."""


class UnsafeFileError(InputError):
    """The file would need pickle (or other code execution) to load; HSI Studio never does that."""


class ColorModeError(InputError):
    """An RGB image was expected but the file holds grayscale / palette / CMYK data it cannot use as RGB."""


class OutputError(InputError):
    """The requested output cannot be written (unsupported extension, missing folder, refuse to overwrite)."""


def check_regular_file(path: Any, what: str, error: type[InputError] | None = None) -> None:
    """Refuse, before anything opens it, a path that is not a regular file: a folder, a FIFO (reading one blocks
    until a writer comes, maybe for ever), a device or a socket — one line saying which, and that ``what`` (e.g.
    "an illuminant CSV") was expected. A missing file is left to the reader (its own message)."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISREG(mode):
        return
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    raise (error or FileFormatError)(f"is {kind}; expected {what} (a regular file)", path=os.fsdecode(path))


__all__ = [
    "check_regular_file",
    "InputError",
    "FileFormatError",
    "UnsupportedFormatError",
    "ShapeError",
    "WavelengthError",
    "NonFiniteError",
    "SizeLimitError",
    "UnsafeFileError",
    "ColorModeError",
    "OutputError",
]
