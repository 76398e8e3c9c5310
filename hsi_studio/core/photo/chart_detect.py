"""Find a ColorChecker Classic 24 in a photo, or place it from four corners the user gives.

``detect_chart(srgb)`` finds the chart in an sRGB-encoded H×W×3 float image and returns a
:class:`ChartDetection`: the 24 patch centres in X-Rite order (1 dark skin … 6 bluish green, 19 white … 24
black), the four outer corners of the patch grid and a sampling half-size. ``chart_from_corners`` builds the
same thing from four corners (the CLI's ``--chart`` fallback, parsed by ``parse_corners``).

How the detection works. colour-checker-detection's segmentation (``detect_colour_checkers_segmentation``)
finds square swatches and chart-shaped clusters of them in a working copy of the image (landscape, 1440
pixels wide). Its own chart quadrilaterals are unreliable on real photos (oblique views, charts seen in
portrait, a strong colour cast), so we also build the grid ourselves from the swatches it found: neighbouring
swatches are linked into a lattice, a homography from lattice coordinates to the image is fitted (RANSAC), and
every 6×4 window of that lattice, in each orientation the grid can have, is a candidate. Each candidate is
sampled and scored by how well it explains a ColorChecker: the six neutral patches must be near-neutral after
a diagonal white balance fitted on them and decrease in luminance from white to black, a 3×3 matrix must map
the patch colours (linearised through the neutral ramp) to the reference values with a small residual, and the
sampling boxes must be uniform. When the plain image gives no convincing candidate, balanced and brightened
copies (grey world, per-channel stretch) are segmented as well. No convincing candidate at all raises
:class:`ChartNotFoundError` rather than returning a wrong chart.

numpy only at import; OpenCV and colour-checker-detection are imported inside :func:`detect_chart`.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from hsi_studio.core.errors import InputError, ShapeError
from hsi_studio.core.photo.chart_candidates import lattice_candidates, quad_candidates, refine
from hsi_studio.core.photo.chart_grid import is_convex, patch_grid, signed_area

HALF_SIZE_FRACTION = 0.25  # sampling box half side as a fraction of the patch pitch
WORKING_WIDTH = 1440  # colour-checker-detection's own working width
# The library keeps swatches larger than (working area / 24 / factor); its default, 200, loses charts whose
# patches are under ~17 working pixels (a chart under ~1/8 of the frame width). Smaller swatches only add
# candidates, which the colour scoring sorts out.
SWATCH_MINIMUM_AREA_FACTOR = 1000
FALLBACK_HINT = (
    "give the four outer corners with --chart X1,Y1,X2,Y2,X3,Y3,X4,Y4: the outer corners of dark skin, "
    "bluish green, black and white"
)


class ChartNotFoundError(InputError):
    """No ColorChecker Classic 24 could be found (or none plausibly enough) in the image."""


@dataclass
class ChartDetection:
    """Where the 24 patches of a ColorChecker Classic lie in an image (pixel coordinates, x right, y down)."""

    centres: np.ndarray  # (24, 2) float64 [x, y], X-Rite order
    corners: np.ndarray  # (4, 2) outer grid corners at patches 1, 6, 24, 19
    half_size: int  # half side of a square sampling box inside every patch
    method: str

    def patch_rgb(self, image: np.ndarray) -> np.ndarray:
        """(24, C) float64 mean of each sampling box in an H×W×C array (any encoding; boxes clipped to it)."""
        a = np.asarray(image)
        if a.ndim != 3 or a.shape[0] < 1 or a.shape[1] < 1 or a.shape[2] < 1:
            raise ShapeError(f"patch_rgb needs an H×W×C image; received an array of shape {a.shape}")
        h = int(self.half_size)
        out = np.empty((len(self.centres), a.shape[2]), np.float64)
        for k, (x, y) in enumerate(self.centres):
            xi, yi = int(round(float(x))), int(round(float(y)))
            x1, x2 = max(xi - h, 0), min(xi + h + 1, a.shape[1])
            y1, y2 = max(yi - h, 0), min(yi + h + 1, a.shape[0])
            if x1 >= x2 or y1 >= y2:
                raise InputError(
                    f"patch {k + 1} at ({x:.1f}, {y:.1f}) lies outside the {a.shape[1]}×{a.shape[0]} image"
                )
            out[k] = a[y1:y2, x1:x2].reshape(-1, a.shape[2]).mean(axis=0, dtype=np.float64)
        return out

    def to_dict(self) -> dict:
        return {
            "centres": [[float(x), float(y)] for x, y in self.centres],
            "corners": [[float(x), float(y)] for x, y in self.corners],
            "half_size": int(self.half_size),
            "method": str(self.method),
        }


# ---------------------------------------------------------------------------------------------- geometry


def _fmt_corners(q: np.ndarray) -> str:
    return "[" + ", ".join(f"({x:.1f}, {y:.1f})" for x, y in q) + "]"


def chart_from_corners(corners: Any, shape: Any, *, method: str = "four corners") -> ChartDetection:
    """The chart whose outer patch-grid corners are ``corners`` — 4 (x, y) points at patch 1 (dark skin),
    6 (bluish green), 24 (black) and 19 (white) — in an image of shape (H, W[, C]). Raises
    :class:`InputError` when a corner lies outside the image, the quadrilateral is degenerate or
    self-intersecting, or the patches are too small to sample."""
    try:
        q = np.asarray(corners, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"chart corners must be 4 (x, y) numbers; received {corners!r}") from None
    if q.shape != (4, 2):
        raise InputError(f"chart corners must be 4 (x, y) points; received an array of shape {q.shape}")
    if not np.all(np.isfinite(q)):
        raise InputError(f"chart corners must be finite numbers; received {_fmt_corners(q)}")
    try:
        shp = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"image shape must be (H, W[, C]); received {shape!r}") from None
    if len(shp) not in (2, 3) or shp[0] < 1 or shp[1] < 1:
        raise InputError(f"image shape must be (H, W[, C]) with H, W ≥ 1; received {shp}")
    h, w = shp[:2]
    outside = [k for k in range(4) if not (0 <= q[k, 0] <= w - 1 and 0 <= q[k, 1] <= h - 1)]
    if outside:
        k = outside[0]
        raise InputError(
            f"chart corner {k + 1} ({q[k, 0]:.1f}, {q[k, 1]:.1f}) lies outside the {w}×{h} image; "
            f"expected x in [0, {w - 1}] and y in [0, {h - 1}]"
        )
    if not is_convex(q) or abs(signed_area(q)) < 1.0:
        raise InputError(
            f"chart corners {_fmt_corners(q)} do not form a convex quadrilateral; expected the outer corners "
            "of dark skin, bluish green, black and white, in that order around the chart"
        )
    return _detection(q, shp, method)


def _detection(q: np.ndarray, shape: tuple, method: str) -> ChartDetection:
    """The detection for corners ``q`` in an image of ``shape``; InputError when the patches are too small to
    sample or a sampling box leaves the image."""
    centres, pitch = patch_grid(q)
    half = int(math.floor(HALF_SIZE_FRACTION * pitch))
    if half < 1:
        raise InputError(
            f"chart corners {_fmt_corners(q)} give patches {pitch:.1f} px apart, too small to sample; "
            "expected a patch pitch of at least 4 px"
        )
    h, w = shape[:2]
    lo, hi = centres - half, centres + half
    if lo.min() < -0.5 or hi[:, 0].max() > w - 0.5 or hi[:, 1].max() > h - 0.5:
        raise InputError(
            f"chart corners {_fmt_corners(q)} put patch sampling boxes outside the {w}×{h} image"
        )
    return ChartDetection(centres=centres, corners=q.copy(), half_size=half, method=method)


def parse_corners(text: str) -> np.ndarray:
    """``"X1,Y1,X2,Y2,X3,Y3,X4,Y4"`` → (4, 2) float64 array; :class:`InputError` otherwise."""
    s = "" if text is None else str(text).strip()
    parts = [p.strip() for p in s.replace(";", ",").split(",")] if s else []
    shown = s if len(s) <= 80 else s[:79] + "…"
    if len(parts) != 8:
        raise InputError(
            f"--chart needs 8 comma-separated numbers X1,Y1,X2,Y2,X3,Y3,X4,Y4; received {len(parts)} "
            f"value(s): {shown!r}"
        )
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise InputError(
            f"--chart needs 8 numbers X1,Y1,X2,Y2,X3,Y3,X4,Y4; {bad!r} in {shown!r} is not a number"
        ) from None
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"--chart needs 8 finite numbers X1,Y1,X2,Y2,X3,Y3,X4,Y4; received {shown!r}")
    return np.array(vals, np.float64).reshape(4, 2)


def _is_float(p: str) -> bool:
    try:
        float(p)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------- colour helpers


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


# Linear sRGB reference of the 24 patches (ColorChecker24 - After November 2014, from the settings of
# colour-checker-detection); used to score candidates up to a 3×3 matrix, so the illuminant does not matter.
_REFERENCE: np.ndarray | None = None


def _reference() -> np.ndarray:
    global _REFERENCE
    if _REFERENCE is None:
        ccd = _ccd()
        settings = ccd.SETTINGS_SEGMENTATION_COLORCHECKER_CLASSIC
        _REFERENCE = np.asarray(settings["reference_values"], np.float64)
    return _REFERENCE


def _ccd():
    """colour_checker_detection, imported quietly. It imports matplotlib.pyplot (for its template plots):
    with the Agg backend (no GUI backend inside the Qt app); where matplotlib is absent, a stand-in is put in
    place for the import and removed after it."""
    if "colour_checker_detection" in sys.modules:
        return sys.modules["colour_checker_detection"]
    import importlib.util
    from unittest.mock import MagicMock

    from hsi_studio.core.spectral._colour import colour  # noqa: F401  (colour first, with its own stand-ins cleaned up)

    added = []
    try:
        have_mpl = importlib.util.find_spec("matplotlib") is not None
    except (ValueError, ImportError):
        have_mpl = True
    if have_mpl and "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")  # pyplot must never pick a GUI backend inside the Qt app (HSI Studio draws with Agg)
    if not have_mpl:
        for name in ("matplotlib", "matplotlib.pyplot"):
            if name not in sys.modules:
                sys.modules[name] = MagicMock()
                added.append(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import colour_checker_detection
    finally:
        for name in added:
            if isinstance(sys.modules.get(name), MagicMock):
                del sys.modules[name]
    return colour_checker_detection


# ----------------------------------------------------------------------------------------- sampling


class _Sampler:
    """Box means and standard deviations on one image, through integral images."""

    def __init__(self, lin: np.ndarray):
        self.h, self.w = lin.shape[:2]
        a = lin.astype(np.float64)
        self.s1 = np.zeros((self.h + 1, self.w + 1, 3))
        self.s2 = np.zeros((self.h + 1, self.w + 1, 3))
        self.s1[1:, 1:] = a.cumsum(0).cumsum(1)
        self.s2[1:, 1:] = (a * a).cumsum(0).cumsum(1)

    def boxes(self, centres: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray] | None:
        c = np.rint(centres).astype(np.int64)
        x1, y1 = c[:, 0] - half, c[:, 1] - half
        x2, y2 = c[:, 0] + half + 1, c[:, 1] + half + 1
        if x1.min() < 0 or y1.min() < 0 or x2.max() > self.w or y2.max() > self.h:
            return None
        n = float((2 * half + 1) ** 2)

        def box(s):
            return (s[y2, x2] - s[y1, x2] - s[y2, x1] + s[y1, x1]) / n

        m = box(self.s1)
        var = np.maximum(box(self.s2) - m * m, 0.0)
        return m, np.sqrt(var)


@dataclass
class _Score:
    total: float
    neutral: float
    fit: float
    uniform: float
    order: int
    ok: bool


def _score(sampler: _Sampler, corners: np.ndarray) -> _Score | None:
    """How well candidate ``corners`` (working-image pixels, order 1, 6, 24, 19) explain a ColorChecker."""
    if not is_convex(corners):
        return None
    centres, pitch = patch_grid(corners)
    half = int(0.2 * pitch)
    if half < 2:
        return None
    got = sampler.boxes(centres, half)
    if got is None:
        return None
    m, sd = got
    ref = _reference()
    ref_n = ref[18:24].mean(axis=1)  # reference neutral ramp (luminance-like)
    neu = m[18:24]
    # diagonal white balance fitted on the neutrals; the three lightest must then be near grey (the darker
    # ones drift with each channel's tone curve and flare, so they are not asked to)
    k = (neu * ref_n[:, None]).sum(0) / np.maximum((neu * neu).sum(0), 1e-12)
    nb = neu * k
    lum = np.maximum(nb.mean(axis=1), 1e-6)
    neutral = float(np.mean((nb.max(1) - nb.min(1))[:3] / lum[:3]))
    # the neutral ramp must fall from white to black in every channel, each step by 8 % or by 2.5 % of the
    # ramp's range (flare and haze shrink the ratios of the dark steps); ties only where the image clips
    top = m.max(axis=0)
    step = neu[:-1] - neu[1:]
    span = np.maximum(neu[0] - neu[5], 1e-9)
    clipped = (neu[:-1] > 0.97 * top) & (neu[1:] > 0.97 * top)
    falls = (step > 0) & ((neu[:-1] > 1.08 * neu[1:]) | (step > 0.025 * span)) | clipped
    order = int((~falls).sum())
    # linearise each channel through the neutral ramp (whatever the tone curve), then a 3×3 fit
    lin = np.empty_like(m)
    for c in range(3):
        x = neu[::-1, c]
        y = ref_n[::-1]
        if np.any(np.diff(x) <= 0):
            xs = np.maximum.accumulate(x + np.arange(6) * 1e-9)
        else:
            xs = x
        lin[:, c] = np.interp(m[:, c], xs, y)
        lo, hi = m[:, c] < xs[0], m[:, c] > xs[-1]
        lin[lo, c] = y[0] * m[lo, c] / max(xs[0], 1e-9)
        slope = (y[-1] - y[-2]) / max(xs[-1] - xs[-2], 1e-9)
        lin[hi, c] = y[-1] + slope * (m[hi, c] - xs[-1])
    mat, *_ = np.linalg.lstsq(lin, ref, rcond=None)
    res = lin @ mat - ref
    fit = float(np.sqrt(np.mean(res**2)) / np.sqrt(np.mean(ref**2)))
    uniform = float(np.median((sd / (m + 0.02)).mean(axis=1)))
    total = fit + 0.5 * neutral + 0.5 * uniform + 0.3 * order
    ok = order == 0 and neutral < 0.35 and fit < 0.25 and uniform < 0.3 and total < 0.5
    return _Score(total, neutral, fit, uniform, order, ok)


# ---------------------------------------------------------------------------------------------- detection


def _working(srgb: np.ndarray, cv2) -> tuple[np.ndarray, Any]:
    """A landscape copy WORKING_WIDTH pixels wide and the function mapping its (x, y) back to the input."""
    h, w = srgb.shape[:2]
    rotated = h > w
    img = np.ascontiguousarray(np.rot90(srgb, k=-1)) if rotated else srgb  # clockwise, as the library does
    hh, ww = img.shape[:2]
    wh = max(int(hh * WORKING_WIDTH / ww), 1)
    interp = cv2.INTER_AREA if ww > WORKING_WIDTH else cv2.INTER_CUBIC
    work = cv2.resize(img.astype(np.float32), (WORKING_WIDTH, wh), interpolation=interp)
    work = np.clip(work, 0.0, 1.0)
    sx, sy = ww / WORKING_WIDTH, hh / wh

    def back(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, np.float64)
        x = (p[:, 0] + 0.5) * sx - 0.5
        y = (p[:, 1] + 0.5) * sy - 0.5
        if rotated:  # rotated (x', y') = (h - 1 - y, x)  →  original (x, y) = (y', h - 1 - x')
            return np.stack([y, h - 1 - x], axis=1)
        return np.stack([x, y], axis=1)

    return work, back


def _variants(work: np.ndarray):
    """(label, image) copies to segment after the plain one: grey world, per-channel stretch."""
    lin = _srgb_decode(work)
    sub = lin[::4, ::4].reshape(-1, 3)
    mean = np.maximum(sub.mean(axis=0), 1e-4)
    gw = lin * (mean.mean() / mean)
    top = max(float(np.percentile(gw[::4, ::4].max(axis=2), 99.5)), 1e-4)
    yield "grey-world pre-balance", _srgb_encode(gw / top).astype(np.float32)
    enc = work[::4, ::4].reshape(-1, 3)
    lo = np.percentile(enc, 0.5, axis=0)
    hi = np.percentile(enc, 99.5, axis=0)
    st = (work - lo) / np.maximum(hi - lo, 1e-3)
    yield "per-channel stretch", np.clip(st, 0.0, 1.0).astype(np.float32)


def _segment(ccd, image: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Run the library's segmentation: its chart quadrilaterals and all square swatches it found."""
    from colour_checker_detection.detection.segmentation import segmenter_default

    captured: dict = {}

    def segmenter(img, **kwargs):
        data = segmenter_default(img, **kwargs)
        captured["data"] = data
        return data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = ccd.detect_colour_checkers_segmentation(
            image, segmenter=segmenter, samples=8, additional_data=True,
            swatch_minimum_area_factor=SWATCH_MINIMUM_AREA_FACTOR,
        )
    quads = [np.asarray(f.quadrilateral, np.float64) for f in found]
    data = captured.get("data")
    if data is None:
        return quads, np.zeros((0, 4, 2))
    swatches = np.asarray(data.swatches, np.float64).reshape(-1, 4, 2)
    return quads, swatches


def _check_input(srgb: Any) -> np.ndarray:
    """float32 H×W×3 copy of ``srgb`` (unsigned integers are scaled by their maximum, NaN → 0)."""
    a = np.asarray(srgb)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ShapeError(f"chart detection needs an H×W×3 sRGB image; received an array of shape {a.shape}")
    if min(a.shape[:2]) < 16:
        raise ChartNotFoundError(
            f"the {a.shape[1]}×{a.shape[0]} image is too small to hold a findable chart; {FALLBACK_HINT}"
        )
    a = a[..., :3]
    if np.issubdtype(a.dtype, np.unsignedinteger):
        return a.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
    if not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"chart detection needs a float sRGB image in [0, 1]; received dtype {a.dtype}")
    return np.nan_to_num(a.astype(np.float32), copy=False, nan=0.0, posinf=1.0, neginf=0.0)


def detect_chart(srgb: np.ndarray, *, cancel=None) -> ChartDetection:
    """Find a ColorChecker Classic 24 in ``srgb`` (float H×W×3, sRGB-encoded, [0, 1]).

    Raises :class:`ChartNotFoundError` (with the four-corner fallback in its message) when no candidate
    explains a ColorChecker plausibly; ``cancel`` (a :class:`~hsi_studio.core.jobs.CancelToken`) is checked
    between the segmentation passes."""
    img = _check_input(srgb)
    import cv2

    ccd = _ccd()
    _reference()
    work, back = _working(img, cv2)
    sampler = _Sampler(_srgb_decode(work))
    tried = []
    best: tuple[_Score, np.ndarray, str] | None = None

    def passes():
        yield "segmentation", work
        for label, image in _variants(work):
            yield f"segmentation ({label})", image

    for method, image in passes():
        if cancel is not None:
            cancel.check()
        tried.append(method)
        quads, swatches = _segment(ccd, image)
        cands = lattice_candidates(swatches, cv2)
        for q in quads:
            cands.extend(quad_candidates(q))
        points = swatches.mean(axis=1) if len(swatches) else np.zeros((0, 2))
        scored = [(sc, q) for q in cands if (sc := _score(sampler, q)) is not None and sc.ok]
        scored.sort(key=lambda t: t[0].total)
        for sc, q in scored[:4]:  # the best few, re-fitted to the swatches they cover
            r = refine(q, points, cv2)
            rs = _score(sampler, r) if r is not None else None
            if rs is not None and rs.ok and rs.total <= sc.total + 0.02:
                sc, q = rs, r
            if best is None or sc.total < best[0].total:
                best = (sc, q, method)
        if best is not None and best[0].total < 0.2:
            break
    if best is None:
        raise ChartNotFoundError(
            "no ColorChecker Classic 24 found: colour-checker-detection segmentation of the image "
            f"({', '.join(m.removeprefix('segmentation').strip(' ()') or 'plain' for m in tried)}) gave no "
            f"patch grid whose colours match the chart; {FALLBACK_HINT}"
        )
    corners = back(best[1])
    try:
        return _detection(corners, img.shape, best[2])
    except InputError as e:
        raise ChartNotFoundError(
            f"the chart found lies partly outside the image ({e}); {FALLBACK_HINT}"
        ) from None


__all__ = [
    "ChartDetection",
    "ChartNotFoundError",
    "FALLBACK_HINT",
    "chart_from_corners",
    "detect_chart",
    "parse_corners",
]
