"""Progress reporting and cancellation for long core jobs (DESIGN §4.1).

A long job is a plain function taking ``progress`` and ``cancel`` keyword arguments. The GUI wraps it in a
QThread worker, the CLI in a progress bar or a JSON-lines reporter. Nothing here knows about Qt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set. Not an error: the user asked for it."""


class ProgressFn(Protocol):
    def __call__(self, fraction: float, message: str = "") -> None: ...


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


__all__ = ["Cancelled", "CancelToken", "ProgressFn", "ProgressTracker", "no_progress", "NEVER_CANCEL"]
