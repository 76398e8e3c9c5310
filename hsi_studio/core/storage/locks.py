"""One writer per output (no Qt, no torch): an advisory lock (``fcntl.flock``) on ``.<name>.hsi-lock`` beside the
output, holding the writer's process id and command; a lock whose process is gone is taken over. Where locks
cannot be taken (Windows, a read-only folder) the write goes ahead unlocked."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hsi_studio.core.errors import OutputError, one_line
from hsi_studio.core.storage.names import hidden_name, safe_name

LOCK_MARK = ".hsi-lock"


def lock_path(output: str | os.PathLike[str]) -> Path:
    """The lock file of an output (file or folder): ``.<name>.hsi-lock`` beside it."""
    p = Path(os.path.abspath(os.fspath(output)))
    return p.with_name(hidden_name(p.name or "root", LOCK_MARK))


def remove_stale_lock(path: Path) -> bool:
    """Remove a lock file nobody holds (its process was killed); True if removed."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        st = os.fstat(fd)
        cur = os.lstat(path)
        if (st.st_dev, st.st_ino) == (cur.st_dev, cur.st_ino):
            os.unlink(path)
            return True
    except OSError:
        pass
    finally:
        os.close(fd)
    return False


class OutputLock:
    """Held by :func:`output_lock`; ``release()`` is idempotent."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            st, cur = os.fstat(self.fd), os.lstat(self.path)
            if (st.st_dev, st.st_ino) == (cur.st_dev, cur.st_ino):
                os.unlink(self.path)  # while still locked: a waiter then finds its inode gone and retries
        except OSError:
            pass
        os.close(self.fd)
        self.fd = -1


def acquire_output_lock(output: str | os.PathLike[str], command: str = "") -> OutputLock | None:
    """Take the lock of ``output`` (``fcntl.flock`` on ``.<name>.hsi-lock`` beside it, the folder created if
    missing); another live holder → :class:`OutputError` naming its process id and command. None where locks
    cannot be taken (no fcntl, a read-only parent: the write itself then reports the problem)."""
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    path = lock_path(output)
    if not path.parent.is_dir():
        return None  # the command's own checks refuse a missing folder
    for _attempt in range(20):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                return None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            except OSError:
                pass
            os.close(fd)
            who = f" (process {one_line(holder, 160)})" if holder else ""
            raise OutputError(f"{safe_name(output)} is being written by another hsi-studio run{who}; expected one "
                              "writer per output — wait for it to finish, or choose another output") from None
        try:
            st, cur = os.fstat(fd), os.lstat(path)
            same = (st.st_dev, st.st_ino) == (cur.st_dev, cur.st_ino)
        except OSError:
            same = False
        if not same:  # the previous holder removed it between our open and our lock: take the new one
            os.close(fd)
            continue
        text = f"{os.getpid()}: {command}".encode("utf-8", "replace")[:4000]
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, text + b"\n", 0)
        except OSError:
            pass
        return OutputLock(path, fd)
    raise OutputError(f"cannot lock {safe_name(output)} (its lock file keeps changing); expected one writer")


@contextmanager
def output_lock(output: str | os.PathLike[str], command: str = "") -> Iterator[OutputLock | None]:
    """Hold :func:`acquire_output_lock` while the block runs; the lock file is removed afterwards."""
    lock = acquire_output_lock(output, command)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()


__all__ = ["LOCK_MARK", "OutputLock", "acquire_output_lock", "lock_path", "output_lock", "remove_stale_lock"]
