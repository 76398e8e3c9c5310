"""Real cameras: measured spectral sensitivities and the colour processing that makes their photos sRGB.

A camera is not the CIE observer: its sensors see a spectrum through their own curves, and the camera's
processing (white balance and a 3×3 colour matrix) maps that raw RGB to sRGB only approximately. A model
trained on ideal photos (``cie1964-srgb``) meets every real photo with that mismatch. Measured on the five
validation scenes (``python benchmarks/cameras.py``), a per-pixel MLP trained on ideal photos loses up to
1 dB and up to 4° of spectral angle on photos from real cameras with perfect processing; Otsu 2018 loses
much less. Training on photos through real cameras (``TrainingSource(sim={"cameras": share})``) is the remedy.

- :func:`read_camspec` reads the camspec database (Jiang, Liu, Gu and Süsstrunk 2013: 28 cameras, 400–720 nm
  in 10 nm steps; the first 31 samples, 400–700 nm, are kept), as ``../shared/data/cameras/`` holds it.
- :data:`HELD_OUT` names the cameras never trained on (every fourth camera of the file, and the Canon 600D,
  which took one of the real ColorChecker test photos): they test robustness.
- :func:`processing_matrix` fits the camera's processing: one 3×3 matrix (white balance and colour matrix
  together) taking the camera's raw RGB of lit reflectances to the target response's RGB, by least squares
  on a reflectance library with the white weighted so that it maps (almost) exactly — what a camera maker
  does with a chart, done here on measured reflectances with **no ColorChecker spectrum** (the caller passes
  the library; the training source passes the chart-free one).
- :func:`effective_response` is the (31, 3) matrix "lit spectrum → processed camera RGB" (sensitivities ×
  processing), used in place of the ideal response when a sample is seen through that camera.

Reference: J. Jiang, D. Liu, J. Gu and S. Süsstrunk, "What is the space of spectral sensitivity functions for
digital color cameras?", IEEE WACV 2013, 168–179. DOI: 10.1109/WACV.2013.6475015.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hsi_studio.core.errors import InputError

#: bands kept from the database (400–700 nm in 10 nm steps)
BANDS = 31
#: cameras never trained on: every fourth camera of the database's order, and the Canon 600D (it took one of
#: the real ColorChecker test photos, seeds_canon600d)
HELD_OUT = ("Canon 1DMarkIII", "Canon 500D", "Canon 600D", "Canon 60D", "Nikon D3", "Nikon D5100", "Nokia N900",
            "Point Grey Grasshopper 50S5C")
#: the file's name under ``<shared data>/cameras/``
CAMSPEC_FILE = "camspec_database.txt"


def read_camspec(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Camera name → sensitivities (31, 3) on 400–700 nm, each camera scaled so its largest value is 1.

    The format: a name line, then three lines (R, G, B) of at least 31 tab- or space-separated numbers;
    anything else (the header, separators) is skipped. A file with no camera, or a camera with a short,
    non-numeric, negative or all-zero row, is refused with the line it was on."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the camera sensitivities {p}: {exc.strerror or exc}") from exc
    cams: dict[str, np.ndarray] = {}
    rows = [ln.strip() for ln in lines]
    i = 0
    while i < len(rows):
        name = rows[i]
        nxt = rows[i + 1].split() if i + 1 < len(rows) else []
        if name and len(name.split("\t")) == 1 and len(nxt) >= BANDS and _numeric(nxt[0]):
            block = []
            for k in (1, 2, 3):
                fields = rows[i + k].split() if i + k < len(rows) else []
                if len(fields) < BANDS or not all(_numeric(f) for f in fields[:BANDS]):
                    raise InputError(f"{p}, line {i + k + 1}: camera {name!r} channel {k} has "
                                     f"{len(fields)} value(s); expected {BANDS} or more numbers (400–700 nm)")
                block.append(np.array(fields[:BANDS], dtype=np.float64))
            s = np.stack(block, axis=1)
            if not np.isfinite(s).all() or (s < 0).any() or not (s.max(axis=0) > 0).all():
                raise InputError(f"{p}, line {i + 1}: camera {name!r} has negative, non-finite or all-zero "
                                 "sensitivities; expected non-negative curves")
            cams[name] = s / s.max()
            i += 4
        else:
            i += 1
    if not cams:
        raise InputError(f"{p} holds no camera; expected the camspec format (a name line, then R, G and B lines of "
                         f"{BANDS}+ numbers)")
    return cams


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def split(cameras: dict[str, np.ndarray], which: str) -> dict[str, np.ndarray]:
    """``train`` (every camera not in :data:`HELD_OUT`), ``test`` (those in it) or ``all``."""
    if which not in ("train", "test", "all"):
        raise InputError(f"camera set {which!r}; expected 'train', 'test' or 'all'")
    if which == "all":
        return dict(cameras)
    held = set(HELD_OUT)
    return {n: s for n, s in cameras.items() if (n in held) == (which == "test")}


def processing_matrix(sensitivities: np.ndarray, target: np.ndarray, light: np.ndarray,
                      spectra: np.ndarray) -> np.ndarray:
    """The 3×3 ``C`` with ``(light·s) @ sensitivities @ C ≈ (light·s) @ target`` over the reflectances
    ``spectra`` (N, 31), the white (s = 1) weighted as much as all of them together, so it maps (almost)
    exactly: white balance and colour matrix in one, fitted by least squares."""
    sens = np.asarray(sensitivities, dtype=np.float64)
    tgt = np.asarray(target, dtype=np.float64)
    spd = np.asarray(light, dtype=np.float64).reshape(-1)
    s = np.asarray(spectra, dtype=np.float64)
    if sens.shape != (BANDS, 3) or tgt.shape != (BANDS, 3) or spd.shape != (BANDS,) or s.ndim != 2 \
            or s.shape[1] != BANDS or len(s) < 3:
        raise InputError(f"sensitivities {sens.shape}, target {tgt.shape}, light {spd.shape}, spectra {s.shape}; "
                         f"expected (31, 3), (31, 3), (31,) and (N ≥ 3, 31)")
    lit = np.vstack([s * spd, spd])
    w = np.ones(len(lit))
    w[-1] = float(len(s))
    sw = np.sqrt(w)[:, None]
    c, *_ = np.linalg.lstsq((lit @ sens) * sw, (lit @ tgt) * sw, rcond=None)
    return c


def effective_response(sensitivities: np.ndarray, target: np.ndarray, light: np.ndarray,
                       spectra: np.ndarray) -> np.ndarray:
    """(31, 3): a lit spectrum ↦ the camera's processed RGB in the target's space (sensitivities × the fitted
    processing of :func:`processing_matrix`)."""
    return np.asarray(sensitivities, dtype=np.float64) @ processing_matrix(sensitivities, target, light, spectra)


__all__ = ["BANDS", "CAMSPEC_FILE", "HELD_OUT", "effective_response", "processing_matrix", "read_camspec", "split"]
