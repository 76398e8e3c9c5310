"""Progress reporting and cancellation for long core jobs.

A long job is a plain function taking ``progress`` and ``cancel`` keyword arguments. The GUI wraps it in a
QThread worker, the CLI in a progress bar or a JSON-lines reporter. Nothing here knows about Qt.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hsi_studio.core.storage import atomic


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set. Not an error: the user asked for it."""


def no_progress(fraction: float, message: str = "") -> None:
    """The default progress callback: does nothing."""


class CancelToken:
    """Thread-safe cancellation flag. ``check()`` raises :class:`Cancelled` once ``cancel()`` was called."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


NEVER_CANCEL = CancelToken()


class ProgressTracker:
    """Maps sub-steps of a job onto [0, 1] and estimates the remaining time.

    ``tracker.step(message)`` advances by one of ``total`` steps, calls ``progress`` and checks ``cancel``.
    """

    def __init__(
        self,
        total: int,
        progress: Callable[..., None] | None = None,
        cancel: CancelToken | None = None,
        *,
        start: float = 0.0,
        stop: float = 1.0,
    ) -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self.progress = progress or no_progress
        self.cancel = cancel or NEVER_CANCEL
        self.start, self.stop = float(start), float(stop)
        self._t0 = time.monotonic()

    @property
    def fraction(self) -> float:
        return self.start + (self.stop - self.start) * min(self.done / self.total, 1.0)

    def eta_s(self) -> float | None:
        if self.done == 0:
            return None
        elapsed = time.monotonic() - self._t0
        return elapsed / self.done * (self.total - self.done)

    def step(self, message: str = "", n: int = 1) -> None:
        self.cancel.check()
        self.done += n
        self.progress(self.fraction, message)
        self.cancel.check()




# ---------------------------------------------------------------------------------------------------------
# SIGINT / SIGTERM / SIGHUP for command-line jobs: one policy
# ---------------------------------------------------------------------------------------------------------
# The signals a job treats as "stop": Ctrl-C, kill, and a closed terminal (SIGHUP, where the platform has it).
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
_ACTIVE: list[SignalToken] = []


class SignalToken(CancelToken):
    """A cancel token that SIGINT / SIGTERM / SIGHUP set (see :func:`cancel_on_signals`); ``check()`` then raises
    :class:`Cancelled` naming the signal."""

    def __init__(self) -> None:
        super().__init__()
        self.signal_name: str | None = None

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled(self.signal_name or "cancelled by the user")


def check_signals() -> None:
    """Raise :class:`Cancelled` if a signal cancelled the running command (no-op outside :func:`cancel_on_signals`).
    Every commit of :mod:`hsi_studio.core.storage.atomic` calls this with the signals held back, so a cancelled job
    commits nothing — even where a library swallowed the ``KeyboardInterrupt`` of a second signal."""
    for token in _ACTIVE:
        token.check()


@contextmanager
def cancel_on_signals(token: SignalToken | None = None) -> Iterator[SignalToken]:
    """While the block runs, the first SIGINT, SIGTERM or SIGHUP only sets the token (the job stops at its next
    check, so no write is cut in half and no exception fires inside a finaliser, and no commit of
    :mod:`.atomic` happens any more); a second one raises ``KeyboardInterrupt``. A signal the process ignores
    (``nohup``, a background job) stays ignored. Previous handlers are restored afterwards. Nested: the outer
    token is reused. Off the main thread: a plain token."""
    if token is None and _ACTIVE:
        yield _ACTIVE[-1]
        return
    token = token or SignalToken()
    if threading.current_thread() is not threading.main_thread():
        yield token
        return

    def handler(signum, frame):  # signal handler signature
        name = signal.Signals(signum).name
        if token.cancelled:
            raise KeyboardInterrupt(name)
        token.signal_name = name
        token.cancel()

    previous = {}
    for s in STOP_SIGNALS:
        current = signal.getsignal(s)
        if current == signal.SIG_IGN:
            continue
        previous[s] = current
        signal.signal(s, handler)
    _ACTIVE.append(token)
    try:
        yield token
    finally:
        _ACTIVE.remove(token)
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT / SIGTERM / SIGHUP back for a few renames (POSIX); they are delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP_SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


atomic.CANCEL_CHECK[:] = [check_signals]
atomic._signals_deferred = signals_deferred

__all__ = ["Cancelled", "CancelToken", "ProgressTracker", "no_progress", "NEVER_CANCEL", "SignalToken",
           "cancel_on_signals", "signals_deferred", "check_signals", "STOP_SIGNALS"]
