"""Realistic generated scenes for training (numpy only — no torch here).

- :func:`builtin_photos` / :func:`folder_photos`: real colour photos (scikit-image's, offline; or a folder).
- :class:`ReflectanceLibrary`, :class:`IlluminantLibrary`: the measured spectra the scenes are made of
  (:mod:`.libraries`, re-exported here).
- :class:`SceneGenerator`: takes a real photo's spatial structure (a random crop, SLIC superpixels, its
  luminance as shading), gives each region a measured reflectance whose colour matches the region's (one of the
  k nearest, mixed with a second), adds natural variation, lights it → a radiance :class:`HSCube`.

``SceneGenerator.generate(index)`` is a pure function of ``(seed, stream, index)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.data.libraries import (
    BLACKBODY_CCTS,
    COLORCHECKER_FILES,
    DAYLIGHT_CCTS,
    ILLUMINANT_GROUP_WEIGHTS,
    LIGHTINGS,
    IlluminantLibrary,
    ReflectanceLibrary,
    colorchecker_mask,
    colorchecker_references,
    linear_srgb_to_lab,
    shared_data_dir,
    shared_data_origin,
)
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, srgb_decode

WL = STANDARD_WAVELENGTHS
#: scikit-image's colour photos that load offline (``cat`` is ``chelsea``; ``stereo_motorcycle`` left view).
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
                  "retina", "stereo_motorcycle")
# ---------------------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------------------
def builtin_photos(min_side: int = 256, *, with_names: bool = False):
    """scikit-image's real colour photos as uint8 H×W×3 (offline); ``with_names`` → ``(photos, names)``."""
    import skimage.data as skd

    photos, names = [], []
    for name in SKIMAGE_PHOTOS:
        try:
            img = getattr(skd, name)()
        except Exception:  # a photo missing from this scikit-image build is skipped
            continue
        arr = np.asarray(img[0] if isinstance(img, tuple) else img)
        if arr.ndim == 3 and arr.shape[2] >= 3 and min(arr.shape[:2]) >= min_side:
            photos.append(np.ascontiguousarray(arr[:, :, :3]))
            names.append(f"skimage.data.{name}")
    return (photos, names) if with_names else photos


def folder_photos(path: str | Path, min_side: int = 64) -> tuple[list[np.ndarray], list[dict]]:
    """Every readable colour photo in a folder (8-bit sRGB arrays) and a list of refused files with reasons."""
    from hsi_studio.core.io import api as io

    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; expected a folder of RGB photos")
    photos, refused = [], []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in io.RGB_EXTENSIONS:
            continue
        try:
            img = io.read_rgb(p)
        except InputError as exc:
            refused.append({"file": p.name, "reason": " ".join(str(exc).split())})
            continue
        if min(img.height, img.width) < min_side:
            refused.append({"file": p.name, "reason": f"{img.height}×{img.width} px; expected ≥ {min_side} px"})
            continue
        photos.append(np.round(img.display_srgb() * 255).astype(np.uint8))  # linear/wide-gamut → sRGB
    if not photos:
        raise InputError(f"{folder} holds no usable RGB photos (refused: {len(refused)}); expected PNG/JPEG/TIFF "
                         f"colour images of at least {min_side} px")
    return photos, refused


# ---------------------------------------------------------------------------------------------------------
# Scene generator
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SceneOptions:
    """Knobs of :class:`SceneGenerator` (the defaults aim at natural-looking scenes)."""

    k_nearest: int = 5  #: a region's spectrum is one of its k colour-nearest library spectra
    mix_max: float = 0.35  #: … mixed with a second of them, weight U(0, mix_max)
    colour_cell: float = 6.0  #: regions within the same CIELAB cell of this size (ΔE) share their draws
    detail: float = 1.0  #: follow the photo's within-region colour by varying that mix per pixel (0: off)
    segments_per_kpx: tuple[float, float] = (1.5, 6.0)  #: superpixels per 1000 px (random in range)
    max_segments: int = 400
    segment_side: int = 256  #: segment at most this many px a side (labels upsampled): keeps 512² fast
    crop_scale: tuple[float, float] = (0.35, 1.0)  #: output side / photo crop side (zoom variety)
    shading_range: tuple[float, float] = (0.25, 4.0)  #: region brightness vs. library brightness, clipped
    tilt: float = 0.04  #: per-region smooth spectral tilt/curvature (std)
    noise: float = 0.01  #: per-pixel, per-band multiplicative noise (std)
    second_light: float = 0.25  #: probability of a second illuminant blended across the scene (sun/shade)
    exposure_percentile: float = 99.0  #: this percentile of pixel peaks maps to 1; brighter pixels compressed


@dataclass(eq=False)
class Scene:
    """A generated scene: the radiance ``cube`` and how it was made (for tests and inspection)."""

    cube: HSCube
    labels: np.ndarray  #: (H, W) region index
    spectra: np.ndarray  #: (R, 2) library indices of each region's two spectra
    mix: np.ndarray  #: (R,) weight of the second spectrum
    illuminant: np.ndarray  #: (31,) SPD of the (first) light, max 1


@dataclass(eq=False)
class SceneGenerator:
    """Realistic radiance cubes from real photos' spatial structure and measured spectra.

    ``generate(index, size)`` is deterministic per ``(seed, stream, index)``; the training sampler draws
    ``index`` from its own per-step RNG, validation uses ``stream=1``.
    """

    reflectances: ReflectanceLibrary
    illuminants: IlluminantLibrary
    photos: list[np.ndarray] | None = None
    seed: int = 0
    options: SceneOptions = field(default_factory=SceneOptions)
    photo_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.photos is None:
            self.photos, self.photo_names = builtin_photos(with_names=True)
        self.photos = [check_photo(p, i) for i, p in enumerate(self.photos)]
        if not self.photos:
            raise InputError("no photos given; expected at least one RGB photo for the scene structure")
        if self.photo_names is None or len(self.photo_names) != len(self.photos):
            self.photo_names = [f"photo {i}" for i in range(len(self.photos))]

    @classmethod
    def default(cls, seed: int = 0, photos: list[np.ndarray] | None = None, *, shared: Path | str | None = None,
                lighting: str = "varied", **options: Any) -> SceneGenerator:
        """Libraries from ``shared`` (default :func:`shared_data_dir`, else colour-science) + scikit-image photos.

        ``lighting`` is one of :data:`LIGHTINGS`; ``flat`` also turns the second light off."""
        unknown = set(options) - set(SceneOptions.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown scene option(s) {sorted(unknown)}; expected some of "
                             f"{sorted(SceneOptions.__dataclass_fields__)}")
        if lighting not in LIGHTINGS:
            raise InputError(f"unknown lighting {lighting!r} for generated scenes; expected one of {list(LIGHTINGS)}")
        if lighting == "flat":
            lights = IlluminantLibrary.flat()
            options = {"second_light": 0.0, **options}
        else:
            lights = IlluminantLibrary.load(shared)
        return cls(ReflectanceLibrary.load(shared), lights, photos, seed, replace(SceneOptions(), **options))

    def provenance(self) -> dict[str, Any]:
        """What the scenes are made of: each library's sources (measured files with their sha256), the photos, the
        seed, and which shared-data folder was found (it decides measured vs built-in libraries)."""
        from hsi_studio.core.storage.provenance import relative_path

        folder, how = shared_data_origin()
        shown = "../shared/data" if how.startswith("../shared/data") else relative_path(folder) if folder else None
        return {"shared_data": {"folder": shown, "chosen_by": how},
                "reflectances": {"count": len(self.reflectances), "sources": self.reflectances.sources},
                "illuminants": {"count": len(self.illuminants), "sources": self.illuminants.sources},
                "photos": list(self.photo_names or []), "seed": self.seed}

    def generate(self, index: int, size: int | tuple[int, int] = 128, *, stream: int = 0) -> HSCube:
        return self.scene(index, size, stream=stream).cube

    def scene(self, index: int, size: int | tuple[int, int] = 128, *, stream: int = 0) -> Scene:
        h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
        if h < 4 or w < 4:
            raise InputError(f"scene size {h}×{w}; expected at least 4×4 pixels")
        if int(index) < 0 or int(stream) < 0:
            raise InputError(f"scene index {index} / stream {stream}; expected non-negative integers")
        o = self.options
        rng = np.random.default_rng([int(self.seed), 0x5CE7E, int(stream), int(index)])
        pi = int(rng.integers(len(self.photos)))
        crop, box = _photo_crop(self.photos[pi], h, w, o.crop_scale, rng)
        lin = _SRGB_LUT[crop]
        labels = _segments(crop, o, rng)
        n = int(labels.max()) + 1
        flat = labels.ravel()
        counts = np.bincount(flat, minlength=n).clip(1)
        mean_rgb = np.stack([np.bincount(flat, lin[..., c].ravel(), n) for c in range(3)], 1) / counts[:, None]
        lib = self.reflectances
        # Regions of (nearly) the same colour share their draws: smooth areas don't turn into patchwork.
        cell = _colour_cells(mean_rgb, o.colour_cell)
        m = int(cell.max()) + 1
        cell_rgb = np.stack([np.bincount(cell, mean_rgb[:, c] * counts, m) for c in range(3)], 1)
        near = lib.nearest(cell_rgb / np.bincount(cell, counts, m)[:, None], k=o.k_nearest)
        kk = near.shape[1]
        pick = np.stack([near[np.arange(m), rng.integers(kk, size=m)],
                         near[np.arange(m), rng.integers(kk, size=m)]], 1)[cell]
        mix = rng.uniform(0, o.mix_max, m)[cell]
        t = _pixel_mix(lin, labels, mix, lib.rgb[pick], counts, o.detail)  # (H, W) weight of the 2nd spectrum
        a, b = lib.spectra[pick[:, 0]].astype(np.float32), lib.spectra[pick[:, 1]].astype(np.float32)
        tilt = np.clip(1 + rng.normal(0, o.tilt, (m, 2)).astype(np.float32)[cell] @ _TILT_BASIS, 0.5, 1.5)
        shade = _shading(lin, labels, counts, lib.rgb[pick], mix, o.shading_range)
        light, light_names, first = self._lighting(rng, h, w)
        uniform = light.ndim == 1  # one light: fold it into the (R, 31) region spectra, saving a pass
        a, d = a * tilt * (light if uniform else 1), (b - a) * tilt * (light if uniform else 1)
        rad = np.take(a, labels, axis=0)  # (H, W, 31): region spectrum A + t·(B − A), times shading
        rad *= shade[..., None]
        rad += np.take(d, labels, axis=0) * (t * shade)[..., None]
        if o.noise > 0:
            noise = rng.random(rad.shape, dtype=np.float32)  # uniform, std = o.noise (4× cheaper than normal)
            noise *= np.float32(2 * np.sqrt(3) * o.noise)
            noise += np.float32(1 - np.sqrt(3) * o.noise)
            rad *= noise
        if not uniform:
            rad *= light
        np.maximum(rad, 0, out=rad)
        peak = rad.max(axis=2)
        scale = 1.0 / max(float(np.percentile(peak, o.exposure_percentile)), 1e-6)
        rad *= (scale / np.maximum(peak * scale, 1.0))[..., None]  # exposure; highlights keep their shape
        meta = {"generated": int(index), "stream": int(stream), "seed": int(self.seed),
                "photo": self.photo_names[pi], "crop": box, "regions": n, "illuminant": " + ".join(light_names)}
        cube = HSCube(rad, WL, meta, kind="radiance")
        return Scene(cube, labels, pick, mix, first)

    def _lighting(self, rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, list[str], np.ndarray]:
        """One illuminant (31,), or two blended along a soft random edge (H, W, 31); names; the first SPD."""
        lib = self.illuminants
        i = lib.sample(rng)
        first = lib.spectra[i].astype(np.float32)
        if rng.random() >= self.options.second_light:
            return first, [lib.names[i]], lib.spectra[i]
        j = lib.sample(rng)
        angle, sharp = rng.uniform(0, 2 * np.pi), rng.uniform(2, 12)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = (np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5)) * sharp
        wgt = (1 / (1 + np.exp(-ramp)))[..., None] * np.float32(rng.uniform(0.3, 1.0))
        light = (1 - wgt) * first + wgt * lib.spectra[j].astype(np.float32)
        return light, [lib.names[i], lib.names[j]], lib.spectra[i]


_l = np.linspace(-1, 1, WL.size, dtype=np.float32)
_TILT_BASIS = np.stack([_l, _l**2 - np.float32(1 / 3)])  # (2, 31): smooth slope and curvature


def check_photo(photo: np.ndarray, i: int) -> np.ndarray:
    arr = np.asarray(photo)
    if arr.ndim != 3 or arr.shape[2] < 3 or min(arr.shape[:2]) < 8:
        raise InputError(f"photo {i} has shape {arr.shape}; expected an RGB image (H, W, 3) of at least 8×8 px")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating) or arr.min() < 0 or arr.max() > 1:
            raise InputError(f"photo {i} has dtype {arr.dtype}; expected uint8 or float in [0, 1] (sRGB)")
        arr = np.round(arr * 255).astype(np.uint8)
    return np.ascontiguousarray(arr[:, :, :3])


def _photo_crop(photo: np.ndarray, h: int, w: int, scale: tuple[float, float], rng: np.random.Generator):
    """A random crop (aspect h:w, zoomed by ``scale``), flipped, resized to (h, w): uint8 sRGB and its box."""
    ph, pw = photo.shape[:2]
    s = rng.uniform(*scale)
    ch, cw = min(ph, max(1, round(h / s))), min(pw, max(1, round(w / s)))
    f = min(ch / h, cw / w)  # keep the aspect ratio of the output
    ch, cw = max(1, round(h * f)), max(1, round(w * f))
    top, left = int(rng.integers(ph - ch + 1)), int(rng.integers(pw - cw + 1))
    crop = photo[top : top + ch, left : left + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < 0.5:
        crop = crop[::-1]
    if (ch, cw) != (h, w):  # PIL's bilinear filter widens with the scale: antialiased when shrinking
        from PIL import Image

        crop = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((w, h), Image.BILINEAR))
    return np.ascontiguousarray(crop), [top, left, ch, cw]


_SRGB_LUT = srgb_decode(np.arange(256, dtype=np.float32) / 255.0)  # uint8 sRGB → linear


def _segments(srgb: np.ndarray, o: SceneOptions, rng: np.random.Generator) -> np.ndarray:
    """SLIC superpixels of a uint8 sRGB image (on a ≤ ``segment_side`` copy, labels upsampled), labels 0…R−1."""
    from skimage.segmentation import slic

    h, w = srgb.shape[:2]
    f = min(1.0, o.segment_side / max(h, w))
    small = srgb
    if f < 1:
        small = srgb[np.linspace(0, h - 1, max(4, round(h * f))).round().astype(int)][
            :, np.linspace(0, w - 1, max(4, round(w * f))).round().astype(int)]
    n_seg = int(np.clip(rng.uniform(*o.segments_per_kpx) * h * w / 1000, 2, o.max_segments))
    lab = slic(small.astype(np.float32) / 255.0, n_segments=n_seg, compactness=float(rng.uniform(5, 20)), start_label=0, channel_axis=2)
    if f < 1:
        lab = lab[np.minimum((np.arange(h) * lab.shape[0]) // h, lab.shape[0] - 1)][
            :, np.minimum((np.arange(w) * lab.shape[1]) // w, lab.shape[1] - 1)]
    _, inv = np.unique(lab, return_inverse=True)
    return inv.reshape(h, w).astype(np.int64)


def _colour_cells(rgb: np.ndarray, step: float) -> np.ndarray:
    """Group colours into CIELAB cells of ``step`` ΔE (L* cells twice as tall): (R,) cell index 0…M−1."""
    if step <= 0:
        return np.arange(len(rgb))
    q = np.floor(linear_srgb_to_lab(np.clip(rgb, 0, None)) / (np.array([2.0, 1.0, 1.0]) * step)).astype(np.int64)
    return np.unique(q, axis=0, return_inverse=True)[1].reshape(-1)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=rgb.dtype)


def _pixel_mix(lin, labels, mix, pair_rgb, counts, detail: float) -> np.ndarray:
    """Per-pixel weight of each region's second spectrum: the region's ``mix`` plus, with ``detail``, how far the
    pixel's chromaticity lies along the line from the first spectrum's colour to the second's."""
    if detail <= 0:
        return mix.astype(np.float32)[labels]
    chroma = lin / np.maximum(lin.sum(axis=2, keepdims=True), 1e-4)
    pc = np.clip(pair_rgb, 1e-4, None)
    pc = pc / pc.sum(axis=2, keepdims=True)  # (R, 2, 3) chromaticities of both spectra
    d = pc[:, 1, :2] - pc[:, 0, :2]
    dn = np.where((d**2).sum(1, keepdims=True) > 1e-4, d / np.maximum((d**2).sum(1, keepdims=True), 1e-4), 0)
    s = ((chroma[..., :2] - pc[labels, 0, :2]) * dn[labels]).sum(-1)  # position along the A→B line
    s_mean = np.bincount(labels.ravel(), s.ravel(), len(counts)) / counts
    return np.clip(mix[labels] + detail * (s - s_mean[labels]), 0, 1).astype(np.float32)


def _shading(lin, labels, counts, pair_rgb, mix, limits) -> np.ndarray:
    """Per-pixel factor: the photo's luminance relative to its region's (texture, edges) times the region's
    brightness relative to its spectra's (clipped to ``limits``: lighting and shadows)."""
    luma = _luma(lin.astype(np.float64))
    reg = np.bincount(labels.ravel(), luma.ravel(), len(counts)) / counts
    lib = (1 - mix) * _luma(pair_rgb[:, 0]) + mix * _luma(pair_rgb[:, 1])
    gain = np.clip((reg + 1e-3) / (lib + 1e-3), *limits)
    return ((luma + 1e-3) / (reg[labels] + 1e-3) * gain[labels]).astype(np.float32)


__all__ = ["COLORCHECKER_FILES", "colorchecker_mask", "colorchecker_references", "builtin_photos", "folder_photos",
           "shared_data_dir", "linear_srgb_to_lab", "ReflectanceLibrary", "IlluminantLibrary", "SceneOptions", "Scene",
           "SceneGenerator", "SKIMAGE_PHOTOS", "shared_data_origin", "DAYLIGHT_CCTS", "BLACKBODY_CCTS",
           "ILLUMINANT_GROUP_WEIGHTS", "LIGHTINGS", "check_photo"]
