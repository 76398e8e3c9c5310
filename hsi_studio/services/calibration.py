"""Photo calibration options — the use case of telling the program how to correct a photo before it is
reconstructed: a white balance (``auto``, ``chart``, a neutral pixel or region), a ColorChecker chart (detected,
or four corners) and the chart's reference spectra, checked before any work as ``hsi-studio reconstruct
--white-balance/--chart/--chart-reference`` and the GUI's photo tools take them; and the chart report of a
reconstruction streamed tile by tile. Applying them to a photo is :mod:`hsi_studio.services.photo`; camera RAW
files are read by :func:`hsi_studio.services.cubes.read_rgb`. The maths is :mod:`hsi_studio.core.photo`'s."""

from __future__ import annotations

from pathlib import Path

from hsi_studio.core.photo.chart_detect import (
    FALLBACK_HINT,
    ChartDetection,
    ChartNotFoundError,
    chart_from_corners,
    detect_chart,
    parse_corners,
)
from hsi_studio.core.photo.correction import (
    REFERENCE_DEFAULT,
    ChartCalibration,
    WhiteBalance,
    parse_white_balance,
    patch_names,
    patch_spectra,
    reference_names,
)


def check_reference(name: str | None) -> str:
    """A chart reference's canonical name (case-insensitive match), or an InputError listing the known ones."""
    from hsi_studio.core.photo import correction

    return correction._check_reference(name or REFERENCE_DEFAULT)


def parse_photo_options(white_balance: str | None, chart: str | None, reference: str | None):
    """(white balance, chart, reference) from their text: a :class:`WhiteBalance` or None; ``"auto"``, the four
    corners or None; the reference's canonical name — each refused with one line before any work."""
    wb = parse_white_balance(white_balance) if white_balance is not None else None
    if chart is not None and chart.strip().lower() != "auto":
        chart = parse_corners(chart)
    elif chart is not None:
        chart = "auto"
    return wb, chart, check_reference(reference)


def streamed_chart_report(calibration: ChartCalibration, chart_reflectance, *, source: str, model: str) -> dict:
    """The chart report of a streamed reconstruction: ``chart_reflectance`` is the run's
    ``chart_reflectance(detection)`` (the chart's crop of the reflectance and the moved detection)."""
    from hsi_studio.core.photo import chart_report

    crop, moved = chart_reflectance
    spectra = patch_spectra(crop, moved, calibration.reference)
    return chart_report.report_dict(calibration, spectra, source=source, model=model)


def write_report(report: dict, paths: dict[str, str | Path]) -> None:
    """Write the chart report's parts (``json``, ``csv``, ``png``) to the given paths."""
    from hsi_studio.core.photo import chart_report

    chart_report.write_report(report, paths)


__all__ = ["FALLBACK_HINT", "REFERENCE_DEFAULT", "ChartCalibration", "ChartDetection", "ChartNotFoundError",
           "WhiteBalance", "chart_from_corners", "check_reference", "detect_chart", "parse_corners",
           "parse_photo_options", "parse_white_balance", "patch_names", "patch_spectra", "reference_names",
           "streamed_chart_report", "write_report"]
