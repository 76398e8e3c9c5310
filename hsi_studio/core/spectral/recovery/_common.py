"""What the training-free methods share: colour-science (imported lazily), the colour-space matrices, sampling a
basis on the standard grid, and the observable split of a camera response."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hsi_studio.core.errors import InputError, ShapeError
from hsi_studio.core.spectral.responses import (
    STANDARD_WAVELENGTHS,
    CameraResponse,
    ObservableSplit,
    camera_response,
)

#: the camera response of ``physics:minnorm`` when none is given
DEFAULT_RESPONSE = "cie1964-srgb"


def colour():
    from hsi_studio.core.spectral._colour import colour

    return colour


def quiet():
    from hsi_studio.core.spectral._colour import quiet

    return quiet()


# ---------------------------------------------------------------------------------------------------------
# Colour-space matrices (row-vector convention: xyz = rgb @ M)
# ---------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def rgb_to_xyz() -> np.ndarray:
    """Linear sRGB → CIE XYZ (D65, scale 1), as ``colour.sRGB_to_XYZ`` without decoding."""
    m = np.asarray(colour().sRGB_to_XYZ(np.eye(3), apply_cctf_decoding=False), dtype=np.float64)
    m.setflags(write=False)
    return m


@lru_cache(maxsize=1)
def xyz_to_rgb() -> np.ndarray:
    """CIE XYZ → linear sRGB, exactly as ``colour.XYZ_to_sd(..., "Mallett 2019")`` converts its input."""
    m = np.asarray(colour().XYZ_to_sRGB(np.eye(3), apply_cctf_encoding=False), dtype=np.float64)
    m.setflags(write=False)
    return m


def sample(values: np.ndarray, src_wl: np.ndarray) -> np.ndarray:
    """Columns of ``values`` (K, …) at the standard wavelengths (linear interpolation; exact on-grid)."""
    src = np.asarray(src_wl, dtype=np.float64)
    if STANDARD_WAVELENGTHS[0] < src[0] or STANDARD_WAVELENGTHS[-1] > src[-1]:
        raise ShapeError(f"basis covers {src[0]:g}–{src[-1]:g} nm; expected 400–700 nm")
    flat = values.reshape(values.shape[0], -1)
    out = np.stack([np.interp(STANDARD_WAVELENGTHS, src, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape((STANDARD_WAVELENGTHS.size,) + values.shape[1:])


# ---------------------------------------------------------------------------------------------------------
# The observable split of a camera response (for the methods that take one)
# ---------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _split_for_name(name: str) -> ObservableSplit:
    return ObservableSplit(camera_response(name, STANDARD_WAVELENGTHS))


def response_split(response) -> ObservableSplit:
    """The :class:`ObservableSplit` of ``response`` (a name, ``csv:PATH``, a :class:`CameraResponse`, or None:
    :data:`DEFAULT_RESPONSE`) on the standard grid."""
    if response is None:
        return _split_for_name(DEFAULT_RESPONSE)
    if isinstance(response, str):
        return _split_for_name(response.strip().lower())
    if isinstance(response, CameraResponse):
        return ObservableSplit(response.resampled(STANDARD_WAVELENGTHS))
    raise InputError(f"camera response {response!r}; expected a name, csv:PATH or a CameraResponse")
