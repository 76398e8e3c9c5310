"""Spectral libraries: named reference spectra on one wavelength grid, read from and written to ENVI spectral
library files (``.sli`` + ``.hdr``, through SPy's :class:`spectral.io.envi.SpectralLibrary`) and CSV.

CSV layout (the one the spectrum plot exports): a header row ``wavelength_nm, name1, name2, …`` then one row per
wavelength; columns whose name ends in `` std`` are skipped. Writes are atomic (:mod:`.atomic`). The project ships
one library of its own making, the 24 ColorChecker patches (colour-science's "ColorChecker N Ohta"
reflectances), made by ``resources/make_analysis_library.py``.
"""

from __future__ import annotations

import csv
import io as _io
import os
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from hsi_studio.core.cube import validate_wavelengths
from hsi_studio.core.errors import (
    FileFormatError,
    InputError,
    NonFiniteError,
    ShapeError,
    SizeLimitError,
    UnsupportedFormatError,
    WavelengthError,
    check_regular_file,
)

# importlib.resources: a checkout, a wheel and a frozen (one-folder) bundle all keep the files on disk
BUILTIN_DIR = Path(str(resources.files("hsi_studio"))) / "resources" / "libraries"
BUILTIN = {"colorchecker": BUILTIN_DIR / "colorchecker_ohta.sli"}
MAX_SPECTRA = 100_000  # spectra in one library; matching a cube against N spectra keeps H×W×N angles


def _check_count(n: int) -> None:
    if n > MAX_SPECTRA:
        raise SizeLimitError(f"the library holds {n:,} spectra; expected at most {MAX_SPECTRA:,}")


@dataclass(eq=False)
class SpectralLibrary:
    """``spectra`` (N, B) float64 on ``wavelengths`` (B,) nm, one name each."""

    names: list[str]
    wavelengths: np.ndarray
    spectra: np.ndarray
    description: str = ""
    colours: list[tuple[int, int, int]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        spectra = np.asarray(self.spectra, dtype=np.float64)
        if spectra.ndim == 1:
            spectra = spectra[None, :]
        if spectra.ndim != 2:
            raise ShapeError(f"library spectra have shape {spectra.shape}; expected (spectra, bands)")
        _check_count(spectra.shape[0])
        self.wavelengths = validate_wavelengths(self.wavelengths, spectra.shape[1])
        if not np.isfinite(spectra).all():
            bad = [self.names[i] for i in np.nonzero(~np.isfinite(spectra).all(axis=1))[0][:3]]
            raise NonFiniteError(f"library spectra {bad} hold NaN or Inf; expected finite values")
        self.names = [str(n) for n in self.names]
        if len(self.names) != spectra.shape[0]:
            raise ShapeError(f"library has {spectra.shape[0]} spectra but {len(self.names)} names; expected one each")
        self.spectra = spectra

    def __len__(self) -> int:
        return self.spectra.shape[0]

    @property
    def bands(self) -> int:
        return self.wavelengths.size

    def spectrum(self, name: str) -> np.ndarray:
        try:
            return self.spectra[self.names.index(name)]
        except ValueError:
            raise InputError(f"no spectrum named {name!r} in the library; expected one of "
                             f"{', '.join(self.names[:8])}{' …' if len(self) > 8 else ''}") from None

    def add(self, name: str, spectrum, wavelengths=None) -> SpectralLibrary:
        """A new library with ``spectrum`` appended (resampled onto this grid when ``wavelengths`` differ)."""
        values = np.asarray(spectrum, dtype=np.float64).reshape(1, -1)
        if wavelengths is not None:
            values = SpectralLibrary([name], wavelengths, values).on_grid(self.wavelengths)[0].spectra
        elif values.shape[1] != self.bands:
            raise ShapeError(f"spectrum {name!r} has {values.shape[1]} values; expected {self.bands} (the library's "
                             "bands)")
        return SpectralLibrary([*self.names, name], self.wavelengths, np.vstack([self.spectra, values]),
                               self.description)

    def on_grid(self, wavelengths) -> tuple[SpectralLibrary, str]:
        """(the library on ``wavelengths``, a note saying what was done: "" when the grids already match).

        A library covering the target range is resampled (and the note says so); one that does not cover it is
        refused with :class:`WavelengthError` naming both ranges."""
        dst = validate_wavelengths(wavelengths)
        src = self.wavelengths
        if src.size == dst.size and np.allclose(src, dst, atol=1e-6):
            return self, ""
        tol = 0.5 * (float(np.median(np.diff(dst))) if dst.size > 1 else 1.0)
        if src[0] > dst[0] + tol or src[-1] < dst[-1] - tol:
            raise WavelengthError(
                f"the library covers {src[0]:g}–{src[-1]:g} nm ({src.size} bands) but the cube needs "
                f"{dst[0]:g}–{dst[-1]:g} nm ({dst.size} bands); expected a library spanning the cube's range")
        from hsi_studio.core.spectral.responses import resample_spectra

        values = resample_spectra(self.spectra, src, dst, outside="nearest")
        note = (f"library resampled from {src.size} bands ({src[0]:g}–{src[-1]:g} nm) to the cube's {dst.size} "
                f"bands ({dst[0]:g}–{dst[-1]:g} nm)")
        return SpectralLibrary(list(self.names), dst, values, self.description), note


# ---------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------
def read_library(path: str | os.PathLike[str]) -> SpectralLibrary:
    """Read an ENVI spectral library (``.sli`` or its ``.hdr``) or a CSV library; ``builtin:colorchecker``
    names the shipped one."""
    text = os.fspath(path)
    if text.startswith("builtin:"):
        key = text.split(":", 1)[1]
        if key not in BUILTIN:
            raise InputError(f"unknown built-in library {key!r}; expected one of {', '.join(BUILTIN)}")
        return read_library(BUILTIN[key])
    p = Path(text)
    ext = p.suffix.lower()
    if ext in (".sli", ".hdr"):
        for f in (p.with_suffix(".hdr"), p.with_suffix(".sli")):
            check_regular_file(f, "an ENVI spectral library file (.sli data with its .hdr)")
        return _read_sli(p)
    if ext in (".csv", ".txt"):
        check_regular_file(p, "a spectral library CSV (wavelength_nm, one column per spectrum)")
        return _read_csv(p)
    raise UnsupportedFormatError(f"library {p.name!r} has extension {ext or '(none)'}; expected .sli, .hdr or .csv")


def _read_sli(p: Path) -> SpectralLibrary:
    from spectral.io import envi

    hdr, sli = p.with_suffix(".hdr"), p.with_suffix(".sli")
    for f in (hdr, sli):
        if not f.is_file():
            raise FileFormatError(f"missing {f.name}; an ENVI spectral library is a .sli data file with its .hdr",
                                  path=str(p))
    try:
        lib = envi.open(str(hdr), str(sli))
    except Exception as exc:  # SPy raises many kinds for a bad header
        raise FileFormatError(f"not a readable ENVI spectral library ({exc.__class__.__name__}: {exc})",
                              path=str(p)) from None
    if not isinstance(lib, envi.SpectralLibrary):
        raise FileFormatError("the header describes an image, not a spectral library ('file type = ENVI Spectral "
                              "Library' expected)", path=str(p))
    try:
        _check_count(np.shape(lib.spectra)[0])
    except SizeLimitError as exc:
        raise SizeLimitError(str(exc), path=str(p)) from None
    centers = lib.bands.centers
    spectra = np.asarray(lib.spectra, dtype=np.float64)
    if not centers:
        raise WavelengthError("the library header has no 'wavelength' list; expected band centres", path=str(p))
    wl = np.asarray(centers, dtype=np.float64) * _unit_scale(str(lib.bands.band_unit), centers, p)
    names = list(lib.names)
    desc = lib.metadata.get("description", "")
    return SpectralLibrary(names, wl, spectra, " ".join(str(desc).split()))


def _unit_scale(unit: str, centers, p: Path) -> float:
    u = unit.strip().lower()
    if u in ("nanometers", "nanometer", "nm"):
        return 1.0
    if u in ("micrometers", "micrometer", "microns", "micron", "um", "µm"):
        return 1000.0
    if max(float(c) for c in centers) < 30.0:
        warnings.warn(f"{p.name}: wavelength units {unit!r}; the values (< 30) are read as micrometres",
                      stacklevel=3)
        return 1000.0
    return 1.0


def _read_csv(p: Path) -> SpectralLibrary:
    from hsi_studio.core.spectral.responses import CSV_MAX_BYTES, csv_rows

    try:
        if p.stat().st_size > CSV_MAX_BYTES:
            raise FileFormatError(f"the library CSV is {p.stat().st_size:,} bytes; expected a text table under "
                                  f"{CSV_MAX_BYTES // 1024**2} MiB", path=str(p))
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read the library CSV ({exc.__class__.__name__}); expected a text file",
                              path=str(p)) from None
    try:
        table_rows = csv_rows(text, "library CSV", p)
    except InputError as exc:
        raise FileFormatError(str(exc)) from None
    rows = [r for r in table_rows if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise FileFormatError("the CSV is empty; expected wavelength_nm then one column per spectrum", path=str(p))
    header = None
    try:
        float(rows[0][0])
    except ValueError:
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    try:
        table = np.asarray([[float(c) for c in r] for r in rows], dtype=np.float64)
    except ValueError:
        raise FileFormatError("non-numeric cells below the header; expected numbers (wavelength_nm, values …)",
                              path=str(p)) from None
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] < 2:
        raise FileFormatError(f"the CSV holds {table.shape} numbers; expected ≥ 2 rows of wavelength_nm plus at least "
                              "one spectrum column", path=str(p))
    names = header[1:] if header and len(header) == table.shape[1] else [f"spectrum {i + 1}"
                                                                          for i in range(table.shape[1] - 1)]
    keep = [i for i, n in enumerate(names) if not n.endswith(" std")]
    try:
        return SpectralLibrary([names[i] for i in keep], table[:, 0], table[:, 1:][:, keep].T)
    except InputError as exc:
        raise type(exc)(str(exc), path=str(p)) from None


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------
def write_library(lib: SpectralLibrary, path: str | os.PathLike[str]) -> Path:
    """Write ``lib`` as an ENVI spectral library (``.sli``/``.hdr`` path: both files) or CSV, atomically.
    Returns the path of the data file (``.sli``) or the CSV."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext in (".sli", ".hdr"):
        return _write_sli(lib, p.with_suffix(".sli"))
    if ext == ".csv":
        return _write_csv(lib, p)
    raise UnsupportedFormatError(f"cannot write a library as {ext or '(no extension)'}; expected .sli or .csv")


def envi_names(names: list[str]) -> list[str]:
    """Names ENVI's brace list can hold: ``, { }`` and line breaks become ``;`` / spaces (with a warning)."""
    out = []
    for n in names:
        clean = n.replace(",", ";").replace("{", "(").replace("}", ")").replace("\n", " ").replace("\r", " ")
        out.append(" ".join(clean.split()) or "unnamed")
    changed = [n for n, c in zip(names, out, strict=True) if n != c]
    if changed:
        warnings.warn(f"spectrum names {changed[:3]} hold characters ENVI headers cannot (, {{ }}); written with "
                      "; ( ) instead", stacklevel=3)
    return out


def _write_sli(lib: SpectralLibrary, sli: Path) -> Path:
    from spectral.io import envi

    from hsi_studio.core.storage.atomic import atomic_pair

    names = envi_names(lib.names)
    header = {"wavelength": [f"{w:g}" for w in lib.wavelengths], "spectra names": names,
              "wavelength units": "nanometers"}
    spy_lib = envi.SpectralLibrary(lib.spectra.astype(np.float32), header)
    with atomic_pair(sli, sli.with_suffix(".hdr")) as base:
        spy_lib.save(str(base), lib.description or "HSI Studio spectral library")
    return sli


def _write_csv(lib: SpectralLibrary, p: Path) -> Path:
    from hsi_studio.core.storage.atomic import atomic_write

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["wavelength_nm", *lib.names])
    for i, wl in enumerate(lib.wavelengths):
        w.writerow([f"{wl:g}", *(f"{v:.7g}" for v in lib.spectra[:, i])])
    with atomic_write(p) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return p


def builtin_library(name: str = "colorchecker") -> SpectralLibrary:
    return read_library(f"builtin:{name}")


def display_colours(lib: SpectralLibrary, illuminant: str = "D65") -> np.ndarray | None:
    """Each entry's colour as sRGB uint8 (N, 3): the spectrum taken as a reflectance and rendered under
    ``illuminant`` (colour-science's CIE 1931 observer, :func:`~hsi_studio.core.spectral.relight.render_matrix`). An
    entry brighter than white (a radiance, class means of a bright cube) is scaled down to keep its hue. None
    when the library has no band in the visible range."""
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.spectral.relight import render_matrix
    from hsi_studio.core.spectral.responses import srgb_encode

    try:
        m = render_matrix(lib.wavelengths, illuminant)
    except InputError:
        return None
    if not np.any(m):
        return None
    linear = np.nan_to_num(np.asarray(lib.spectra, np.float64) @ m)
    peak = linear.max(axis=1, keepdims=True)
    linear = np.clip(linear / np.maximum(peak, 1.0), 0.0, 1.0)
    return (np.clip(srgb_encode(linear), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


__all__ = ["BUILTIN", "SpectralLibrary", "builtin_library", "display_colours", "envi_names", "read_library",
           "write_library"]
