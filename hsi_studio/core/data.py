"""Training data for the ULDM stages (numpy only — no torch here, so it is light and testable).

- Scenes (:mod:`hsi_studio.core.scenes`, re-exported here): photos, measured reflectance / illuminant libraries,
  and the :class:`SceneGenerator` of realistic radiance cubes.
- :class:`PhotoSource`: random sRGB crops of photos (RGB pre-training).
- :class:`CubeFolder`: the cubes of a folder (every format :func:`io.read_cube` reads; ENVI by its ``.hdr``;
  PNG band folders), loaded lazily, put on 400–700 nm / 10 nm, with a report of what was refused and why.
- :class:`PairFolder`: real RGB / cube pairs sharing a file stem (``x.png`` + ``x.mat``).
- :class:`TrainingSource`: real cubes (weighted) + generated scenes → (cube, linear RGB) pairs simulated through
  the model's camera response; ``split`` into train / val, ``batch`` (stage 2 and 1), ``pixels`` (per-pixel
  stage 1), ``val_batches`` (a fixed validation set).

Determinism (exact resume): sample ``i`` of ``batch(step, …)`` / ``pixels(step, …)`` draws every random number
from ``np.random.SeedSequence([seed, step, micro, rank, i])`` (spawned into a data and a noise stream; ``micro``
— the gradient-accumulation index — and ``rank`` default to 0). A batch is therefore a pure function of
(seed, step): a run resumed at step ``k`` needs nothing but ``k``, whatever was drawn before, cached or not; a
sample does not depend on the batch size, and the noise options never change which cubes are drawn. The
train / val split is a pure function of ``seed`` and the cube names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cube import HSCube, RGBImage
from .errors import InputError, WavelengthError
from .jobs import ProgressTracker
from .scenes import (  # noqa: F401 — re-exported: the training code imports them from here
    PHOTO_EXTENSIONS,
    SKIMAGE_PHOTOS,
    IlluminantLibrary,
    ReflectanceLibrary,
    Scene,
    SceneGenerator,
    SceneOptions,
    builtin_photos,
    check_photo,
    folder_photos,
    shared_data_dir,
)
from .spectral import (
    STANDARD_WAVELENGTHS,
    CameraResponse,
    camera_response,
    project,
    resample_cube,
    simulate_rgb,
    srgb_decode,
)

WL = STANDARD_WAVELENGTHS
#: options of ``TrainingSource(sim=…)`` (see :meth:`TrainingSource.simulate`)
SIM_OPTIONS = {
    "exposure": "'max' (default: brightest RGB → 1) or 'percentile' (brighter pixels scaled down in both)",
    "percentile": "for exposure='percentile' (default 99.5)",
    "gain": "[lo, hi]: extra exposure factor, log-uniform (default [0.5, 1.0])",
    "shot_noise_photons": "photons at full scale, a number or [lo, hi] (log-uniform); off by default",
    "quantize_bits": "e.g. 8; off by default",
    "jpeg_quality": "a number or [lo, hi]; off by default",
    "noise_probability": "how often the noise options apply (default 1)",
    "clip": "clip the RGB to [0, 1] (default False: rgb == project(cube) exactly, out-of-gamut RGB < 0 kept)",
    "light": "an illuminant (e.g. 'D65') that lights every drawn cube, taken as reflectance, before the camera "
             "sees it: the convention of white-balanced photos (default None: cubes are radiance as they are)",
}


def _rng(seed: int, *pos: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *[int(p) for p in pos]])


def _hw(crop: int | Sequence[int]) -> tuple[int, int]:
    h, w = (crop, crop) if np.isscalar(crop) else tuple(crop)
    if int(h) < 1 or int(w) < 1:
        raise InputError(f"crop {crop!r}; expected a positive size in pixels")
    return int(h), int(w)


def augment(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random flips and 90° rotations of the first two axes (rotations by 90° only for square arrays).
    Apply it to a cube *before* projecting it to RGB and the pair stays aligned."""
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    if rng.random() < 0.5:
        arr = arr[::-1]
    k = int(rng.integers(4))
    return np.rot90(arr, k if arr.shape[0] == arr.shape[1] else 2 * (k % 2))


def random_crop(arr: np.ndarray, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random (h, w) window; an array smaller than that is reflect-padded first."""
    (h, w), (ah, aw) = hw, arr.shape[:2]
    if ah < h or aw < w:
        pad = [(0, max(h - ah, 0)), (0, max(w - aw, 0))] + [(0, 0)] * (arr.ndim - 2)
        arr = np.pad(arr, pad, mode="reflect" if min(ah, aw) > 1 else "edge")
        ah, aw = arr.shape[:2]
    top, left = int(rng.integers(ah - h + 1)), int(rng.integers(aw - w + 1))
    return arr[top : top + h, left : left + w]


def centre_crop(arr: np.ndarray, crop: int | Sequence[int] | None) -> np.ndarray:
    if crop is None:
        return arr
    h, w = _hw(crop)
    top, left = max(0, (arr.shape[0] - h) // 2), max(0, (arr.shape[1] - w) // 2)
    return arr[top : top + h, left : left + w]


# ---------------------------------------------------------------------------------------------------------
# Photos (RGB pre-training)
# ---------------------------------------------------------------------------------------------------------
class PhotoSource:
    """Random augmented crops of RGB photos, sRGB-encoded float32 (B, crop, crop, 3) in [0, 1]."""

    def __init__(self, photos: list[np.ndarray], seed: int = 0):
        if not photos:
            raise InputError("no photos given; expected at least one RGB photo")
        self.photos = [check_photo(p, i) for i, p in enumerate(photos)]
        self.seed = int(seed)

    def batch(self, step: int, batch_size: int, crop: int, *, micro: int = 0, rank: int = 0
              ) -> np.ndarray:
        n = batch_size
        rng = _rng(self.seed, step, micro, rank)
        h, w = _hw(crop)
        out = np.empty((n, h, w, 3), np.float32)
        for i in range(n):
            photo = self.photos[int(rng.integers(len(self.photos)))]
            s = rng.uniform(0.5, 1.0)  # random zoom: more variety of structure per crop
            src = random_crop(photo, (min(round(h / s), photo.shape[0]), min(round(w / s), photo.shape[1])), rng)
            out[i] = augment(_resize_uint8(src, h, w), rng)
        return out


def _resize_uint8(img: np.ndarray, h: int, w: int) -> np.ndarray:
    if img.shape[:2] != (h, w):
        from PIL import Image

        img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((w, h), Image.BILINEAR))
    return img.astype(np.float32) / np.float32(255.0)


# ---------------------------------------------------------------------------------------------------------
# Real cubes
# ---------------------------------------------------------------------------------------------------------
_BAND_PNG = re.compile(r".*_\d+\.png", re.IGNORECASE)


def _band_folder(p: Path) -> Path | None:
    """A PNG band folder (``x_01.png`` …) at ``p`` or one level down (CAVE ships ``x_ms/x_ms/``)."""
    for q in (p, *sorted(c for c in p.iterdir() if c.is_dir())):
        if any(_BAND_PNG.fullmatch(f.name) for f in q.iterdir()):
            return q
    return None


def list_cube_files(folder: str | Path) -> list[Path]:
    """The cube files of a folder, sorted: every extension :func:`io.read_cube` reads (ENVI by its ``.hdr``;
    an ``.img`` only without one) and PNG band folders."""
    from .io import CUBE_READ_EXTENSIONS

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; expected a folder of hyperspectral cubes")
    exts = {e.lower() for e in CUBE_READ_EXTENSIONS}
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            band = _band_folder(p)
            if band is not None:
                out.append(band)
        elif p.suffix.lower() in exts and not p.name.startswith("."):
            if p.suffix.lower() == ".img" and any(p.with_suffix(s).is_file() for s in (".hdr", ".HDR")):
                continue
            out.append(p)
    return out


def cube_paths(items: Sequence[str | Path]) -> list[Path]:
    """Cube files, PNG band folders (one cube each) and folders of cubes → the cubes' paths, in order."""
    out: list[Path] = []
    for item in map(Path, items):
        if item.is_dir() and not any(_BAND_PNG.fullmatch(f.name) for f in item.iterdir()):
            out += list_cube_files(item)
        else:
            out.append(item)
    return out


class CubeFolder:
    """The cubes of a folder (or an explicit list of files), on the standard 31-band grid.

    Construction only lists the files. ``get(i)`` reads one (kept in memory when ``cache``); ``load_all`` /
    ``validate`` read them all with progress and cancel; a file that cannot be read or put on 400–700 nm is
    refused with its reason — one bad file never stops the folder. ``outside``: what to do with a cube that
    does not cover 400–700 nm (``"error"`` refuses it; ``"nearest"`` repeats its edge bands).
    ``max_step_nm``: a cube whose bands are further apart is refused (resampling would invent detail).
    """

    def __init__(self, path: str | Path | Sequence[str | Path], *, key: str | None = None, wavelengths=None,
                 outside: str = "error", max_step_nm: float = 20.0, cache: bool = True):
        if isinstance(path, (str, Path)):
            self.root: Path | None = Path(path)
            self.files = list_cube_files(self.root)
        else:
            self.root, self.files = None, [Path(p) for p in path]
        self.key, self.wavelengths, self.outside = key, wavelengths, outside
        self.max_step_nm, self.cache = float(max_step_nm), bool(cache)
        self._cubes: dict[int, HSCube] = {}
        self._info: dict[int, dict[str, Any]] = {}
        self._refused: dict[int, str] = {}

    @classmethod
    def load(cls, path, *, progress=None, cancel=None, **kwargs: Any) -> CubeFolder:
        """List and read everything now (the eager form)."""
        folder = cls(path, **kwargs)
        folder.load_all(progress, cancel)
        return folder

    def __len__(self) -> int:
        return len(self.files)

    def name(self, i: int) -> str:
        p = self.files[i]
        return p.name if self.root is None or p.parent == self.root else str(p.relative_to(self.root))

    def get(self, i: int) -> HSCube:
        """Cube ``i`` on the standard grid; raises the :class:`InputError` it was refused with."""
        if i in self._cubes:
            return self._cubes[i]
        if i in self._refused:
            raise InputError(self._refused[i], path=str(self.files[i]))
        try:
            cube = self._read(i)
        except (InputError, OSError, ValueError) as exc:  # one bad file never stops the folder
            msg = " ".join(str(exc).split())
            prefix = f"{getattr(exc, 'path', None)}: "
            msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            self._refused[i] = msg if isinstance(exc, InputError) else f"{type(exc).__name__}: {msg}"
            raise InputError(self._refused[i], path=str(self.files[i])) from None
        if self.cache:
            self._cubes[i] = cube
        return cube

    def _read(self, i: int) -> HSCube:
        from . import io

        raw = io.read_cube(self.files[i], key=self.key, wavelengths=self.wavelengths)
        wl = raw.wavelengths
        step = float(np.median(np.diff(wl))) if wl.size > 1 else float("inf")
        grid = f"{raw.bands} bands {wl[0]:g}–{wl[-1]:g} nm"
        if step > self.max_step_nm:
            raise WavelengthError(f"its bands are {step:g} nm apart ({grid}); expected at most {self.max_step_nm:g} "
                                  "nm spacing to resample to 400–700 nm / 10 nm without inventing detail",
                                  path=str(self.files[i]))
        try:
            cube = resample_cube(raw, WL, outside=self.outside)
        except WavelengthError as exc:
            raise WavelengthError(f"{grid} cannot be put on 400–700 nm / 10 nm: {exc}", path=str(self.files[i])
                                  ) from None
        d = cube.data
        self._info[i] = {"file": self.name(i), "shape": list(raw.shape), "bands": raw.bands,
                         "range_nm": [float(wl[0]), float(wl[-1])], "step_nm": round(step, 3),
                         "resampled": cube is not raw, "kind": cube.kind, "min": float(d.min()),
                         "max": float(d.max()), "negative_fraction": float((d < 0).mean())}
        return cube

    def validate(self, progress=None, cancel=None) -> list[int]:
        """Read every file not yet read (progress, cancel); the indices of the good ones."""
        tracker = ProgressTracker(len(self), progress, cancel)
        for i in range(len(self)):
            if i not in self._info and i not in self._refused:
                try:
                    self.get(i)
                except InputError:
                    pass
            tracker.step(self.name(i))
        return self.good

    def load_all(self, progress=None, cancel=None) -> list[HSCube]:
        """Every good cube (read now, with progress and cancel)."""
        return [self.get(i) for i in self.validate(progress, cancel)]

    @property
    def good(self) -> list[int]:
        return [i for i in range(len(self)) if i in self._info and i not in self._refused]

    @property
    def cubes(self) -> list[HSCube]:
        return self.load_all()

    @property
    def names(self) -> list[str]:
        return [self.name(i) for i in self.validate()]

    @property
    def refused(self) -> list[dict[str, str]]:
        return [{"file": self.name(i), "reason": r} for i, r in sorted(self._refused.items())]

    def report(self, progress=None, cancel=None) -> dict[str, Any]:
        """Counts, shapes, bands, wavelength ranges of the good files; refused files and why."""
        good = self.validate(progress, cancel)
        infos = [self._info[i] for i in good]
        return {
            "folder": str(self.root) if self.root else None,
            "listed": len(self), "cubes": len(good), "refused": self.refused, "files": infos,
            "shapes": _count(["×".join(map(str, f["shape"][:2])) for f in infos]),
            "bands": _count([f["bands"] for f in infos]),
            "range_nm": ([min(f["range_nm"][0] for f in infos), max(f["range_nm"][1] for f in infos)]
                         if infos else None),
            "resampled": sum(f["resampled"] for f in infos),
            "pixels": int(sum(f["shape"][0] * f["shape"][1] for f in infos)),
            "grid": f"{WL.size} bands {WL[0]:g}–{WL[-1]:g} nm",
        }


def _count(values: list) -> dict[str, int]:
    return {str(v): values.count(v) for v in sorted(set(values))}


class PairFolder:
    """Real RGB / cube pairs sharing a file stem (``x.png`` + ``x.mat``, or a band folder ``x/``). A ``.tif``
    is the RGB of a stem with no other image, else the cube. Unpaired files are listed with a reason."""

    RGB_FIRST = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

    def __init__(self, path: str | Path, **cube_kwargs: Any):
        from .io import CUBE_READ_EXTENSIONS

        self.root = Path(path)
        if not self.root.is_dir():
            raise InputError(f"{self.root} is not a folder; expected RGB images and cubes with the same names")
        by_stem: dict[str, list[Path]] = {}
        for p in sorted(self.root.iterdir()):
            if not p.name.startswith("."):
                by_stem.setdefault(p.stem if p.is_file() else p.name, []).append(p)
        self.pairs: list[tuple[Path, Path]] = []
        self.unpaired: list[dict[str, str]] = []
        cube_exts = {e.lower() for e in CUBE_READ_EXTENSIONS}
        for stem, group in by_stem.items():
            rgb = [p for p in group if p.suffix.lower() in self.RGB_FIRST] or [
                p for p in group if p.suffix.lower() in (".tif", ".tiff")]
            cubes = [p for p in group if p not in rgb[:1] and (
                (p.is_file() and p.suffix.lower() in cube_exts) or (p.is_dir() and _band_folder(p) is not None))]
            if rgb and cubes:
                self.pairs.append((rgb[0], cubes[0]))
            else:
                what = "no cube" if rgb else "no RGB image"
                self.unpaired += [{"file": p.name, "reason": f"{what} named {stem}.*"} for p in group
                                  if p.suffix.lower() in cube_exts | set(self.RGB_FIRST)]
        self._cubes = CubeFolder([c if c.is_file() else _band_folder(c) for _, c in self.pairs], **cube_kwargs)

    def __len__(self) -> int:
        return len(self.pairs)

    def get(self, i: int) -> tuple[HSCube, RGBImage]:
        """Pair ``i``: the cube on the standard grid and the RGB image as read (sRGB-encoded for photos)."""
        from . import io

        cube, rgb = self._cubes.get(i), io.read_rgb(self.pairs[i][0])
        if (rgb.height, rgb.width) != cube.shape[:2]:
            raise InputError(f"RGB is {rgb.height}×{rgb.width} but its cube is {cube.height}×{cube.width}; "
                             "expected the same size", path=str(self.pairs[i][0]))
        return cube, rgb

    def batches(self, crop: int | None = None) -> list[dict[str, Any]]:
        """Every readable pair, centre-cropped: cube (H, W, 31), linear RGB (H, W, 3), name. The RGB's scale is
        the photo's, not the cube's: compare with scale-invariant metrics or fit a gain first."""
        out = []
        for i in range(len(self)):
            try:
                cube, rgb = self.get(i)
            except InputError as exc:
                self.unpaired.append({"file": self.pairs[i][0].name, "reason": " ".join(str(exc).split())})
                continue
            lin = srgb_decode(rgb.data) if rgb.encoding == "srgb" else rgb.data
            out.append({"cube": centre_crop(cube.data, crop), "rgb": centre_crop(lin, crop),
                        "name": self.pairs[i][0].stem})
        return out

    def report(self) -> dict[str, Any]:
        return {"folder": str(self.root), "pairs": len(self), "unpaired": self.unpaired,
                "cubes": self._cubes.report()}


# ---------------------------------------------------------------------------------------------------------
# Training pairs
# ---------------------------------------------------------------------------------------------------------
class TrainingSource:
    """(cube, linear RGB) pairs from real cubes (a list or a :class:`CubeFolder`; drawn by ``weights``, default
    uniform) and generated scenes (with probability ``generated_fraction``), seen through ``response``.

    Each pair is exposure-normalised — the cube is scaled by the same factor as its RGB — so, noise options
    off, ``rgb == project(cube, response)`` exactly (no clipping: out-of-gamut colours keep negative RGB).
    ``sim`` holds the options of :data:`SIM_OPTIONS`. See the module docstring for determinism.
    """

    def __init__(self, cubes: Sequence[HSCube] | CubeFolder = (), generator: SceneGenerator | None = None,
                 generated_fraction: float = 0.5, response: CameraResponse | str | None = None, *, seed: int = 0,
                 sim: dict[str, Any] | None = None, weights: Sequence[float] | None = None,
                 names: Sequence[str] | None = None, val_scenes: int = 2, val_scene_size: int = 128):
        if isinstance(cubes, CubeFolder):
            good = cubes.validate()
            self._refs: list[Any] = [(cubes, i) for i in good]
            names = [cubes.name(i) for i in good] if names is None else names
        else:
            self._refs = [_check_cube(c, i) for i, c in enumerate(cubes)]
        self.names = list(names) if names is not None else [f"cube {i}" for i in range(len(self._refs))]
        if len(self.names) != len(self._refs):
            raise InputError(f"{len(self.names)} names for {len(self._refs)} cubes; expected one name per cube")
        if not self._refs and generator is None:
            raise InputError("no training data: expected cubes (--data) or the scene generator")
        frac = float(generated_fraction)
        if not 0 <= frac <= 1:
            raise InputError(f"generated_fraction {generated_fraction}; expected a value in [0, 1]")
        self.generated_fraction = 1.0 if not self._refs else (0.0 if generator is None else frac)
        self.generator = generator
        response = camera_response(response or "cie1964-srgb") if not isinstance(response, CameraResponse) else response
        self.response = response.resampled(WL)
        self.seed, self.sim = int(seed), _check_sim(sim or {})
        w = np.ones(len(self._refs)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self._refs),) or not np.isfinite(w).all() or (w < 0).any() or (self._refs and not w.sum()):
            raise InputError(f"cube weights {np.asarray(weights).tolist()}; expected {len(self._refs)} "
                             "non-negative numbers, not all zero")
        self.weights = w / w.sum() if len(w) else w
        self.light = light_spectrum(self.sim["light"], self.response)
        self.val_scenes, self.val_scene_size = int(val_scenes), int(val_scene_size)
        self._val: dict[Any, list] = {}

    # -- data ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._refs)

    def cube(self, j: int) -> HSCube:
        ref = self._refs[j]
        return ref if isinstance(ref, HSCube) else ref[0].get(ref[1])

    def _subset(self, idx: Sequence[int]) -> TrainingSource:
        sub = object.__new__(TrainingSource)
        sub.__dict__.update(self.__dict__)
        sub._refs, sub.names = [self._refs[j] for j in idx], [self.names[j] for j in idx]
        w = self.weights[list(idx)] if len(idx) else np.zeros(0)
        sub.weights = w / w.sum() if len(w) and w.sum() > 0 else np.full(len(idx), 1 / max(len(idx), 1))
        if not sub._refs:
            sub.generated_fraction = 1.0 if self.generator is not None else 0.0
        sub._val = {}
        return sub

    def split(self, val_fraction: float = 0.2, val_files: Sequence[str | Path] | None = None, *,
              split_seed: int = 0) -> tuple[TrainingSource, TrainingSource]:
        """(train, val): ``val_files`` (names / stems / paths of cubes in this source) go to val; else a
        ``val_fraction`` of the cubes (at least one when there are two or more) chosen by ``split_seed`` — not the
        sampling seed, so every rank and every resumed run gets the same split. With no real val cube,
        ``val.val_batches`` serves fixed generated scenes."""
        n = len(self)
        if val_files:
            val = []
            for f in map(str, val_files):
                hits = [j for j, nm in enumerate(self.names) if f in (nm, Path(nm).stem)
                        or Path(nm).name == Path(f).name]
                if not hits:
                    raise InputError(f"validation file {f!r} is not among the cubes ({', '.join(self.names[:8])}"
                                     f"{'…' if n > 8 else ''}); expected one of their names")
                val += [j for j in hits if j not in val]
        elif n >= 2 and val_fraction > 0:
            order = np.argsort(self.names, kind="stable")
            k = min(n - 1, max(1, int(round(n * float(val_fraction)))))
            val = sorted(order[_rng(split_seed, 0x5A11).permutation(n)[:k]].tolist())
        else:
            val = []
        train = [j for j in range(n) if j not in val]
        if not train and self.generator is None:
            raise InputError("every cube went to validation and there is no scene generator; expected training data")
        return self._subset(train), self._subset(val)

    # -- sampling --------------------------------------------------------------------------------------------
    def _draw(self, rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
        if rng.random() < self.generated_fraction:
            x = self.generator.generate(int(rng.integers(2**62)), hw).data
        else:
            cube = self.cube(int(rng.choice(len(self._refs), p=self.weights))).data
            x = random_crop(cube, hw, rng)
        x = np.maximum(augment(x, rng), 0, dtype=np.float32)  # a copy; radiance is never negative
        return x if self.light is None else x * self.light

    def simulate(self, x: np.ndarray, rng: np.random.Generator | None = None,
                 noise_rng: np.random.Generator | None = None, *, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(cube, rgb): ``x`` scaled to its exposure (random gain from ``rng`` when ``train``) and the RGB the
        camera sees, with the noise options (drawn from ``noise_rng``) when ``train``."""
        o = self.sim
        rng = rng if rng is not None else np.random.default_rng(0)
        noise_rng = noise_rng if noise_rng is not None else rng
        rgb = project(x, self.response)
        ref = float(np.percentile(rgb, o["percentile"])) if o["exposure"] == "percentile" else float(rgb.max())
        gain = float(np.exp(rng.uniform(*np.log(o["gain"])))) if train else 1.0
        scale = np.float32(gain / ref if ref > 0 else 1.0)
        x, rgb = x * scale, rgb * scale
        peak = rgb.max(axis=-1)
        if peak.max() > 1:  # percentile exposure: compress what would clip, in the cube too (stays consistent)
            f = (1 / np.maximum(peak, 1))[..., None].astype(np.float32)
            x *= f
            rgb = project(x, self.response)
        if o["clip"]:
            rgb = np.clip(rgb, 0, 1)
        noisy = train and noise_rng.random() < o["noise_probability"] and any(
            o[k] is not None for k in ("shot_noise_photons", "quantize_bits", "jpeg_quality"))
        if noisy:
            rgb = simulate_rgb(x, self.response, exposure=1.0, rng=noise_rng, quantize_bits=o["quantize_bits"],
                               shot_noise_photons=_draw_opt(o["shot_noise_photons"], noise_rng, log=True),
                               jpeg_quality=_draw_opt(o["jpeg_quality"], noise_rng)).rgb
        return x.astype(np.float32, copy=False), rgb.astype(np.float32, copy=False)

    def batch(self, step: int, batch_size: int, crop: int | Sequence[int], *, micro: int = 0,
              rank: int = 0) -> dict[str, np.ndarray]:
        """``cube`` float32 (B, H, W, 31) and linear ``rgb`` float32 (B, H, W, 3) for global step ``step``
        (``micro``: gradient-accumulation index, ``rank``: process) — a pure function of (seed, step, micro,
        rank)."""
        n = batch_size
        h, w = _hw(crop)
        cubes = np.empty((n, h, w, WL.size), np.float32)
        rgbs = np.empty((n, h, w, 3), np.float32)
        for i in range(n):
            cubes[i], rgbs[i] = self._sample(self._rngs(step, micro, rank, i), (h, w))
        return {"cube": cubes, "rgb": rgbs}

    def _rngs(self, step: int, micro: int, rank: int, i: int) -> tuple[np.random.Generator, np.random.Generator]:
        """Sample ``i``'s data and noise generators: the noise options never change which cubes are drawn."""
        seq = np.random.SeedSequence([self.seed, int(step), int(micro), int(rank), int(i)])
        return tuple(np.random.default_rng(s) for s in seq.spawn(2))  # type: ignore[return-value]

    def _sample(self, rngs, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        return self.simulate(self._draw(rngs[0], hw), rngs[0], rngs[1])

    def pixels(self, step: int, n: int, *, crop: int = 32, micro: int = 0, rank: int = 0
               ) -> dict[str, np.ndarray]:
        """``n`` pixels for per-pixel training: spectra ``cube`` (n, 31) and ``rgb`` (n, 3), each from an
        exposure-normalised crop (a few crops per call), a pure function of (seed, step, micro, rank)."""
        k = int(np.clip(np.ceil(4 * n / (crop * crop)), 2, 64))  # use about ¼ of each crop's pixels
        xs, ys = [], []
        for i in range(k):
            x, y = self._sample(self._rngs(step, micro, rank, i), (crop, crop))
            xs.append(x.reshape(-1, WL.size))
            ys.append(y.reshape(-1, 3))
        x, y = np.concatenate(xs), np.concatenate(ys)
        sel = self._rngs(step, micro, rank, k)[0].choice(len(x), size=int(n), replace=len(x) < n)
        return {"cube": x[sel], "rgb": y[sel]}

    def val_batches(self, crop: int | Sequence[int] | None = None) -> list[dict[str, Any]]:
        """The fixed validation set: every cube centre-cropped to ``crop`` (whole when None) — or, with no real
        cube, ``val_scenes`` generated scenes (stream 1) — max-exposed, noise-free; name included."""
        key = None if crop is None else _hw(crop)
        if key not in self._val:
            items = [(self.cube(j).data, self.names[j]) for j in range(len(self))]
            if not items and self.generator is not None:
                size = key or (self.val_scene_size, self.val_scene_size)
                items = [(self.generator.generate(i, size, stream=1).data, f"generated val {i}")
                         for i in range(self.val_scenes)]
            self._val[key] = [_val_pair(x, nm, crop, self.response, self.light) for x, nm in items]
        return self._val[key]

    def summary(self) -> dict[str, Any]:
        return {"cubes": len(self), "names": self.names, "generated_fraction": self.generated_fraction,
                "response": self.response.name, "seed": self.seed, "sim": self.sim,
                "generator": self.generator.provenance() if self.generator is not None else None}


def light_spectrum(light: str | None, response: CameraResponse) -> np.ndarray | None:
    """The illuminant ``light`` on the response's grid, scaled so a white reflector under it has a brightest
    RGB channel of 1 through ``response`` (None stays None)."""
    if light is None:
        return None
    from .relight import illuminant_spd

    spd = illuminant_spd(str(light), response.wavelengths).astype(np.float64)
    peak = float((spd @ response.matrix).max())
    if not peak > 0:
        raise InputError(f"light {light!r} is invisible through the response {response.name}; expected a light "
                         "the camera sees")
    return (spd / peak).astype(np.float32)


def _val_pair(x: np.ndarray, name: str, crop, response, light: np.ndarray | None = None) -> dict[str, Any]:
    x = np.maximum(centre_crop(x, crop), 0, dtype=np.float32)
    if light is not None:
        x = x * light
    x *= np.float32(1 / max(float(project(x, response).max()), 1e-12))
    return {"cube": x, "rgb": project(x, response), "name": name}


def validation_pairs(cubes: Sequence[HSCube], response: CameraResponse, crop: int | None = None,
                     light: str | None = None) -> list[dict[str, Any]]:
    """Fixed validation pairs: each cube centre-cropped to ``crop`` (lit by ``light`` when given, see
    :data:`SIM_OPTIONS`), max-exposed, noise-free."""
    spd = light_spectrum(light, response)
    return [_val_pair(c.data, str(c.metadata.get("source", f"cube {i}")), crop, response, spd)
            for i, c in enumerate(cubes)]


def _check_cube(c: Any, i: int) -> HSCube:
    if not isinstance(c, HSCube):
        raise InputError(f"training cube {i} is a {type(c).__name__}; expected an HSCube")
    if c.bands != WL.size or not np.allclose(c.wavelengths, WL):
        return resample_cube(c, WL)
    return c


def _check_sim(sim: dict[str, Any]) -> dict[str, Any]:
    unknown = set(sim) - set(SIM_OPTIONS)
    if unknown:
        raise InputError(f"unknown RGB simulation option(s) {sorted(unknown)}; expected some of {sorted(SIM_OPTIONS)}")
    o = {"exposure": "max", "percentile": 99.5, "gain": (0.5, 1.0), "shot_noise_photons": None,
         "quantize_bits": None, "jpeg_quality": None, "noise_probability": 1.0, "clip": False, "light": None,
         **sim}
    if o["light"] is not None and not isinstance(o["light"], str):
        raise InputError(f"light {o['light']!r}; expected an illuminant name such as 'D65', or null")
    if o["exposure"] not in ("max", "percentile"):
        raise InputError(f"exposure {o['exposure']!r}; expected 'max' or 'percentile'")
    gain = np.broadcast_to(np.asarray(o["gain"], dtype=np.float64), (2,))
    if not (np.isfinite(gain).all() and 0 < gain[0] <= gain[1]):
        raise InputError(f"gain {o['gain']!r}; expected [lo, hi] with 0 < lo ≤ hi")
    o["gain"] = (float(gain[0]), float(gain[1]))
    if not 0 < float(o["percentile"]) <= 100 or not 0 <= float(o["noise_probability"]) <= 1:
        raise InputError("percentile must be in (0, 100] and noise_probability in [0, 1]")
    return o


def _draw_opt(value, rng: np.random.Generator, *, log: bool = False):
    if value is None or np.isscalar(value):
        return value
    lo, hi = (float(v) for v in value)
    v = np.exp(rng.uniform(np.log(lo), np.log(hi))) if log else rng.uniform(lo, hi)
    return float(v) if log else int(round(v))


__all__ = ["PhotoSource", "CubeFolder", "cube_paths", "PairFolder", "TrainingSource", "SIM_OPTIONS", "augment", "random_crop",
           "centre_crop", "list_cube_files", "validation_pairs", "builtin_photos", "folder_photos",
           "shared_data_dir", "ReflectanceLibrary", "IlluminantLibrary", "SceneGenerator", "SceneOptions", "Scene"]
