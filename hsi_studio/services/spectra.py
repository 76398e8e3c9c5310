"""Camera responses and wavelength grids — the use case of seeing a cube through a camera: ``hsi-studio
simulate-rgb`` (the RGB a cube would give, with exposure, shot noise and JPEG), the training wizard's camera
page, and the sRGB encoding the views share. The maths is :mod:`hsi_studio.core.spectral.responses`'s. No torch,
no Qt."""

from __future__ import annotations

import math

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral.responses import (
    DEFAULT_RESPONSE,
    RESPONSE_NAMES,
    STANDARD_WAVELENGTHS,
    CameraResponse,
    camera_response,
    resample_cube,
    simulate_rgb,
    srgb_decode,
    srgb_encode,
)

MAX_PHOTONS = 1e12  # --noise: shot noise at full scale (1e12 photons is already noiseless in 16 bits)


def check_simulation(noise: float | None, jpeg: int | None) -> None:
    """The noise and JPEG options of :func:`simulate_photo`, checked before any work."""
    if noise is not None and not (math.isfinite(noise) and 0 < noise <= MAX_PHOTONS):
        raise InputError(f"--noise {noise:g}; expected a positive number of photons at full scale, at most "
                         f"{MAX_PHOTONS:.0e}")
    if jpeg is not None and not 1 <= jpeg <= 100:
        raise InputError(f"--jpeg {jpeg}; expected a quality from 1 to 100")


def exposure_of(text: str) -> str | float:
    """``percentile``, ``max`` or a scale factor."""
    if text in ("percentile", "max"):
        return text
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--exposure {text!r}; expected 'percentile', 'max' or a number") from None


def simulate_photo(cube: HSCube, response: str, *, exposure: str = "percentile", noise: float | None = None,
                   jpeg: int | None = None, linear: bool = False, bits: int = 8, seed: int = 0):
    """(the RGB image ``cube`` gives through the camera ``response``, the response, the exposure scale used):
    the NTIRE 2022 recipe, sRGB-encoded unless ``linear``."""
    check_simulation(noise, jpeg)
    resp = camera_response(response, cube.wavelengths)
    sim = simulate_rgb(cube, resp, exposure=exposure_of(exposure), shot_noise_photons=noise, jpeg_quality=jpeg,
                       rng=seed)
    data = sim.rgb if linear else srgb_encode(sim.rgb)
    img = RGBImage(data, "linear" if linear else "srgb", {"response": resp.name, "scale": sim.scale},
                   bit_depth=bits)
    return img, resp, sim.scale


__all__ = ["DEFAULT_RESPONSE", "MAX_PHOTONS", "RESPONSE_NAMES", "STANDARD_WAVELENGTHS", "CameraResponse",
           "camera_response", "check_simulation", "exposure_of", "resample_cube", "simulate_photo", "simulate_rgb",
           "srgb_decode", "srgb_encode"]
