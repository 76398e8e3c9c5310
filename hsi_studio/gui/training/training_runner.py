"""Runs a :class:`~hsi_studio.services.training_plan.TrainPlan` stage by stage as ``hsi-studio train … --jsonl`` subprocesses
(QProcess): a crash or a hung GPU in training cannot take the GUI down. JSON lines become signals; everything
else the process prints is kept for the log and shown when it fails.

States: ``idle`` → ``running`` → ``done``; ``running`` → ``stopping`` → ``paused`` / ``cancelled`` (a
checkpoint was saved: ``resume()`` continues exactly); ``running`` → ``failed`` (non-zero exit, crash or kill:
``resume()`` continues from the last checkpoint when there is one)."""

from __future__ import annotations

import json
import shutil
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from hsi_studio.services.training_plan import StageRun, TrainPlan, cli_prefix

EXIT_CANCELLED = 130
LOG_LINES = 400


class TrainingRunner(QObject):
    record = Signal(str, dict)  # stage key, a JSON record from the trainer
    stage_started = Signal(int, int, str)  # index, count, stage key
    state_changed = Signal(str)
    log_line = Signal(str)
    failed = Signal(str, str)  # message, details (the process's last output)
    finished = Signal(str)  # the published model folder

    def __init__(self, plan: TrainPlan, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.stages: list[StageRun] = plan.stages()
        self.index = 0
        self.state = "idle"
        self.proc: QProcess | None = None
        self._buffer = b""
        self._err_buffer = b""
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self._stop_as = "paused"
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)
        self.last_record: dict | None = None

    # -- control --------------------------------------------------------------------------------------------
    @property
    def current(self) -> StageRun | None:
        return self.stages[self.index] if self.index < len(self.stages) else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        """Write the configs and start (or continue) the plan at the first unfinished stage."""
        if self.running():
            return
        self.plan.write_configs()
        self._clear_stop()
        self.index = 0
        while self.index < len(self.stages) and self.stages[self.index].finished():
            self.index += 1
        self._launch_current()

    def resume(self) -> None:
        self.start()

    def pause(self) -> None:
        self._request_stop("paused")

    def cancel(self) -> None:
        self._request_stop("cancelled")

    def stop_kind(self) -> str:
        """What the requested stop is: ``paused`` or ``cancelled`` (the trainer's record says neither)."""
        return self._stop_as

    def _request_stop(self, as_state: str, grace_ms: int = 120_000) -> None:
        if not self.running():
            return
        self._stop_as = as_state
        self.plan.stop_file.parent.mkdir(parents=True, exist_ok=True)
        self.plan.stop_file.touch()  # the trainer checkpoints and exits 130 (portable: no signals)
        self._set_state("stopping")
        self._kill_timer.start(grace_ms)

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Stop and wait (the window is closing): checkpoint if the trainer answers in time, else kill."""
        if not self.running():
            return
        self._request_stop("cancelled")
        if self.proc is not None and not self.proc.waitForFinished(timeout_ms):
            self._kill()
            self.proc.waitForFinished(5000)

    def kill(self) -> None:
        """Kill the process outright (what a crash looks like); used by tests and as a last resort."""
        self._kill()

    def _kill(self) -> None:
        if self.running():
            self.proc.kill()

    # -- process --------------------------------------------------------------------------------------------
    def _clear_stop(self) -> None:
        try:
            self.plan.stop_file.unlink()
        except FileNotFoundError:
            pass

    def _launch_current(self) -> None:
        run = self.current
        if run is None:
            self._publish()
            return
        argv = [*cli_prefix(), *run.argv]
        if run.has_checkpoint():
            argv.append("--resume")
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.remove("QT_QPA_PLATFORM")
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(self.plan.run_dir))
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error)
        self.proc = proc
        self._buffer = self._err_buffer = b""
        self._emit_log(f"$ {' '.join(argv)}")
        self.stage_started.emit(self.index, len(self.stages), run.key)
        self._set_state("running")
        proc.start(argv[0], argv[1:])

    def _read_stdout(self) -> None:
        if self.proc is None:
            return
        self._buffer += bytes(self.proc.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._handle_line(raw.decode("utf-8", "replace").strip())

    def _read_stderr(self) -> None:
        if self.proc is None:
            return
        self._err_buffer += bytes(self.proc.readAllStandardError())
        *lines, self._err_buffer = self._err_buffer.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self._emit_log(text)

    def _handle_line(self, line: str) -> None:
        if not line:
            return
        try:
            rec = json.loads(line)
        except ValueError:
            self._emit_log(line)
            return
        if not isinstance(rec, dict) or "event" not in rec:
            self._emit_log(line)
            return
        if rec.get("rank", 0) not in (0, None):
            return
        self.last_record = rec
        self.record.emit(self.current.key if self.current else "", rec)

    def _emit_log(self, text: str) -> None:
        self.log.append(text)
        self.log_line.emit(text)

    def _error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._kill_timer.stop()
            self.proc = None
            self._set_state("failed")
            self.failed.emit("The training process could not start.", "\n".join(self.log))

    def _finished(self, code: int, status) -> None:
        self._kill_timer.stop()
        self._read_stdout()
        self._read_stderr()
        for rest in (self._buffer, self._err_buffer):
            if rest.strip():
                self._handle_line(rest.decode("utf-8", "replace").strip())
        self._buffer = self._err_buffer = b""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.deleteLater()
        stopping = self.state == "stopping"
        self._clear_stop()
        run = self.current
        if status == QProcess.ExitStatus.NormalExit and code == 0 and run is not None and run.finished():
            self.index += 1
            if self.index < len(self.stages):
                self._launch_current()
            else:
                self._publish()
            return
        if status == QProcess.ExitStatus.NormalExit and code == EXIT_CANCELLED and stopping:
            self._set_state(self._stop_as)
            return
        if stopping:  # killed after the grace period
            self._set_state(self._stop_as)
            return
        crashed = status != QProcess.ExitStatus.NormalExit
        what = (f"{run.label if run else 'Training'} "
                + ("stopped unexpectedly (the process crashed or was killed)." if crashed
                   else f"failed (exit code {code})."))
        hint = " Resume continues from the last checkpoint." if run is not None and run.has_checkpoint() else ""
        self._set_state("failed")
        self.failed.emit(what + hint, _last_error(self.log))

    def _publish(self) -> None:
        """Copy the stage-2 model to the plan's model folder (what the Reconstruct dock lists)."""
        src, dest = self.stages[-1].model, self.plan.model_dir
        try:
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(src, tmp)
            from hsi_studio.services.outputs import swap_folder

            swap_folder(tmp, dest)
        except OSError as exc:
            self._set_state("failed")
            self.failed.emit(f"The model was trained but could not be copied to {dest}: {exc}", "")
            return
        self._set_state("done")
        self.finished.emit(str(dest))

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def _last_error(lines) -> str:
    """The process's last output, with the line that says what went wrong first when there is one."""
    lines = list(lines)
    for line in reversed(lines):
        if "hsi-studio" in line and ("error" in line.lower() or ":" in line):
            return line + "\n\n" + "\n".join(lines[-40:])
    return "\n".join(lines[-40:])


def disk_free_gb(path: str | Path) -> float | None:
    try:
        p = Path(path)
        while not p.exists() and p != p.parent:
            p = p.parent
        return shutil.disk_usage(p).free / 1e9
    except OSError:
        return None


__all__ = ["TrainingRunner", "EXIT_CANCELLED", "disk_free_gb"]
