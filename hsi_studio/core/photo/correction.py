"""Real camera photos before reconstruction: white balance, ColorChecker calibration and the chart report.

The models expect a white-balanced daylight photo in linear sRGB (the ``photo`` convention: a white surface
under D65 reads 1). A real photo is often cast (a light booth, tungsten, a camera left on a fixed white
balance) and its camera's colours differ from sRGB. Two corrections, applied in linear sRGB after the
colour profile (:mod:`.colour_management`):

* **White balance** (:func:`white_balance`): diagonal gains from a neutral — ``auto`` (shades of grey,
  Minkowski p = 6, over unclipped pixels), a pixel ``(x, y)`` (5×5 mean), a region ``(x, y, w, h)``, or the
  detected chart's grey patches.
* **Chart calibration** (:func:`calibrate_chart`): the 24 patches of a ColorChecker Classic in the photo
  (detected, or given by four corners) are fitted to their reference linear sRGB under D65 (colour-science's
  measured spectra × D65, CIE 1964 10°, the photo convention) with ``colour.characterisation``'s colour
  correction. The method — exposure only, diagonal gains, Cheung 2004 (3×3), Finlayson 2015 root-polynomial
  (degrees 2, 3), Cheung 2004 (terms 10), each after a tone exponent — is chosen by **leave-one-patch-out**
  ΔE2000, so the score never rewards a fit for reproducing the patch it was fitted on (and a photo that is
  already right keeps its colours: exposure only). The corrected photo is on the chart's reflectance scale: its white
  patch reads ≈ 0.9 and a reconstruction's reflectance is absolute where the light is the chart's.

:func:`patch_spectra` then scores a reconstruction on the chart: each patch's mean reflectance against its
reference spectrum (spectral angle), for the report (:mod:`.chart_report`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from hsi_studio.core.analysis.metrics import spectral_angle
from hsi_studio.core.cube import LINEAR_RANGE, HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, srgb_decode

REFERENCE_DEFAULT = "BabelColor Average"
PHOTO_OBSERVER = "CIE 1964 10 Degree Standard Observer"
NEUTRALS = (19, 20, 21, 22)  # 0-based: neutral 8, 6.5, 5, 3.5 (white 9.5 and black 2 clip or sink in noise)
CLIP_LEVEL = 0.98  # linear value above which a channel counts as clipped
DARK_LEVEL = 0.002
# Candidates for the chart's colour correction (colour.characterisation), chosen by leave-one-out ΔE2000.
CORRECTIONS = (
    ("Exposure", {}, "exposure only (no colour correction)"),  # a photo that is already right stays as it is
    ("Diagonal", {}, "white balance only (diagonal gains)"),
    ("Cheung 2004", {"terms": 3}, "3×3 matrix (Cheung 2004, 3 terms)"),
    ("Finlayson 2015", {"degree": 2}, "root-polynomial, degree 2 (Finlayson 2015)"),
    ("Finlayson 2015", {"degree": 3}, "root-polynomial, degree 3 (Finlayson 2015)"),
    ("Cheung 2004", {"terms": 10}, "polynomial, 10 terms (Cheung 2004)"),
)
# Exponents tried on the linearised photo before the correction: a camera's JPEG tone curve is rarely exactly
# sRGB's, and a per-photo power (chosen with the method, by leave-one-out ΔE2000) linearises it.
TONE_EXPONENTS = (0.5, 0.6, 0.7, 0.85, 1.0, 1.2, 1.4)
PARSIMONY_DE = 0.05  # leave-one-out ΔE2000 within which the simpler correction is preferred
CAST_RATIO_WARN = 2.0  # max/min of the shades-of-grey illuminant estimate above which a photo "looks cast"


def _colour():
    from hsi_studio.core.spectral._colour import colour

    return colour


# ---------------------------------------------------------------------------------------------------------
# Linear sRGB of a photo, and colour differences
# ---------------------------------------------------------------------------------------------------------
def linear_of(rgb: RGBImage) -> np.ndarray:
    """Linear sRGB float32 H×W×3 of an image (decoded when sRGB-encoded)."""
    return rgb.data if rgb.encoding == "linear" else srgb_decode(rgb.data)


def lab_of(linear: np.ndarray) -> np.ndarray:
    """CIE Lab (D65 white) of linear sRGB values."""
    from hsi_studio.core.spectral._colour import quiet

    colour = _colour()
    with quiet():
        xyz = colour.RGB_to_XYZ(np.asarray(linear, dtype=np.float64), colour.RGB_COLOURSPACES["sRGB"],
                                apply_cctf_decoding=False)
        return colour.XYZ_to_Lab(xyz, colour.RGB_COLOURSPACES["sRGB"].whitepoint)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ΔE2000 between linear sRGB values (…, 3)."""
    return np.asarray(_colour().delta_E(lab_of(a), lab_of(b), method="CIE 2000"), dtype=np.float64)


def _luminance(linear: np.ndarray) -> np.ndarray:
    return np.asarray(linear, dtype=np.float64) @ np.array([0.2126, 0.7152, 0.0722])


# ---------------------------------------------------------------------------------------------------------
# Reference chart
# ---------------------------------------------------------------------------------------------------------
def reference_names() -> list[str]:
    return [str(k) for k in _colour().SDS_COLOURCHECKERS.keys()]


def _check_reference(name: str) -> str:
    names = reference_names()
    for n in names:
        if n.lower() == str(name).lower():
            return n
    raise InputError(f"unknown chart reference {name!r}; expected one of: {', '.join(names)}")


def patch_names(reference: str = REFERENCE_DEFAULT) -> list[str]:
    return [str(k) for k in _colour().SDS_COLOURCHECKERS[_check_reference(reference)].keys()]


def reference_spectra(reference: str = REFERENCE_DEFAULT, wavelengths=None) -> np.ndarray:
    """(24, B) measured reflectance of the chart's patches on ``wavelengths`` (default 400–700 nm, 10 nm).
    These spectra are a *test* of every model: HSI Studio never trains on them."""
    colour = _colour()
    from hsi_studio.core.spectral._colour import quiet

    wl = STANDARD_WAVELENGTHS if wavelengths is None else np.asarray(wavelengths, dtype=np.float64)
    sds = colour.SDS_COLOURCHECKERS[_check_reference(reference)]
    with quiet():
        return np.stack([np.asarray(sd.copy().align(colour.SpectralShape(380, 780, 5))[wl], dtype=np.float64)
                         for sd in sds.values()])


def reference_linear(reference: str = REFERENCE_DEFAULT) -> np.ndarray:
    """(24, 3) linear sRGB of the patches lit by D65, CIE 1964 10° (a white reflector reads Y = 1)."""
    from hsi_studio.core.spectral.relight import render_matrix

    wl = STANDARD_WAVELENGTHS
    return reference_spectra(reference, wl) @ render_matrix(wl, "D65", PHOTO_OBSERVER)


# ---------------------------------------------------------------------------------------------------------
# White balance
# ---------------------------------------------------------------------------------------------------------
@dataclass
class WhiteBalance:
    """Diagonal gains (R, G, B; G = 1) and where the neutral came from."""

    gains: np.ndarray
    source: str

    def apply(self, linear: np.ndarray) -> np.ndarray:
        return np.clip(linear * self.gains.astype(np.float32), *LINEAR_RANGE).astype(np.float32)

    def to_dict(self) -> dict:
        return {"gains": [round(float(g), 5) for g in self.gains], "source": self.source}


def parse_white_balance(text: str) -> str | tuple[int, ...]:
    """``auto`` | ``chart`` | ``X,Y`` | ``X,Y,W,H`` (pixels: x right, y down) → a spec for :func:`white_balance`."""
    t = str(text).strip().lower()
    if t in ("auto", "chart"):
        return t
    parts = [p.strip() for p in t.split(",")]
    if len(parts) not in (2, 4) or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise InputError(f"--white-balance {text!r}; expected auto, chart, X,Y (a neutral pixel) or X,Y,W,H "
                         "(a neutral region), in whole pixels")
    return tuple(int(p) for p in parts)


def _neutral_from_region(linear: np.ndarray, x: int, y: int, w: int, h: int, what: str) -> np.ndarray:
    H, W = linear.shape[:2]
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > W or y + h > H:
        raise InputError(f"{what} ({x}, {y}, {w}×{h}) is outside the {W}×{H} image; expected a region inside it "
                         "(x, y from the top-left corner, in pixels)")
    block = linear[y:y + h, x:x + w].reshape(-1, 3)
    ok = (block.max(axis=1) < CLIP_LEVEL) & (block.min(axis=1) > DARK_LEVEL)
    if ok.mean() < 0.5:
        raise InputError(f"{what} at ({x}, {y}) is {'overexposed' if block.max() >= CLIP_LEVEL else 'too dark'} "
                         "(a channel is clipped); expected a grey or white surface that is neither clipped nor black")
    return block[ok].mean(axis=0).astype(np.float64)


def shades_of_grey(linear: np.ndarray, p: float = 6.0) -> np.ndarray:
    """The illuminant colour estimated by shades of grey (Finlayson & Trezzi 2004), G = 1, over pixels with no
    clipped or black channel (on a ≤ 512-pixel-wide copy)."""
    step = max(1, int(np.ceil(max(linear.shape[:2]) / 512)))
    px = linear[::step, ::step].reshape(-1, 3).astype(np.float64)
    px = px[(px.max(axis=1) < CLIP_LEVEL) & (px.min(axis=1) > DARK_LEVEL)]
    if len(px) < 16:
        raise InputError("the photo has almost no pixel that is neither clipped nor black; expected a normally "
                         "exposed photo for automatic white balance")
    e = np.power(np.mean(np.power(px, p), axis=0), 1.0 / p)
    return e / e[1]


def white_balance(linear: np.ndarray, spec, *, chart_rgb: np.ndarray | None = None) -> WhiteBalance:
    """Gains that make the chosen neutral grey (G kept). ``spec``: see :func:`parse_white_balance`;
    ``chart_rgb``: the (24, 3) linear patch means, needed for ``"chart"``."""
    if spec == "auto":
        e, source = shades_of_grey(linear), "auto (shades of grey, p = 6)"
    elif spec == "chart":
        if chart_rgb is None:
            raise InputError("white balance from the chart needs a chart in the photo; expected --chart too")
        grey = np.asarray(chart_rgb, dtype=np.float64)[list(NEUTRALS)]
        grey = grey[(grey.max(axis=1) < CLIP_LEVEL) & (grey.min(axis=1) > DARK_LEVEL)]
        if not len(grey):
            raise InputError("the chart's grey patches are all clipped or black; expected a normally exposed chart")
        e, source = grey.sum(axis=0), "chart grey patches (neutral 8 … 3.5)"
    elif isinstance(spec, tuple) and len(spec) == 2:
        x, y = spec
        H, W = linear.shape[:2]
        if not (0 <= x < W and 0 <= y < H):
            raise InputError(f"white-balance pixel ({x}, {y}) is outside the {W}×{H} image; expected x < {W}, y < {H}")
        x0, y0 = max(0, x - 2), max(0, y - 2)
        e = _neutral_from_region(linear, x0, y0, min(W, x + 3) - x0, min(H, y + 3) - y0, "white-balance pixel")
        source = f"neutral pixel ({x}, {y}) (5×5 mean)"
    elif isinstance(spec, tuple) and len(spec) == 4:
        e = _neutral_from_region(linear, *spec, "white-balance region")
        source = "neutral region ({}, {}, {}×{})".format(*spec)
    else:
        raise InputError(f"white balance {spec!r}; expected auto, chart, (x, y) or (x, y, w, h)")
    e = np.asarray(e, dtype=np.float64)
    return WhiteBalance(e[1] / e, source)


def cast_warning(linear: np.ndarray) -> str | None:
    """A warning when the photo looks strongly cast (not white-balanced), else None."""
    try:
        e = shades_of_grey(linear)
    except InputError:
        return None
    ratio = float(e.max() / e.min())
    if ratio < CAST_RATIO_WARN:
        return None
    return (f"the photo looks strongly colour-cast (estimated light R:G:B = {e[0]:.2f}:1:{e[2]:.2f}); the models "
            "expect a white-balanced daylight photo, and a cast one gives wrong spectra. Use --white-balance auto "
            "(or X,Y on a grey surface) or --chart auto if a ColorChecker is in the photo")


# ---------------------------------------------------------------------------------------------------------
# Chart calibration
# ---------------------------------------------------------------------------------------------------------
@dataclass
class ChartFit:
    method: str
    kwargs: dict
    label: str
    matrix: np.ndarray
    exponent: float = 1.0  # tone linearisation: the fit sees max(linear, 0) ** exponent
    candidates: list[dict] = field(default_factory=list)

    def apply(self, linear: np.ndarray, rows: int = 256) -> np.ndarray:
        """Correct an H×W×3 (or N×3) linear image in row chunks (bounded memory), clipped to LINEAR_RANGE."""
        flat = linear.reshape(-1, linear.shape[-1]) if linear.ndim == 3 else linear
        out = np.empty(flat.shape, dtype=np.float32)
        width = linear.shape[1] if linear.ndim == 3 else 1
        step = max(1, rows * width)
        m = self.matrix
        for i in range(0, len(flat), step):
            block = np.clip(flat[i:i + step].astype(np.float64), 0.0, None) ** self.exponent  # roots need ≥ 0
            out[i:i + step] = np.clip(_expand(block, self.method, self.kwargs) @ m.T, *LINEAR_RANGE)
        return out.reshape(linear.shape)


def _expand(rgb: np.ndarray, method: str, kwargs: dict) -> np.ndarray:
    """The terms a correction multiplies: the RGB itself for the exposure and diagonal fits, colour-science's
    polynomial expansion for the others."""
    if method in ("Exposure", "Diagonal"):
        return rgb
    return _colour().characterisation.polynomial_expansion(rgb, method, **kwargs)


def _fit(photo: np.ndarray, ref: np.ndarray, method: str, kwargs: dict) -> np.ndarray:
    from hsi_studio.core.spectral._colour import quiet

    p = np.clip(photo, 0.0, None)
    if method == "Exposure":  # one least-squares scale
        return np.eye(3) * float((p * ref).sum() / max((p * p).sum(), 1e-12))
    if method == "Diagonal":  # a least-squares gain per channel
        return np.diag((p * ref).sum(0) / np.maximum((p * p).sum(0), 1e-12))
    with quiet():
        return np.asarray(_colour().characterisation.matrix_colour_correction(
            np.clip(photo, 0.0, None), ref, method=method, **kwargs), dtype=np.float64)


def _predict(photo: np.ndarray, matrix: np.ndarray, method: str, kwargs: dict) -> np.ndarray:
    return _expand(np.clip(photo, 0.0, None), method, kwargs) @ matrix.T


def usable_patches(photo: np.ndarray) -> np.ndarray:
    """(24,) bool: a patch with no clipped channel and not black."""
    p = np.asarray(photo)
    return (p.max(axis=1) < CLIP_LEVEL) & (p.max(axis=1) > DARK_LEVEL)


def leave_one_out(photo: np.ndarray, ref: np.ndarray, method: str, kwargs: dict, use: np.ndarray) -> np.ndarray:
    """(24, 3): each usable patch predicted by a fit on the other usable patches; an unusable one by the fit
    on all usable patches (it was never fitted)."""
    idx = np.flatnonzero(use)
    full = _fit(photo[idx], ref[idx], method, kwargs)
    out = _predict(photo, full, method, kwargs)
    for i in idx:
        rest = idx[idx != i]
        out[i] = _predict(photo[i:i + 1], _fit(photo[rest], ref[rest], method, kwargs), method, kwargs)[0]
    return out


def fit_chart(photo: np.ndarray, ref: np.ndarray) -> tuple[ChartFit, np.ndarray]:
    """The correction (method × tone exponent) with the lowest mean leave-one-out ΔE2000 over the usable
    patches, and its (24, 3) LOO predictions. ``candidates`` lists each method's best exponent and score."""
    photo = np.asarray(photo, dtype=np.float64)
    if not np.isfinite(photo).all():
        raise InputError("the chart's patches hold NaN/Inf values; expected finite photo values")
    use = usable_patches(photo)
    if use.sum() < 12:
        raise InputError(f"only {int(use.sum())} of the chart's 24 patches are usable (the others are clipped or "
                         "black); expected at least 12 — expose the chart properly")
    tried = []  # (mean ΔE, max ΔE, simplicity rank, method, kwargs, label, exponent, LOO predictions)
    candidates = []
    base = np.clip(photo, 0.0, None)
    exponents = sorted(TONE_EXPONENTS, key=lambda k: abs(np.log(k)))  # 1.0 first: the simplest
    for rank, (method, kwargs, label) in enumerate(CORRECTIONS):
        n_terms = _expand(np.ones((1, 3)), method, kwargs).shape[-1]
        if use.sum() - 1 <= n_terms + 2:
            continue
        mine = []
        for j, k in enumerate(exponents):
            loo = leave_one_out(base ** k, ref, method, kwargs, use)
            de = delta_e(loo[use], ref[use])
            mine.append((float(de.mean()), float(de.max()), (rank, j), method, kwargs, label, k, loo))
        top = min(mine, key=lambda t: t[0])
        candidates.append({"method": label, "exponent": top[6], "loo_mean_delta_e": round(top[0], 3),
                           "loo_max_delta_e": round(top[1], 3)})
        tried += mine
    # the simplest correction within PARSIMONY_DE of the best leave-one-out score (ties go to fewer terms)
    floor = min(t[0] for t in tried)
    best = min((t for t in tried if t[0] <= floor + PARSIMONY_DE), key=lambda t: t[2])
    best = (best[0], best[3], best[4], best[5], best[6], best[7])
    assert best is not None  # 3×3 always fits 12+ patches
    _, method, kwargs, label, k, loo = best
    idx = np.flatnonzero(use)
    matrix = _fit(base[idx] ** k, ref[idx], method, kwargs)
    label = label if k == 1.0 else f"{label}, tone exponent {k:g}"
    return ChartFit(method, dict(kwargs), label, matrix, k, candidates), loo


@dataclass
class ChartCalibration:
    """Everything the chart report shows: where the chart is, its patches before and after correction."""

    detection: object  # chart_detect.ChartDetection
    reference: str
    fit: ChartFit
    photo_rgb: np.ndarray  # (24, 3) linear patch means as read (after profile and white balance)
    reference_rgb: np.ndarray  # (24, 3)
    exposure: float  # the scale that matches the photo's grey patches to the reference (for "before")
    loo_rgb: np.ndarray  # (24, 3) each patch corrected by a fit that left it out
    usable: np.ndarray  # (24,) bool

    @property
    def delta_e_before(self) -> np.ndarray:
        return delta_e(self.photo_rgb * self.exposure, self.reference_rgb)

    @property
    def delta_e_after(self) -> np.ndarray:
        return delta_e(self.loo_rgb, self.reference_rgb)

    def summary(self) -> dict:
        use = self.usable
        return {"reference": self.reference, "correction": self.fit.label, "candidates": self.fit.candidates,
                "detection": self.detection.to_dict(), "patches_used": int(use.sum()),
                "exposure_scale_before": round(float(self.exposure), 5),
                "delta_e_before_mean": round(float(self.delta_e_before[use].mean()), 3),
                "delta_e_after_loo_mean": round(float(self.delta_e_after[use].mean()), 3)}


def _exposure(photo: np.ndarray, ref: np.ndarray) -> float:
    grey = [i for i in NEUTRALS if usable_patches(photo)[i]] or list(np.flatnonzero(usable_patches(photo)))
    py, ry = _luminance(photo[grey]), _luminance(ref[grey])
    return float(ry.sum() / max(py.sum(), 1e-9))


def locate_chart(display_srgb: np.ndarray, spec, *, cancel=None):
    """``spec``: ``"auto"`` (colour-checker-detection's segmentation) or four (x, y) corners."""
    from hsi_studio.core.photo import chart_detect

    if isinstance(spec, str) and spec.strip().lower() == "auto":
        return chart_detect.detect_chart(display_srgb, cancel=cancel)
    corners = chart_detect.parse_corners(spec) if isinstance(spec, str) else np.asarray(spec, dtype=np.float64)
    return chart_detect.chart_from_corners(corners, display_srgb.shape)


def calibrate_chart(linear: np.ndarray, detection, reference: str = REFERENCE_DEFAULT) -> ChartCalibration:
    """Fit the colour correction from the chart at ``detection`` in the linear sRGB image."""
    reference = _check_reference(reference)
    photo = np.asarray(detection.patch_rgb(linear), dtype=np.float64)
    ref = reference_linear(reference)
    fit, loo = fit_chart(photo, ref)
    return ChartCalibration(detection, reference, fit, photo, ref, _exposure(photo, ref), loo,
                            usable_patches(photo))


# ---------------------------------------------------------------------------------------------------------
# The reconstruction on the chart
# ---------------------------------------------------------------------------------------------------------
@dataclass
class PatchSpectra:
    wavelengths: np.ndarray
    reconstructed: np.ndarray  # (24, B) mean reflectance in each patch box
    reference: np.ndarray  # (24, B)
    sam: np.ndarray  # (24,) degrees
    scale: np.ndarray  # (24,) least-squares scale reconstructed ≈ scale × reference

    def summary(self, usable: np.ndarray | None = None) -> dict:
        use = np.ones(24, bool) if usable is None else usable
        return {"sam_mean_deg": round(float(self.sam.mean()), 3),
                "sam_mean_usable_deg": round(float(self.sam[use].mean()), 3),
                "sam_max_deg": round(float(self.sam.max()), 3)}


def patch_spectra(reflectance: HSCube, detection, reference: str = REFERENCE_DEFAULT) -> PatchSpectra:
    """Each patch's mean reconstructed reflectance against the chart's measured spectrum."""
    wl = np.asarray(reflectance.wavelengths, dtype=np.float64)
    rec = np.asarray(detection.patch_rgb(reflectance.data), dtype=np.float64)
    ref = reference_spectra(reference, wl)
    scale = (rec * ref).sum(1) / np.maximum((ref * ref).sum(1), 1e-12)
    return PatchSpectra(wl, rec, ref, spectral_angle(rec, ref), scale)


__all__ = ["CORRECTIONS", "ChartCalibration", "ChartFit", "PatchSpectra", "REFERENCE_DEFAULT", "WhiteBalance",
           "calibrate_chart", "cast_warning", "delta_e", "fit_chart", "leave_one_out", "linear_of", "locate_chart",
           "parse_white_balance", "patch_names", "patch_spectra", "reference_linear", "reference_names",
           "reference_spectra", "shades_of_grey", "usable_patches", "white_balance"]
