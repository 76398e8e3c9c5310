"""Preparing a real camera photo for reconstruction, and the chart report after it — the one use case the CLI
(``reconstruct --white-balance/--chart``) and the GUI (Photo ▸ White balance / Chart calibration) share.

Order: the colour profile was applied when the file was read (:mod:`hsi_studio.core.io.profiles`);
then the white balance (if asked), then the chart calibration (if asked: it also fixes the white balance and
the exposure, to the chart's reflectance scale). Without either, a photo that looks strongly cast gets a
warning in ``messages``. Every choice is recorded in :meth:`PreparedPhoto.record`, which goes into the
reconstruction's metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken
from hsi_studio.core.photo import correction as pc


@dataclass
class PreparedPhoto:
    rgb: RGBImage  # what the model reconstructs from (linear sRGB when anything was applied)
    original: RGBImage
    white_balance: pc.WhiteBalance | None = None
    detection: object | None = None  # chart_detect.ChartDetection
    calibration: pc.ChartCalibration | None = None
    messages: list[str] = field(default_factory=list)

    def record(self) -> dict[str, str]:
        """Scalar metadata for the reconstruction (HDF5 attributes, ENVI header fields)."""
        out = {"colour_space": self.original.colour_space}
        if self.white_balance is not None:
            out["white_balance"] = json.dumps(self.white_balance.to_dict())
        if self.calibration is not None:
            cal = self.calibration
            out["chart_correction"] = cal.fit.label
            out["chart_reference"] = cal.reference
            out["chart_delta_e_after_loo"] = f"{cal.delta_e_after[cal.usable].mean():.3f}"
            out["chart_corners_xy"] = json.dumps(np.round(cal.detection.corners, 1).tolist())
        return out


def prepare_photo(rgb: RGBImage, *, white_balance=None, chart=None, reference: str = pc.REFERENCE_DEFAULT,
                  cancel: CancelToken = NEVER_CANCEL) -> PreparedPhoto:
    """``white_balance``: None, ``"auto"``, ``"chart"``, ``(x, y)``, ``(x, y, w, h)`` or its text form;
    ``chart``: None, ``"auto"``, four (x, y) corners or their text form ``X1,Y1,…,X4,Y4``. Raises
    :class:`~hsi_studio.core.errors.InputError` (``ChartNotFoundError`` when detection fails) with one line."""
    out = PreparedPhoto(rgb, rgb)
    if white_balance is None and chart is None:
        warning = pc.cast_warning(pc.linear_of(rgb))
        if warning:
            out.messages.append(f"warning: {warning}")
        return out
    linear = pc.linear_of(rgb).astype(np.float32, copy=True)
    if isinstance(white_balance, str):
        white_balance = pc.parse_white_balance(white_balance)
    if chart is not None:
        out.detection = pc.locate_chart(rgb.display_srgb(), chart, cancel=cancel)
        cancel.check()
    if white_balance is not None:
        chart_rgb = out.detection.patch_rgb(linear) if out.detection is not None else None
        out.white_balance = pc.white_balance(linear, white_balance, chart_rgb=chart_rgb)
        linear = out.white_balance.apply(linear)
    if out.detection is not None:
        out.calibration = pc.calibrate_chart(linear, out.detection, reference)
        cancel.check()
        linear = out.calibration.fit.apply(linear)
        cal = out.calibration
        out.messages.append(f"chart: {cal.detection.method}; {cal.fit.label}; ΔE2000 "
                            f"{cal.delta_e_before[cal.usable].mean():.2f} before → "
                            f"{cal.delta_e_after[cal.usable].mean():.2f} after (leave-one-out)")
    meta = {**rgb.metadata, **out.record()}
    out.rgb = RGBImage(linear, "linear", meta, rgb.bit_depth)
    return out


def chart_report(prepared: PreparedPhoto, reflectance: HSCube | None = None, *, source: str = "",
                 model: str = "") -> dict:
    """The chart report as a dict (see :mod:`hsi_studio.core.photo.chart_report`); ``reflectance``: the
    reconstruction as reflectance, to score each patch's spectrum."""
    from hsi_studio.core.photo import chart_report

    if prepared.calibration is None:
        raise ValueError("no chart calibration to report")
    spectra = None
    if reflectance is not None:
        spectra = pc.patch_spectra(reflectance, prepared.calibration.detection, prepared.calibration.reference)
    return chart_report.report_dict(prepared.calibration, spectra, source=source, model=model)


def write_chart_report(report: dict, folder: str | Path, stem: str) -> list[Path]:
    from hsi_studio.core.photo import chart_report

    folder = Path(folder)
    paths = {k: folder / f"{stem}_chart.{k}" for k in ("json", "csv", "png")}
    chart_report.write_report(report, paths)
    return list(paths.values())


__all__ = ["PreparedPhoto", "chart_report", "prepare_photo", "write_chart_report"]
