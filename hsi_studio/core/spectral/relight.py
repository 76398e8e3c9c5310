"""Relighting: the render of a cube to sRGB under any illuminant (the illuminant catalogue and SPD parsing are
:mod:`.illuminants`', re-exported here).

Public API
----------
``list_illuminants() -> list[str]``
    The 59 names of ``colour.SDS_ILLUMINANTS`` (A … ISO 7589). Besides these names, every function taking an
    illuminant ``spec`` also accepts ``cct:K`` (Planckian black body, 1000–40000 K), ``daylight:K`` (CIE
    daylight at that CCT, 4000–25000 K; note D65 itself is ``daylight:6504``) and ``csv:PATH`` (two columns
    nm,value; a header line and ``#`` comments allowed). Catalogue names match case-insensitively and
    ignoring spaces, ``-`` and ``_`` (``d65``, ``led b1``, ``iso7589photoflood``).
``illuminant_catalogue() -> list[dict]``
    One record per catalogue entry (name, native range, CIE 1931 xy) plus the parametric forms.
``illuminant_spd(spec, wavelengths) -> ndarray (B,)``
    The SPD resampled to a grid (triangle-averaged where the grid is coarser than the data), maximum 1.
``render_matrix(wavelengths, illuminant="D65", observer=DEFAULT_OBSERVER, adapt="none") -> (B, 3)``
    Reflectance (B,) → linear sRGB: tristimulus weights of colour-science's own ``sd_to_XYZ`` (ASTM E308 on
    1/5/10/20 nm grids), normalised so a perfect white reflector has Y = 1; then the chromatic adaptation
    (``none``, ``bradford`` or ``cat16``) from the illuminant's white to sRGB's D65 white; then sRGB's
    XYZ → RGB matrix — all folded into one matrix, cached per (grid, illuminant, observer, adaptation).
``render_linear / render_srgb / render_uint8(cube, illuminant="D65", *, observer, adapt, capture_illuminant,
white, white_reflectance, exposure)``
    Linear sRGB (unclipped) / sRGB-encoded float32 in [0, 1] / 8-bit, H×W×3. One float32 matmul over the
    cube in cache-sized chunks; clipping and encoding go through a square-root-indexed lookup table
    (error < 2e-5), so rendering costs about one read of the cube.
``to_uint8(srgb)``, ``estimate_reflectance(cube, capture_illuminant=None, white_pixel=None, white_roi=None,
white_reflectance=1.0) -> HSCube``, ``delta_e_map(srgb_a, srgb_b) -> H×W`` (CIE 2000, via CIE Lab, D65).

Cube kinds: a ``"reflectance"`` cube renders as is. A ``"radiance"`` or ``"unknown"`` cube with no capture
illuminant and no white reference is rendered *as if* its values were reflectances (a reconstructed cube is
relative radiance of a scene the camera already white-balanced, so this is what a user expects). With a
``capture_illuminant`` the cube is divided by that SPD (max-normalised) first; with a white pixel / region it
is divided by that reference spectrum (times ``white_reflectance``, for a grey card). The division is folded
into the render matrix: no extra pass over the cube.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hsi_studio.core.cube import HSCube, validate_wavelengths
from hsi_studio.core.errors import InputError, ShapeError
from hsi_studio.core.spectral.illuminants import (
    DEFAULT_OBSERVER,
    VISIBLE_NM,
    canonical_spec,
    check_visible,
    illuminant_catalogue,
    illuminant_spd,
    list_illuminants,
    read_spd_csv,
)
from hsi_studio.core.spectral.illuminants import illuminant_key as _illuminant_key
from hsi_studio.core.spectral.illuminants import native_sd as _native_sd
from hsi_studio.core.spectral.illuminants import norm_name as _norm_name
from hsi_studio.core.spectral.responses import resampling_matrix

OBSERVERS = {
    "cie1931": "CIE 1931 2 Degree Standard Observer",
    "cie1964": "CIE 1964 10 Degree Standard Observer",
}
ADAPTATIONS = {"none": None, "bradford": "Bradford", "cat16": "CAT16"}
_ASTM_INTERVALS = (1.0, 5.0, 10.0, 20.0)
_CHUNK_PIXELS = 65536  # 8 MB of 31-band float32 per chunk: the intermediate RGB (786 KB) stays in cache
_LUT_SIZE = 65535  # sqrt-indexed sRGB table: index = floor(sqrt(linear) * 65535), fits uint16


def _colour():
    from hsi_studio.core.spectral._colour import colour

    return colour


def _quiet():
    from hsi_studio.core.spectral._colour import quiet

    return quiet()


# ---------------------------------------------------------------------------------------------------------
# Render matrix: reflectance (B,) → XYZ → adapted XYZ → linear sRGB
# ---------------------------------------------------------------------------------------------------------
def observer_name(observer: str) -> str:
    """``cie1931`` / ``cie1964`` or a colour ``MSDS_CMFS`` key → the colour key."""
    colour = _colour()
    key = _norm_name(str(observer))
    aliases = {**OBSERVERS, "2": OBSERVERS["cie1931"], "10": OBSERVERS["cie1964"]}
    if key in aliases:
        return aliases[key]
    for name in colour.MSDS_CMFS.keys():
        if _norm_name(name) == key and "Observer" in name:
            return name
    raise InputError(f"unknown observer {observer!r}; expected cie1931, cie1964 or a colour MSDS_CMFS name")


def adapt_name(adapt: str | None) -> str:
    key = "none" if adapt is None else _norm_name(str(adapt))
    if key not in ADAPTATIONS:
        raise InputError(f"chromatic adaptation {adapt!r}; expected one of {', '.join(ADAPTATIONS)}")
    return key


def _uniform_step(wl: np.ndarray) -> float | None:
    if wl.size < 2:
        return None
    steps = np.diff(wl)
    return float(steps[0]) if np.allclose(steps, steps[0], rtol=0, atol=1e-6) else None


def _xyz_weights_astm(wl: np.ndarray, sd_ill, cmfs) -> np.ndarray:
    """Row b = colour's ``sd_to_XYZ`` of the unit impulse at band b: the exact per-pixel colour path."""
    colour = _colour()
    out = np.zeros((wl.size, 3))
    inside = (wl >= cmfs.shape.start) & (wl <= cmfs.shape.end)
    sub = wl[inside]
    rows = np.flatnonzero(inside)
    for j, i in enumerate(rows):
        impulse = np.zeros(sub.size)
        impulse[j] = 1.0
        out[i] = colour.sd_to_XYZ(colour.SpectralDistribution(impulse, sub), cmfs, sd_ill) / 100.0
    return out


def _xyz_weights_integration(wl: np.ndarray, sd_ill, cmfs) -> np.ndarray:
    """Irregular grids: spectra linearly interpolated onto the CMFs' grid (edge values repeated), then
    colour's integration formula  k Σ R S x̄  with  k = 1 / Σ S ȳ."""
    fine = np.asarray(cmfs.wavelengths, dtype=np.float64)
    ill = np.asarray(sd_ill.copy().align(cmfs.shape).values, dtype=np.float64)
    weighted = np.asarray(cmfs.values, dtype=np.float64) * ill[:, None]
    interp = resampling_matrix(wl, fine, outside="nearest")  # (B, K): spectrum on the fine grid
    return interp @ weighted / float(weighted[:, 1].sum())


@lru_cache(maxsize=64)
def _xyz_weights(wl_key: tuple, illum_key, observer: str) -> np.ndarray:
    colour = _colour()
    wl = np.asarray(wl_key)
    cmfs = colour.MSDS_CMFS[observer]
    sd_ill = _native_sd(illum_key)
    if not np.any((wl >= cmfs.shape.start) & (wl <= cmfs.shape.end)):
        raise InputError(f"the cube's {wl[0]:g}–{wl[-1]:g} nm lie outside the visible range of {observer}")
    step = _uniform_step(wl)
    astm = step is not None and any(abs(step - s) < 1e-9 for s in _ASTM_INTERVALS) and wl[0] % 1 == 0
    inside = wl[(wl >= cmfs.shape.start) & (wl <= cmfs.shape.end)]
    # ASTM E308 tables need ≥ 6 samples inside 360–780 nm; shorter or far-red grids use the integration
    astm = astm and inside.size >= 6 and np.count_nonzero(inside < 780.0) >= 6
    with _quiet():
        weights = None
        if astm:
            try:
                weights = _xyz_weights_astm(wl, sd_ill, cmfs)
            except (AssertionError, IndexError, ValueError):  # colour's tables cannot take this grid
                weights = None
        if weights is None:
            weights = _xyz_weights_integration(wl, sd_ill, cmfs)
    weights.setflags(write=False)
    return weights


def xyz_matrix(wavelengths, illuminant="D65", observer: str = DEFAULT_OBSERVER) -> np.ndarray:
    """(B, 3) tristimulus weights: ``reflectance @ W`` = CIE XYZ under the illuminant, white → Y = 1."""
    wl = validate_wavelengths(wavelengths)
    return _xyz_weights(tuple(wl.tolist()), _illuminant_key(illuminant), observer_name(observer))


def _srgb_white_xyz() -> np.ndarray:
    colour = _colour()
    return colour.xy_to_XYZ(colour.RGB_COLOURSPACES["sRGB"].whitepoint)


@lru_cache(maxsize=64)
def _render_matrix(wl_key: tuple, illum_key, observer: str, adapt: str) -> np.ndarray:
    colour = _colour()
    weights = _xyz_weights(wl_key, illum_key, observer)
    m = weights
    if ADAPTATIONS[adapt] is not None:
        white = weights.sum(axis=0)  # XYZ of the perfect white reflector (Y = 1)
        cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(white, _srgb_white_xyz(),
                                                                      ADAPTATIONS[adapt])
        m = m @ cat.T
    m = m @ np.asarray(colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB).T
    m.setflags(write=False)
    return m


def render_matrix(wavelengths, illuminant="D65", observer: str = DEFAULT_OBSERVER,
                  adapt: str = "none") -> np.ndarray:
    """(B, 3) float64, read-only: ``reflectance @ M`` = linear sRGB under ``illuminant`` (cached).

    Bands outside the observer's 360–830 nm get zero weight; over the rest of that range a spectrum is
    extended with its edge values (colour-science's convention), so a white reflector stays white."""
    wl = validate_wavelengths(wavelengths)
    return _render_matrix(tuple(wl.tolist()), _illuminant_key(illuminant), observer_name(observer),
                          adapt_name(adapt))


# ---------------------------------------------------------------------------------------------------------
# Reflectance estimation
# ---------------------------------------------------------------------------------------------------------
def _check_pixel(cube: HSCube, pixel) -> tuple[int, int]:
    try:
        row, col = (int(v) for v in pixel)
    except (TypeError, ValueError):
        raise InputError(f"white pixel {pixel!r}; expected (row, col)") from None
    if not (0 <= row < cube.height and 0 <= col < cube.width):
        raise InputError(f"white pixel ({row}, {col}) is outside the {cube.height}×{cube.width} cube")
    return row, col


def _check_roi(cube: HSCube, roi) -> tuple[int, int, int, int]:
    try:
        top, left, height, width = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise InputError(f"white region {roi!r}; expected (top, left, height, width)") from None
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > cube.height or left + width > cube.width:
        raise InputError(f"white region (top={top}, left={left}, {height}×{width}) does not fit inside the "
                         f"{cube.height}×{cube.width} cube; expected a non-empty region inside it")
    return top, left, height, width


def white_spectrum(cube: HSCube, white_pixel=None, white_roi=None) -> np.ndarray:
    """The reference white's spectrum (B,) float64: one pixel, or the mean over a region."""
    if (white_pixel is None) == (white_roi is None):
        raise InputError("give exactly one of white_pixel=(row, col) or white_roi=(top, left, height, width)")
    if white_pixel is not None:
        row, col = _check_pixel(cube, white_pixel)
        return cube.data[row, col, :].astype(np.float64)
    top, left, height, width = _check_roi(cube, white_roi)
    return cube.data[top:top + height, left:left + width, :].mean(axis=(0, 1), dtype=np.float64)


def _check_divisor(divisor: np.ndarray, wl: np.ndarray, what: str) -> np.ndarray:
    floor = 1e-6 * max(float(np.max(divisor)), 0.0)
    dark = divisor <= floor
    if floor <= 0 or dark.any():
        bands = ", ".join(f"{w:g}" for w in wl[dark][:6]) if floor > 0 else "all"
        raise InputError(f"{what} has (almost) no energy at {bands} nm, so reflectance cannot be estimated "
                         "there; expected a reference that is bright in every band")
    return divisor


def photo_white_divisor(light, wavelengths, observer: str = DEFAULT_OBSERVER) -> np.ndarray:
    """``light``'s SPD (float64, B) scaled so that a white reflector under it has luminance Y = 1 through
    ``observer``: a reconstruction of a photo is on the photo's scale (its white reads 1), not reflectance × SPD,
    so dividing by this turns it into reflectance. The one rule of ``reconstruct --reflectance``, the Relight
    tab and the ``photo`` evaluation protocol (:func:`hsi_studio.core.ml.evaluation.photo_divisor`)."""
    spd = illuminant_spd(light, wavelengths)
    return spd / float(spd @ xyz_matrix(wavelengths, "E", observer)[:, 1])


def reflectance_divisor(cube: HSCube, capture_illuminant=None, white_pixel=None, white_roi=None,
                        white_reflectance: float = 1.0) -> np.ndarray | None:
    """Per-band divisor d (B,) with reflectance = cube / d, or None when the cube is used as is."""
    has_white = white_pixel is not None or white_roi is not None
    if capture_illuminant is not None and has_white:
        raise InputError("give either a capture illuminant or a white reference, not both "
                         "(a white reference already measures the illuminant)")
    if capture_illuminant is not None:
        if cube.kind == "reflectance":
            raise InputError("the cube is already reflectance; a capture illuminant applies to radiance cubes")
        if recorded_capture_illuminant(cube) is not None:  # a reconstruction: the photo's white becomes 1
            spd = photo_white_divisor(capture_illuminant, cube.wavelengths, view_observer(cube))
        else:
            spd = illuminant_spd(capture_illuminant, cube.wavelengths)
        return _check_divisor(spd, cube.wavelengths, f"capture illuminant {capture_illuminant!r}")
    if has_white:
        if not (np.isfinite(white_reflectance) and 0 < white_reflectance <= 10):
            raise InputError(f"white reflectance {white_reflectance!r}; expected a number in (0, 10]")
        ref = white_spectrum(cube, white_pixel, white_roi)
        return _check_divisor(ref, cube.wavelengths, "the white reference") / float(white_reflectance)
    return None


def estimate_reflectance(cube: HSCube, capture_illuminant=None, white_pixel=None, white_roi=None,
                         white_reflectance: float = 1.0) -> HSCube:
    """Reflectance from a radiance cube: divided by the capture illuminant's SPD (scaled to a maximum of
    1), or by a white pixel / region (whose reflectance is ``white_reflectance``, 1 for a white reference)."""
    divisor = reflectance_divisor(cube, capture_illuminant, white_pixel, white_roi, white_reflectance)
    if divisor is None:
        raise InputError("estimate_reflectance needs a capture illuminant or a white pixel / region")
    data = cube.data / divisor.astype(np.float32)
    md = dict(cube.metadata)
    md["reflectance_from"] = (f"capture illuminant {capture_illuminant}" if capture_illuminant is not None
                              else f"white pixel {white_pixel}" if white_pixel is not None
                              else f"white region {white_roi}")
    return HSCube(data, cube.wavelengths, md, kind="reflectance")


# ---------------------------------------------------------------------------------------------------------
# Applying the matrix: chunked float32 matmul + sqrt-indexed sRGB table
# ---------------------------------------------------------------------------------------------------------
def _srgb_exact(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def to_uint8(srgb) -> np.ndarray:
    """sRGB-encoded floats in [0, 1] → uint8 (rounded, clipped)."""
    arr = np.asarray(srgb, dtype=np.float32)
    return (np.clip(arr, 0.0, 1.0) * np.float32(255) + np.float32(0.5)).astype(np.uint8)


@lru_cache(maxsize=1)
def _srgb_luts() -> tuple[np.ndarray, np.ndarray]:
    """Tables indexed by i = floor(sqrt(linear) · K): entry i holds the sRGB value at the bin centre. In
    sqrt space the sRGB curve's slope is ≤ 1.45, so the error is ≤ 1.45 / (2K) ≈ 1.1e-5."""
    k = _LUT_SIZE
    centre = (np.arange(k + 1, dtype=np.float64) + 0.5) / k
    lut = _srgb_exact(centre**2).astype(np.float32)
    lut[0], lut[k] = 0.0, 1.0  # exact black and white
    lut.setflags(write=False)
    lut8 = to_uint8(lut)
    lut8.setflags(write=False)
    return lut, lut8


def _apply(data: np.ndarray, m: np.ndarray, mode: str) -> np.ndarray:
    """``data`` (H, W, B) float32 @ ``m`` (B, 3) → linear / sRGB float32 / uint8 (H, W, 3), chunked."""
    h, w, b = data.shape
    flat = data.reshape(-1, b)
    n = flat.shape[0]
    out = np.empty((n, 3), dtype=np.uint8 if mode == "uint8" else np.float32)
    if mode == "linear":
        np.matmul(flat, m.astype(np.float32), out=out)
        return out.reshape(h, w, 3)
    k2 = np.float32(_LUT_SIZE) ** 2
    m32 = (m * float(_LUT_SIZE) ** 2).astype(np.float32)  # the table's index scale, folded in
    lut = _srgb_luts()[0 if mode == "srgb" else 1]
    buf = np.empty((min(_CHUNK_PIXELS, n), 3), dtype=np.float32)
    idx = np.empty(buf.shape, dtype=np.uint16)
    for start in range(0, n, _CHUNK_PIXELS):
        stop = min(start + _CHUNK_PIXELS, n)
        y, i = buf[: stop - start], idx[: stop - start]
        np.matmul(flat[start:stop], m32, out=y)
        np.clip(y, 0.0, k2, out=y)
        np.sqrt(y, out=y)
        np.copyto(i, y, casting="unsafe")  # floor
        np.take(lut, i, out=out[start:stop])
    return out.reshape(h, w, 3)


def effective_matrix(cube: HSCube, illuminant="D65", *, observer: str = DEFAULT_OBSERVER, adapt: str = "none",
                     capture_illuminant=None, white=None, white_reflectance: float = 1.0,
                     exposure: float | str = 1.0) -> np.ndarray:
    """The (B, 3) matrix a render applies: render matrix, divided per band by the capture illuminant or
    white reference, times the exposure (``"auto"``: the 99th percentile of luminance Y maps to 1)."""
    if not isinstance(cube, HSCube):
        raise InputError(f"expected an HSCube to render; got {type(cube).__name__}")
    m = render_matrix(cube.wavelengths, illuminant, observer, adapt)
    white_pixel, white_roi = _split_white(white)
    divisor = reflectance_divisor(cube, capture_illuminant, white_pixel, white_roi, white_reflectance)
    if divisor is not None:
        m = m / divisor[:, None]
    return m * _exposure(cube, exposure, illuminant, observer, divisor)


def _split_white(white):
    if white is None:
        return None, None
    n = len(white) if isinstance(white, (tuple, list, np.ndarray)) else 0
    if n == 2:
        return white, None
    if n == 4:
        return None, white
    raise InputError(f"white reference {white!r}; expected (row, col) or (top, left, height, width)")


def _exposure(cube: HSCube, exposure, illuminant, observer, divisor) -> float:
    if isinstance(exposure, str):
        if exposure.strip().lower() != "auto":
            raise InputError(f"exposure {exposure!r}; expected a positive number or 'auto'")
        y_weights = xyz_matrix(cube.wavelengths, illuminant, observer)[:, 1]
        if divisor is not None:
            y_weights = y_weights / divisor
        lum = cube.data.reshape(-1, cube.bands) @ y_weights.astype(np.float32)
        ref = float(np.percentile(lum, 99.0))
        return 1.0 / ref if ref > 0 else 1.0
    value = float(exposure)
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"exposure {exposure!r}; expected a positive finite number or 'auto'")
    return value


def render_linear(cube: HSCube, illuminant="D65", **kwargs) -> np.ndarray:
    """Linear sRGB float32 (H, W, 3), not clipped (keyword arguments as :func:`effective_matrix`)."""
    return _apply(cube.data, effective_matrix(cube, illuminant, **kwargs), "linear")


def render_srgb(cube: HSCube, illuminant="D65", **kwargs) -> np.ndarray:
    """sRGB-encoded float32 (H, W, 3) in [0, 1] under ``illuminant`` (clipped to the sRGB gamut).

    Keywords: ``observer`` (``cie1931`` default / ``cie1964``), ``adapt`` (``none`` / ``bradford`` /
    ``cat16``), ``capture_illuminant``, ``white`` ((row, col) or (top, left, height, width)),
    ``white_reflectance``, ``exposure`` (number or ``"auto"``)."""
    return _apply(cube.data, effective_matrix(cube, illuminant, **kwargs), "srgb")


def render_uint8(cube: HSCube, illuminant="D65", **kwargs) -> np.ndarray:
    """8-bit sRGB (H, W, 3); equals ``to_uint8(render_srgb(...))`` at the display path's speed."""
    return _apply(cube.data, effective_matrix(cube, illuminant, **kwargs), "uint8")


def view_illuminant(cube: HSCube) -> str:
    """The light of a plain colour view. A radiance cube already holds its light, so it is shown as captured
    (equal-energy E: colour straight from the spectrum — a reconstruction looks like its photo, and a
    D65-lit white is neutral); reflectance and cubes of unknown kind are shown under D65."""
    return "E" if cube.kind == "radiance" else "D65"


def _recorded_response(cube: HSCube) -> str:
    """The camera response a radiance cube says its RGB came through (a reconstruction's), else ``""``."""
    return str(cube.metadata.get("response", "")) if cube.kind == "radiance" else ""


def recorded_capture_illuminant(cube: HSCube) -> str | None:
    """The light a radiance cube says it was captured under, else None. A reconstruction from an sRGB photo
    (``response`` ending in ``srgb``) holds radiance whose white is D65 (sRGB's white point), so dividing by
    D65 gives its reflectance — what relighting needs. Its radiance is on the photo's luminance scale, which
    :func:`reflectance_divisor` accounts for (the photo's white → reflectance 1)."""
    return "D65" if _recorded_response(cube).lower().endswith("srgb") else None


def default_capture_illuminant(cube: HSCube, given: str | None = None, white=None) -> str | None:
    """The capture illuminant a render of ``cube`` divides by: the one ``given``; else, when no ``white``
    reference is given either, the one the cube records (:func:`recorded_capture_illuminant`); else None.
    ``hsi-studio relight`` and the Relight panel both start from this."""
    if given is not None or white is not None:
        return given
    return recorded_capture_illuminant(cube)


def view_observer(cube: HSCube) -> str:
    """The observer of a plain colour view: a radiance cube whose metadata names the CIE-observer camera
    response its RGB came through (``response`` of a reconstruction, e.g. ``cie1964-srgb``) is viewed with
    that observer, so the view of a reconstruction equals its photo; otherwise :data:`DEFAULT_OBSERVER`."""
    response = _recorded_response(cube)
    return next((full for key, full in OBSERVERS.items() if response.startswith(key)), DEFAULT_OBSERVER)


def render_view(cube: HSCube, mode: str = "uint8") -> np.ndarray:
    """The plain colour view of a cube (band view, thumbnails, CLI previews) under :func:`view_illuminant`
    with :func:`view_observer`: ``mode`` ``uint8`` or ``srgb`` (float). Values up to 1.5 are shown as they
    are; larger ones (arbitrary radiance units) with the automatic exposure."""
    if mode not in ("uint8", "srgb"):
        raise InputError(f"view mode {mode!r}; expected 'uint8' or 'srgb'")
    exposure: float | str = "auto" if float(cube.data.max()) > 1.5 else 1.0
    m = effective_matrix(cube, view_illuminant(cube), observer=view_observer(cube), exposure=exposure)
    return _apply(cube.data, m, mode)


# ---------------------------------------------------------------------------------------------------------
# ΔE2000 between two renders
# ---------------------------------------------------------------------------------------------------------
_DE_CHUNK_PIXELS = 1 << 18  # ΔE2000 map: pixels per chunk (float64 temporaries of ~10 MB each)


def _as_srgb_float(img, what: str) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ShapeError(f"{what} has shape {arr.shape}; expected (..., 3) sRGB values")
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{what} holds NaN/Inf; expected sRGB values in [0, 1]")
    return arr


def delta_e_map(srgb_a, srgb_b) -> np.ndarray:
    """Per-pixel CIE ΔE2000 (float32, shape (...)) between two sRGB renders (float in [0, 1] or uint8):
    sRGB → XYZ → CIE Lab (D65 white) with colour-science, then ``colour.delta_E(..., "CIE 2000")``."""
    a_in, b_in = np.asarray(srgb_a), np.asarray(srgb_b)
    for arr, what in ((a_in, "first image"), (b_in, "second image")):
        if arr.ndim < 1 or arr.shape[-1] != 3:
            raise ShapeError(f"{what} has shape {arr.shape}; expected (..., 3) sRGB values")
    if a_in.shape != b_in.shape:
        raise ShapeError(f"images have shapes {a_in.shape} and {b_in.shape}; expected equal shapes")
    colour = _colour()
    white = colour.RGB_COLOURSPACES["sRGB"].whitepoint
    flat_a, flat_b = a_in.reshape(-1, 3), b_in.reshape(-1, 3)
    out = np.empty(flat_a.shape[0], dtype=np.float32)
    # In chunks: colour-science works in float64 with many temporaries (a 12 MP map at once peaked at ~3× a
    # 12 MP 31-band float32 cube); per chunk the working memory is bounded (~100 MB).
    for start in range(0, flat_a.shape[0], _DE_CHUNK_PIXELS):
        stop = start + _DE_CHUNK_PIXELS
        a = _as_srgb_float(flat_a[start:stop], "first image")
        b = _as_srgb_float(flat_b[start:stop], "second image")
        with _quiet():
            lab_a = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(a), white)
            lab_b = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(b), white)
            out[start:stop] = colour.delta_E(lab_a, lab_b, method="CIE 2000")
    return out.reshape(a_in.shape[:-1])


def to_reflectance(cube: HSCube, std: HSCube | None = None) -> tuple[HSCube, HSCube | None]:
    """(reflectance cube, std cube or None): a reflectance cube as is; a reconstruction divided by the capture
    illuminant it records (D65 for an sRGB photo, scaled so the photo's white reads 1), its std by the same
    divisor; an :class:`InputError` when it records none (its reflectance is unknown)."""
    if cube.kind == "reflectance":
        return cube, std
    light = recorded_capture_illuminant(cube)
    if light is None:
        raise InputError("this cube records no capture illuminant (it is not a reconstruction of an sRGB photo), "
                         "so its reflectance is unknown; expected a reconstruction from a model with an sRGB "
                         "response, or a reflectance cube")
    divisor = reflectance_divisor(cube, light).astype(np.float32)
    refl = estimate_reflectance(cube, light)
    if std is not None:
        std = HSCube(std.data / divisor, std.wavelengths, {**std.metadata, "reflectance_from": light},
                     kind="reflectance")
    return refl, std


__all__ = ["to_reflectance",
    "ADAPTATIONS", "DEFAULT_OBSERVER", "OBSERVERS", "adapt_name", "canonical_spec", "delta_e_map",
    "effective_matrix", "estimate_reflectance", "illuminant_catalogue", "illuminant_spd", "list_illuminants",
    "observer_name", "photo_white_divisor", "read_spd_csv", "check_visible", "VISIBLE_NM", "recorded_capture_illuminant", "reflectance_divisor", "render_linear", "render_matrix", "render_srgb",
    "render_uint8", "render_view", "to_uint8", "view_illuminant", "view_observer", "white_spectrum", "xyz_matrix",
]
