"""Colour-managed photo input: an embedded ICC profile (or a PNG's gAMA/cHRM) → the model's linear sRGB (D65).

HSI Studio's models see linear sRGB. Photos from phones and editors are often in another space — Display P3
(iPhone, Xiaomi), Adobe RGB, ProPhoto — and reading them as sRGB makes every colour wrong before
reconstruction starts. :func:`manage` is called by the RGB readers with the decoded pixels and the file's
profile bytes:

* no profile, or an sRGB profile → the pixels are kept exactly as they are (encoding ``"srgb"``);
* a matrix/TRC profile (what P3, Adobe RGB, ProPhoto and most display/camera-export profiles are) → converted
  in float: the profile's tone curve (identified among the standard curves and *verified* against LittleCMS,
  Pillow's ``ImageCms``) and its own colorant matrix (PCS XYZ, D50) → Bradford D50 → D65 → linear sRGB, using
  colour-science's matrices. The result is ``"linear"``; colours outside the sRGB gamut are **kept** (a
  component may be below 0 or above 1; up to :data:`~hsi_studio.core.cube.LINEAR_RANGE`): the reconstruction
  is linear in RGB, so a wide-gamut colour gets the spectrum that reproduces it;
* any other profile (LUT-based camera/printer profiles, or a curve that matches no standard one) → LittleCMS
  converts it to sRGB (perceptual intent) at 8 bits; out-of-gamut colours are then mapped into sRGB by
  LittleCMS. The metadata says so.

The result's ``metadata["colour_space"]`` names what was read and how (shown by ``hsi-studio info``, the GUI's
file info and status bar, and recorded in every reconstruction made from it).
"""

from __future__ import annotations

import io as _io
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Colour spaces whose matrix/TRC profiles are recognised by their colorants (named in the metadata).
KNOWN_SPACES = ("sRGB", "Display P3", "Adobe RGB (1998)", "ProPhoto RGB", "ITU-R BT.2020")
_D50 = np.array([0.9642, 1.0, 0.8249])
# Tone curves tried for a matrix/TRC profile (decoding: encoded → linear), each verified against LittleCMS.
_CURVES = {
    "sRGB": lambda v: np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4),
    "gamma 2.2 (Adobe RGB, 563/256)": lambda v: np.power(v, 563 / 256),
    "gamma 1.8 (ProPhoto)": lambda v: np.where(v < 16 / 512, v / 16, np.power(v, 1.8)),
    "gamma 2.4": lambda v: np.power(v, 2.4),
    "BT.709/2020 OETF⁻¹": lambda v: np.where(v < 0.081, v / 4.5, ((v + 0.099) / 1.099) ** (1 / 0.45)),
    "linear": lambda v: v,
}


@dataclass(frozen=True)
class ProfileConversion:
    """How a profile is turned into linear sRGB. ``kind``: ``"srgb"`` (keep as is), ``"matrix"`` (float
    conversion with ``curve`` and ``matrix``) or ``"littlecms"`` (8-bit LittleCMS conversion to sRGB)."""

    kind: str
    label: str
    curve: str = "sRGB"
    matrix: tuple | None = None  # 3×3 linear device RGB → linear sRGB (D65), row-major


def _colour():
    from hsi_studio.core.spectral._colour import colour

    return colour


def _profile(icc: bytes):
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(_io.BytesIO(icc))


@lru_cache(maxsize=16)
def _xyz_d50_to_linear_srgb() -> np.ndarray:
    colour = _colour()
    srgb = colour.RGB_COLOURSPACES["sRGB"]
    cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        colour.xy_to_XYZ(colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]),
        colour.xy_to_XYZ(srgb.whitepoint), transform="Bradford")
    return srgb.matrix_XYZ_to_RGB @ cat


def _space_matrix(name: str) -> np.ndarray:
    """Linear RGB of a known space → linear sRGB (Bradford), colour-science's matrices."""
    colour = _colour()
    src, dst = colour.RGB_COLOURSPACES[name], colour.RGB_COLOURSPACES["sRGB"]
    return colour.matrix_RGB_to_RGB(src, dst, chromatic_adaptation_transform="Bradford")


def _name_of(matrix: np.ndarray) -> str | None:
    for name in KNOWN_SPACES:
        if np.abs(_space_matrix(name) - matrix).max() < 0.01:
            return name
    return None


def _littlecms_grey(icc: bytes) -> np.ndarray | None:
    """LittleCMS's sRGB-encoded output (256,) for the device greys 0…255 (None when it cannot transform)."""
    from PIL import Image, ImageCms

    try:
        ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
        out = ImageCms.profileToProfile(Image.fromarray(ramp, "RGB"), _profile(icc), ImageCms.createProfile("sRGB"),
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB")
        return np.asarray(out, dtype=np.float64)[0].mean(axis=1) / 255.0
    except Exception:  # any LittleCMS refusal means "not convertible this way"
        return None


@lru_cache(maxsize=32)
def conversion_for(icc: bytes) -> ProfileConversion:
    """Decide how a profile (raw ICC bytes) is converted; cached per profile."""
    try:
        prof = _profile(icc).profile
    except Exception:  # Pillow raises OSError/PyCMSError/TypeError for damaged profiles
        return ProfileConversion("invalid", "damaged ICC profile (ignored; read as sRGB)")
    desc = (getattr(prof, "profile_description", "") or "").strip() or "unnamed"
    if getattr(prof, "xcolor_space", "").strip() != "RGB":
        return ProfileConversion("invalid", f"ICC profile '{desc}' is not an RGB profile (ignored; read as sRGB)")
    if getattr(prof, "is_matrix_shaper", False) and prof.red_colorant and prof.green_colorant and prof.blue_colorant:
        cols = np.array([prof.red_colorant[0], prof.green_colorant[0], prof.blue_colorant[0]], dtype=np.float64).T
        matrix = _xyz_d50_to_linear_srgb() @ cols
        grey = _littlecms_grey(icc)
        curve = _verified_curve(grey, matrix) if grey is not None else None
        if curve is not None:
            name = _name_of(matrix)
            if name == "sRGB" and curve == "sRGB":
                return ProfileConversion("srgb", f"sRGB (ICC profile '{desc}')")
            label = f"{name or 'custom RGB'} (ICC profile '{desc}', {curve} curve) → linear sRGB"
            return ProfileConversion("matrix", label, curve, tuple(matrix.ravel().tolist()))
    return ProfileConversion("littlecms", f"ICC profile '{desc}' → sRGB by LittleCMS (8-bit, perceptual; "
                                          "out-of-gamut colours mapped into sRGB)")


def _verified_curve(grey: np.ndarray, matrix: np.ndarray) -> str | None:
    """The standard curve that reproduces LittleCMS's grey ramp within 1.5/255 (sRGB-encoded), or None."""
    v = np.arange(256) / 255.0
    white = matrix.sum(axis=1)  # device white in linear sRGB: ≈ (1, 1, 1) after Bradford
    if np.abs(white - 1).max() > 0.02:
        return None
    for name, decode in _CURVES.items():
        lin = decode(v) * white.mean()
        enc = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(np.clip(lin, 0, None), 1 / 2.4) - 0.055)
        if np.abs(enc - grey).max() <= 1.5 / 255:
            return name
    return None


def png_chunks_label(info: dict) -> str | None:
    """A PNG without ICC but with gAMA/cHRM: what it declares (None when it declares nothing unusual)."""
    gamma = info.get("gamma")
    if gamma is None:
        return None
    if abs(float(gamma) - 0.45455) < 0.002:
        return "sRGB (PNG gAMA 1/2.2: read as sRGB)"
    return f"PNG gAMA {float(gamma):g} (not sRGB's 1/2.2; read as sRGB — convert it to sRGB first for exact colour)"


def manage(arr: np.ndarray, icc: bytes | None, *, pil_image=None, png_info: dict | None = None
           ) -> tuple[np.ndarray, str, dict]:
    """(pixels, encoding, metadata) for the decoded ``arr`` (H×W×3, uint8/uint16 or float in [0, 1]).

    ``pil_image`` (8-bit RGB) lets LittleCMS convert a profile that has no float path."""
    meta: dict = {}
    if not icc:
        label = png_chunks_label(png_info or {}) or "sRGB (assumed: no embedded colour profile)"
        meta["colour_space"] = label
        return arr, "srgb", meta
    conv = conversion_for(bytes(icc))
    meta["colour_space"] = conv.label
    if conv.kind in ("srgb", "invalid"):
        if conv.kind == "invalid":
            warnings.warn(conv.label, UserWarning, stacklevel=3)
        return arr, "srgb", meta
    if conv.kind == "matrix":
        data = _to_unit(arr)
        lin = _CURVES[conv.curve](data.astype(np.float64, copy=False))
        out = (lin.reshape(-1, 3) @ np.asarray(conv.matrix, dtype=np.float64).reshape(3, 3).T).reshape(arr.shape)
        meta["out_of_srgb_gamut"] = float(np.mean(np.any((out < -1e-4) | (out > 1 + 1e-4), axis=-1)))
        from hsi_studio.core.cube import LINEAR_RANGE

        return np.clip(out, *LINEAR_RANGE).astype(np.float32), "linear", meta
    # LittleCMS at 8 bits
    from PIL import Image, ImageCms

    img = pil_image if pil_image is not None and pil_image.mode == "RGB" else \
        Image.fromarray(np.round(_to_unit(arr) * 255).astype(np.uint8), "RGB")
    try:
        out = ImageCms.profileToProfile(img, _profile(bytes(icc)), ImageCms.createProfile("sRGB"),
                                        renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
    except Exception as exc:
        meta["colour_space"] = f"{conv.label.split(' → ')[0]} could not be applied ({exc}); read as sRGB"
        warnings.warn(meta["colour_space"], UserWarning, stacklevel=3)
        return arr, "srgb", meta
    return np.asarray(out), "srgb", meta


def _to_unit(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind in "ui":
        return arr.astype(np.float32) / np.float32(np.iinfo(arr.dtype).max)
    return np.asarray(arr, dtype=np.float32)


__all__ = ["KNOWN_SPACES", "ProfileConversion", "conversion_for", "manage", "png_chunks_label"]
