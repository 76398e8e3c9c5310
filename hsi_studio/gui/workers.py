"""Run a core job off the GUI thread (progress and cancellation: :mod:`hsi_studio.core.jobs`).

A core job is a plain function ``fn(*args, progress=..., cancel=CancelToken, **kwargs)``. :class:`JobWorker`
runs it on its own :class:`QThread` and reports through queued signals:

* ``progress(float, str)`` — throttled (at most one every ``PROGRESS_INTERVAL_S``; 0 and 1 always pass);
* ``finished(object)`` — the function's return value;
* ``failed(str, str)`` — a one-line message and details (an :class:`InputError`'s own message with no
  details; any other exception a short message with its traceback in the details);
* ``cancelled()`` — the job raised :class:`Cancelled` after :meth:`JobWorker.cancel`.

Exactly one of ``finished`` / ``failed`` / ``cancelled`` is emitted, then ``done()``; the thread quits
after that. :meth:`JobWorker.cancel` sets the token; :meth:`JobWorker.join` waits for the thread.
Every worker that was started and not yet joined is listed by :func:`active_workers` (tests use it to prove
no thread is left running).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from hsi_studio.core.errors import InputError, one_line
from hsi_studio.core.jobs import Cancelled, CancelToken

PROGRESS_INTERVAL_S = 0.05  # 20 progress updates a second are plenty for a progress bar
MESSAGE_LIMIT = 2000  # characters of an error message shown in a dialog (the details box holds the rest)

_ACTIVE: set[JobWorker] = set()
_ACTIVE_LOCK = threading.Lock()


def active_workers() -> list[JobWorker]:
    """Workers whose thread was started and has not been joined (or finished and cleaned up) yet."""
    with _ACTIVE_LOCK:
        return [w for w in _ACTIVE if w.thread is not None]


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(message, details) for a dialog: user-input errors need no traceback."""
    if isinstance(exc, InputError):
        return _message(exc), ""
    if isinstance(exc, MemoryError):
        return "Out of memory: try a smaller image, a smaller tile size or fewer samples.", ""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{exc.__class__.__name__}: {_message(exc)}", details


def _message(exc: BaseException) -> str:
    """The exception's message on one line (its class name when it has none); a dialog has room for long ones."""
    return one_line(exc, MESSAGE_LIMIT) or exc.__class__.__name__


class _Runner(QObject):
    """Lives on the worker thread; runs the function once when ``run`` is invoked."""

    progress = Signal(float, str)
    result = Signal(object)
    error = Signal(str, str)
    was_cancelled = Signal()

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, token: CancelToken,
                 pass_progress: bool) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._token = token
        self._pass_progress = pass_progress
        self._last_emit = 0.0

    def _report(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        fraction = float(fraction)
        if fraction <= 0.0 or fraction >= 1.0 or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self.progress.emit(fraction, str(message))

    @Slot()
    def run(self) -> None:
        kwargs = dict(self._kwargs)
        if self._pass_progress:
            kwargs.update(progress=self._report, cancel=self._token)
        try:
            self._token.check()
            value = self._fn(*self._args, **kwargs)
            if self._token.cancelled:
                raise Cancelled("cancelled by the user")
        except Cancelled:
            self._home()
            self.was_cancelled.emit()
        except BaseException as exc:  # reported to the GUI, never raised into Qt
            self._home()
            self.error.emit(*describe_error(exc))
        else:
            self._home()
            self.result.emit(value)

    def _home(self) -> None:
        """Hand this object back to the GUI thread (only its current thread may push it), so that it is
        never deleted from a thread it does not belong to."""
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())


class JobWorker(QObject):
    """One run of one core function on its own QThread. Create, connect signals, :meth:`start`."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "job", pass_progress: bool = True,
                 parent: QObject | None = None, **kwargs: Any) -> None:
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self.thread: QThread | None = None
        self.started_at: float | None = None
        self._runner = _Runner(fn, args, kwargs, self.token, pass_progress)
        self._outcome: str | None = None

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> JobWorker:
        if self.thread is not None:
            raise RuntimeError(f"job {self.name!r} was already started")
        thread = QThread()
        thread.setObjectName(f"hsi-{self.name}")
        self._runner.moveToThread(thread)
        thread.started.connect(self._runner.run)
        r = self._runner
        r.progress.connect(self.progress)
        r.result.connect(self._on_result)
        r.error.connect(self._on_error)
        r.was_cancelled.connect(self._on_cancelled)
        self.thread = thread
        with _ACTIVE_LOCK:
            _ACTIVE.add(self)
        self.started_at = time.monotonic()
        thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.thread is not None and self._outcome is None

    @property
    def outcome(self) -> str | None:
        """``"finished"``, ``"failed"``, ``"cancelled"`` or None while running."""
        return self._outcome

    def cancel(self) -> None:
        self.token.cancel()

    def join(self, timeout_ms: int = 30000) -> bool:
        """Ask the thread to quit once the job returns and wait for it; True when the thread ended."""
        thread = self.thread
        if thread is None:
            return True
        thread.quit()
        ended = thread.wait(timeout_ms)
        if ended:
            self._cleanup()
        return bool(ended)

    def cancel_and_join(self, timeout_ms: int = 30000) -> bool:
        self.cancel()
        return self.join(timeout_ms)

    # -- outcome (delivered on the GUI thread through queued connections) --------------------------------
    def _finish(self, outcome: str) -> None:
        self._outcome = outcome
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self)
        self.thread = None  # the thread has ended (waited for): Python may free it now

    @Slot(object)
    def _on_result(self, value: object) -> None:
        self._finish("finished")
        self.progress.emit(1.0, "done")
        self.finished.emit(value)
        self.done.emit()

    @Slot(str, str)
    def _on_error(self, message: str, details: str) -> None:
        self._finish("failed")
        self.failed.emit(message, details)
        self.done.emit()

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish("cancelled")
        self.cancelled.emit()
        self.done.emit()


def run_job(fn: Callable[..., Any], *args: Any, name: str = "job", on_finished=None, on_failed=None,
            on_cancelled=None, on_progress=None, parent: QObject | None = None, pass_progress: bool = True,
            **kwargs: Any) -> JobWorker:
    """Create a :class:`JobWorker`, connect the given callbacks and start it."""
    worker = JobWorker(fn, *args, name=name, parent=parent, pass_progress=pass_progress, **kwargs)
    for signal, slot in ((worker.finished, on_finished), (worker.failed, on_failed),
                         (worker.cancelled, on_cancelled), (worker.progress, on_progress)):
        if slot is not None:
            signal.connect(slot)
    return worker.start()


class JobSet(QObject):
    """The jobs a window owns: started through it, cancelled and joined together on close.

    Workers are plain Python-owned objects (no Qt parent, no ``deleteLater``): the set holds them while they
    run and lets go of them one event-loop turn after they are done, outside their own signal emission."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[JobWorker] = []
        self._done: list[JobWorker] = []
        self.closed = False

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> JobWorker:
        """Start ``fn`` on a worker (keywords ``on_finished``, ``on_failed``, ``on_cancelled``, ``on_progress``
        connect callbacks). After :meth:`shutdown` no job starts: RuntimeError."""
        if self.closed:
            raise RuntimeError("this window is closing; no new jobs start")
        worker = JobWorker(fn, *args, **{k: v for k, v in kwargs.items() if k not in _CALLBACKS})
        for key, signal in (("on_finished", worker.finished), ("on_failed", worker.failed),
                            ("on_cancelled", worker.cancelled), ("on_progress", worker.progress)):
            if kwargs.get(key) is not None:
                signal.connect(kwargs[key])
        worker.done.connect(self._forget)
        self._jobs.append(worker)
        return worker.start()

    @Slot()
    def _forget(self) -> None:
        worker = self.sender()
        if worker in self._jobs:
            self._jobs.remove(worker)
            self._done.append(worker)
            QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        self._done.clear()

    @property
    def running(self) -> list[JobWorker]:
        return [w for w in self._jobs if w.running]

    def cancel_all(self) -> None:
        for w in list(self._jobs):
            w.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Refuse new jobs, cancel every job and join every thread; True when all ended."""
        self.closed = True
        self.cancel_all()
        ok = True
        for w in list(self._jobs):
            ok = w.join(timeout_ms) and ok
        return ok


_CALLBACKS = ("on_finished", "on_failed", "on_cancelled", "on_progress")


__all__ = ["JobSet", "JobWorker", "PROGRESS_INTERVAL_S", "active_workers", "describe_error",
           "run_job"]
