"""Illuminants: colour-science's catalogue, the parametric forms (``cct:K``, ``daylight:K``) and SPD files
(``csv:PATH``) — parsed, checked and resampled to a cube's grid (no Qt, no torch).

``list_illuminants()``, ``illuminant_catalogue()``, ``canonical_spec(spec)``, ``read_spd_csv(path)``,
``illuminant_spd(spec, wavelengths)`` and ``check_visible(cube)``; :mod:`.relight` renders with them (and
re-exports them: ``relight.illuminant_spd`` is this module's). Catalogue names match case-insensitively and
ignoring spaces, ``-`` and ``_``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube, validate_wavelengths
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral.responses import resample_spectra

DEFAULT_OBSERVER = "CIE 1931 2 Degree Standard Observer"
CCT_RANGE = (1000.0, 40000.0)
DAYLIGHT_RANGE = (4000.0, 25000.0)


def _colour():
    from hsi_studio.core.spectral._colour import colour

    return colour


def _quiet():
    from hsi_studio.core.spectral._colour import quiet

    return quiet()


# ---------------------------------------------------------------------------------------------------------
# Illuminant catalogue
# ---------------------------------------------------------------------------------------------------------
def norm_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


@lru_cache(maxsize=1)
def _catalogue_index() -> dict[str, str]:
    return {norm_name(n): n for n in _colour().SDS_ILLUMINANTS.keys()}


def list_illuminants() -> list[str]:
    """The names of colour-science's illuminant catalogue (59 in colour 0.4.x), in its order."""
    return list(_colour().SDS_ILLUMINANTS.keys())


def _parse_number(text: str, spec: str, lo: float, hi: float) -> float:
    try:
        value = float(text.strip().lower().removesuffix("k"))
    except ValueError:
        raise InputError(f"illuminant {spec!r}: {text!r} is not a temperature; expected e.g. cct:5000") from None
    if not (lo <= value <= hi):
        raise InputError(f"illuminant {spec!r}: {value:g} K is outside {lo:g}–{hi:g} K")
    return value


def canonical_spec(spec: str) -> str:
    """Normalise an illuminant spec (catalogue name → its exact name, ``cct:5000.0`` → ``cct:5000``).

    Raises :class:`InputError` for an unknown name or a malformed / out-of-range parametric spec."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"illuminant {spec!r}; expected a catalogue name, cct:K, daylight:K or csv:PATH")
    s = spec.strip()
    kind, _, arg = s.partition(":")
    kind = kind.strip().lower()
    if kind == "cct" and arg:
        return f"cct:{_parse_number(arg, s, *CCT_RANGE):g}"
    if kind == "daylight" and arg:
        return f"daylight:{_parse_number(arg, s, *DAYLIGHT_RANGE):g}"
    if kind == "csv" and arg:
        return f"csv:{arg.strip()}"
    name = _catalogue_index().get(norm_name(s))
    if name is None:
        raise InputError(f"unknown illuminant {spec!r}; expected one of the catalogue names "
                         "(`hsi-studio illuminants`), cct:K, daylight:K or csv:PATH")
    return name


def read_spd_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """(wavelengths, values) from a two-column CSV (nm, value); a header line and # comments are allowed."""
    from hsi_studio.core.spectral.responses import read_numeric_csv

    p = Path(path)
    arr = read_numeric_csv(p, 2, "illuminant CSV (nm, value)")
    try:
        wl = validate_wavelengths(arr[:, 0])
    except InputError as exc:
        raise InputError(f"illuminant CSV: {exc}", path=str(p)) from None
    if wl[-1] - wl[0] < 10:
        raise InputError(f"illuminant CSV spans only {wl[-1] - wl[0]:g} nm; expected a spectrum over the "
                         "visible range", path=str(p))
    values = arr[:, 1]
    if not np.isfinite(values).all() or values.min() < 0 or values.max() <= 0:
        raise InputError("illuminant CSV values must be finite, non-negative and not all zero", path=str(p))
    lo, hi = VISIBLE_NM
    inside = (wl >= lo) & (wl <= hi)
    if min(wl[-1], hi) - max(wl[0], lo) < 50 or not (values[inside] > 0).any():
        raise InputError(f"illuminant CSV covers {wl[0]:g}–{wl[-1]:g} nm with no energy over the visible range "
                         f"({lo:g}–{hi:g} nm); expected a spectrum over the visible range", path=str(p))
    return wl, values


VISIBLE_NM = (380.0, 780.0)  # where the CIE observers see: a colour needs energy or bands in here


def check_visible(cube: HSCube, what: str = "relighting") -> None:
    """Refuse a cube with no band in the visible range (e.g. 800–1100 nm): it has no colour, and a render would
    be black — an answer that looks like one but is not."""
    wl = np.asarray(cube.wavelengths, dtype=np.float64)
    lo, hi = VISIBLE_NM
    if not ((wl >= lo) & (wl <= hi)).any():
        raise InputError(f"the cube's bands span {wl[0]:g}–{wl[-1]:g} nm, none in the visible range ({lo:g}–{hi:g} "
                         f"nm), so it has no colour for {what}; expected a cube with visible bands")


@lru_cache(maxsize=128)
def native_sd(key):
    """colour SpectralDistribution of a canonical spec, or of a ``("array", wl, values)`` key."""
    colour = _colour()
    if isinstance(key, tuple):
        wl, values = np.asarray(key[1]), np.asarray(key[2])
        if not np.allclose(np.diff(wl), wl[1] - wl[0]):  # irregular → linear onto a 1 nm grid
            fine = np.arange(np.ceil(wl[0]), np.floor(wl[-1]) + 1.0)
            wl, values = fine, np.interp(fine, wl, values)
        # Linear interpolation, as colour uses for its catalogue: no overshoot around sharp emission lines.
        return colour.SpectralDistribution(values, wl, name="custom", interpolator=colour.LinearInterpolator)
    kind, _, arg = key.partition(":")
    with _quiet():
        if kind == "cct" and arg:
            return colour.sd_blackbody(float(arg), colour.SpectralShape(360, 830, 1))
        if kind == "daylight" and arg:
            xy = colour.temperature.CCT_to_xy_CIE_D(float(arg))
            return colour.sd_CIE_illuminant_D_series(xy)
    return colour.SDS_ILLUMINANTS[key]


def illuminant_key(illuminant):
    """A hashable cache key: the canonical spec string, or ("array", wl, values) for CSV / explicit SPDs."""
    if isinstance(illuminant, str):
        spec = canonical_spec(illuminant)
        if spec.startswith("csv:"):
            wl, values = read_spd_csv(spec[4:])
            return ("array", tuple(wl.tolist()), tuple(values.tolist()))
        return spec
    colour = _colour()
    if isinstance(illuminant, colour.SpectralDistribution):
        return ("array", tuple(map(float, illuminant.wavelengths)), tuple(map(float, illuminant.values)))
    if isinstance(illuminant, tuple) and len(illuminant) == 2:  # (wavelengths, values)
        wl = validate_wavelengths(illuminant[0])
        values = np.asarray(illuminant[1], dtype=np.float64).reshape(-1)
        if values.shape != wl.shape or not np.isfinite(values).all():
            raise InputError(f"illuminant SPD has {values.size} finite values for {wl.size} wavelengths")
        return ("array", tuple(wl.tolist()), tuple(values.tolist()))
    raise InputError(f"illuminant {illuminant!r}; expected a name/spec string, a colour SpectralDistribution "
                     "or a (wavelengths, values) pair")


def illuminant_spd(spec, wavelengths) -> np.ndarray:
    """The illuminant's SPD on ``wavelengths`` (B,), float64, scaled to a maximum of 1.

    Resampling uses :func:`~hsi_studio.core.spectral.responses.resample_spectra` (triangle-averaged where the target
    grid is coarser, so fluorescent lines are integrated rather than point-sampled); beyond the SPD's
    tabulated range its edge value is repeated."""
    wl = validate_wavelengths(wavelengths)
    sd = native_sd(illuminant_key(spec))
    sd_wl = np.asarray(sd.wavelengths, dtype=np.float64)
    if sd_wl[-1] < wl[0] or sd_wl[0] > wl[-1]:
        raise InputError(f"illuminant {spec!r} covers {sd_wl[0]:g}–{sd_wl[-1]:g} nm, none of the cube's "
                         f"{wl[0]:g}–{wl[-1]:g} nm; expected an illuminant over the cube's wavelengths")
    values = resample_spectra(np.asarray(sd.values, dtype=np.float64), np.asarray(sd.wavelengths), wl,
                              outside="nearest")
    peak = float(values.max())
    if peak <= 0:
        raise InputError(f"illuminant {spec!r} has no energy between {wl[0]:g} and {wl[-1]:g} nm")
    return values / peak


def _white_xy(key, observer: str) -> list[float]:
    colour = _colour()
    sd = native_sd(key)
    with _quiet():
        xyz = colour.sd_to_XYZ(colour.sd_ones(sd.shape), colour.MSDS_CMFS[observer], sd) / 100.0
    return [round(float(v), 5) for v in colour.XYZ_to_xy(xyz)]


def illuminant_catalogue() -> list[dict]:
    """One record per catalogue illuminant (name, native range / step in nm, CIE 1931 xy of its white), then
    the three parametric forms (``cct:K``, ``daylight:K``, ``csv:PATH``) with their valid ranges."""
    records = []
    for name in list_illuminants():
        sd = native_sd(name)
        shape = sd.shape
        records.append({"name": name, "kind": "catalogue", "range_nm": [float(shape.start), float(shape.end)],
                        "step_nm": float(shape.interval), "xy": _white_xy(name, DEFAULT_OBSERVER)})
    records += [
        {"name": "cct:K", "kind": "blackbody", "range_K": list(CCT_RANGE),
         "description": "Planckian radiator at K kelvin (colour.sd_blackbody)"},
        {"name": "daylight:K", "kind": "daylight", "range_K": list(DAYLIGHT_RANGE),
         "description": "CIE daylight at CCT K (colour.sd_CIE_illuminant_D_series); D65 = daylight:6504"},
        {"name": "csv:PATH", "kind": "custom", "description": "two columns nm,value; header line allowed"},
    ]
    return records


__all__ = ["CCT_RANGE", "DAYLIGHT_RANGE", "DEFAULT_OBSERVER", "VISIBLE_NM", "canonical_spec", "check_visible",
           "illuminant_catalogue", "illuminant_key", "illuminant_spd", "list_illuminants", "native_sd", "norm_name",
           "read_spd_csv"]
