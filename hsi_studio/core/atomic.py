"""Atomic writes and their clean-up (no Qt, no torch): every write goes to a temporary name in the destination
folder, is fsynced and then moved into place with ``os.replace``; on failure the temporary is removed and an
existing destination is left untouched. Temporaries a killed process left are removed by the next write into
their folder (and reported with a :class:`StaleTemporaryWarning`). Re-exported by :mod:`hsi_studio.core.io_base`.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import OutputError, one_line

# ---------------------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------------------
# Every temporary this package writes is named ``.<name>.<pid>-<8 hex>.hsi-tmp<ext>`` (a folder moved aside
# during a swap: ``….hsi-old``), next to its destination. A later write into the same folder removes the ones
# whose process is gone (a kill -9 cannot clean up after itself) and says so with a warning.
TEMP_MARK, ASIDE_MARK = ".hsi-tmp", ".hsi-old"
_OUR_TEMP_RE = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.hsi-(?P<what>tmp|old)(?P<ext>\.[^.]*)?",
                          re.DOTALL)
# Names used by earlier versions (no process id): removed only once they are an hour old.
_LEGACY_TEMP_RE = re.compile(r"\..+\.[0-9a-f]{8}\.(?:tmp(?:\.[^.]*)?|old)", re.DOTALL)
LEGACY_TEMP_AGE_S = 3600.0
# Test hook (fault injection): called with a stage name ("pair-first-replaced", "folder-aside", …) at the
# points where a kill leaves the most to clean up. None in normal use.
FAULT_HOOK: Any = None


def fault(stage: str) -> None:
    """Fault-injection point (tests kill the process here through :data:`FAULT_HOOK`)."""
    if FAULT_HOOK is not None:
        FAULT_HOOK(stage)


_fault = fault


class StaleTemporaryWarning(UserWarning):
    """Temporaries left by an interrupted earlier write were removed (or a moved-aside folder restored)."""


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:  # POSIX only; Windows cannot open a folder
        _fsync_path(path)
    except OSError:
        pass


def _check_parent(path: Path) -> Path:
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"folder {parent} does not exist; expected an existing folder for the output")
    return parent


def temp_name(path: Path, extra: str = "", *, mark: str = TEMP_MARK) -> Path:
    """An unused hidden name next to ``path`` that keeps its extension (some writers look at it)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}{mark}{extra}{path.suffix}")


def temp_folder_name(dest: Path, *, mark: str = TEMP_MARK) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}{mark}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's live process (or no way to tell): leave it
    return True


def _rm(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        _remove(path)


def clean_stale_temporaries(folder: str | os.PathLike[str], *, warn: bool = True) -> list[str]:
    """Remove temporaries of our naming in ``folder`` left by processes that no longer run (and legacy ones
    older than an hour); a folder moved aside whose destination is missing is put back. Returns one line per
    action (also issued as a :class:`StaleTemporaryWarning` when ``warn``)."""
    folder = Path(folder)
    done: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return done
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        path = folder / name
        m = _OUR_TEMP_RE.fullmatch(name)
        try:
            if m:
                if _pid_alive(int(m["pid"])):
                    continue
                original = folder / m["name"]
                if m["what"] == "old" and not os.path.lexists(original):
                    os.replace(path, original)
                    done.append(f"restored {safe_name(original)} (an interrupted replacement had moved it aside)")
                    continue
            elif not (_LEGACY_TEMP_RE.fullmatch(name) and now - entry.stat(follow_symlinks=False).st_mtime
                      > LEGACY_TEMP_AGE_S):
                continue
            size = entry.stat(follow_symlinks=False).st_size if entry.is_file(follow_symlinks=False) else None
            _rm(path)
        except OSError:
            continue
        extra = f", {size:,} bytes" if size is not None else ""
        done.append(f"removed stale temporary {safe_name(path)} (left by an interrupted write{extra})")
    if warn:
        for line in done:
            warnings.warn(line, StaleTemporaryWarning, stacklevel=3)
    return done


def safe_name(path: Any) -> str:
    """A path as printable text: undecodable bytes of a non-UTF-8 file name become U+FFFD."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success fsync it and ``os.replace`` it onto ``path``.

    If the block raises, the temporary is removed and an existing file at ``path`` keeps its bytes.
    """
    path = Path(path)
    parent = _check_parent(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; expected a file path")
    clean_stale_temporaries(parent)
    tmp = temp_name(path)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # umask applies, unlike mkstemp
    try:
        yield tmp
        _fault("file-written")
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(parent)


@contextmanager
def atomic_pair(first: Path, second: Path) -> Iterator[Path]:
    """Two files written together (ENVI data + header): yields a temporary *base* path (no extension);
    the caller writes ``base + first.suffix`` and ``base + second.suffix``. ``first`` is replaced before
    ``second`` (the header last). The two renames cannot be one atomic step, so the caller makes each file
    name the other (ENVI: a pair token in the header and at the start of the data) so that a reader detects a
    pair mixed by a kill between the renames."""
    parent = _check_parent(first)
    for p in (first, second):
        if p.is_dir():
            raise OutputError(f"{p} is a folder; expected a file path")
    clean_stale_temporaries(parent)
    base = parent / f".{first.stem}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_MARK}"
    temps = [Path(str(base) + first.suffix), Path(str(base) + second.suffix)]
    try:
        yield base
        for t in temps:
            _fsync_path(t)
        os.replace(temps[0], first)
        _fault("pair-first-replaced")
        os.replace(temps[1], second)
    except BaseException:
        for t in temps:
            _remove(t)
        raise
    _fsync_dir(parent)


@contextmanager
def atomic_folder(dest: Path, replaceable: re.Pattern[str]) -> Iterator[Path]:
    """Yield a temporary folder next to ``dest``; on success move it to ``dest``.

    An existing ``dest`` is replaced only when it is empty or holds nothing but names matching
    ``replaceable`` (an earlier export); the swap is one atomic exchange where the OS offers it.
    """
    parent = _check_parent(dest)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"{dest} exists and is a file; expected a folder path for a PNG band folder")
    clean_stale_temporaries(parent)
    if dest.is_dir():
        others = [p.name for p in dest.iterdir() if not replaceable.fullmatch(p.name)]
        if others:
            raise OutputError(f"folder {dest} already holds other files ({one_line(others[:3])}); expected an "
                              "empty folder or an earlier PNG band export to replace")
    tmp = temp_folder_name(dest)
    tmp.mkdir()
    try:
        yield tmp
        for p in tmp.iterdir():
            _fsync_path(p)
        _fsync_dir(tmp)
        swap_folder(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)


def fsync_tree(folder: Path) -> None:
    """fsync every file below ``folder`` (nested folders too)."""
    for p in Path(folder).rglob("*"):
        if p.is_file():
            _fsync_path(p)


@contextmanager
def staged_folder(dest: Path) -> Iterator[Path]:
    """Yield a new temporary folder beside ``dest`` (parents created, temporaries a killed earlier write left
    removed); when the block finishes, every file in it is fsynced and it replaces ``dest`` (:func:`swap_folder`),
    then the parent folder is fsynced. On failure it is removed and an existing ``dest`` survives."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(dest.parent)
    tmp = temp_folder_name(dest)
    tmp.mkdir()
    try:
        yield tmp
        fsync_tree(tmp)
        swap_folder(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(dest.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_folder(tmp: Path, dest: Path) -> None:
    """Rename a finished folder ``tmp`` onto ``dest``. An existing ``dest`` is exchanged with ``tmp`` in one
    atomic step where the OS offers it (the old contents, now at ``tmp``, are then removed); elsewhere it is
    moved aside to ``.<dest>.<pid>-<hex>.hsi-old`` first — put back if the rename fails, and put back by the next
    write into that folder if a kill struck in between."""
    tmp, dest = Path(tmp), Path(dest)
    if not dest.exists():
        os.replace(tmp, dest)
        return
    if _exchange(tmp, dest):
        _fault("folder-exchanged")
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = temp_folder_name(dest, mark=ASIDE_MARK)
    os.replace(dest, old)
    try:
        _fault("folder-aside")
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["atomic_write", "atomic_pair", "atomic_folder", "swap_folder", "clean_stale_temporaries", "temp_name",
           "temp_folder_name", "safe_name", "fault", "StaleTemporaryWarning", "FAULT_HOOK", "staged_folder",
           "fsync_tree"]
