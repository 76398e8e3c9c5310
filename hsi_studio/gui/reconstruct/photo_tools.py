"""The Reconstruct dock's Photo section: white balance and ColorChecker calibration of a real photo before it is
reconstructed.

*White balance*: None, Auto (shades of grey), Pick a neutral pixel (the next click on the image), Drag a
neutral region (a rectangle on the image), From the chart (its grey patches). *Chart calibration*: None,
Detect automatically, Click the four corners (dark skin, bluish green, black, white; Esc cancels). **Apply**
runs ``services.photo.prepare_photo`` on a worker (progress, Cancel); the result's summary (chart: how it was
found, the correction, ΔE2000 before → after, leave-one-out) is shown here, the chart is drawn on the image
(:mod:`.photo_overlay`), and the Reconstruct dock reconstructs the corrected photo from then on. A failure is a
red line in the section (never a dialog); when no chart is found, the section offers the four clicks instead.
A photo that looks strongly colour-cast gets a warning with an **Auto white balance** button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.errors import InputError, one_line
from hsi_studio.gui.reconstruct.photo_overlay import PhotoOverlay
from hsi_studio.services.calibration import ChartNotFoundError
from hsi_studio.services.photo import PreparedPhoto, prepare_photo

WB_CHOICES = (("None", None), ("Auto", "auto"), ("Pick a neutral pixel", "pixel"),
              ("Drag a neutral region", "region"), ("From the chart", "chart"))
CHART_CHOICES = (("None", None), ("Detect automatically", "auto"), ("Click the four corners", "corners"))
CORNER_PROMPTS = ("dark skin (patch 1, brown)", "bluish green (patch 6)", "black (patch 24)", "white (patch 19)")
CORNERS_HINT = "click the four outer corners of the patch grid instead: dark skin, bluish green, black, white"
ERROR_STYLE = "color: #c62828;"
WARNING_STYLE = "color: #b35c00;"
PROMPT_STYLE = "color: #0b57d0;"


def short_colour_space(text: str) -> str:
    """A colour-space label for the status bar: ``"Display P3 (ICC profile '…', sRGB curve) → linear sRGB"`` →
    ``"Display P3 → linear sRGB"``; an assumed one says so (``"sRGB (assumed)"``)."""
    out, assumed = str(text), False
    while True:
        m = re.search(r"\s*\(([^()]*)\)", out)
        if m is None:
            break
        assumed = assumed or m.group(1).strip().lower().startswith("assumed")
        out = out[:m.start()] + out[m.end():]
    out = " ".join(out.split()) or "sRGB"
    out = out if len(out) <= 60 else out[:59] + "…"
    return f"{out} (assumed)" if assumed else out


def gui_message(text: str) -> str:
    """A core message without its command-line advice (``--white-balance …``, ``--chart …``)."""
    text = str(text).removeprefix("warning: ")
    for cut in (" Use --", "; give the four outer corners with --chart", ", expected --chart too"):
        text = text.split(cut)[0]
    return text.rstrip(" .;,")


def summary_text(p: PreparedPhoto) -> str:
    """What was applied, on a few lines."""
    lines = []
    if p.white_balance is not None:
        g = p.white_balance.gains
        lines.append(f"White balance: {p.white_balance.source}; gains R {g[0]:.2f}, G 1, B {g[2]:.2f}.")
    if p.calibration is not None:
        s = p.calibration.summary()
        lines.append(f"Chart ({p.calibration.detection.method}): {s['correction']}. ΔE2000 "
                     f"{s['delta_e_before_mean']:.2f} before → {s['delta_e_after_loo_mean']:.2f} after "
                     f"(leave-one-out), {s['patches_used']} of 24 patches used.")
    return "\n".join(lines) or "No correction: the photo is reconstructed as read."


def status_text(p: PreparedPhoto) -> str:
    """The result on one short line (the Photo section has the details)."""
    parts = []
    if p.white_balance is not None:
        parts.append(f"white-balanced ({p.white_balance.source.split(' (')[0]})")
    if p.calibration is not None:
        s = p.calibration.summary()
        parts.append(f"chart-calibrated, ΔE2000 {s['delta_e_before_mean']:.2f} → {s['delta_e_after_loo_mean']:.2f} "
                     "(leave-one-out)")
    return ("Photo " + " and ".join(parts) + ": Run reconstructs it") if parts else "Photo reconstructed as read"


@dataclass
class NoChart:
    """What the job returns when detection finds no chart (so the section can offer the four clicks)."""

    message: str


def prepare_job(rgb: RGBImage, white_balance, chart, *, progress, cancel):
    """``prepare_photo`` on a worker; a chart that is not found comes back as :class:`NoChart`."""
    progress(0.0, "finding the chart…" if isinstance(chart, str) else "correcting the photo…")
    try:
        return prepare_photo(rgb, white_balance=white_balance, chart=chart, cancel=cancel)
    except ChartNotFoundError as exc:
        return NoChart(one_line(exc))


class PhotoTools(QGroupBox):
    """The Photo group box. ``canvas`` is the image view it draws on and takes clicks from."""

    prepared_changed = Signal(object)  # PreparedPhoto (what to reconstruct), or None (the photo as read)
    busy_changed = Signal(bool)
    status = Signal(str, int)  # a status-bar message and its timeout (ms; 0: until replaced)
    failed = Signal(str)

    def __init__(self, jobs, canvas, parent=None) -> None:
        super().__init__("Photo", parent)
        self.setObjectName("photo_tools")
        self.jobs = jobs
        self.canvas = canvas
        self.overlay = PhotoOverlay(canvas)
        self.rgb: RGBImage | None = None
        self.prepared: PreparedPhoto | None = None
        self.pick: str | None = None  # "pixel" or "corners" while the image's clicks are ours
        self.pixel: tuple[int, int] | None = None
        self.corners: list[tuple[float, float]] = []
        self.quad = None  # (4, 2) corners that form a valid chart
        self.cast: str | None = None
        self.job = None
        self._check_job = None
        self._build()
        self.set_photo(None)

    # -- construction -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.wb = QComboBox()
        for label, key in WB_CHOICES:
            self.wb.addItem(label, key)
        self.wb.setToolTip("Make a neutral surface grey before reconstructing: automatic (shades of grey), a pixel or "
                           "a region you pick on the image, or the chart's grey patches")
        self.chart = QComboBox()
        for label, key in CHART_CHOICES:
            self.chart.addItem(label, key)
        self.chart.setToolTip("Calibrate the photo's colours on a ColorChecker Classic 24 in it: found automatically, "
                              "or from the four outer corners of its patch grid that you click")
        self.apply_btn = QPushButton("Apply")
        self.apply_btn.setToolTip("Correct the photo with these choices (the Reconstruct run then uses it)")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the correction, or the clicks on the image (Esc)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.prompt = QLabel("")  # what to click on the image, while picking
        self.prompt.setWordWrap(True)
        self.prompt.setStyleSheet(PROMPT_STYLE)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.auto_wb_btn = QPushButton("Auto white balance")
        self.auto_wb_btn.setToolTip("White balance: Auto, and apply it")
        self.warning_box = QWidget()
        wl = QVBoxLayout(self.warning_box)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(self.warning)
        wl.addWidget(self.auto_wb_btn, 0, Qt.AlignmentFlag.AlignLeft)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("White balance", self.wb)
        form.addRow("Chart", self.chart)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_btn)
        buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        for w in (self.prompt, self.summary, self.error, self.warning_box):
            lay.addWidget(w)

        self.wb.activated.connect(lambda _i: self._wb_changed())
        self.chart.activated.connect(lambda _i: self._chart_changed())
        self.apply_btn.clicked.connect(lambda _c=False: self.apply())
        self.cancel_btn.clicked.connect(lambda _c=False: self.cancel())
        self.auto_wb_btn.clicked.connect(lambda _c=False: self.auto_white_balance())

    # -- state --------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def wb_choice(self) -> str | None:
        return self.wb.currentData()

    def chart_choice(self) -> str | None:
        return self.chart.currentData()

    def choose(self, white_balance: str | None = "", chart: str | None = "") -> None:
        """Select choices as the user would ("" leaves one as it is); picking modes start."""
        for combo, key, changed in ((self.wb, white_balance, self._wb_changed),
                                    (self.chart, chart, self._chart_changed)):
            if key != "":
                combo.setCurrentIndex(combo.findData(key))
                changed()

    def _sync(self) -> None:
        has = self.rgb is not None
        for w in (self.wb, self.chart):
            w.setEnabled(has and not self.running)
        self.apply_btn.setEnabled(has and not self.running)
        self.cancel_btn.setEnabled(self.running or self.pick is not None)
        self.progress.setVisible(self.running)
        self.prompt.setVisible(self.pick is not None)
        self.warning_box.setVisible(bool(self.cast) and self.prepared is None)

    def set_photo(self, rgb: RGBImage | None) -> None:
        """A new photo (None: no photo): every choice and pick is reset, and the photo is checked for a cast."""
        for job in (self.job, self._check_job):
            if job is not None and job.running:
                job.cancel()
        self.job = self._check_job = None
        self.rgb, self.prepared, self.cast = rgb, None, None
        self._end_pick()
        self.pixel, self.corners, self.quad = None, [], None
        self.overlay.clear()
        for combo in (self.wb, self.chart):
            combo.setCurrentIndex(0)
        self.summary.setText("Open a photo to correct it." if rgb is None else
                             "Reconstructed as read. Choose a white balance and/or a chart, then Apply.")
        self._show_error("")
        self.warning.setText("")
        self.setEnabled(rgb is not None)
        self._sync()
        if rgb is not None and not self.jobs.closed:
            self._check_job = self.jobs.start(prepare_photo, rgb, name="photo-check", pass_progress=False,
                                              on_finished=lambda p, r=rgb: self._checked(r, p))

    def _checked(self, rgb: RGBImage, plain: PreparedPhoto) -> None:
        if rgb is not self.rgb:
            return
        warnings = [gui_message(m) for m in plain.messages if m.startswith("warning:")]
        if warnings:
            self.cast = warnings[0]
            self.warning.setText(f"⚠ {self.cast[0].upper()}{self.cast[1:]}. Correct it before reconstructing.")
            self.status.emit(f"Warning: {self.cast.split(';')[0]} — see the Photo section", 15000)
        self._sync()

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        if message:
            self.failed.emit(message)
            self.status.emit(message, 15000)

    # -- choices and picking ------------------------------------------------------------------------------
    def _wb_changed(self) -> None:
        key = self.wb_choice()
        self._show_error("")
        if key != "pixel":
            self.overlay.show_pixel(None)
            if self.pick == "pixel":
                self._end_pick()
        if key == "region":
            if self.overlay.region is None and self.rgb is not None:
                self.overlay.show_region((self.rgb.height, self.rgb.width))
            self.status.emit("Drag and resize the cyan rectangle onto a grey or white surface, then press Apply", 0)
        else:
            self.overlay.show_region(None)
        if key == "pixel":
            self._start_pick("pixel")
        elif key == "chart" and self.chart_choice() is None:
            self._show_error("White balance from the chart needs a chart: choose Detect automatically or Click the "
                             "four corners")
        self._sync()

    def _chart_changed(self) -> None:
        key = self.chart_choice()
        self._show_error("")
        if key == "corners":
            self.corners, self.quad = [], None
            self.overlay.clear_chart()
            self._start_pick("corners")
            return
        if self.pick == "corners":
            self._end_pick()
        shown = self.prepared.detection if self.prepared is not None and key == "auto" else None
        self.overlay.show_chart(shown, self._usable(shown))
        self._sync()

    def _usable(self, detection):
        cal = self.prepared.calibration if self.prepared is not None else None
        return cal.usable if cal is not None and detection is cal.detection else None

    def _start_pick(self, kind: str) -> None:
        self.pick = kind
        self.canvas.setCursor(Qt.CursorShape.CrossCursor)
        self._prompt()
        self._sync()

    def _prompt(self) -> None:
        if self.pick == "pixel":
            text = "Click a grey or white surface in the image for the white balance (Esc cancels)"
            self.prompt.setText(text)
        elif self.pick == "corners":
            n = len(self.corners)
            text = f"Chart corner {n + 1} of 4: click the outer corner of {CORNER_PROMPTS[n]} (Esc cancels)"
            self.prompt.setText(f"<b>Corner {n + 1} of 4:</b> click the outer corner of {CORNER_PROMPTS[n]}. "
                                "Order: dark skin, bluish green, black, white. Esc cancels.")
        else:
            return
        self.status.emit(text, 0)

    def _end_pick(self) -> None:
        if self.pick is not None:
            self.pick = None
            self.canvas.unsetCursor()
            self.status.emit("", 1)
        self._sync()

    def on_image_click(self, row: int, col: int, shift: bool = False) -> bool:
        """A click on the image (row, col); True when it was a pick (the spectrum plot does not get it)."""
        if self.pick is None or self.rgb is None:
            return False
        if self.pick == "pixel":
            self.pixel = (int(col), int(row))
            self.overlay.show_pixel(self.pixel)
            self._end_pick()
            if not self._next_pick():
                self._pending(f"Neutral pixel x={col}, y={row}: press Apply")
            return True
        self.corners.append((float(col), float(row)))
        self.overlay.set_corners(self.corners)
        if len(self.corners) < 4:
            self._prompt()
            return True
        self._corners_done()
        return True

    def _corners_done(self) -> None:
        from hsi_studio.services.calibration import chart_from_corners

        corners, self.corners = list(self.corners), []
        try:
            detection = chart_from_corners(corners, (self.rgb.height, self.rgb.width))
        except InputError as exc:
            self.overlay.clear_chart()
            self._show_error(f"{one_line(exc)}. Click the four corners again.")
            self._prompt()
            return
        self.quad = detection.corners
        self._show_error("")
        self.overlay.show_chart(detection)
        self._end_pick()
        if not self._next_pick():
            self._pending("Chart placed (its 24 patch boxes are drawn): press Apply to calibrate")

    def _pending(self, text: str) -> None:
        self.status.emit(text, 8000)
        if self.prepared is None:
            self.summary.setText(f"{text}.")

    def _next_pick(self) -> bool:
        """Start the other pick when its choice still needs one."""
        if self.wb_choice() == "pixel" and self.pixel is None:
            self._start_pick("pixel")
        elif self.chart_choice() == "corners" and self.quad is None:
            self._start_pick("corners")
        else:
            return False
        return True

    # -- running ------------------------------------------------------------------------------------------
    def specs(self):
        """(white_balance, chart) for ``prepare_photo``; an InputError when a pick is still missing."""
        wb, chart = self.wb_choice(), self.chart_choice()
        if wb == "pixel":
            if self.pixel is None:
                raise InputError("no neutral pixel yet: click a grey or white surface in the image")
            wb = self.pixel
        elif wb == "region":
            wb = self.overlay.region_rect()
            if wb is None:
                raise InputError("no neutral region: drag the rectangle onto a grey or white surface")
        elif wb == "chart" and chart is None:
            raise InputError("white balance from the chart needs a chart: choose Detect automatically or Click "
                             "the four corners")
        if chart == "corners":
            if self.quad is None:
                raise InputError("the chart's corners are not placed yet: click the four corners (dark skin, bluish "
                                 "green, black, white)")
            chart = self.quad.copy()
        return wb, chart

    def apply(self):
        """Correct the photo with the current choices on a worker; the job, or None when nothing started."""
        if self.rgb is None or self.running or self.jobs.closed:
            return None
        try:
            wb, chart = self.specs()
        except InputError as exc:
            self._show_error(one_line(exc))
            self._next_pick()
            return None
        self._end_pick()
        self._show_error("")
        self.summary.setText("Finding the chart…" if isinstance(chart, str) else "Correcting the photo…")
        rgb = self.rgb
        self.job = self.jobs.start(prepare_job, rgb, wb, chart, name="photo",
                                   on_finished=lambda r: self._prepared(rgb, r),
                                   on_failed=lambda m, d: self._failed(rgb, m),
                                   on_cancelled=lambda: self._cancelled(rgb))
        self.job.done.connect(self._job_done)
        self._sync()
        self.busy_changed.emit(True)
        return self.job

    def _job_done(self) -> None:
        self._sync()
        self.busy_changed.emit(self.running)

    def _prepared(self, rgb: RGBImage, result) -> None:
        if rgb is not self.rgb:
            return
        if isinstance(result, NoChart):
            self._no_chart(result.message)
            return
        corrected = result.white_balance is not None or result.calibration is not None
        self.prepared = result if corrected else None
        self.summary.setText(summary_text(result))
        if result.detection is not None:
            self.overlay.show_chart(result.detection, self._usable(result.detection))
        elif self.chart_choice() is None:
            self.overlay.clear_chart()
        self.status.emit(status_text(result), 15000)
        self._sync()
        self.prepared_changed.emit(self.prepared)

    def _no_chart(self, message: str) -> None:
        self.summary.setText(summary_text(self.prepared) if self.prepared is not None else "")
        self.choose(chart="corners")  # the four-click mode, with its prompt …
        self._show_error(f"{gui_message(message)}; {CORNERS_HINT}.")  # … under the reason

    def _failed(self, rgb: RGBImage, message: str) -> None:
        if rgb is not self.rgb:
            return
        self.summary.setText(summary_text(self.prepared) if self.prepared is not None else "")
        self._show_error(gui_message(message))

    def _cancelled(self, rgb: RGBImage) -> None:
        if rgb is self.rgb:
            self.summary.setText("Correction cancelled." if self.prepared is None else summary_text(self.prepared))
            self.status.emit("Photo correction cancelled", 5000)

    def cancel(self) -> bool:
        """Esc / Cancel: stop the running correction or the picking; True when there was one."""
        if self.running:
            self.job.cancel()
            return True
        if self.pick is not None:
            if self.pick == "corners":
                self.corners = []
                self.overlay.set_corners([])
            self._end_pick()
            self.status.emit("Clicks on the image cancelled", 4000)
            return True
        return False

    def auto_white_balance(self):
        self.choose(white_balance="auto")
        return self.apply()


__all__ = ["CHART_CHOICES", "NoChart", "PhotoTools", "WB_CHOICES", "gui_message", "prepare_job",
           "short_colour_space", "summary_text"]
