"""Atomic writes and their clean-up (no Qt, no torch): every write goes to a temporary name in the destination
folder, is fsynced and then moved into place with ``os.replace``; on failure the temporary is removed and an
existing destination is left untouched. Temporaries a killed process left are removed by the next write into
their folder (and reported with a :class:`StaleTemporaryWarning`). Exclusive commits (a name that appeared while
a command ran is not overwritten) and staged output sets (committed all together or not at all) build on them.
The lock of an output (:mod:`.locks`) and the safe names (:mod:`.names`) are re-exported here.
"""

from __future__ import annotations

import contextvars
import errno
import os
import re
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hsi_studio.core.errors import OutputError, one_line
from hsi_studio.core.storage.locks import (  # re-exported: the lock of an output is part of writing it
    LOCK_MARK,
    OutputLock,
    acquire_output_lock,
    lock_path,
    output_lock,
    remove_stale_lock,
)
from hsi_studio.core.storage.names import NAME_MAX, SHORTENED_RE, hidden_name, safe_name

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
    """An unused hidden name next to ``path`` that keeps its extension (some writers look at it); never longer
    than NAME_MAX bytes (:func:`hidden_name`)."""
    path = Path(path)
    return path.with_name(hidden_name(path.stem, f".{os.getpid()}-{secrets.token_hex(4)}{mark}{extra}{path.suffix}"))


def temp_folder_name(dest: Path, *, mark: str = TEMP_MARK) -> Path:
    dest = Path(dest)
    return dest.with_name(hidden_name(dest.name, f".{os.getpid()}-{secrets.token_hex(4)}{mark}"))


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
                if m["what"] == "old" and SHORTENED_RE.search(m["name"]):
                    continue  # moved aside under a shortened name: its own name is unknown, so leave it be
                if m["what"] == "old" and not os.path.lexists(original):
                    os.replace(path, original)
                    done.append(f"restored {safe_name(original)} (an interrupted replacement had moved it aside)")
                    continue
            elif name.endswith(LOCK_MARK):
                remove_stale_lock(path)  # housekeeping only: a lock holds no data, so nothing to report
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
        commit(tmp, path)
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
    longest = max(len(os.fsencode(first.suffix)), len(os.fsencode(second.suffix)))
    base = parent / hidden_name(first.stem, f".{os.getpid()}-{secrets.token_hex(4)}{TEMP_MARK}",
                                limit=NAME_MAX - longest)
    temps = [Path(str(base) + first.suffix), Path(str(base) + second.suffix)]
    committed: list[Path] = []
    try:
        yield base
        for t in temps:
            _fsync_path(t)
        with _commit_guard():
            if not replacing():  # both names must be free: refuse before either is taken
                for p in (first, second):
                    if os.path.lexists(p):
                        raise _appeared(p)
            commit(temps[0], first, guard=False)
            committed.append(first)
            _fault("pair-first-replaced")
            commit(temps[1], second, guard=False)
    except BaseException:
        for t in temps:
            _remove(t)
        if committed and not replacing():  # exclusive: the first name was new, so taking it back loses nothing
            _remove(committed[0])
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
    write into that folder if a kill struck in between. Under :func:`exclusive_outputs` a ``dest`` that exists
    (it appeared while the command ran) is never replaced: :class:`OutputError`. A signal that cancelled the
    job (:func:`hsi_studio.core.jobs.cancel_on_signals`) stops it before the rename."""
    tmp, dest = Path(tmp), Path(dest)
    with _commit_guard():
        if not replacing() or not os.path.lexists(dest):
            commit(tmp, dest, guard=False)
            return
        if _exchange(tmp, dest):
            _fault("folder-exchanged")
            _rm(tmp)  # the old contents (a symlink that was dest: the link itself, never what it points to)
            return
        old = temp_folder_name(dest, mark=ASIDE_MARK)
        os.replace(dest, old)
        try:
            _fault("folder-aside")
            os.replace(tmp, dest)
        except BaseException:
            os.replace(old, dest)
            raise
    _rm(old)


# ---------------------------------------------------------------------------------------------------------
# Exclusive commit: a name that appeared while the command ran is never overwritten without --force
# ---------------------------------------------------------------------------------------------------------
_REPLACE: contextvars.ContextVar[bool] = contextvars.ContextVar("hsi_studio_replace", default=True)
# Checked right before each commit (with SIGINT/SIGTERM/SIGHUP held back): raises when the job was cancelled.
# core.jobs installs its check here (no import of jobs from atomic: jobs is the higher-level module).
CANCEL_CHECK: list[Callable[[], None]] = []


@contextmanager
def exclusive_outputs(enabled: bool = True) -> Iterator[None]:
    """While the block runs, every commit of this module (and :func:`commit`) takes its name only if it is still
    free — ``renameat2(RENAME_NOREPLACE)`` or a hard link, which fail if the name exists — so a file that
    appeared between a command's check and its commit is never overwritten. ``enabled=False`` (``--force``):
    replace as usual."""
    token = _REPLACE.set(not enabled)
    try:
        yield
    finally:
        _REPLACE.reset(token)


def replacing() -> bool:
    """True unless inside :func:`exclusive_outputs`."""
    return _REPLACE.get()


def _appeared(dest: Path) -> OutputError:
    return OutputError(f"{safe_name(dest)} appeared while this command ran (another program wrote it); expected a "
                       "new path (or pass --force to replace it)")


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` only if ``dst`` does not exist (FileExistsError otherwise), atomically."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            fn = libc.renameat2
        except (OSError, AttributeError):
            fn = None
        if fn is not None:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            at_fdcwd, rename_noreplace = -100, 1
            if fn(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace) == 0:
                return
            err = ctypes.get_errno()
            if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise OSError(err, os.strerror(err), str(dst))
    if not (os.path.isdir(src) and not os.path.islink(src)):
        try:
            os.link(src, dst, follow_symlinks=False)  # fails with EEXIST if the name was taken
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK):
                raise
        else:
            os.unlink(src)
            return
    if os.path.lexists(dst):  # no atomic way here (a folder, or no hard links): check, then rename
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


@contextmanager
def _commit_guard() -> Iterator[None]:
    """Signals held back, then a last look at the cancel flag: a cancelled job commits nothing."""
    from contextlib import nullcontext

    deferred = _signals_deferred() if _signals_deferred is not None else nullcontext()
    with deferred:
        for check in CANCEL_CHECK:
            check()
        yield


_signals_deferred: Any = None  # set by core.jobs (signals_deferred)


def commit(tmp: str | os.PathLike[str], dest: str | os.PathLike[str], *, guard: bool = True) -> None:
    """Move a finished temporary (file or folder) onto ``dest``: ``os.replace``, or under
    :func:`exclusive_outputs` a rename that fails if ``dest`` exists (:class:`OutputError`, ``tmp`` kept for the
    caller to remove). With ``guard`` the signals are held back and a cancelled job raises first."""
    tmp, dest = Path(tmp), Path(dest)
    if guard:
        with _commit_guard():
            commit(tmp, dest, guard=False)
        return
    if replacing():
        os.replace(tmp, dest)
        return
    try:
        _rename_noreplace(tmp, dest)
    except FileExistsError:
        raise _appeared(dest) from None
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise _appeared(dest) from None
        raise


class StagedFiles:
    """A set of outputs committed together (see :func:`staged_files`)."""

    def __init__(self) -> None:
        self.moves: list[tuple[Path, Path]] = []

    def temp(self, final: str | os.PathLike[str], companions: tuple[str, ...] = ()) -> Path:
        """A temporary name for ``final`` (write it there). ``companions`` are the suffixes of files the writer
        puts beside it under the same stem (ENVI: ``.img`` beside the ``.hdr``); they are committed first and
        ``final`` last (a reader looks for the header)."""
        final = Path(final)
        longest = max([len(os.fsencode(final.suffix))] + [len(os.fsencode(c)) for c in companions])
        tmp = final.with_name(hidden_name(final.stem, f".{os.getpid()}-{secrets.token_hex(4)}{TEMP_MARK}",
                                          limit=NAME_MAX - longest) + final.suffix)
        for c in companions:
            if c.lower() != final.suffix.lower():
                self.moves.append((tmp.with_suffix(c), final.with_suffix(c)))
        self.moves.append((tmp, final))
        return tmp

    def discard(self) -> None:
        for tmp, _final in self.moves:
            if os.path.lexists(tmp):
                _rm(tmp)

    def commit(self) -> list[Path]:
        """fsync every temporary, then (signals held back, a cancelled job refused) move each onto its name;
        under :func:`exclusive_outputs` a name taken meanwhile undoes the ones already moved (they were new)."""
        moves = [(t, f) for t, f in self.moves if os.path.lexists(t)]
        for tmp, _final in moves:
            if tmp.is_dir():
                fsync_tree(tmp)
            else:
                _fsync_path(tmp)
        done: list[Path] = []
        with _commit_guard():
            try:
                if not replacing():
                    for _tmp, final in moves:
                        if os.path.lexists(final):
                            raise _appeared(final)
                for tmp, final in moves:
                    if tmp.is_dir() and replacing() and os.path.lexists(final):
                        swap_folder(tmp, final)
                    else:
                        commit(tmp, final, guard=False)
                    done.append(final)
            except BaseException:
                if not replacing():
                    for final in done:
                        _rm(final)
                raise
        for parent in {f.parent for _t, f in moves}:
            _fsync_dir(parent)
        return [f for _t, f in moves]


@contextmanager
def staged_files() -> Iterator[StagedFiles]:
    """Outputs written as one set: ``staged.temp(final)`` gives the temporary to write each to; when the block
    ends they are all committed (:meth:`StagedFiles.commit`) — or, if it raises (an error, a full disk, a
    signal), none is and every temporary is removed."""
    staged = StagedFiles()
    try:
        yield staged
        staged.commit()
    except BaseException:
        staged.discard()
        raise


__all__ = ["atomic_write", "atomic_pair", "atomic_folder", "swap_folder", "clean_stale_temporaries", "temp_name",
           "temp_folder_name", "safe_name", "fault", "StaleTemporaryWarning", "FAULT_HOOK", "staged_folder",
           "fsync_tree", "hidden_name", "NAME_MAX", "exclusive_outputs", "replacing", "commit", "staged_files",
           "StagedFiles", "output_lock", "acquire_output_lock", "lock_path", "OutputLock", "LOCK_MARK",
           "CANCEL_CHECK"]
