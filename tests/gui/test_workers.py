"""JobWorker: results, typed errors without tracebacks, other errors with details, throttled progress,
cancel, and JobSet shutdown joining every thread."""

from __future__ import annotations

import threading
import time

import pytest

from hsi_studio.core.errors import ShapeError
from hsi_studio.gui.workers import JobSet, JobWorker, active_workers, run_job


def _wait_done(qtbot, worker, timeout=10000):
    qtbot.waitUntil(lambda: worker.outcome is not None, timeout=timeout)
    qtbot.waitUntil(lambda: not active_workers(), timeout=timeout)


def test_result_runs_off_the_gui_thread(qtbot):
    main = threading.get_ident()

    def job(x, *, progress, cancel):
        progress(0.5, "half")
        return x * 2, threading.get_ident()

    worker = JobWorker(job, 21)
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.start()
    value, ident = blocker.args[0]
    assert value == 42 and ident != main and worker.outcome == "finished"
    _wait_done(qtbot, worker)


def test_input_error_is_one_line_without_traceback(qtbot):
    def job(*, progress, cancel):
        raise ShapeError("cube has shape (4, 4); expected 3 axes")

    worker = JobWorker(job)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    message, details = blocker.args
    assert message == "cube has shape (4, 4); expected 3 axes" and details == ""
    _wait_done(qtbot, worker)


def test_other_errors_keep_the_traceback_in_details(qtbot):
    def job(*, progress, cancel):
        return {}["missing"]

    worker = JobWorker(job)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    message, details = blocker.args
    assert message.startswith("KeyError") and "Traceback" in details and "job" in details
    _wait_done(qtbot, worker)


def test_progress_is_throttled_and_ends_at_one(qtbot):
    seen = []

    def job(*, progress, cancel):
        for i in range(20000):
            progress((i + 1) / 20000, "")
        return "ok"

    worker = JobWorker(job)
    worker.progress.connect(lambda f, m: seen.append(f))
    with qtbot.waitSignal(worker.finished, timeout=10000):
        worker.start()
    _wait_done(qtbot, worker)
    assert 1 <= len(seen) < 200 and seen[-1] == pytest.approx(1.0)


def test_cancel_and_jobset_shutdown(qtbot):
    started = threading.Event()

    def job(*, progress, cancel):
        started.set()
        while True:
            cancel.check()
            time.sleep(0.005)

    jobs = JobSet()
    cancelled = []
    w1 = jobs.start(job, name="a", on_cancelled=lambda: cancelled.append(1))
    assert started.wait(5)
    with qtbot.waitSignal(w1.cancelled, timeout=5000):
        w1.cancel()
    _wait_done(qtbot, w1)
    assert cancelled == [1] and w1.outcome == "cancelled"
    jobs.start(job, name="b")
    jobs.start(job, name="c")
    assert len(active_workers()) == 2
    t0 = time.monotonic()
    assert jobs.shutdown()
    assert time.monotonic() - t0 < 2 and not active_workers()


def test_run_job_without_progress_arguments(qtbot):
    got = []
    worker = run_job(sorted, [3, 1, 2], pass_progress=False, on_finished=got.append)
    _wait_done(qtbot, worker)
    assert got == [[1, 2, 3]]
