"""(cube, linear RGB) training pairs for the ULDM stages and the per-pixel regressions (numpy only — no torch
here, so it is light and testable).

Determinism (exact resume): sample ``i`` of ``batch(step, …)`` / ``pixels(step, …)`` draws every random number
from ``np.random.SeedSequence([seed, step, micro, rank, i])`` (spawned into a data and a noise stream; ``micro``
— the gradient-accumulation index — and ``rank`` default to 0). A batch is therefore a pure function of
(seed, step): a run resumed at step ``k`` needs nothing but ``k``, whatever was drawn before, cached or not; a
sample does not depend on the batch size, and the noise options never change which cubes are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube, centre_crop, crop_shape
from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.data.crops import augment, random_crop
from hsi_studio.core.ml.data.folders import CubeFolder
from hsi_studio.core.ml.data.scenes import SceneGenerator
from hsi_studio.core.spectral.responses import (
    STANDARD_WAVELENGTHS,
    CameraResponse,
    camera_response,
    project,
    resample_cube,
    simulate_rgb,
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
    "cameras": "share of samples seen through a real camera (0–1, default 0): one of the camspec database's "
               "training cameras (core.spectral.cameras, held-out ones never), with its white balance and colour "
               "matrix to the response fitted on chart-free measured reflectances — the RGB a real camera's "
               "processing gives, the target spectrum unchanged",
    "camera_file": "the camspec database (default: <shared data>/cameras/camspec_database.txt)",
}



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
                 names: Sequence[str] | None = None):
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
        self._cameras: list[np.ndarray] | None = None
        if self.sim["cameras"]:
            self.camera_names, self._cameras = camera_responses(self.response, self.light, self.sim["camera_file"])

    # -- data ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._refs)

    def cube(self, j: int) -> HSCube:
        ref = self._refs[j]
        return ref if isinstance(ref, HSCube) else ref[0].get(ref[1])

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
        response: CameraResponse | np.ndarray = self.response
        if train and self._cameras and rng.random() < o["cameras"]:  # no draw at all when cameras is 0
            response = self._cameras[int(rng.integers(len(self._cameras)))]
        rgb = project(x, response)
        ref = float(np.percentile(rgb, o["percentile"])) if o["exposure"] == "percentile" else float(rgb.max())
        gain = float(np.exp(rng.uniform(*np.log(o["gain"])))) if train else 1.0
        scale = np.float32(gain / ref if ref > 0 else 1.0)
        x, rgb = x * scale, rgb * scale
        peak = rgb.max(axis=-1)
        if peak.max() > 1:  # percentile exposure: compress what would clip, in the cube too (stays consistent)
            f = (1 / np.maximum(peak, 1))[..., None].astype(np.float32)
            x *= f
            rgb = project(x, response)
        if o["clip"]:
            rgb = np.clip(rgb, 0, 1)
        noisy = train and noise_rng.random() < o["noise_probability"] and any(
            o[k] is not None for k in ("shot_noise_photons", "quantize_bits", "jpeg_quality"))
        if noisy:
            rgb = simulate_rgb(x, response, exposure=1.0, rng=noise_rng, quantize_bits=o["quantize_bits"],
                               shot_noise_photons=_draw_opt(o["shot_noise_photons"], noise_rng, log=True),
                               jpeg_quality=_draw_opt(o["jpeg_quality"], noise_rng)).rgb
        return x.astype(np.float32, copy=False), rgb.astype(np.float32, copy=False)

    def batch(self, step: int, batch_size: int, crop: int | Sequence[int], *, micro: int = 0,
              rank: int = 0) -> dict[str, np.ndarray]:
        """``cube`` float32 (B, H, W, 31) and linear ``rgb`` float32 (B, H, W, 3) for global step ``step``
        (``micro``: gradient-accumulation index, ``rank``: process) — a pure function of (seed, step, micro,
        rank)."""
        n = batch_size
        h, w = crop_shape(crop)
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

def light_spectrum(light: str | None, response: CameraResponse) -> np.ndarray | None:
    """The illuminant ``light`` on the response's grid, scaled so a white reflector under it has a brightest
    RGB channel of 1 through ``response`` (None stays None)."""
    if light is None:
        return None
    from hsi_studio.core.spectral.relight import illuminant_spd

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
         "cameras": 0.0, "camera_file": None, **sim}
    try:
        o["cameras"] = float(o["cameras"])
    except (TypeError, ValueError):
        o["cameras"] = float("nan")
    if not 0 <= o["cameras"] <= 1:
        raise InputError(f"cameras {sim.get('cameras')!r}; expected the share of samples seen through a real "
                         "camera, 0–1")
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


def camera_responses(response: CameraResponse, light: np.ndarray | None,
                     camera_file: str | None = None) -> tuple[list[str], list[np.ndarray]]:
    """The training cameras (:func:`~hsi_studio.core.spectral.cameras.split`, never a held-out one) as (31, 3)
    matrices "lit spectrum → processed RGB in ``response``'s space", their processing fitted on the chart-free
    reflectance library under ``light`` (D65 when the cubes are radiance)."""
    from hsi_studio.core.ml.data.libraries import ReflectanceLibrary, shared_data_dir
    from hsi_studio.core.spectral import cameras as cam

    if camera_file is None:
        shared = shared_data_dir()
        if shared is None or not (shared / "cameras" / cam.CAMSPEC_FILE).is_file():
            raise InputError("training through real cameras needs the camspec database; expected "
                             f"<shared data>/cameras/{cam.CAMSPEC_FILE} or a camera_file")
        camera_file = str(shared / "cameras" / cam.CAMSPEC_FILE)
    if response.matrix.shape[0] != cam.BANDS:
        raise InputError(f"the response has {response.matrix.shape[0]} bands; real cameras need the 31-band 400–700 nm grid")
    train = cam.split(cam.read_camspec(camera_file), "train")
    if not train:
        raise InputError(f"{camera_file} holds only held-out cameras; expected training cameras too")
    spd = light if light is not None else light_spectrum("D65", response)
    spectra = ReflectanceLibrary.load().spectra
    mats = [cam.effective_response(s, response.matrix, spd, spectra).astype(np.float32) for s in train.values()]
    return list(train), mats


def _draw_opt(value, rng: np.random.Generator, *, log: bool = False):
    if value is None or np.isscalar(value):
        return value
    lo, hi = (float(v) for v in value)
    v = np.exp(rng.uniform(np.log(lo), np.log(hi))) if log else rng.uniform(lo, hi)
    return float(v) if log else int(round(v))


__all__ = ["TrainingSource", "SIM_OPTIONS", "light_spectrum", "validation_pairs"]
