"""Training-free RGB → spectrum baselines, vectorised over whole images.

Public API
----------
``METHODS = ("mallett2019", "otsu2018", "minnorm")``
``recover(rgb, method, *, response=None, progress=None, cancel=None) -> HSCube``
    ``rgb``: an :class:`RGBImage` (sRGB-encoded photos are linearised first) or an H×W×3 array (float in
    [0, 1] or uint8/uint16, taken as sRGB-encoded unless ``encoding="linear"``). The cube has 31 bands on
    ``STANDARD_WAVELENGTHS`` (400–700 nm / 10 nm); ``metadata["method"]`` records ``physics:<method>``.

    * ``mallett2019`` — Mallett & Yuksel (2019): linear sRGB × the three sRGB basis spectra of
      ``colour.recovery.MSDS_BASIS_FUNCTIONS_sRGB_MALLETT2019`` (one matrix product). Reflectance under D65.
    * ``otsu2018`` — Otsu, Yamamoto & Hachisuka (2018): CIE xy picks one of 8 clusters through colour's
      selector tree, then a 3-basis + mean reconstruction with colour's published dataset, clipped to
      [0, 1]; the per-cluster matrices are computed once with colour's own ``sd_to_XYZ`` exactly as
      ``colour.recovery.XYZ_to_sd_Otsu2018`` does per pixel. Reflectance under D65.
    * ``minnorm`` — the minimum-norm spectrum ``x_obs(y)`` of :class:`~hsi_studio.core.spectral.responses.ObservableSplit`
      for the camera response (default ``cie1964-srgb``): reprojects exactly to the input RGB. Relative
      radiance.

``xyz_to_spectra(xyz, method) -> (..., 31)``: the same for CIE XYZ (scale 1, D65) input, float64 — the
per-pixel counterpart of ``colour.XYZ_to_sd(xyz, method=...)`` sampled on the standard grid.
``linear_srgb(rgb) -> (H, W, 3) float32``: the linear sRGB values ``recover`` works from.

Both colour-science methods produce spectra on their own grids (Mallett 380–780 nm / 5 nm, Otsu 380–730 nm /
10 nm); the standard grid's wavelengths are sampled from them (a selection, no smoothing), so every value
equals colour-science's spectral distribution at that wavelength.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError, ShapeError
from hsi_studio.core.jobs import CancelToken, ProgressTracker
from hsi_studio.core.spectral.responses import (
    STANDARD_WAVELENGTHS,
    CameraResponse,
    ObservableSplit,
    camera_response,
    srgb_decode,
)

METHODS = ("mallett2019", "otsu2018", "minnorm")
#: what the GUI and reports call each method
METHOD_LABELS = {"mallett2019": "Mallett 2019", "otsu2018": "Otsu 2018", "minnorm": "Minimum norm"}
COLOUR_METHOD_NAMES = {"mallett2019": "Mallett 2019", "otsu2018": "Otsu 2018"}
_CHUNK_PIXELS = 65536


def _colour():
    from hsi_studio.core.spectral._colour import colour

    return colour


def _quiet():
    from hsi_studio.core.spectral._colour import quiet

    return quiet()


def check_method(method: str) -> str:
    key = str(method).strip().lower().removeprefix("physics:")
    if key not in METHODS:
        raise InputError(f"unknown recovery method {method!r}; expected one of {', '.join(METHODS)}")
    return key


# ---------------------------------------------------------------------------------------------------------
# Colour-space matrices (row-vector convention: xyz = rgb @ M)
# ---------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _rgb_to_xyz() -> np.ndarray:
    """Linear sRGB → CIE XYZ (D65, scale 1), as ``colour.sRGB_to_XYZ`` without decoding."""
    m = np.asarray(_colour().sRGB_to_XYZ(np.eye(3), apply_cctf_decoding=False), dtype=np.float64)
    m.setflags(write=False)
    return m


@lru_cache(maxsize=1)
def _xyz_to_rgb() -> np.ndarray:
    """CIE XYZ → linear sRGB, exactly as ``colour.XYZ_to_sd(..., "Mallett 2019")`` converts its input."""
    m = np.asarray(_colour().XYZ_to_sRGB(np.eye(3), apply_cctf_encoding=False), dtype=np.float64)
    m.setflags(write=False)
    return m


def _sample(values: np.ndarray, src_wl: np.ndarray) -> np.ndarray:
    """Columns of ``values`` (K, …) at the standard wavelengths (linear interpolation; exact on-grid)."""
    src = np.asarray(src_wl, dtype=np.float64)
    if STANDARD_WAVELENGTHS[0] < src[0] or STANDARD_WAVELENGTHS[-1] > src[-1]:
        raise ShapeError(f"basis covers {src[0]:g}–{src[-1]:g} nm; expected 400–700 nm")
    flat = values.reshape(values.shape[0], -1)
    out = np.stack([np.interp(STANDARD_WAVELENGTHS, src, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape((STANDARD_WAVELENGTHS.size,) + values.shape[1:])


# ---------------------------------------------------------------------------------------------------------
# Mallett & Yuksel 2019
# ---------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def mallett_basis() -> np.ndarray:
    """(3, 31): the R, G, B basis reflectances on the standard grid; spectrum = linear sRGB @ basis."""
    msds = _colour().recovery.MSDS_BASIS_FUNCTIONS_sRGB_MALLETT2019
    basis = _sample(np.asarray(msds.values, dtype=np.float64), msds.wavelengths).T
    basis.setflags(write=False)
    return basis


# ---------------------------------------------------------------------------------------------------------
# Otsu, Yamamoto & Hachisuka 2018
# ---------------------------------------------------------------------------------------------------------
class _OtsuTables:
    """Per-cluster affine maps ``spectrum = clip(xyz @ A[k] + b[k], 0, 1)`` on the standard grid and the
    selector tree, computed once from colour's dataset with colour's ``sd_to_XYZ``."""

    def __init__(self) -> None:
        colour = _colour()
        from colour.colorimetry import handle_spectral_arguments
        from colour.recovery import (
            BASIS_FUNCTIONS_OTSU2018,
            CLUSTER_MEANS_OTSU2018,
            SELECTOR_ARRAY_OTSU2018,
            SPECTRAL_SHAPE_OTSU2018,
        )

        shape = SPECTRAL_SHAPE_OTSU2018
        wl = shape.wavelengths
        cmfs, illuminant = handle_spectral_arguments(None, None, shape_default=shape)
        basis = np.asarray(BASIS_FUNCTIONS_OTSU2018, dtype=np.float64)  # (K, 3, L)
        means = np.asarray(CLUSTER_MEANS_OTSU2018, dtype=np.float64)  # (K, L)

        def to_xyz(values: np.ndarray) -> np.ndarray:
            with colour.utilities.domain_range_scale("ignore"):
                return colour.sd_to_XYZ(colour.SpectralDistribution(values, wl), cmfs, illuminant) / 100

        a_list, b_list = [], []
        for k in range(basis.shape[0]):
            m = np.stack([to_xyz(basis[k, i]) for i in range(3)], axis=1)  # columns: XYZ of each basis
            m_inv = np.linalg.inv(m)
            xyz_mu = to_xyz(means[k])
            a = m_inv.T @ basis[k]  # (3, L)
            b = means[k] - xyz_mu @ m_inv.T @ basis[k]
            a_list.append(_sample(a.T, wl).T)
            b_list.append(_sample(b, wl))
        self.A = np.stack(a_list)  # (K, 3, 31)
        self.b = np.stack(b_list)  # (K, 31)
        self.selector = np.asarray(SELECTOR_ARRAY_OTSU2018, dtype=np.float64)

    def select(self, xy: np.ndarray) -> np.ndarray:
        """Cluster index per row of ``xy`` (N, 2): colour's ``Dataset_Otsu2018.select`` tree walk, vectorised."""
        n = xy.shape[0]
        cluster = np.empty(n, dtype=np.intp)
        node = np.zeros(n, dtype=np.intp)
        active = np.arange(n)
        for _ in range(self.selector.shape[0] + 1):
            if active.size == 0:
                return cluster
            origin, direction, lesser, greater = self.selector[node[active]].T
            go_lesser = xy[active, direction.astype(np.intp)] <= origin
            nxt = np.where(go_lesser, lesser, greater).astype(np.intp)
            leaf = nxt >= 0
            cluster[active[leaf]] = nxt[leaf]
            node[active[~leaf]] = -nxt[~leaf]
            active = active[~leaf]
        raise RuntimeError("Otsu 2018 selector tree did not terminate")  # a malformed dataset

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        colour = _colour()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 for black: colour returns xy = (0, 0)
            xy = np.asarray(colour.XYZ_to_xy(xyz), dtype=np.float64)
        cluster = self.select(xy)
        out = np.empty((xyz.shape[0], STANDARD_WAVELENGTHS.size), dtype=np.float64)
        for k in np.unique(cluster):
            rows = np.flatnonzero(cluster == k)
            out[rows] = xyz[rows] @ self.A[k] + self.b[k]
        return np.clip(out, 0.0, 1.0, out=out)


@lru_cache(maxsize=1)
def _otsu_tables() -> _OtsuTables:
    with _quiet():
        return _OtsuTables()


# ---------------------------------------------------------------------------------------------------------
# Minimum norm
# ---------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _split_for_name(name: str) -> ObservableSplit:
    return ObservableSplit(camera_response(name, STANDARD_WAVELENGTHS))


def _split(response) -> ObservableSplit:
    if response is None:
        return _split_for_name("cie1964-srgb")
    if isinstance(response, str):
        return _split_for_name(response.strip().lower())
    if isinstance(response, CameraResponse):
        return ObservableSplit(response.resampled(STANDARD_WAVELENGTHS))
    raise InputError(f"camera response {response!r}; expected a name, csv:PATH or a CameraResponse")


# ---------------------------------------------------------------------------------------------------------
# Per-pixel entry points
# ---------------------------------------------------------------------------------------------------------
def xyz_to_spectra(xyz, method: str) -> np.ndarray:
    """CIE XYZ (..., 3), scale 1, D65 → reflectance (..., 31) on the standard grid (``mallett2019`` or
    ``otsu2018``); agrees with ``colour.XYZ_to_sd(xyz, method=...)`` at those wavelengths."""
    key = check_method(method)
    if key == "minnorm":
        raise InputError("minnorm works from camera RGB, not XYZ; use recover() with a linear RGB image")
    arr = np.asarray(xyz, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ShapeError(f"XYZ array has shape {arr.shape}; expected (..., 3)")
    flat = arr.reshape(-1, 3)
    if key == "mallett2019":
        out = flat @ _xyz_to_rgb() @ mallett_basis()
    else:
        out = _otsu_tables()(flat)
    return out.reshape(arr.shape[:-1] + (STANDARD_WAVELENGTHS.size,))


def _spectra_from_linear(rgb: np.ndarray, key: str, split: ObservableSplit | None) -> np.ndarray:
    """(N, 3) linear sRGB (float32) → (N, 31) float32."""
    if key == "mallett2019":
        return rgb @ mallett_basis().astype(np.float32)
    if key == "otsu2018":
        return _otsu_tables()(rgb.astype(np.float64) @ _rgb_to_xyz()).astype(np.float32)
    return split.x_obs(rgb).astype(np.float32, copy=False)


def linear_srgb(rgb, encoding: str = "srgb") -> tuple[np.ndarray, dict]:
    """(linear RGB float32 (H, W, 3), metadata) from an :class:`RGBImage` or an array."""
    if isinstance(rgb, RGBImage):
        img = rgb
    else:
        arr = np.asarray(rgb)
        if arr.dtype == np.uint8 or arr.dtype == np.uint16:
            arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
        img = RGBImage(arr, encoding)
    data = srgb_decode(img.data) if img.encoding == "srgb" else img.data
    return np.ascontiguousarray(data, dtype=np.float32), img.metadata


def recover(rgb, method: str, *, response=None, progress=None, cancel: CancelToken | None = None,
            encoding: str = "srgb") -> HSCube:
    """Reconstruct a 31-band cube from an RGB image with a training-free method (see the module doc).

    Works in chunks of rows; ``progress(fraction, message)`` is called after each and ``cancel`` is checked
    between them (raising :class:`~hsi_studio.core.jobs.Cancelled`)."""
    key = check_method(method)
    linear, meta = linear_srgb(rgb, encoding)
    split = _split(response) if key == "minnorm" else None
    if split is not None and split.bands != STANDARD_WAVELENGTHS.size:
        raise ShapeError(f"camera response has {split.bands} bands; expected {STANDARD_WAVELENGTHS.size}")
    h, w, _ = linear.shape
    out = np.empty((h, w, STANDARD_WAVELENGTHS.size), dtype=np.float32)
    rows = max(1, _CHUNK_PIXELS // w)
    tracker = ProgressTracker((h + rows - 1) // rows, progress, cancel)
    tracker.cancel.check()
    for top in range(0, h, rows):
        block = linear[top:top + rows].reshape(-1, 3)
        out[top:top + rows] = _spectra_from_linear(block, key, split).reshape(-1, w, STANDARD_WAVELENGTHS.size)
        tracker.step(f"{COLOUR_METHOD_NAMES.get(key, key)}: rows {top}–{min(top + rows, h)} of {h}")
    md = {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}
    md["method"] = f"physics:{key}"
    if split is not None:
        md["response"] = split.response.name if split.response is not None else "custom"
    else:
        md["illuminant"] = "D65"
    return HSCube(out, STANDARD_WAVELENGTHS.copy(), md, kind="radiance" if key == "minnorm" else "reflectance")


__all__ = ["METHODS", "check_method", "linear_srgb", "mallett_basis", "recover", "xyz_to_spectra"]
