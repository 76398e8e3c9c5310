"""Spectral analysis of a cube: similarity maps (SAM, SID), library matching, k-means classes, PCA and index
maps. Angles are :func:`hsi_studio.core.analysis.metrics.spectral_angles` (the one spectral-angle convention); k-means
and PCA are glue around SPy (``spectral``): :func:`spectral.kmeans`, :func:`spectral.principal_components`; no
Qt, no torch.

Conventions: maps are float32 H×W (NaN where a value is undefined, e.g. the angle of an all-zero pixel);
angles are in degrees; a long job (:func:`kmeans`) takes ``progress`` and ``cancel`` (:mod:`.jobs`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from hsi_studio.core.analysis.metrics import spectral_angles
from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError, NonFiniteError, ShapeError, WavelengthError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress

MAX_K = 64
MAX_ITERATIONS = 1000
SID_EPS = 1e-12


def _data(cube: HSCube | np.ndarray) -> np.ndarray:
    arr = cube.data if isinstance(cube, HSCube) else np.asarray(cube)
    if arr.ndim != 3:
        raise ShapeError(f"cube has shape {arr.shape}; expected H×W×B")
    return arr


def check_reference(spectrum, bands: int, what: str = "reference spectrum") -> np.ndarray:
    """``spectrum`` as float64 (B,), or one :class:`InputError` saying what is wrong (length, NaN/Inf, all
    zeros)."""
    ref = np.asarray(spectrum, dtype=np.float64).reshape(-1)
    if ref.size != bands:
        raise ShapeError(f"{what} has {ref.size} values; expected {bands} (one per band of the cube)")
    if not np.isfinite(ref).all():
        raise NonFiniteError(f"{what} holds NaN or Inf values; expected finite numbers")
    if not np.any(ref):
        raise InputError(f"{what} is all zeros; expected a spectrum with some signal (its angle is undefined)")
    return ref


# ---------------------------------------------------------------------------------------------------------
# Similarity
# ---------------------------------------------------------------------------------------------------------
def sam_map(cube: HSCube | np.ndarray, reference) -> np.ndarray:
    """Per-pixel spectral angle to ``reference`` in degrees (float32 H×W); NaN at all-zero pixels (nothing to
    compare, as in :func:`sid_map`: such a pixel is never matched)."""
    data = _data(cube)
    ref = check_reference(reference, data.shape[2])
    return sam_maps(data, ref[None, :])[..., 0]


def sam_maps(cube: HSCube | np.ndarray, references) -> np.ndarray:
    """Angles (degrees, float32 H×W×N) to each of N reference spectra (N, B) — :func:`metrics.spectral_angles`,
    the one spectral-angle convention; NaN at all-zero pixels (see :func:`sam_map`)."""
    data = _data(cube)
    refs = np.atleast_2d(np.asarray(references, dtype=np.float64))
    for i, r in enumerate(refs):
        check_reference(r, data.shape[2], f"reference spectrum {i + 1}")
    angles = spectral_angles(data, refs).astype(np.float32)
    angles[~np.any(data, axis=2)] = np.nan
    return angles


def sid_map(cube: HSCube | np.ndarray, reference) -> np.ndarray:
    """Spectral information divergence (Chang 2000) to ``reference`` per pixel (float32 H×W, ≥ 0).

    Each spectrum is read as a probability distribution over bands (values below 0 count as 0; ``SID_EPS``
    keeps the logarithms finite); SID = Σ p log(p/q) + Σ q log(q/p). NaN at pixels with no positive value."""
    data = _data(cube)
    ref = check_reference(reference, data.shape[2])
    q = np.clip(ref, 0.0, None)
    if q.sum() <= 0:
        raise InputError("reference spectrum has no positive value; SID needs a non-negative spectrum with signal")
    q = q / q.sum() + SID_EPS
    x = np.clip(data.reshape(-1, data.shape[2]).astype(np.float64), 0.0, None)
    total = x.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / total + SID_EPS
        d = ((p - q) * (np.log(p) - np.log(q))).sum(axis=1)  # = D(p‖q) + D(q‖p)
    d[total[:, 0] <= 0] = np.nan
    return d.reshape(data.shape[:2]).astype(np.float32)


def uncertainty_map(std: HSCube | np.ndarray) -> np.ndarray:
    """Per-pixel mean σ over bands of a reconstruction's std cube (float32 H×W)."""
    return _data(std).mean(axis=2, dtype=np.float64).astype(np.float32)


def similarity_mask(score: np.ndarray, threshold: float, *, std: HSCube | np.ndarray | None = None,
                    max_std: float | None = None) -> np.ndarray:
    """Pixels whose score (angle in degrees, or SID) is ≤ ``threshold``; with ``std`` and ``max_std``, pixels
    whose mean σ exceeds ``max_std`` are left out (too uncertain to call)."""
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold < 0:
        raise InputError(f"threshold {threshold!r}; expected a number ≥ 0")
    with np.errstate(invalid="ignore"):
        mask = score <= threshold
    if std is not None and max_std is not None:
        sigma = uncertainty_map(std)
        if sigma.shape != score.shape:
            raise ShapeError(f"std cube is {sigma.shape[0]}×{sigma.shape[1]}; expected {score.shape[0]}×"
                             f"{score.shape[1]} like the map")
        mask &= sigma <= float(max_std)
    return mask


def precision_recall(mask: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of a boolean mask against a boolean ground truth."""
    tp = float(np.logical_and(mask, truth).sum())
    return tp / max(float(mask.sum()), 1.0), tp / max(float(truth.sum()), 1.0)


@dataclass(frozen=True)
class Match:
    name: str
    sam_deg: float
    sid: float


def match_spectrum(spectrum, library) -> list[Match]:
    """Rank ``library``'s spectra (a :class:`~hsi_studio.core.analysis.library.SpectralLibrary` on the spectrum's grid)
    by spectral angle to ``spectrum``, best first, with SID as a second score."""
    x = check_reference(spectrum, library.bands, "spectrum to match")
    angles = sam_maps(x[None, None, :], library.spectra)[0, 0]
    sids = [float(sid_map(x[None, None, :], s)[0, 0]) for s in library.spectra]
    order = np.argsort(angles, kind="stable")
    return [Match(library.names[i], float(angles[i]), sids[i]) for i in order]


def best_match_map(cube: HSCube | np.ndarray, library, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(labels int32 H×W: 1 + index of the closest library spectrum, 0 where its angle exceeds ``threshold``;
    the closest angle in degrees, float32 H×W)."""
    angles = sam_maps(cube, library.spectra)
    with np.errstate(invalid="ignore"):
        filled = np.where(np.isnan(angles), np.inf, angles)
    best = filled.argmin(axis=2)
    closest = np.take_along_axis(angles, best[..., None], axis=2)[..., 0]
    labels = (best + 1).astype(np.int32)
    labels[~similarity_mask(closest, threshold)] = 0
    return labels, closest


# ---------------------------------------------------------------------------------------------------------
# k-means
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KMeansResult:
    labels: np.ndarray  # int32 H×W, 0 … k-1
    centers: np.ndarray  # (k, B) the class mean spectra
    counts: np.ndarray  # (k,) pixels per class
    iterations: int


def check_k(k: int, pixels: int) -> int:
    if isinstance(k, bool) or int(k) != k:
        raise InputError(f"k = {k!r}; expected a whole number of classes")
    k = int(k)
    hi = min(MAX_K, pixels)
    if not 2 <= k <= hi:
        raise InputError(f"k = {k}; expected 2 … {hi} classes (at most {MAX_K}, and no more than the pixels)")
    return k


@contextmanager
def _quiet_spy():
    logger = logging.getLogger("spectral")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def kmeans(cube: HSCube | np.ndarray, k: int = 8, iterations: int = 10, *, progress=no_progress,
           cancel: CancelToken = NEVER_CANCEL) -> KMeansResult:
    """k-means classes of the cube's pixels with SPy's :func:`spectral.kmeans` (Euclidean; centres start on the
    diagonal of the data's bounding box, so a run is deterministic). Progress after each iteration; a cancel
    stops it at the next iteration (:class:`~hsi_studio.core.jobs.Cancelled`)."""
    import spectral as spy

    data = _data(cube)
    k = check_k(k, data.shape[0] * data.shape[1])
    if isinstance(iterations, bool) or int(iterations) != iterations or not 1 <= int(iterations) <= MAX_ITERATIONS:
        raise InputError(f"iterations = {iterations!r}; expected a whole number 1 … {MAX_ITERATIONS}")
    iterations = int(iterations)
    if not np.isfinite(data).all():
        raise NonFiniteError("cube holds NaN or Inf values; expected finite values for k-means")
    done = [0]

    def step(old, new):  # SPy calls this after each iteration; returning True would stop it
        done[0] += 1
        progress(done[0] / iterations, f"k-means iteration {done[0]}/{iterations}")
        cancel.check()
        return False

    cancel.check()
    progress(0.0, "k-means")
    with _quiet_spy():
        labels, centers = spy.kmeans(data, k, iterations, compare=step)
    progress(1.0, f"k-means done after {done[0]} iterations")
    labels = labels.astype(np.int32)
    counts = np.bincount(labels.ravel(), minlength=k)
    return KMeansResult(labels, np.asarray(centers, dtype=np.float64), counts, done[0])


# ---------------------------------------------------------------------------------------------------------
# PCA
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PCAResult:
    scores: np.ndarray  # float32 H×W×n: the first n principal components
    explained: np.ndarray  # (n,) fraction of the total variance each explains
    eigenvectors: np.ndarray  # (B, n)
    mean: np.ndarray  # (B,)

    def false_colour(self, low: float = 2.0, high: float = 98.0) -> np.ndarray:
        """The first three components as RGB in [0, 1] (float32 H×W×3), each stretched between percentiles."""
        rgb = np.zeros((*self.scores.shape[:2], 3), np.float32)
        for c in range(min(3, self.scores.shape[2])):
            lo, hi = stretch_limits(self.scores[..., c], low, high)
            rgb[..., c] = np.clip((self.scores[..., c] - lo) / (hi - lo), 0, 1)
        return rgb


def pca(cube: HSCube | np.ndarray, n: int = 3, *, progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> PCAResult:
    """Principal components of the cube's pixels (SPy's :func:`spectral.principal_components`)."""
    import spectral as spy

    data = _data(cube)
    bands = data.shape[2]
    if isinstance(n, bool) or int(n) != n or not 1 <= int(n) <= bands:
        raise InputError(f"{n!r} components; expected a whole number 1 … {bands} (the cube's bands)")
    n = int(n)
    if not np.isfinite(data).all():
        raise NonFiniteError("cube holds NaN or Inf values; expected finite values for PCA")
    progress(0.0, "PCA: covariance")
    pc = spy.principal_components(data)
    cancel.check()
    progress(0.5, "PCA: projecting")
    total = float(np.sum(pc.eigenvalues))
    explained = np.asarray(pc.eigenvalues[:n], dtype=np.float64) / (total if total > 0 else 1.0)
    scores = np.asarray(pc.reduce(num=n).transform(data), dtype=np.float32)
    return PCAResult(scores, explained, np.asarray(pc.eigenvectors[:, :n]), np.asarray(pc.mean))


# ---------------------------------------------------------------------------------------------------------
# Index maps
# ---------------------------------------------------------------------------------------------------------
def parse_band(spec: str | float | tuple[float, float]) -> tuple[float, float]:
    """"650" → (650, 650) (the nearest band); "600-700" → (600, 700) (mean of the bands in the range)."""
    if isinstance(spec, tuple):
        lo, hi = (float(v) for v in spec)
    elif isinstance(spec, (int, float)):
        lo = hi = float(spec)
    else:
        text = str(spec).strip().lower().removesuffix("nm").strip()
        parts = text.split("-") if "-" in text.lstrip("-") else [text]
        try:
            values = [float(v) for v in parts if v.strip()]
        except ValueError:
            values = []
        if len(values) not in (1, 2):
            raise InputError(f"band {spec!r}; expected a wavelength in nm (650) or a range (600-700)")
        lo, hi = values[0], values[-1]
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise InputError(f"band {spec!r}; expected a wavelength or an increasing range in nm")
    return lo, hi


def band_image(cube: HSCube, spec) -> tuple[np.ndarray, str]:
    """(the band or mean of a band range, float32 H×W; a label saying which bands were used)."""
    lo, hi = parse_band(spec)
    wl = cube.wavelengths
    step = float(np.median(np.diff(wl))) if wl.size > 1 else 1.0
    if hi < wl[0] - step / 2 or lo > wl[-1] + step / 2:
        raise WavelengthError(f"{lo:g}–{hi:g} nm lies outside the cube's {wl[0]:g}–{wl[-1]:g} nm; expected a "
                              "wavelength inside it")
    idx = np.nonzero((wl >= lo - 1e-6) & (wl <= hi + 1e-6))[0]
    if lo == hi or idx.size == 0:
        idx = np.array([int(np.argmin(np.abs(wl - 0.5 * (lo + hi))))])
    label = f"{wl[idx[0]]:g} nm" if idx.size == 1 else f"{wl[idx[0]]:g}–{wl[idx[-1]]:g} nm ({idx.size} bands)"
    return cube.data[..., idx].mean(axis=2, dtype=np.float64).astype(np.float32), label


INDEX_KINDS = ("nd", "ratio")


def index_map(cube: HSCube, a, b, kind: str = "nd") -> tuple[np.ndarray, str]:
    """(A−B)/(A+B) (``"nd"``, normalised difference) or A/B (``"ratio"``) of two bands / ranges; NaN where the
    denominator is 0. Returns (float32 H×W, a formula label like "(R650−R550)/(R650+R550)")."""
    if kind not in INDEX_KINDS:
        raise InputError(f"index kind {kind!r}; expected one of {', '.join(INDEX_KINDS)}")
    img_a, la = band_image(cube, a)
    img_b, lb = band_image(cube, b)
    ra, rb = f"R[{la}]", f"R[{lb}]"
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "nd":
            den = img_a.astype(np.float64) + img_b
            out = np.where(den != 0, (img_a - img_b.astype(np.float64)) / den, np.nan)
            label = f"({ra}−{rb})/({ra}+{rb})"
        else:
            out = np.where(img_b != 0, img_a / img_b.astype(np.float64), np.nan)
            label = f"{ra}/{rb}"
    return out.astype(np.float32), label


def stretch_limits(values: np.ndarray, low: float = 2.0, high: float = 98.0) -> tuple[float, float]:
    """Percentile limits for display, ignoring NaN/Inf; never an empty range."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def summary(values: np.ndarray) -> dict[str, float | int]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"finite_pixels": 0}
    p = np.percentile(finite, [2, 50, 98])
    return {"min": float(finite.min()), "p2": float(p[0]), "median": float(p[1]), "p98": float(p[2]),
            "max": float(finite.max()), "finite_pixels": int(finite.size)}


__all__ = ["INDEX_KINDS", "KMeansResult", "MAX_K", "Match", "PCAResult", "band_image", "best_match_map", "class_colours", "colourise", "label_image",
           "check_k", "check_reference", "index_map", "kmeans", "match_spectrum", "parse_band", "pca",
           "precision_recall", "sam_map", "sam_maps", "sid_map", "similarity_mask", "stretch_limits", "summary",
           "uncertainty_map"]


# ---------------------------------------------------------------------------------------------------------
# Colours for images written without Qt (CLI PNGs)
# ---------------------------------------------------------------------------------------------------------
# viridis, sampled at 9 evenly spaced points (matplotlib's published table)
_VIRIDIS = np.array([[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                     [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], np.float64) / 255.0


def colourise(values: np.ndarray, lo: float, hi: float, *, reverse: bool = False) -> np.ndarray:
    """A map as viridis RGB in [0, 1] (float32 H×W×3); NaN pixels black. ``reverse``: low values bright
    (for angles: similar = bright)."""
    t = np.clip((values.astype(np.float64) - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    if reverse:
        t = 1.0 - t
    x = np.linspace(0.0, 1.0, len(_VIRIDIS))
    rgb = np.stack([np.interp(np.nan_to_num(t), x, _VIRIDIS[:, c]) for c in range(3)], axis=-1)
    rgb[~np.isfinite(values)] = 0.0
    return rgb.astype(np.float32)


def class_colours(k: int) -> np.ndarray:
    """``k`` distinct colours (uint8 k×3): hues spaced by the golden angle, alternating lightness."""
    import colorsys

    out = []
    for i in range(k):
        h = (i * 0.618033988749895) % 1.0
        out.append(colorsys.hsv_to_rgb(h, 0.75, 1.0 if i % 2 == 0 else 0.75))
    return (np.asarray(out).reshape(-1, 3) * 255).round().astype(np.uint8)


def label_image(labels: np.ndarray, k: int, *, none_label: int | None = None) -> np.ndarray:
    """Class labels as RGB in [0, 1] (float32 H×W×3); ``none_label`` (e.g. 0 = unmatched) shown black."""
    lut = class_colours(k).astype(np.float32) / 255.0
    rgb = lut[np.clip(labels, 0, k - 1)]
    if none_label is not None:
        rgb[labels == none_label] = 0.0
    return rgb
