"""Training data for the ULDM stages (numpy only — no torch here, so it is light and testable).

- :func:`builtin_photos`: the real colour photos that ship with scikit-image (load offline).
- :class:`PhotoSource`: random sRGB crops of photos (RGB pre-training).
- :class:`ReflectanceLibrary`, :class:`IlluminantLibrary`: measured spectra from ``shared/data`` when present,
  colour-science's built-in sets otherwise.
- :class:`SceneGenerator`: realistic cubes — a real photo's spatial structure (superpixels, shading, texture)
  whose regions get measured reflectances matching their colour, lit by a measured/catalogue illuminant.
- :class:`CubeFolder`: every readable cube in a folder, resampled to 400–700 nm / 10 nm, with a report of
  what was refused and why.
- :class:`TrainingSource`: mixes real cubes and generated scenes into (cube, linear RGB) training pairs
  simulated through the model's camera response (NTIRE 2022 recipe), plus a fixed validation set.

Determinism (exact resume): every sampler takes ``(step, micro, rank)`` and draws from
``np.random.default_rng([seed, step, micro, rank])`` — a batch is a pure function of its position, so a
resumed run needs nothing but the step number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cube import HSCube
from .errors import InputError
from .jobs import ProgressTracker
from .spectral import STANDARD_WAVELENGTHS, CameraResponse, camera_response, resample_cube, simulate_rgb

WL = STANDARD_WAVELENGTHS
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
                  "retina", "stereo_motorcycle")
PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout (or ``$HSI_STUDIO_SHARED_DATA``), when it exists."""
    import os

    env = os.environ.get("HSI_STUDIO_SHARED_DATA")
    cands = [Path(env)] if env else []
    cands.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    return next((c for c in cands if c.is_dir()), None)


def _rng(seed: int, *pos: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *[int(p) for p in pos]])


# ---------------------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------------------
def builtin_photos(min_side: int = 256) -> list[np.ndarray]:
    """scikit-image's real colour photos as uint8 H×W×3 (offline)."""
    import skimage.data as skd

    photos = []
    for name in SKIMAGE_PHOTOS:
        try:
            img = getattr(skd, name)()
        except Exception:  # noqa: BLE001 — a photo missing from this scikit-image build is skipped
            continue
        for arr in img[:2] if isinstance(img, tuple) else (img,):
            arr = np.asarray(arr)
            if arr.ndim == 3 and arr.shape[2] >= 3 and min(arr.shape[:2]) >= min_side:
                photos.append(np.ascontiguousarray(arr[:, :, :3]))
    return photos


def folder_photos(path: str | Path, min_side: int = 64) -> tuple[list[np.ndarray], list[dict]]:
    """Every readable colour photo in a folder (8-bit sRGB arrays) and a list of refused files with reasons."""
    from . import io

    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; expected a folder of RGB photos")
    photos, refused = [], []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in PHOTO_EXTENSIONS:
            continue
        try:
            img = io.read_rgb(p)
        except InputError as exc:
            refused.append({"file": p.name, "reason": str(exc)})
            continue
        if min(img.height, img.width) < min_side:
            refused.append({"file": p.name, "reason": f"smaller than {min_side} px"})
            continue
        photos.append(np.round(img.data * 255).astype(np.uint8))
    if not photos:
        raise InputError(f"{folder} holds no usable RGB photos (refused: {len(refused)}); expected PNG/JPEG/TIFF "
                         f"colour images of at least {min_side} px")
    return photos, refused


def _augment(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random flips and 90° rotations over the first two axes (works for H×W×C)."""
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    if rng.random() < 0.5:
        arr = arr[::-1]
    return np.rot90(arr, int(rng.integers(4)))


def _random_crop(arr: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = arr.shape[:2]
    if h < size or w < size:
        reps = (int(np.ceil(size / h)), int(np.ceil(size / w))) + (1,) * (arr.ndim - 2)
        arr = np.pad(arr, [(0, max(size - h, 0)), (0, max(size - w, 0))] + [(0, 0)] * (arr.ndim - 2),
                     mode="reflect" if min(h, w) > 1 and max(reps) <= 2 else "wrap")
        h, w = arr.shape[:2]
    top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
    return arr[top : top + size, left : left + size]


@dataclass
class PhotoSource:
    """Random augmented crops of RGB photos, sRGB-encoded float32 in [0, 1]."""

    photos: list[np.ndarray]
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.photos:
            raise InputError("no photos given; expected at least one RGB photo")

    def batch(self, step: int, micro: int, rank: int, n: int, crop: int) -> np.ndarray:
        rng = _rng(self.seed, step, micro, rank)
        out = np.empty((n, crop, crop, 3), np.float32)
        for i in range(n):
            photo = self.photos[int(rng.integers(len(self.photos)))]
            scale = rng.uniform(0.5, 1.0)  # random downscale: more variety of structure per crop
            src = _random_crop(photo, min(int(crop / scale), *photo.shape[:2]), rng)
            out[i] = _resize(src.astype(np.float32) / 255.0, crop)
            out[i] = _augment(out[i], rng)
        return out


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    from skimage.transform import resize

    return resize(img, (size, size) + img.shape[2:], order=1, anti_aliasing=True, preserve_range=True).astype(
        np.float32)


# ---------------------------------------------------------------------------------------------------------
# Measured spectra
# ---------------------------------------------------------------------------------------------------------
def _mat_spectra(path: Path) -> np.ndarray:
    import scipy.io as sio

    m = sio.loadmat(str(path))
    wl = np.asarray(m["wavelength"], dtype=np.float64).ravel()
    data = np.asarray(m["data"], dtype=np.float64)
    spectra = data.T if data.shape[0] == wl.size else data
    return np.stack([np.interp(WL, wl, s) for s in spectra])


def _colour_reflectances() -> tuple[np.ndarray, list[str]]:
    from ._colour import colour

    sets = {"ColorChecker N Ohta": colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"],
            "TCS (CIE 13.3)": colour.quality.datasets.SDS_TCS,
            "VS (CQS)": colour.quality.datasets.SDS_VS}
    spectra = []
    for sds in sets.values():
        for sd in sds.values():
            spectra.append(np.interp(WL, sd.wavelengths, sd.values))
    return np.clip(np.asarray(spectra), 0, None), [f"colour-science {k}" for k in sets]


@dataclass
class ReflectanceLibrary:
    """Reflectance spectra (N, 31) on the standard grid with their linear-sRGB colour under D65."""

    spectra: np.ndarray
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spectra = np.clip(np.asarray(self.spectra, dtype=np.float64), 0.0, 1.5)
        from .relight import illuminant_spd

        d65 = illuminant_spd("D65", WL)
        rgb = (self.spectra * d65) @ camera_response("cie1964-srgb").matrix / (d65 @ camera_response(
            "cie1964-srgb").matrix)[1]
        self.rgb = np.clip(rgb, 1e-4, None)
        self.chroma = self.rgb / self.rgb.sum(axis=1, keepdims=True)
        self.luma = self.rgb.mean(axis=1)
        from scipy.spatial import cKDTree

        self._tree = cKDTree(np.column_stack([self.chroma[:, :2] * 4.0, np.log(self.luma + 1e-3) * 0.3]))

    @classmethod
    def load(cls, shared: Path | None = None) -> ReflectanceLibrary:
        shared = shared if shared is not None else shared_data_dir()
        folder = shared / "reflectances" if shared else None
        if folder and folder.is_dir():
            files = sorted(folder.glob("*.mat"))
            spectra = np.concatenate([_mat_spectra(p) for p in files])
            return cls(spectra, [f"ISET {p.stem}" for p in files])
        spectra, sources = _colour_reflectances()
        return cls(spectra, sources)

    def nearest(self, rgb: np.ndarray, k: int = 5) -> np.ndarray:
        """Indices (M, k) of the library spectra whose colour is closest to each linear-RGB row."""
        rgb = np.clip(np.asarray(rgb, dtype=np.float64), 1e-4, None)
        chroma = rgb / rgb.sum(axis=1, keepdims=True)
        q = np.column_stack([chroma[:, :2] * 4.0, np.log(rgb.mean(axis=1) + 1e-3) * 0.3])
        _, idx = self._tree.query(q, k=min(k, len(self.spectra)))
        return idx.reshape(len(rgb), -1)


@dataclass
class IlluminantLibrary:
    """Illuminant SPDs (N, 31), each scaled to max 1."""

    spectra: np.ndarray
    sources: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, shared: Path | None = None, seed: int = 0) -> IlluminantLibrary:
        from .relight import illuminant_spd, list_illuminants

        spectra, sources = [], []
        shared = shared if shared is not None else shared_data_dir()
        folder = shared / "illuminants" if shared else None
        if folder and folder.is_dir():
            for p in sorted(folder.glob("*.mat")):
                spectra.extend(_mat_spectra(p))
                sources.append(f"ISET {p.stem}")
        names = [n for n in list_illuminants() if not n.upper().startswith(("LED", "HP"))]
        spectra.extend(illuminant_spd(n, WL) for n in names)
        rng = np.random.default_rng(seed)
        spectra.extend(illuminant_spd(f"daylight:{int(k)}", WL) for k in rng.uniform(4000, 12000, 16))
        spectra.extend(illuminant_spd(f"cct:{int(k)}", WL) for k in rng.uniform(2500, 6500, 8))
        sources.append("colour-science catalogue + CIE daylight / black bodies")
        arr = np.clip(np.asarray(spectra, dtype=np.float64), 0, None)
        arr = arr[arr.max(axis=1) > 0]
        return cls(arr / arr.max(axis=1, keepdims=True), sources)


# ---------------------------------------------------------------------------------------------------------
# Scene generator
# ---------------------------------------------------------------------------------------------------------
@dataclass
class SceneGenerator:
    """Realistic radiance cubes from real photos' spatial structure and measured spectra."""

    reflectances: ReflectanceLibrary
    illuminants: IlluminantLibrary
    photos: list[np.ndarray]
    seed: int = 0

    @classmethod
    def default(cls, seed: int = 0, photos: list[np.ndarray] | None = None) -> SceneGenerator:
        return cls(ReflectanceLibrary.load(), IlluminantLibrary.load(seed=seed),
                   photos if photos is not None else builtin_photos(), seed)

    def generate(self, index: int, size: int | tuple[int, int] = 128) -> HSCube:
        from skimage.segmentation import slic

        h, w = (size, size) if isinstance(size, int) else size
        rng = _rng(self.seed, 10_000_019, index)
        photo = self.photos[int(rng.integers(len(self.photos)))]
        side = min(int(max(h, w) / rng.uniform(0.4, 1.0)), *photo.shape[:2])
        crop = _augment(_random_crop(photo, side, rng), rng).astype(np.float32) / 255.0
        crop = _resize_hw(crop, h, w)
        from .spectral import srgb_decode

        lin = srgb_decode(crop).astype(np.float64)
        labels = slic(crop, n_segments=int(rng.integers(20, 120)), compactness=10, start_label=0,
                      channel_axis=2)
        n = int(labels.max()) + 1
        counts = np.bincount(labels.ravel(), minlength=n).clip(1)
        means = np.stack([np.bincount(labels.ravel(), lin[..., c].ravel(), n) for c in range(3)], 1)
        means /= counts[:, None]
        near = self.reflectances.nearest(means, k=5)
        pick = near[np.arange(n), rng.integers(near.shape[1], size=n)]
        other = near[np.arange(n), rng.integers(near.shape[1], size=n)]
        mix = rng.uniform(0, 0.35, size=(n, 1))
        region = (1 - mix) * self.reflectances.spectra[pick] + mix * self.reflectances.spectra[other]
        # Shading keeps the photo's texture: pixel luminance relative to its region's.
        luma = lin.mean(axis=2)
        reg_luma = np.bincount(labels.ravel(), luma.ravel(), n) / counts
        lib_luma = self.reflectances.luma[pick] * (1 - mix[:, 0]) + self.reflectances.luma[other] * mix[:, 0]
        shade = (luma + 1e-3) / (reg_luma[labels] + 1e-3) * np.clip(reg_luma / (lib_luma + 1e-3), 0.2, 5)[labels]
        refl = region[labels] * shade[..., None]
        tilt = 1 + rng.normal(0, 0.03) * np.linspace(-1, 1, WL.size)  # smooth spectral variation
        refl *= tilt * (1 + rng.normal(0, 0.01, refl.shape))
        light = self.illuminants.spectra[int(rng.integers(len(self.illuminants.spectra)))]
        rad = np.clip(refl, 0, None) * light
        rad /= max(np.percentile(rad, 99.5), 1e-6)
        return HSCube(np.clip(rad, 0, 1.5).astype(np.float32), WL, {"generated": int(index)}, kind="radiance")


def _resize_hw(img: np.ndarray, h: int, w: int) -> np.ndarray:
    if img.shape[:2] == (h, w):
        return img
    from skimage.transform import resize

    return resize(img, (h, w, img.shape[2]), order=1, anti_aliasing=True, preserve_range=True).astype(
        np.float32)


# ---------------------------------------------------------------------------------------------------------
# Real cubes
# ---------------------------------------------------------------------------------------------------------
def _cube_candidates(folder: Path) -> list[Path]:
    from . import io

    exts = {e.lower() for e in io.CUBE_READ_EXTENSIONS} - {".img"}
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_dir() and any(q.suffix.lower() == ".png" for q in p.iterdir()):
            out.append(p)
        elif p.is_file() and p.suffix.lower() in exts:
            out.append(p)
    return out


@dataclass
class CubeFolder:
    """Every readable cube in a folder (or an explicit file list), on the standard 31-band grid."""

    cubes: list[HSCube]
    names: list[str]
    refused: list[dict]

    @classmethod
    def load(cls, path: str | Path | list, *, progress=None, cancel=None) -> CubeFolder:
        from . import io

        if isinstance(path, (list, tuple)):
            files = [Path(p) for p in path]
        else:
            folder = Path(path)
            if not folder.is_dir():
                raise InputError(f"{folder} is not a folder; expected a folder of hyperspectral cubes")
            files = _cube_candidates(folder)
        tracker = ProgressTracker(len(files), progress, cancel)
        cubes, names, refused = [], [], []
        for p in files:
            try:
                cube = resample_cube(io.read_cube(p), WL)
                cubes.append(cube)
                names.append(p.name)
            except InputError as exc:
                refused.append({"file": p.name, "reason": " ".join(str(exc).split())})
            tracker.step(p.name)
        return cls(cubes, names, refused)

    def report(self) -> dict[str, Any]:
        return {
            "cubes": len(self.cubes),
            "refused": self.refused,
            "files": [{"file": n, "shape": list(c.shape), "bands": c.bands,
                       "range_nm": [float(c.wavelengths[0]), float(c.wavelengths[-1])],
                       "max": float(c.data.max())} for n, c in zip(self.names, self.cubes, strict=True)],
        }


# ---------------------------------------------------------------------------------------------------------
# Training pairs
# ---------------------------------------------------------------------------------------------------------
@dataclass
class TrainingSource:
    """(cube, linear RGB) pairs from real cubes and generated scenes, simulated through ``response``.

    ``sim`` holds :func:`simulate_rgb` options for training batches (e.g. ``shot_noise_photons``,
    ``jpeg_quality``); the cube of each pair is scaled by the same exposure factor, so ``rgb`` equals
    ``project(cube)`` up to the noise options.
    """

    cubes: list[HSCube]
    generator: SceneGenerator | None = None
    generated_fraction: float = 0.5
    response: CameraResponse = field(default_factory=camera_response)
    seed: int = 0
    sim: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cubes and self.generator is None:
            raise InputError("no training data: expected cubes (--data) or the scene generator")
        if not self.cubes:
            self.generated_fraction = 1.0
        elif self.generator is None:
            self.generated_fraction = 0.0

    def _sample_cube(self, rng: np.random.Generator, crop: int, gen_index: int) -> np.ndarray:
        if rng.random() < self.generated_fraction:
            return self.generator.generate(gen_index, crop).data
        cube = self.cubes[int(rng.integers(len(self.cubes)))].data
        return np.ascontiguousarray(_augment(_random_crop(cube, crop, rng), rng))

    def batch(self, step: int, micro: int, rank: int, n: int, crop: int) -> dict[str, np.ndarray]:
        rng = _rng(self.seed, step, micro, rank)
        cubes = np.empty((n, crop, crop, WL.size), np.float32)
        rgbs = np.empty((n, crop, crop, 3), np.float32)
        for i in range(n):
            gen_index = ((step * 64 + micro) * 64 + rank) * 64 + i
            x = self._sample_cube(rng, crop, gen_index)
            gain = float(np.exp(rng.uniform(np.log(0.5), np.log(1.0))))  # exposure variety
            sim = simulate_rgb(x, self.response, exposure="max", rng=rng, **self.sim)
            scale = sim.scale * gain
            cubes[i] = x * scale
            rgbs[i] = np.clip(sim.rgb * gain, 0, 1)
        return {"cube": cubes, "rgb": rgbs}

    def pixels(self, step: int, micro: int, rank: int, n: int, crop: int = 32) -> dict[str, np.ndarray]:
        """``n`` random pixels (spectra (n, 31) and RGB (n, 3)) from a few crops."""
        b = self.batch(step, micro, rank, max(1, n // (crop * crop) + 1), crop)
        rng = _rng(self.seed, step, micro, rank, 7)
        x, y = b["cube"].reshape(-1, WL.size), b["rgb"].reshape(-1, 3)
        sel = rng.choice(len(x), size=n, replace=len(x) < n)
        return {"cube": x[sel], "rgb": y[sel]}


def validation_pairs(cubes: list[HSCube], response: CameraResponse, crop: int | None = None
                     ) -> list[dict[str, np.ndarray]]:
    """Fixed validation pairs: each cube (centre-cropped to ``crop``), exposure-normalised, noise-free."""
    out = []
    for c in cubes:
        data = c.data
        if crop and min(data.shape[:2]) > crop:
            top, left = (data.shape[0] - crop) // 2, (data.shape[1] - crop) // 2
            data = data[top : top + crop, left : left + crop]
        sim = simulate_rgb(data, response, exposure="max")
        out.append({"cube": (data * sim.scale).astype(np.float32), "rgb": sim.rgb})
    return out


__all__ = ["builtin_photos", "folder_photos", "PhotoSource", "ReflectanceLibrary", "IlluminantLibrary",
           "SceneGenerator", "CubeFolder", "TrainingSource", "validation_pairs", "shared_data_dir"]
