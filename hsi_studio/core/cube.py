"""The one cube type (H×W×B float32 + wavelengths in nm) and the RGB image type, with boundary validation.

Validation never fixes input silently: a bad array raises an :mod:`hsi_studio.core.errors` exception whose
message says what was received and what was expected.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hsi_studio.core import settings
from hsi_studio.core.errors import (
    ColorModeError,
    InputError,
    NonFiniteError,
    ShapeError,
    SizeLimitError,
    WavelengthError,
)

# Size budgets, checked from headers before decoding (io) and on construction (here).
MAX_PIXELS = 16384 * 16384  # 268 M pixels: larger images are refused, not decoded
MAX_CUBE_BYTES = 16 * 1024**3  # 16 GiB of float32 cube data
MIN_BANDS = 3
MAX_BANDS = 2048


def check_size(height: int, width: int, bands: int = 1, *, what: str = "image", itemsize: int = 4) -> None:
    """Raise :class:`SizeLimitError` (or :class:`ShapeError` for empty axes) before anything is allocated."""
    height, width, bands = int(height), int(width), int(bands)
    if height <= 0 or width <= 0 or bands <= 0:
        raise ShapeError(f"{what} has an empty axis ({height}×{width}×{bands}); expected at least 1×1 pixels")
    if height * width > MAX_PIXELS:
        raise SizeLimitError(
            f"{what} claims {height}×{width} = {height * width:,} pixels; the limit is {MAX_PIXELS:,} pixels"
        )
    nbytes = height * width * bands * itemsize
    if nbytes > MAX_CUBE_BYTES:
        raise SizeLimitError(
            f"{what} of {height}×{width}×{bands} would need {nbytes / 1024**3:.1f} GiB; "
            f"the limit is {MAX_CUBE_BYTES / 1024**3:.0f} GiB"
        )


MEMORY_ENV = settings.ENV_MAX_MEMORY  # e.g. "4G", "512M" or bytes: the decode budget instead of free memory
MEMORY_FRACTION = 0.8  # of the memory available to this process


def _parse_bytes(text: str) -> int | None:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t) * scale
    except ValueError:
        return None
    return int(value) if value > 0 and value == value else None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes this process may still allocate: free memory (MemAvailable), capped by a cgroup memory limit
    and an address-space rlimit when set; None where it cannot be told."""
    limits = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    cap, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if cap is None:
        cap, used = (_read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                     _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    if cap is not None and cap < 2**60:
        limits.append(max(cap - (used or 0), 0))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            vm = (_read_int_field("/proc/self/statm") or 0) * resource.getpagesize()
            limits.append(max(soft - vm, 0))
    except (ImportError, OSError, ValueError):
        pass
    return min(limits) if limits else None


def _read_int_field(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def memory_budget() -> int:
    """Bytes a decode may take: ``$HSI_STUDIO_MAX_MEMORY`` (or the settings file's ``max_memory``) when set, else
    80 % of the available memory."""
    setting = settings.max_memory_setting()
    if setting:
        value = _parse_bytes(setting)
        if value is not None:
            return value
    avail = available_memory()
    return int(avail * MEMORY_FRACTION) if avail is not None else 2 * MAX_CUBE_BYTES


def check_memory(nbytes: int, what: str) -> None:
    """Refuse, from a header, a decode whose peak (``nbytes``) exceeds :func:`memory_budget`."""
    budget = memory_budget()
    if nbytes > budget:
        raise SizeLimitError(f"{what} would take about {nbytes / 1024**3:.2f} GiB of memory to decode; the limit "
                             f"is {budget / 1024**3:.2f} GiB (available memory; set {MEMORY_ENV} to change it)")


def validate_wavelengths(wavelengths: Any, bands: int | None = None) -> np.ndarray:
    """Return wavelengths as float64 1-D, strictly increasing, positive, finite; else :class:`WavelengthError`."""
    try:
        wl = np.asarray(wavelengths, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise WavelengthError(f"wavelengths are not numbers ({exc}); expected a list of nm values") from None
    if wl.size == 0:
        raise WavelengthError("no wavelengths given; expected one value in nm per band")
    if not np.all(np.isfinite(wl)):
        raise WavelengthError("wavelengths contain NaN/Inf; expected finite values in nm")
    if np.any(wl <= 0):
        raise WavelengthError(f"wavelengths must be positive nm values; got minimum {wl.min():g}")
    if wl.size > 1 and np.any(np.diff(wl) <= 0):
        raise WavelengthError(
            f"wavelengths must be strictly increasing; got {wl[:5].tolist()}{'…' if wl.size > 5 else ''}"
        )
    if bands is not None and wl.size != bands:
        raise WavelengthError(f"got {wl.size} wavelengths for {bands} bands; expected one wavelength per band")
    return wl


def _as_float32_image(data: Any, what: str) -> np.ndarray:
    arr = np.asarray(data)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{what} has dtype {arr.dtype}; expected a numeric array")
    if np.iscomplexobj(arr):
        raise InputError(f"{what} is complex-valued; expected real numbers")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_finite(arr: np.ndarray, what: str) -> None:
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(f"{what} holds {bad:,} NaN/Inf values; expected finite numbers everywhere")


class _Raster:
    """Height, width and shape of an (H, W, C) ``data`` array: what a cube and an RGB image share."""

    data: np.ndarray

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)  # type: ignore[return-value]


@dataclass(eq=False)
class HSCube(_Raster):
    """A hyperspectral cube: ``data`` float32 H×W×B (wavelengths last), ``wavelengths`` float64 (B,) in nm.

    ``metadata`` is free-form (source file, units, illuminant…). ``kind`` says what the values are:
    ``"radiance"`` (relative radiance, the default for reconstructions), ``"reflectance"`` or ``"unknown"``.
    """

    data: np.ndarray
    wavelengths: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = "unknown"

    def __post_init__(self) -> None:
        arr = _as_float32_image(self.data, "cube")
        if arr.ndim != 3:
            raise ShapeError(f"cube has shape {arr.shape}; expected 3 axes (height, width, bands)")
        h, w, b = arr.shape
        check_size(h, w, b, what="cube")
        if not (MIN_BANDS <= b <= MAX_BANDS):
            raise ShapeError(f"cube has {b} bands; expected between {MIN_BANDS} and {MAX_BANDS}")
        _check_finite(arr, "cube")
        self.data = arr
        self.wavelengths = validate_wavelengths(self.wavelengths, b)
        if self.kind not in ("radiance", "reflectance", "unknown"):
            raise InputError(f"cube kind {self.kind!r}; expected 'radiance', 'reflectance' or 'unknown'")
        self.metadata = dict(self.metadata)

    # -- shape (height, width, shape: _Raster) ----------------------------------------------------------------
    @property
    def bands(self) -> int:
        return int(self.data.shape[2])

    # -- access ----------------------------------------------------------------------------------------------
    def band_index(self, nm: float) -> int:
        """Index of the band nearest to ``nm``."""
        return int(np.argmin(np.abs(self.wavelengths - float(nm))))

    def band(self, nm: float) -> np.ndarray:
        return self.data[:, :, self.band_index(nm)]

    def spectrum(self, row: int, col: int) -> np.ndarray:
        if not (0 <= row < self.height and 0 <= col < self.width):
            raise InputError(f"pixel ({row}, {col}) is outside the {self.height}×{self.width} cube")
        return self.data[row, col, :]

    def crop(self, top: int, left: int, height: int, width: int) -> HSCube:
        return self.with_data(self.data[top : top + height, left : left + width, :])

    def with_data(self, data: np.ndarray, wavelengths: np.ndarray | None = None, **meta: Any) -> HSCube:
        """A new cube with the same metadata/kind and new data (and optionally new wavelengths)."""
        md = copy.deepcopy(self.metadata)
        md.update(meta)
        return HSCube(data, self.wavelengths if wavelengths is None else wavelengths, md, self.kind)

    def same_grid(self, other: HSCube, *, tol_nm: float = 1e-3) -> bool:
        return self.bands == other.bands and bool(np.all(np.abs(self.wavelengths - other.wavelengths) <= tol_nm))

    def require_same_grid(self, other: HSCube, what: str = "cubes") -> None:
        if not self.same_grid(other):
            raise WavelengthError(
                f"{what} have different wavelength grids: {_grid_str(self.wavelengths)} vs "
                f"{_grid_str(other.wavelengths)}; expected identical grids (resample one first)"
            )

    def summary(self) -> dict[str, Any]:
        d = self.data
        return {
            "type": "cube",
            "height": self.height,
            "width": self.width,
            "bands": self.bands,
            "wavelengths_nm": [round(float(x), 4) for x in self.wavelengths],
            "range_nm": [float(self.wavelengths[0]), float(self.wavelengths[-1])],
            "kind": self.kind,
            "min": float(d.min()),
            "max": float(d.max()),
            "mean": float(d.mean()),
            "metadata": {k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float, bool))},
        }


def _grid_str(wl: np.ndarray) -> str:
    if wl.size > 1:
        return f"{wl.size} bands {wl[0]:g}–{wl[-1]:g} nm"
    return f"1 band at {wl[0]:g} nm"


# Linear RGB may leave [0, 1]: a wide-gamut photo (Display P3, Adobe RGB) converted to linear sRGB keeps colours
# outside sRGB as components below 0 or above 1; a chart-calibrated photo is on the chart's reflectance scale.
LINEAR_RANGE = (-0.5, 1.5)


@dataclass(eq=False)
class RGBImage(_Raster):
    """An RGB image: ``data`` float32 H×W×3. ``encoding`` is ``"srgb"`` (gamma-encoded, as photos are; values
    in [0, 1]) or ``"linear"`` (linear sRGB, D65; values in :data:`LINEAR_RANGE`, so colours outside the sRGB
    gamut are kept). ``bit_depth`` records the source file's depth (8, 16, 32 for float)."""

    data: np.ndarray
    encoding: str = "srgb"
    metadata: dict[str, Any] = field(default_factory=dict)
    bit_depth: int = 8

    def __post_init__(self) -> None:
        arr = _as_float32_image(self.data, "RGB image")
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 1):
            raise ColorModeError(
                f"image is grayscale ({arr.shape[0]}×{arr.shape[1]}, 1 channel); expected an RGB colour image "
                "with 3 channels (spectral reconstruction needs colour)"
            )
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ShapeError(f"RGB image has shape {arr.shape}; expected (height, width, 3)")
        check_size(arr.shape[0], arr.shape[1], 3, what="RGB image")
        _check_finite(arr, "RGB image")
        if self.encoding not in ("srgb", "linear"):
            raise InputError(f"RGB encoding {self.encoding!r}; expected 'srgb' or 'linear'")
        lo, hi = float(arr.min()), float(arr.max())
        bottom, top = (0.0, 1.0) if self.encoding == "srgb" else LINEAR_RANGE
        if lo < bottom - 1e-6 or hi > top + 1e-6:
            raise InputError(
                f"RGB values span [{lo:g}, {hi:g}]; expected values in [{bottom:g}, {top:g}] for "
                f"{'sRGB-encoded' if self.encoding == 'srgb' else 'linear'} RGB (scale integer images first)"
            )
        self.data = arr
        self.metadata = dict(self.metadata)

    def display_srgb(self) -> np.ndarray:
        """sRGB-encoded float32 in [0, 1] for showing the photo (linear data is encoded; out-of-gamut clipped)."""
        if self.encoding == "srgb":
            return self.data
        x = np.clip(self.data, 0.0, 1.0)
        return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)

    @property
    def colour_space(self) -> str:
        """What the photo's colours were read as (see :mod:`~hsi_studio.core.io.profiles`)."""
        default = "sRGB" if self.encoding == "srgb" else "linear sRGB"
        return str(self.metadata.get("colour_space", default))

    def summary(self) -> dict[str, Any]:
        return {
            "type": "rgb",
            "height": self.height,
            "width": self.width,
            "channels": 3,
            "encoding": self.encoding,
            "colour_space": self.colour_space,
            "bit_depth": self.bit_depth,
            "min": float(self.data.min()),
            "max": float(self.data.max()),
            "metadata": {k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float, bool))},
        }


# ---------------------------------------------------------------------------------------------------------
# Centre crops (the one rule: evaluation, scoring and the training validation pairs all crop with it)
# ---------------------------------------------------------------------------------------------------------
def crop_shape(crop: Any) -> tuple[int, int]:
    """``crop`` (one side of a square, or ``(height, width)``) as (height, width) pixels, each ≥ 1."""
    try:
        h, w = (crop, crop) if np.isscalar(crop) else tuple(crop)
        h, w = int(h), int(w)
    except (TypeError, ValueError):
        raise ShapeError(f"crop {crop!r}; expected a positive size in pixels") from None
    if h < 1 or w < 1:
        raise ShapeError(f"crop {crop!r}; expected a positive size in pixels")
    return h, w


def centre_crop(x: Any, crop: Any, *, strict: bool = False) -> Any:
    """The central window of an H×W(×…) array, or of an :class:`HSCube` (wavelengths, metadata and kind kept).

    ``crop`` is one side of a square, ``(height, width)``, or None (``x`` as is). An axis shorter than the
    window is kept whole (the window is clamped to the image) — unless ``strict``, which refuses it with a
    :class:`ShapeError` (a protocol that crops borders away, such as NTIRE's, cannot be followed then). An
    array comes back as a view; a cube that needs no cropping comes back itself."""
    if crop is None:
        return x
    h, w = crop_shape(crop)
    arr = x.data if isinstance(x, HSCube) else x
    ah, aw = arr.shape[:2]
    if strict and (h > ah or w > aw):
        raise ShapeError(f"crop {crop} px does not fit a {ah}×{aw} image; expected 1–{min(ah, aw)}")
    if not isinstance(x, HSCube):
        top, left = max(0, (ah - h) // 2), max(0, (aw - w) // 2)
        return arr[top : top + h, left : left + w]
    if h >= ah and w >= aw:
        return x
    return HSCube(np.ascontiguousarray(centre_crop(arr, (h, w))), x.wavelengths, dict(x.metadata), kind=x.kind)


__all__ = ["HSCube", "RGBImage", "LINEAR_RANGE", "centre_crop", "check_size", "crop_shape", "check_memory", "memory_budget", "validate_wavelengths", "MAX_PIXELS",
           "MAX_CUBE_BYTES"]
