"""Wavelength grids, resampling, camera responses, projection to RGB, sRGB transfer, the observable /
unobservable split (:class:`ObservableSplit`), and RGB simulation for training pairs.

Conventions: a spectrum is a row vector ``x`` (…, B); a camera response is ``S`` (B, 3) whose columns are the
R, G, B sensitivities sampled on the cube's wavelengths; the camera sees ``y = x S`` (linear RGB). Responses
are normalised so that a flat spectrum of ones gives G (for cameras) or luminance Y (for the CIE observers)
equal to 1 — the absolute scale of a photo is unknown anyway, cubes are relative radiance.
"""

from __future__ import annotations

import csv
import io as _io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube, validate_wavelengths
from hsi_studio.core.errors import InputError, ShapeError, WavelengthError, one_line

STANDARD_WAVELENGTHS = np.arange(400.0, 701.0, 10.0)
STANDARD_WAVELENGTHS.setflags(write=False)

_CIE_OBSERVERS = {
    "cie1931-srgb": "CIE 1931 2 Degree Standard Observer",
    "cie1964-srgb": "CIE 1964 10 Degree Standard Observer",
}
_CAMERAS = {"nikon-d5100": "Nikon 5100 (NPL)", "sigma-sdmerill": "Sigma SDMerill (NPL)"}
RESPONSE_NAMES = tuple(_CIE_OBSERVERS) + tuple(_CAMERAS)
DEFAULT_RESPONSE = "cie1964-srgb"


# ---------------------------------------------------------------------------------------------------------
# Resampling between wavelength grids
# ---------------------------------------------------------------------------------------------------------
def resampling_matrix(src_wl, dst_wl, *, outside: str = "error") -> np.ndarray:
    """Matrix W (B_src, B_dst) with ``values @ W`` = spectra on ``dst_wl``.

    Where the target grid is coarser than the source (e.g. 519-band ICVL → 31 bands) each target band is a
    triangle-weighted average over the source bands within one target step, which avoids aliasing; otherwise
    it is linear interpolation. ``outside``: what to do with target wavelengths beyond the source range —
    ``"error"`` (raise :class:`WavelengthError`), ``"nearest"`` (repeat the edge band) or ``"zero"``.
    """
    src = validate_wavelengths(src_wl)
    dst = validate_wavelengths(dst_wl)
    if outside not in ("error", "nearest", "zero"):
        raise InputError(f"outside={outside!r}; expected 'error', 'nearest' or 'zero'")
    tol = 1e-6
    beyond = (dst < src[0] - tol) | (dst > src[-1] + tol)
    if beyond.any() and outside == "error":
        raise WavelengthError(
            f"target wavelengths {dst[beyond][:4].tolist()} nm lie outside the source range "
            f"{src[0]:g}–{src[-1]:g} nm; expected a target grid inside it (or choose outside='nearest'/'zero')"
        )
    src_step = np.median(np.diff(src)) if src.size > 1 else 1.0
    dst_step = np.gradient(dst) if dst.size > 1 else np.array([src_step])
    w = np.zeros((src.size, dst.size))
    for j, lam in enumerate(dst):
        if beyond[j]:
            if outside == "nearest":
                w[0 if lam < src[0] else -1, j] = 1.0
            continue
        half = min(dst_step[j], lam - src[0], src[-1] - lam)  # symmetric window: no bias at the edges
        if half > 1.5 * src_step:  # coarser target: triangle average over neighbouring source bands
            tri = np.clip(1.0 - np.abs(src - lam) / half, 0.0, None)
            if tri.sum() > 0:
                w[:, j] = tri / tri.sum()
                continue
        k = int(np.clip(np.searchsorted(src, lam), 1, src.size - 1)) if src.size > 1 else 0
        if src.size == 1:
            w[0, j] = 1.0
            continue
        a, b = src[k - 1], src[k]
        t = float(np.clip((lam - a) / (b - a), 0.0, 1.0))
        w[k - 1, j] += 1.0 - t
        w[k, j] += t
    return w


def resample_spectra(values, src_wl, dst_wl, *, outside: str = "error") -> np.ndarray:
    """Resample spectra along the last axis from ``src_wl`` to ``dst_wl`` (see :func:`resampling_matrix`)."""
    arr = np.asarray(values)
    src = validate_wavelengths(src_wl)
    if arr.shape[-1] != src.size:
        raise ShapeError(f"spectra have {arr.shape[-1]} samples; expected {src.size} (one per source wavelength)")
    w = resampling_matrix(src, dst_wl, outside=outside)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
    return (arr.astype(dtype, copy=False) @ w.astype(dtype)).astype(dtype, copy=False)


def resample_cube(cube: HSCube, dst_wl, *, outside: str = "error") -> HSCube:
    """The cube on a new wavelength grid (e.g. ``STANDARD_WAVELENGTHS``)."""
    dst = validate_wavelengths(dst_wl)
    if cube.bands == dst.size and np.allclose(cube.wavelengths, dst, atol=1e-6):
        return cube
    data = resample_spectra(cube.data, cube.wavelengths, dst, outside=outside)
    return cube.with_data(data, dst, resampled_from=f"{cube.bands} bands {cube.wavelengths[0]:g}-"
                          f"{cube.wavelengths[-1]:g} nm")


# ---------------------------------------------------------------------------------------------------------
# Camera responses
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CameraResponse:
    """A camera (or observer) response: ``matrix`` (B, 3) sampled at ``wavelengths`` (B,) in nm."""

    name: str
    wavelengths: np.ndarray
    matrix: np.ndarray
    description: str = field(default="")

    def __post_init__(self) -> None:
        wl = validate_wavelengths(self.wavelengths)
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (wl.size, 3):
            raise ShapeError(f"camera response has shape {m.shape}; expected ({wl.size}, 3) — one row per band")
        if not np.isfinite(m).all():
            raise InputError("camera response holds NaN/Inf; expected finite sensitivities")
        if np.linalg.matrix_rank(m) < 3:
            raise InputError("camera response channels are linearly dependent; expected 3 independent channels")
        object.__setattr__(self, "wavelengths", wl)
        object.__setattr__(self, "matrix", m)

    def resampled(self, wavelengths) -> CameraResponse:
        wl = validate_wavelengths(wavelengths)
        if wl.size == self.wavelengths.size and np.allclose(wl, self.wavelengths):
            return self
        m = _interp_columns(self.wavelengths, self.matrix, wl)
        return CameraResponse(self.name, wl, m, self.description)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "wavelengths": self.wavelengths.tolist(),
            "matrix": self.matrix.tolist(),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, d: dict) -> CameraResponse:
        try:
            return cls(str(d["name"]), np.asarray(d["wavelengths"]), np.asarray(d["matrix"]),
                       str(d.get("description", "")))
        except (KeyError, TypeError) as exc:
            raise InputError(f"camera response record is missing {exc}; expected name, wavelengths, matrix") from None


def _interp_columns(src_wl: np.ndarray, values: np.ndarray, dst_wl: np.ndarray) -> np.ndarray:
    """Point-sample tabulated curves (linear interpolation, zero outside their range)."""
    return np.stack([np.interp(dst_wl, src_wl, values[:, i], left=0.0, right=0.0)
                     for i in range(values.shape[1])], axis=1)


def _normalise(m: np.ndarray, ref_col: np.ndarray) -> np.ndarray:
    total = float(ref_col.sum())
    if total <= 0:
        raise WavelengthError("the response is zero over these wavelengths; expected a grid within 380–780 nm")
    return m / total


@lru_cache(maxsize=32)
def _cmfs_on(observer: str, wl_key: tuple) -> np.ndarray:
    from hsi_studio.core.spectral._colour import colour

    cmfs = colour.MSDS_CMFS[observer]
    return _interp_columns(np.asarray(cmfs.wavelengths), np.asarray(cmfs.values), np.asarray(wl_key))


def xyz_response(observer: str = "CIE 1931 2 Degree Standard Observer", wavelengths=STANDARD_WAVELENGTHS,
                 *, normalise: bool = True) -> np.ndarray:
    """CIE colour matching functions (B, 3) on ``wavelengths``; normalised so Σȳ = 1 unless told otherwise."""
    wl = validate_wavelengths(wavelengths)
    m = _cmfs_on(observer, tuple(wl.tolist()))
    return _normalise(m, m[:, 1]) if normalise else m.copy()


def _xyz_to_linear_srgb() -> np.ndarray:
    from hsi_studio.core.spectral._colour import colour

    return np.asarray(colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB, dtype=np.float64)


def camera_response(name: str = DEFAULT_RESPONSE, wavelengths=STANDARD_WAVELENGTHS) -> CameraResponse:
    """A named response on ``wavelengths``: ``cie1964-srgb`` (default), ``cie1931-srgb``, ``nikon-d5100``,
    ``sigma-sdmerill`` (colour-science's camera sensitivities), or ``csv:PATH`` (columns nm, R, G, B)."""
    wl = validate_wavelengths(wavelengths)
    key = name.strip().lower()
    if key.startswith("csv:"):
        return load_response_csv(name.strip()[4:], wl)
    if key in _CIE_OBSERVERS:
        xyz = xyz_response(_CIE_OBSERVERS[key], wl)
        m = xyz @ _xyz_to_linear_srgb().T
        return CameraResponse(key, wl, m, f"{_CIE_OBSERVERS[key]} → linear sRGB (D65), Σȳ = 1")
    if key in _CAMERAS:
        from hsi_studio.core.spectral._colour import colour

        sens = colour.MSDS_CAMERA_SENSITIVITIES[_CAMERAS[key]]
        m = _interp_columns(np.asarray(sens.wavelengths), np.asarray(sens.values), wl)
        return CameraResponse(key, wl, _normalise(m, m[:, 1]), f"{_CAMERAS[key]} (colour-science), ΣG = 1")
    raise InputError(f"unknown camera response {name!r}; expected one of {', '.join(RESPONSE_NAMES)} or csv:PATH")


CSV_MAX_BYTES = 64 * 1024**2  # a spectrum or response table is kilobytes; refuse what cannot be one


def csv_rows(text: str, what: str, p: Path) -> list[list[str]]:
    """csv rows of ``text``; what the csv module refuses (a cell over its field limit, 128 KiB: a 10 MB field)
    is a typed error naming ``what``."""
    try:
        return list(csv.reader(_io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"{what} is not a readable CSV ({one_line(exc, 100)}); expected rows of numbers",
                         path=str(p)) from None


def read_numeric_csv(path, columns: int, what: str, min_rows: int = 2) -> np.ndarray:
    """Rows of exactly ``columns`` numbers from a CSV (a header line and ``#`` comments allowed), float64.
    ``what`` names the table in error messages (e.g. "camera response CSV (nm, R, G, B)")."""
    from hsi_studio.core.errors import check_regular_file

    p = Path(path)
    check_regular_file(p, f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}", InputError)
    try:
        size = p.stat().st_size
    except OSError:
        size = 0
    if size > CSV_MAX_BYTES:
        raise InputError(f"{what} is {size:,} bytes; expected a small text table (under {CSV_MAX_BYTES // 1024**2} "
                         "MiB)", path=str(p))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} ({exc.__class__.__name__}); expected a text file",
                         path=str(p)) from None
    rows = []
    for row in csv_rows(text, what, p):
        cells = [c.strip() for c in row if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if rows:
                raise InputError(f"non-numeric row {row!r} in {what}; expected {columns} numbers per row",
                                 path=str(p)) from None
    if len(rows) < min_rows or any(len(r) != columns for r in rows):
        raise InputError(f"{what} needs at least {min_rows} rows of exactly {columns} numbers", path=str(p))
    return np.asarray(rows, dtype=np.float64)


def load_response_csv(path, wavelengths=None) -> CameraResponse:
    """Read a response CSV (columns: wavelength nm, R, G, B; an optional header line), resampled to
    ``wavelengths`` when given and normalised so ΣG = 1."""
    p = Path(path)
    arr = read_numeric_csv(p, 4, "camera response CSV (nm, R, G, B)", min_rows=4)
    src_wl = validate_wavelengths(arr[:, 0])
    m = arr[:, 1:]
    if wavelengths is not None:
        wl = validate_wavelengths(wavelengths)
        m = _interp_columns(src_wl, m, wl)
        src_wl = wl
    return CameraResponse(f"csv:{p.name}", src_wl, _normalise(m, m[:, 1]), f"from {p}")


def _response_matrix(response, bands: int) -> np.ndarray:
    m = response.matrix if isinstance(response, CameraResponse) else np.asarray(response, dtype=np.float64)
    if m.ndim != 2 or m.shape != (bands, 3):
        raise ShapeError(f"camera response has shape {m.shape}; expected ({bands}, 3) for {bands}-band spectra")
    return m


def project(cube_or_array, response: CameraResponse | np.ndarray | None = None) -> np.ndarray:
    """Linear RGB (…, 3) float32 seen through ``response`` (default: CIE 1964 10° → sRGB on the cube's grid)."""
    if isinstance(cube_or_array, HSCube):
        data, wl = cube_or_array.data, cube_or_array.wavelengths
        if response is None:
            response = camera_response(DEFAULT_RESPONSE, wl)
        elif isinstance(response, CameraResponse):
            response = response.resampled(wl)
    else:
        data = np.asarray(cube_or_array, dtype=np.float32)
        if response is None:
            response = camera_response(DEFAULT_RESPONSE, STANDARD_WAVELENGTHS)
    m = _response_matrix(response, data.shape[-1]).astype(np.float32)
    return data @ m


# ---------------------------------------------------------------------------------------------------------
# sRGB transfer functions (IEC 61966-2-1), float32-preserving
# ---------------------------------------------------------------------------------------------------------
def srgb_encode(linear) -> np.ndarray:
    """Linear [0, 1] → sRGB-encoded (values outside [0, 1] are clipped first)."""
    x = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * np.float32(12.92),
                    np.float32(1.055) * np.power(x, np.float32(1 / 2.4)) - np.float32(0.055)).astype(np.float32)


def srgb_decode(encoded) -> np.ndarray:
    """sRGB-encoded [0, 1] → linear."""
    v = np.clip(np.asarray(encoded, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.04045, v / np.float32(12.92),
                    np.power((v + np.float32(0.055)) / np.float32(1.055), np.float32(2.4))).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Observable / unobservable split
# ---------------------------------------------------------------------------------------------------------
class ObservableSplit:
    """``P = S(SᵀS)⁻¹Sᵀ`` projects spectra onto what RGB sees; ``N`` (B, B−3) is an orthonormal basis of the
    metameric-black space. ``compose(y, c) = x_obs(y) + c Nᵀ`` always reprojects to ``y``."""

    def __init__(self, response: CameraResponse | np.ndarray | None = None):
        if response is None:
            response = camera_response(DEFAULT_RESPONSE)
        s = response.matrix if isinstance(response, CameraResponse) else np.asarray(response, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != 3 or s.shape[0] < 4:
            raise ShapeError(f"camera response has shape {s.shape}; expected (B, 3) with B ≥ 4")
        self.response = response if isinstance(response, CameraResponse) else None
        self.S = s.astype(np.float64)
        gram = self.S.T @ self.S
        self.pinv = np.linalg.solve(gram, self.S.T)  # (3, B) = (SᵀS)⁻¹Sᵀ
        self.P = self.S @ self.pinv  # (B, B)
        self.N = _null_basis(self.S)  # (B, B-3)

    @property
    def bands(self) -> int:
        return int(self.S.shape[0])

    def _cast(self, mat: np.ndarray, like: np.ndarray) -> np.ndarray:
        return mat.astype(like.dtype if like.dtype == np.float64 else np.float32)

    def project(self, x) -> np.ndarray:
        x = np.asarray(x)
        return x @ self._cast(self.S, x)

    def x_obs(self, y) -> np.ndarray:
        """The observable part of the spectrum, fully determined by linear RGB ``y`` (…, 3) → (…, B)."""
        y = np.asarray(y)
        if y.shape[-1] != 3:
            raise ShapeError(f"RGB array has {y.shape[-1]} channels in its last axis; expected 3")
        return y @ self._cast(self.pinv, y)

    def null_coords(self, x) -> np.ndarray:
        """Coordinates ``c = x N`` (…, B−3) of the unobservable part of spectra ``x``."""
        x = np.asarray(x)
        if x.shape[-1] != self.bands:
            raise ShapeError(f"spectra have {x.shape[-1]} bands; expected {self.bands}")
        return x @ self._cast(self.N, x)

    def unobservable(self, x) -> np.ndarray:
        """The metameric black ``x (I − P)``."""
        x = np.asarray(x)
        return self.null_coords(x) @ self._cast(self.N.T, x)

    def compose(self, y, c) -> np.ndarray:
        y, c = np.asarray(y), np.asarray(c)
        return self.x_obs(y) + c @ self._cast(self.N.T, c)


def _null_basis(s: np.ndarray) -> np.ndarray:
    from scipy.linalg import null_space

    n = null_space(s.T)
    if n.shape[1] != s.shape[0] - 3:
        raise InputError(f"camera response has rank {s.shape[0] - n.shape[1]}; expected rank 3")
    flip = np.sign(n[np.argmax(np.abs(n), axis=0), np.arange(n.shape[1])])
    return n * flip  # deterministic signs


# ---------------------------------------------------------------------------------------------------------
# RGB simulation for training pairs (NTIRE 2022 recipe)
# ---------------------------------------------------------------------------------------------------------
@dataclass
class SimulatedRGB:
    """``rgb``: linear RGB float32 (H, W, 3) in [0, 1]; ``scale``: the exposure factor applied (the clean
    RGB equals ``project(cube.data * scale)`` before clipping, noise and JPEG)."""

    rgb: np.ndarray
    scale: float


def simulate_rgb(
    cube: HSCube | np.ndarray,
    response: CameraResponse | np.ndarray | None = None,
    *,
    exposure: str | float = "percentile",
    percentile: float = 99.9,
    shot_noise_photons: float | None = None,
    quantize_bits: int | None = None,
    jpeg_quality: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> SimulatedRGB:
    """Camera RGB for a cube, following the NTIRE 2022 spectral-recovery recipe: project through the
    camera response, normalise the exposure (``"percentile"``: the ``percentile``-th RGB value maps to 1;
    ``"max"``: the maximum maps to 1; a number: multiply by it), clip to [0, 1], then optionally add
    Poisson shot noise (``shot_noise_photons`` photons at full scale), quantise, and JPEG-compress (done on
    the sRGB-encoded 8-bit image, decoded back to linear)."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    rgb = project(cube, response)
    if isinstance(exposure, str):
        if exposure not in ("percentile", "max"):
            raise InputError(f"exposure={exposure!r}; expected 'percentile', 'max' or a number")
        ref = float(np.percentile(rgb, percentile)) if exposure == "percentile" else float(rgb.max())
        scale = 1.0 / ref if ref > 0 else 1.0
    else:
        scale = float(exposure)
        if not np.isfinite(scale) or scale <= 0:
            raise InputError(f"exposure factor {exposure!r}; expected a positive finite number")
    rgb = np.clip(rgb * np.float32(scale), 0.0, 1.0)
    if shot_noise_photons:
        rgb = np.clip(gen.poisson(rgb * shot_noise_photons) / float(shot_noise_photons), 0.0, 1.0)
    if quantize_bits:
        levels = float(2**int(quantize_bits) - 1)
        rgb = np.round(rgb * levels) / levels
    if jpeg_quality is not None:
        rgb = _jpeg_roundtrip(rgb, int(jpeg_quality))
    return SimulatedRGB(np.ascontiguousarray(rgb, dtype=np.float32), scale)


def _jpeg_roundtrip(linear: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    if not 1 <= quality <= 100:
        raise InputError(f"JPEG quality {quality}; expected 1–100")
    enc = np.round(srgb_encode(linear) * 255).astype(np.uint8)
    buf = _io.BytesIO()
    Image.fromarray(enc, "RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    dec = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
    return srgb_decode(dec)


__all__ = [
    "STANDARD_WAVELENGTHS",
    "RESPONSE_NAMES",
    "DEFAULT_RESPONSE",
    "CameraResponse",
    "ObservableSplit",
    "SimulatedRGB",
    "camera_response",
    "load_response_csv",
    "project",
    "resample_cube",
    "resample_spectra",
    "resampling_matrix",
    "simulate_rgb",
    "srgb_decode",
    "srgb_encode",
    "xyz_response",
]
