"""The chart report: how well a ColorChecker in the photo was calibrated, and how well the reconstruction
reproduces its measured spectra — as a dict (JSON), a CSV table and a 24-panel PNG figure (matplotlib, Agg).

Per patch: the photo's ΔE2000 to the reference *before* correction (exposure matched on the grey patches
only), *after* correction scored **leave-one-out** (the patch was not in the fit that corrected it), whether
it was usable (not clipped or black), and — once a reconstruction exists — the spectral angle between the
patch's mean reconstructed reflectance and its measured reflectance. A scientist reads the table to decide
whether to trust a reconstruction; the notes in :func:`report_dict` say what each number does and does not
mean.
"""

from __future__ import annotations

import csv
import io as _io
import json
from pathlib import Path

import numpy as np

from hsi_studio.core.photo.correction import ChartCalibration, PatchSpectra, patch_names
from hsi_studio.core.storage.atomic import atomic_write

NOTES = (
    "delta_e_before: the photo's patch colour (after its colour profile and any white balance) against the "
    "reference linear sRGB under D65, with only the exposure matched on the grey patches.",
    "delta_e_after_loo: the corrected colour of each patch from a correction fitted WITHOUT that patch "
    "(leave-one-out), so it measures how well the correction generalises to colours it was not fitted on.",
    "sam_deg: spectral angle between the patch's mean reconstructed reflectance and its measured reflectance "
    "(scale-free). The photo's colours were corrected with a fit on these same patches, so the SAM measures "
    "the spectral reconstruction given near-correct colour; it is not an independent test of the correction.",
    "Patches marked usable = false were clipped or black in the photo and left out of the fit.",
)


def report_dict(cal: ChartCalibration, spectra: PatchSpectra | None = None, *, source: str = "",
                model: str = "") -> dict:
    names = patch_names(cal.reference)
    before, after = cal.delta_e_before, cal.delta_e_after
    patches = []
    for i in range(24):
        row = {"index": i + 1, "name": names[i], "usable": bool(cal.usable[i]),
               "centre_xy": [round(float(v), 1) for v in cal.detection.centres[i]],
               "photo_rgb": [round(float(v), 5) for v in cal.photo_rgb[i]],
               "reference_rgb": [round(float(v), 5) for v in cal.reference_rgb[i]],
               "delta_e_before": round(float(before[i]), 3), "delta_e_after_loo": round(float(after[i]), 3)}
        if spectra is not None:
            row["sam_deg"] = round(float(spectra.sam[i]), 3)
            row["reflectance_scale"] = round(float(spectra.scale[i]), 4)
        patches.append(row)
    out = {"source": source, "model": model, **cal.summary(), "patches": patches, "notes": list(NOTES)}
    if spectra is not None:
        out["spectra"] = {**spectra.summary(cal.usable),
                          "wavelengths": [float(w) for w in spectra.wavelengths],
                          "reconstructed": np.round(spectra.reconstructed, 5).tolist(),
                          "reference": np.round(spectra.reference, 5).tolist()}
    return out


def csv_text(report: dict) -> str:
    buf = _io.StringIO()
    cols = ["index", "name", "usable", "delta_e_before", "delta_e_after_loo", "sam_deg", "reflectance_scale"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for row in report["patches"]:
        w.writerow([row.get(c, "") for c in cols])
    return buf.getvalue()


def figure_png(report: dict) -> bytes:
    """The 24-panel figure: each patch's reference spectrum (black) and reconstruction (its own colour), with
    SAM and ΔE in the title; PNG bytes. Without spectra, the panels show the patch colours and ΔE only."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 10.5), dpi=100)
    spectra = report.get("spectra")
    axes = fig.subplots(4, 6, sharex=True, sharey=True)
    top = 0.05
    if spectra:
        top = max(1.05 * max(max(r) for r in spectra["reconstructed"] + spectra["reference"]), 0.05)
    for i, ax in enumerate(axes.ravel()):
        row = report["patches"][i]
        ref = np.clip(np.asarray(row["reference_rgb"]), 0, 1)
        swatch = np.where(ref <= 0.0031308, 12.92 * ref, 1.055 * ref ** (1 / 2.4) - 0.055)
        ax.set_facecolor((*swatch, 0.35))  # the patch's own colour, tinted
        if spectra:
            wl = spectra["wavelengths"]
            ax.plot(wl, spectra["reference"][i], color="black", lw=1.4, label="measured")
            ax.plot(wl, spectra["reconstructed"][i], color="#d62728", lw=1.8, label="reconstructed")
            ax.set_ylim(0, top)
            title = f"{i + 1} {row['name']}\nSAM {row['sam_deg']:.1f}°  ΔE {row['delta_e_before']:.1f}→" \
                    f"{row['delta_e_after_loo']:.1f}"
        else:
            title = f"{i + 1} {row['name']}\nΔE {row['delta_e_before']:.1f}→{row['delta_e_after_loo']:.1f}"
        if not row["usable"]:
            title += " (clipped)"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("nm", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("reflectance", fontsize=8)
    head = f"Chart report — {Path(report.get('source') or 'photo').name}"
    if report.get("model"):
        head += f" — {report['model']}"
    sub = (f"correction: {report['correction']}; ΔE2000 mean {report['delta_e_before_mean']:.2f} before → "
           f"{report['delta_e_after_loo_mean']:.2f} after (leave-one-out)")
    if spectra:
        sub += f"; mean SAM {spectra['sam_mean_deg']:.2f}°"
        axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{head}\n{sub}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_report(report: dict, paths: dict[str, Path]) -> None:
    """Write the report's ``json``, ``csv`` and ``png`` files (each atomically) to the given paths."""
    for key, path in paths.items():
        with atomic_write(path) as tmp:
            if key == "json":
                Path(tmp).write_text(json.dumps(report, indent=1), encoding="utf-8")
            elif key == "csv":
                Path(tmp).write_text(csv_text(report), encoding="utf-8")
            elif key == "png":
                Path(tmp).write_bytes(figure_png(report))
            else:
                raise ValueError(f"unknown report part {key!r}")


__all__ = ["NOTES", "csv_text", "figure_png", "report_dict", "write_report"]
