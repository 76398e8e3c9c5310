"""Relighting — the use case of seeing a cube under another light: ``hsi-studio relight`` and ``illuminants``,
the GUI's Relight panel and views. A cube (radiance or reflectance) is rendered to sRGB under any illuminant of
the catalogue (or ``cct:K``, ``daylight:K``, ``csv:PATH``), after dividing by the light it was captured under or
by a white reference; a reconstruction converts to reflectance. The maths is
:mod:`hsi_studio.core.spectral.relight`'s. No torch, no Qt."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral.relight import (
    ADAPTATIONS,
    DEFAULT_OBSERVER,
    OBSERVERS,
    VISIBLE_NM,
    adapt_name,
    canonical_spec,
    check_visible,
    default_capture_illuminant,
    delta_e_map,
    effective_matrix,
    estimate_reflectance,
    illuminant_catalogue,
    illuminant_spd,
    list_illuminants,
    observer_name,
    photo_white_divisor,
    read_spd_csv,
    recorded_capture_illuminant,
    reflectance_divisor,
    render_linear,
    render_matrix,
    render_srgb,
    render_uint8,
    render_view,
    to_reflectance,
    to_uint8,
    view_illuminant,
    view_observer,
    white_spectrum,
    xyz_matrix,
)


def exposure_of(text: str) -> float | str:
    """A relighting exposure: a scale factor, or ``auto`` (99th-percentile luminance → 1)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--exposure {text!r}; expected a positive number or 'auto'") from None


@dataclass
class Relit:
    """A cube rendered under an illuminant: the image, what it was rendered with, and whether the capture
    illuminant came from the cube's own record (not given)."""

    image: RGBImage
    spec: str
    observer: str
    capture: str | None
    capture_recorded: bool
    shape: tuple[int, int] = (0, 0)
    meta: dict = field(default_factory=dict)


def relight_file(path: str | os.PathLike, illuminant: str = "D65", *, key: str | None = None,
                 capture_illuminant: str | None = None, white=None, white_reflectance: float = 1.0,
                 adapt: str = "none", observer: str | None = None, exposure: str = "1", bits: int = 8) -> Relit:
    """Read a cube and render it to sRGB under ``illuminant``. The illuminant names are checked before the cube
    is read; an infrared-only cube is refused rather than rendered black. ``white`` is a pixel (row, col) or a
    region (top, left, h, w) whose spectrum the cube is divided by first; without one, a reconstruction's
    recorded capture illuminant is divided out (the photo's light) unless ``capture_illuminant`` is given."""
    from hsi_studio.services.cubes import open_cube

    spec = canonical_spec(illuminant)  # fail on a bad name before reading the cube
    if capture_illuminant:
        canonical_spec(capture_illuminant)
    cube = open_cube(path, key)
    check_visible(cube)  # an infrared-only cube has no colour: refuse rather than write black
    capture = default_capture_illuminant(cube, capture_illuminant, white=white)
    observer = observer or view_observer(cube)
    srgb = render_srgb(cube, spec, observer=observer, adapt=adapt, capture_illuminant=capture, white=white,
                       white_reflectance=white_reflectance, exposure=exposure_of(exposure))
    meta = {"illuminant": spec, "adapt": adapt, "observer": observer, "source": str(path),
            "capture_illuminant": capture}
    return Relit(RGBImage(srgb, "srgb", meta, bit_depth=bits), spec, observer, capture,
                 capture is not None and capture_illuminant is None, (cube.height, cube.width), meta)


__all__ = ["ADAPTATIONS", "DEFAULT_OBSERVER", "OBSERVERS", "VISIBLE_NM", "Relit", "adapt_name", "canonical_spec",
           "check_visible", "default_capture_illuminant", "delta_e_map", "effective_matrix", "estimate_reflectance",
           "exposure_of", "illuminant_catalogue", "illuminant_spd", "list_illuminants", "observer_name",
           "photo_white_divisor", "read_spd_csv", "recorded_capture_illuminant", "reflectance_divisor",
           "relight_file", "render_linear", "render_matrix", "render_srgb", "render_uint8", "render_view",
           "to_reflectance", "to_uint8", "view_illuminant", "view_observer", "white_spectrum", "xyz_matrix"]
