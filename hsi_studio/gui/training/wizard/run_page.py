"""5. The training run: live loss and validation curves, progress and ETA, Pause / Cancel / Resume / Start over,
and the trainer's log (the stages run as subprocesses, :mod:`~hsi_studio.gui.training.training_runner`)."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizard,
)

from hsi_studio.gui.training.training_runner import TrainingRunner
from hsi_studio.gui.training.wizard.common import Page
from hsi_studio.services.training_plan import STAGE_LABELS, TrainPlan, format_seconds, weighted_progress

STAGE_COLOURS = {"rgb-pretrain": (120, 120, 120), "stage1": (31, 119, 180), "stage2": (214, 39, 40)}


class RunPage(Page):
    """5. The training itself: live curves, progress and ETA, Pause / Cancel / Resume, the process log.
    After a stop or a failure, Resume continues the run and Start over trains afresh with the current settings."""

    #: Start over asks before it deletes the run's checkpoints (scripted runs and tests may turn it off)
    confirm_restart = True

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Training")
        self.setSubTitle("Training runs in a separate process; closing this window stops it after a checkpoint.")
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel("")
        self.start_btn = QPushButton("Start")
        self.start_btn.setToolTip("Train with these settings")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Save a checkpoint and stop; Resume continues exactly")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Save a checkpoint and stop (Back lets you change settings; Resume continues)")
        self.resume_btn = QPushButton("Resume")
        self.loss_plot = self._plot("Training loss", "loss", log_y=True)
        self.psnr_plot = self._plot("Validation PSNR", "dB")
        self.sam_plot = self._plot("Validation SAM", "degrees")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(400)
        self.log.setMaximumHeight(110)
        self.runner: TrainingRunner | None = None
        self.curves: dict[str, dict] = {}
        self.offsets: dict[str, int] = {}
        self.stage_index, self.stage_count, self.stage_key = 0, 1, ""
        self.records = 0
        self._stopped_at = None  # the step the last Pause / Cancel stopped at (the trainer's record)
        self._timing: dict = {"t0": None, "first": 0, "index": None, "finished": {}}  # the bar's time weights
        self._dirty = False
        self._redraw = QTimer(self)
        self._redraw.setInterval(150)
        self._redraw.timeout.connect(self._draw)

        buttons = QHBoxLayout()  # Start / Start over sits apart, at the right: never where Pause was
        for b in (self.pause_btn, self.cancel_btn, self.resume_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.eta)
        buttons.addSpacing(16)
        buttons.addWidget(self.start_btn)
        plots = QHBoxLayout()
        for p in (self.loss_plot, self.psnr_plot, self.sam_plot):
            plots.addWidget(p)
        lay = QVBoxLayout(self)
        lay.addWidget(self.status)
        lay.addWidget(self.progress)
        lay.addLayout(buttons)
        lay.addLayout(plots, 1)
        lay.addWidget(self.log)
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.clicked.connect(lambda: self.runner and self.runner.pause())
        self.cancel_btn.clicked.connect(lambda: self.runner and self.runner.cancel())
        self.resume_btn.clicked.connect(self.resume)
        self._sync("idle")

    @staticmethod
    def _plot(title: str, unit: str, log_y: bool = False) -> pg.PlotWidget:
        p = pg.PlotWidget(title=title)
        p.setBackground("w")
        p.setLabel("bottom", "step")
        p.setLabel("left", unit)
        p.showGrid(x=True, y=True, alpha=0.3)
        for side in ("left", "bottom"):  # plain numbers: no "loss (x0.001)" with "7·10²" ticks
            p.getAxis(side).enableAutoSIPrefix(False)
        if log_y:
            p.setLogMode(y=True)
        p.addLegend(offset=(-10, 10))
        p.setMinimumHeight(180)
        return p

    def initializePage(self) -> None:  # Qt override
        plan = self.wizard().plan()
        if self.runner is None or self.runner.plan.run_dir != plan.run_dir or self.runner.state == "done":
            self._new_runner(plan)
        else:
            self.runner.plan = plan
            self.runner.stages = plan.stages()
        self._sync(self.runner.state)

    def _new_runner(self, plan: TrainPlan) -> None:
        if self.runner is not None:
            self.runner.shutdown()
            self.runner.deleteLater()
        self.runner = TrainingRunner(plan, self)
        self.runner.record.connect(self.on_record)
        self.runner.stage_started.connect(self._stage_started)
        self.runner.state_changed.connect(self._sync)
        self.runner.log_line.connect(self.log.appendPlainText)
        self.runner.failed.connect(self._failed)
        self.runner.finished.connect(self._done)
        self.curves.clear()
        self.offsets.clear()
        for p in (self.loss_plot, self.psnr_plot, self.sam_plot):
            p.clear()
        self.records = 0
        self._timing = {"t0": None, "first": 0, "index": None, "finished": {}}

    def start(self) -> None:
        """Start the run; after a stop or a failure, a fresh run with the current settings (Start over)."""
        if self.runner is None or self.runner.running():
            return
        if self.runner.state != "idle":
            plan = self.wizard().plan()
            if not self._confirm_restart(plan):
                return
            import shutil

            shutil.rmtree(plan.run_dir, ignore_errors=True)  # its checkpoints and finished stages
            self._new_runner(plan)
            self.progress.setValue(0)
            self.progress.setFormat("0 %")
        self.status.setText("Starting…")
        self.eta.setText("")
        self.runner.start()

    def _confirm_restart(self, plan: TrainPlan) -> bool:
        if not self.confirm_restart:
            return True
        answer = QMessageBox.question(
            self, "Start over?", f"Delete this run's checkpoints and finished stages ({plan.run_dir}) and train "
            "from the beginning with the current settings?\n\nResume instead continues from the last checkpoint.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def resume(self) -> None:
        if self.runner is None:
            return
        self.runner.plan = self.wizard().plan()
        self.runner.stages = self.runner.plan.stages()
        self.status.setText("Resuming from the last checkpoint…")
        self.runner.resume()

    def _stage_started(self, index: int, count: int, key: str) -> None:
        timing = self._timing
        if timing["t0"] is not None and timing["index"] is not None and index > timing["index"] \
                and timing["first"] == 0:  # the stage before ran whole in this session: its measured time
            timing["finished"][timing["index"]] = time.monotonic() - timing["t0"]
        timing["t0"], timing["index"] = None, index
        self.stage_index, self.stage_count, self.stage_key = index, count, key
        if key not in self.offsets:
            self.offsets[key] = sum(r.steps for r in self.runner.stages[:index])
        if key not in self.curves:
            colour = STAGE_COLOURS.get(key, (0, 0, 0))
            pen = pg.mkPen(colour, width=1.5)
            label = STAGE_LABELS.get(key, key)
            self.curves[key] = {
                "loss": self.loss_plot.plot([], [], pen=pen, name=label),
                "psnr": self.psnr_plot.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=colour,
                                            name=label),
                "sam": self.sam_plot.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=colour,
                                          name=label),
                "data": {"loss": ([], []), "psnr": ([], []), "sam": ([], [])},
            }
        self.status.setText(f"{STAGE_LABELS.get(key, key)} — stage {index + 1} of {count}")
        self.eta.setText(f"{STAGE_LABELS.get(key, key)}: starting…")  # not the previous stage's last step
        self._redraw.start()

    def on_record(self, key: str, rec: dict) -> None:
        self.records += 1
        event = rec.get("event")
        run = self.runner.current if self.runner else None
        if event == "start":
            self._timing["t0"], self._timing["first"] = time.monotonic(), int(rec.get("step") or 0)
        if event == "start" and run is not None:
            self.status.setText(f"{run.label} — stage {self.stage_index + 1} of {self.stage_count}: "
                                f"{rec['steps']} steps" + (f", from step {rec['step']}" if rec["step"] else ""))
        if event == "step" and key in self.curves:
            data = self.curves[key]["data"]
            x = self.offsets.get(key, 0) + int(rec["step"])
            data["loss"][0].append(x)
            data["loss"][1].append(max(float(rec["loss"]), 1e-8))
            val = rec.get("val") or {}
            for k in ("psnr", "sam"):
                if isinstance(val.get(k), (int, float)) and np.isfinite(val[k]):
                    data[k][0].append(x)
                    data[k][1].append(float(val[k]))
            steps = run.steps if run is not None else 1
            done = self._progress(int(rec["step"]), steps, rec.get("eta_s"))
            self.progress.setValue(int(1000 * done))
            self.progress.setFormat(f"{100 * done:.0f} %")
            remaining = [r.steps for r in self.runner.stages[self.stage_index + 1:]] if self.runner else []
            stage_eta = rec.get("eta_s")
            self.eta.setText(f"step {rec['step']}/{steps} · {rec.get('phase', '')} · this stage ETA "
                             f"{format_seconds(stage_eta)}" + (f" · then {len(remaining)} more stage(s)"
                                                                if remaining else ""))
            self._dirty = True
        elif event == "cancelled":  # the trainer's stop record: the same for Pause and Cancel, so say which
            self._stopped_at = rec.get("step")
            paused = self.runner is not None and self.runner.stop_kind() == "paused"
            self.log.appendPlainText(f"paused — Resume continues from step {self._stopped_at}" if paused else
                                     f"cancelled at step {self._stopped_at} (a checkpoint was saved)")

    def _progress(self, step: int, steps: int, eta) -> float:
        """The whole run's fraction done, weighted by measured time per step (services' ``weighted_progress``);
        by stage count until a stage has timed a step."""
        t0 = self._timing["t0"]
        if self.runner is None or t0 is None or step <= self._timing["first"]:
            return (self.stage_index + min(step / max(steps, 1), 1.0)) / max(self.stage_count, 1)
        eta = float(eta) if isinstance(eta, (int, float)) and np.isfinite(eta) else None
        return weighted_progress([r.steps for r in self.runner.stages], self.stage_index, step,
                                 time.monotonic() - t0, eta, self._timing["first"], self._timing["finished"])

    def _draw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for c in self.curves.values():
            for k in ("loss", "psnr", "sam"):
                xs, ys = c["data"][k]
                c[k].setData(np.asarray(xs, float), np.asarray(ys, float))

    def _sync(self, state: str) -> None:
        running = state in ("running", "stopping")
        restart = state in ("paused", "cancelled", "failed")
        self.start_btn.setText("Start over" if restart else "Start")
        self.start_btn.setToolTip("Delete this run's checkpoints and train afresh with the current settings "
                                  "(asks first)" if restart else "Train with these settings")
        self.start_btn.setEnabled(state == "idle" or restart)  # always shown, so the buttons never move
        self.pause_btn.setEnabled(state == "running")
        self.cancel_btn.setEnabled(state == "running")
        self.resume_btn.setEnabled(state in ("paused", "cancelled", "failed"))
        if state == "stopping":
            self.status.setText("Stopping: saving a checkpoint…")
        elif state == "paused":
            at = self._stopped_at
            self.status.setText("Paused — Resume continues from "
                                + (f"step {at}" if at is not None else "where it stopped") + " (checkpoint saved).")
        elif state == "cancelled":
            self.status.setText("Cancelled. A checkpoint was saved: Resume continues, or go Back to change "
                                "settings (finished stages are kept).")
        if not running:
            self._draw()
            self._redraw.stop()
        wiz = self.wizard()
        if wiz is not None:
            wiz.button(QWizard.WizardButton.BackButton).setEnabled(not running)
            wiz.button(QWizard.WizardButton.CancelButton).setEnabled(True)
        self.completeChanged.emit()

    def _failed(self, message: str, details: str) -> None:
        """Say which stage failed and why (the trainer's error line is already in the log: not added twice)."""
        import html

        last = details.splitlines()[0] if details else ""
        run = self.runner.current if self.runner is not None else None
        where = f"Stage {self.stage_index + 1} of {self.stage_count} ({run.label})" if run is not None else "Training"
        self.status.setText(f"<b style='color:#b00020'>{html.escape(message)}</b>"
                            + (f"<br>{html.escape(last)}" if last else ""))
        self.eta.setText(f"{where} failed")
        self.wizard().last_error = message + ("\n" + last if last else "")

    def _done(self, model: str) -> None:
        self.progress.setValue(1000)
        self.progress.setFormat("100 %")
        self.status.setText(f"Done. The model is in {model}.")
        self.eta.setText(f"all {self.stage_count} stage(s) finished")
        self.wizard().model_trained(model)

    def isComplete(self) -> bool:  # Qt override
        return self.runner is not None and self.runner.state == "done"


__all__ = ["RunPage", "STAGE_COLOURS"]
