"""The file formats, each declared once (no Qt, no torch).

Every format module of :mod:`hsi_studio.core.io` declares one :class:`CubeFormat` — name, label, extensions,
magic bytes, kind, reader and writer — and :mod:`hsi_studio.core.io` registers them, in the order of its
list, with :func:`register`. Everything else is derived from :data:`FORMATS`: the dispatch of
:func:`hsi_studio.core.io.api.read_cube` / ``write_cube`` (:func:`format_for`), the extension lists, the
"expected one of …" messages (:func:`extensions_text`) and the file-dialog filters (:func:`read_filter`,
:func:`cube_read_filter`, :func:`write_filters`). The first writable cube format is the one a Save dialog
offers first.

Adding a format: one module that declares ``FORMAT = CubeFormat(...)``, and one line in the list of
``hsi_studio/core/io/__init__.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("cube", "image")


@dataclass(frozen=True)
class CubeFormat:
    """One file format, declared by the module that reads (and writes) it.

    ``name`` is the short identifier (``"h5"``, ``"envi"``, …); ``label`` names the format in messages ("cannot
    read it as HDF5 …") and dialog filters; ``extensions`` are lower-case with their dot, the first one being
    what a Save dialog offers (``.hdf5`` is an alias of ``.h5``); ``magic`` are the byte strings a file of the
    format starts with; ``kind`` is ``"cube"`` or ``"image"`` (an RGB photo); ``read(path, key, wavelengths)``
    and ``write(cube, path)`` for a cube (``read(path)`` and ``write(image, path)`` for an image), ``None``
    when the format cannot be read / written; ``folder`` marks a format stored as a folder of files (it has no
    extension: a folder path selects it), ``description`` is then what a dialog filter calls it.
    """

    name: str
    label: str
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...] = ()
    kind: str = "cube"
    read: Callable[..., Any] | None = None
    write: Callable[..., Any] | None = None
    folder: bool = False
    description: str = ""

    @property
    def readable(self) -> bool:
        return self.read is not None

    @property
    def writable(self) -> bool:
        return self.write is not None

    @property
    def filter(self) -> str:
        """The file-dialog filter of this format: ``"HDF5 cube (*.h5)"``, ``"Folder of 16-bit PNG bands (*)"``."""
        if self.folder:
            return f"{self.description or self.label} (*)"
        noun = " cube" if self.kind == "cube" else ""
        return f"{self.label}{noun} (*{self.extensions[0]})"


FORMATS: dict[str, CubeFormat] = {}
"""name → format, in the order they were registered."""


def register(fmt: CubeFormat) -> CubeFormat:
    """Add ``fmt`` to :data:`FORMATS`; refuse a name or (within its kind) an extension already taken."""
    if fmt.kind not in KINDS:
        raise ValueError(f"format {fmt.name!r} has kind {fmt.kind!r}; expected one of {', '.join(KINDS)}")
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} is already registered")
    if fmt.folder == bool(fmt.extensions):
        raise ValueError(f"format {fmt.name!r}: expected extensions for a file format, none for a folder format")
    for ext in fmt.extensions:
        if not ext.startswith(".") or ext != ext.lower():
            raise ValueError(f"format {fmt.name!r}: extension {ext!r}; expected a lower-case '.ext'")
        other = by_extension(ext, fmt.kind)
        if other is not None:
            raise ValueError(f"format {fmt.name!r}: extension {ext} is already {other.name!r}'s")
    FORMATS[fmt.name] = fmt
    return fmt


def formats(kind: str | None = None, *, readable: bool = False, writable: bool = False) -> list[CubeFormat]:
    """The registered formats (of ``kind``; only the readable / writable ones when asked), in order."""
    return [f for f in FORMATS.values() if (kind is None or f.kind == kind) and (f.readable or not readable)
            and (f.writable or not writable)]


def by_extension(ext: str, kind: str = "cube") -> CubeFormat | None:
    """The ``kind`` format that owns extension ``ext`` (any case, with its dot)."""
    ext = ext.lower()
    return next((f for f in FORMATS.values() if f.kind == kind and ext in f.extensions), None)


def is_folder_target(path: str | os.PathLike[str]) -> bool:
    """Whether a write to ``path`` makes a folder: it ends in "/", is an existing folder, or has no extension."""
    s = os.fspath(path)
    return s.endswith(("/", os.sep)) or Path(s).is_dir() or Path(s).suffix == ""


def format_for(path: str | os.PathLike[str], kind: str = "cube", *, writing: bool = False) -> CubeFormat | None:
    """The ``kind`` format that reads ``path`` (an existing folder: the folder format; else by extension), or
    with ``writing=True`` writes it (a folder target, see :func:`is_folder_target`, is the folder format);
    ``None`` when no registered format fits."""
    folder = is_folder_target(path) if writing else Path(path).is_dir()
    if folder:
        return next((f for f in FORMATS.values() if f.kind == kind and f.folder), None)
    return by_extension(Path(path).suffix, kind)


def extensions(kind: str = "cube", *, writable: bool = False, primary: bool = False) -> tuple[str, ...]:
    """The extensions of the readable (or ``writable``) ``kind`` formats, in order; with ``primary``, only
    the first of each format (one per writer: what a Save dialog lists)."""
    fs = formats(kind, readable=not writable, writable=writable)
    return tuple(e for f in fs for e in (f.extensions[:1] if primary else f.extensions))


def extensions_text(kind: str = "cube", *, writable: bool = False, primary: bool = False,
                    ordered: bool = False) -> str:
    """The extensions of :func:`extensions` joined by spaces (``ordered``: sorted), for "expected one of …"."""
    exts = extensions(kind, writable=writable, primary=primary)
    return " ".join(sorted(exts) if ordered else exts)


def label_for(path: str | os.PathLike[str], kind: str = "cube", default: str | None = None) -> str | None:
    """The label of the format of ``path`` (``"HDF5"``, ``"PNG band folder"`` …), else ``default``."""
    fmt = format_for(path, kind)
    return fmt.label if fmt is not None else default


def _patterns(exts) -> str:
    return " ".join(f"*{e}" for e in exts)


def read_filter() -> str:
    """The Open dialog's filters: images and cubes, photos (camera RAW included), cubes, all files."""
    cubes, photos = extensions("cube"), extensions("image")
    everything = sorted(set(cubes) | set(photos))
    return ";;".join([f"Images and cubes ({_patterns(everything)})", f"Photos, incl. camera RAW ({_patterns(photos)})",
                      f"Cubes ({_patterns(cubes)})", "All files (*)"])


def cube_read_filter() -> str:
    """The filters of a dialog that opens a cube only."""
    return ";;".join([f"Cubes ({_patterns(extensions('cube'))})", "All files (*)"])


def write_filters() -> list[str]:
    """One Save-dialog filter per cube writer (the chosen filter implies the format), in registration order."""
    return [f.filter for f in formats("cube", writable=True)]


def write_filter() -> str:
    """:func:`write_filters` as one dialog filter string."""
    return ";;".join(write_filters())


def writable_formats(kind: str = "cube") -> dict[str, str]:
    """name → the extension it writes (``{"h5": ".h5", "envi": ".hdr", …}``; a folder format: ``"/"``)."""
    return {f.name: "/" if f.folder else f.extensions[0] for f in formats(kind, writable=True)}


__all__ = ["CubeFormat", "FORMATS", "KINDS", "register", "formats", "by_extension", "format_for", "is_folder_target",
           "extensions", "extensions_text", "label_for", "read_filter", "cube_read_filter", "write_filters",
           "write_filter", "writable_formats"]
