"""RGB photo → hyperspectral cube: input checks, model choice, device choice with fallback, tiling with
overlap blending, several samples (mean + per-pixel standard deviation), progress and cancel.

``model`` is ``"default"`` (the shipped ULDM in ``models/default``), the name of another bundle in
:func:`models_dir` (``rootpoly``, ``mlp``: the shipped learned per-pixel baselines), a path to a ULDM or
PixelRegression bundle, or ``"physics:mallett2019" | "physics:otsu2018" | "physics:minnorm"`` (training-free
baselines). Learned models never write negative values (see :func:`~.models.regression.nonnegative_consistent`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .cube import HSCube, RGBImage
from .errors import InputError
from .jobs import NEVER_CANCEL, CancelToken
from .spectral import srgb_decode

DEFAULT_TILE = 512  # pixels per tile side above which an image is tiled
DEFAULT_OVERLAP = 32
SCHEDULERS = ("dpmsolver++", "ddim")


@dataclass
class ReconstructionResult:
    cube: HSCube
    std: HSCube | None
    model: str
    device: str
    seconds: float
    messages: list[str] = field(default_factory=list)


def models_dir() -> Path:
    """Where shipped and user models live: ``$HSI_STUDIO_MODELS``, the frozen bundle's ``models/``, or the
    checkout's ``models/``."""
    env = os.environ.get("HSI_STUDIO_MODELS")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "models"
    return Path(__file__).resolve().parents[2] / "models"


def default_model_path() -> Path:
    return models_dir() / "default"


def list_models() -> list[Path]:
    """Bundles (folders with ``model_index.json``) under :func:`models_dir`."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "model_index.json").is_file())


RECONSTRUCTION_CLASSES = ("ULDM", "PixelRegression")


def bundle_class(path: str | Path) -> str | None:
    """The ``_class_name`` a bundle's ``model_index.json`` declares (None when unreadable)."""
    import json

    try:
        value = json.loads((Path(path) / "model_index.json").read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def resolve_model(model: str) -> str | Path:
    if model.startswith("physics:"):
        from .recovery import METHODS

        if model.split(":", 1)[1] not in METHODS:
            raise InputError(f"unknown model {model!r}; expected default, a bundle folder, or "
                             f"{', '.join('physics:' + m for m in METHODS)}")
        return model
    path = default_model_path() if model in ("default", "") else Path(model)
    named = models_dir() / model
    if model and "/" not in model and "\\" not in model and not path.exists() and (named / "model_index.json").is_file():
        path = named  # a shipped or user bundle by name, e.g. "rootpoly", "mlp"
    if not (path / "model_index.json").is_file():
        what = "the shipped default model" if model in ("default", "") else "a model bundle"
        raise InputError(f"{path} is not {what} (no model_index.json); expected a ULDM or regression bundle, "
                         "a bundle name in models/ (rootpoly, mlp) or "
                         "physics:mallett2019|otsu2018|minnorm")
    return path


@lru_cache(maxsize=2)
def _load(path: str, mtime: float, device: str):
    from .models.bundle import load_bundle

    return load_bundle(path, device=device)


def load_model(path: str | Path, device: str = "cpu"):
    """Load (and cache) a ULDM bundle on ``device``."""
    p = Path(path)
    model = _load(str(p.resolve()), (p / "manifest.json").stat().st_mtime if (p / "manifest.json").exists()
                  else 0.0, device)
    if not hasattr(model, "reconstruct"):
        raise InputError(f"{p} holds a {type(model).__name__}, not a reconstruction model; expected a ULDM "
                         "bundle (stage 2's model/ folder)")
    return model


def linear_rgb(rgb: RGBImage | np.ndarray, encoding: str | None = None) -> np.ndarray:
    """Validated linear RGB float32 H×W×3 (a photo is sRGB-encoded and is linearised)."""
    img = rgb if isinstance(rgb, RGBImage) else RGBImage(np.asarray(rgb), encoding or "srgb")
    enc = encoding or img.encoding
    return img.data if enc == "linear" else srgb_decode(img.data)


def _tiles(h: int, w: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    step = max(tile - overlap, 8)
    tops = list(range(0, max(h - tile, 0) + 1, step)) or [0]
    lefts = list(range(0, max(w - tile, 0) + 1, step)) or [0]
    if tops[-1] + tile < h:
        tops.append(h - tile)
    if lefts[-1] + tile < w:
        lefts.append(w - tile)
    return [(t, lft, min(tile, h), min(tile, w)) for t in tops for lft in lefts]


def _ramp(n: int, overlap: int) -> np.ndarray:
    r = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k > 0:
        edge = (np.arange(k, dtype=np.float32) + 0.5) / k
        r[:k], r[-k:] = edge, edge[::-1]
    return r


def run_tiled(fn, lin: np.ndarray, bands: int, tile: int, overlap: int, progress, cancel):
    """Apply ``fn(rgb_tile, progress) -> (mean, std|None)`` over overlapping tiles, blending with ramps."""
    h, w, _ = lin.shape
    if h <= tile and w <= tile:
        return fn(lin, progress)
    boxes = _tiles(h, w, tile, overlap)
    acc = np.zeros((h, w, bands), np.float32)
    acc_var = None
    weight = np.zeros((h, w, 1), np.float32)
    for i, (t, lft, th, tw) in enumerate(boxes):
        cancel.check()

        def sub(frac, msg="", i=i):
            progress((i + frac) / len(boxes), f"tile {i + 1}/{len(boxes)} {msg}".strip())

        mean, std = fn(lin[t : t + th, lft : lft + tw], sub)
        wgt = (_ramp(th, overlap)[:, None] * _ramp(tw, overlap)[None, :])[..., None]
        acc[t : t + th, lft : lft + tw] += mean * wgt
        if std is not None:
            acc_var = np.zeros_like(acc) if acc_var is None else acc_var
            acc_var[t : t + th, lft : lft + tw] += (std**2) * wgt
        weight[t : t + th, lft : lft + tw] += wgt
    mean = acc / weight
    std = None if acc_var is None else np.sqrt(acc_var / weight)
    return mean, std


def model_defaults(path: str | Path) -> dict[str, int]:
    """The solver steps and samples a bundle recommends (``training.json`` → ``sampling``, chosen when it was
    made); ``{"steps": 8, "samples": 1}`` when it records none."""
    import json

    out = {"steps": 8, "samples": 1}
    try:
        rec = json.loads((Path(path) / "training.json").read_text()).get("sampling", {})
    except (OSError, ValueError, AttributeError):
        return out
    if isinstance(rec, dict):
        for key in out:
            v = rec.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64:
                out[key] = v
    return out


def reconstruct(
    rgb: RGBImage | np.ndarray,
    model: str | Path = "default",
    *,
    steps: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    scheduler: str = "dpmsolver++",
    device: str = "auto",
    tile: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    response: str | None = None,
    progress=None,
    cancel: CancelToken | None = None,
) -> ReconstructionResult:
    """Reconstruct a 31-band cube (relative radiance) from an RGB photo. See the module docstring.
    ``response`` applies to ``physics:minnorm`` only (a learned model uses the response it was trained for).
    ``steps``/``samples`` default to what the bundle recommends (:func:`model_defaults`)."""
    progress = progress or (lambda f, m="": None)
    cancel = cancel or NEVER_CANCEL
    t0 = time.monotonic()
    lin = linear_rgb(rgb)
    src = resolve_model(str(model))
    if isinstance(src, str):  # physics baselines
        from .recovery import recover

        method = src.split(":", 1)[1]
        cube = recover(RGBImage(lin, "linear"), method, response=response if method == "minnorm" else None,
                       progress=progress, cancel=cancel, encoding="linear")
        return ReconstructionResult(cube, None, src, "cpu", time.monotonic() - t0)
    rec = model_defaults(src)
    steps = rec["steps"] if steps is None else steps
    samples = rec["samples"] if samples is None else samples
    _check_sampling(steps, samples, scheduler, tile)
    return _reconstruct_learned(lin, src, steps=steps, samples=samples, seed=seed, scheduler=scheduler,
                                device=device, tile=tile or DEFAULT_TILE, overlap=overlap, progress=progress,
                                cancel=cancel, t0=t0)


def _check_sampling(steps: int, samples: int, scheduler: str, tile: int | None) -> None:
    if not 1 <= int(steps) <= 1000:
        raise InputError(f"steps={steps}; expected 1–1000 solver steps")
    if not 1 <= int(samples) <= 64:
        raise InputError(f"samples={samples}; expected 1–64")
    if scheduler not in SCHEDULERS:
        raise InputError(f"scheduler {scheduler!r}; expected one of {', '.join(SCHEDULERS)}")
    if tile is not None and int(tile) < 64:
        raise InputError(f"tile={tile}; expected at least 64 pixels")


def _reconstruct_learned(lin, path: Path, *, steps, samples, seed, scheduler, device, tile, overlap, progress,
                         cancel, t0) -> ReconstructionResult:
    from .training import resolve_device

    dev = resolve_device(device)
    messages: list[str] = []
    while True:
        try:
            uldm = load_model(path, dev)

            def fn(part, prog, uldm=uldm, dev=dev):
                return uldm.reconstruct(part, steps=steps, samples=samples, seed=seed, scheduler=scheduler,
                                        device=dev, progress=prog, cancel=cancel)

            mean, std = run_tiled(fn, lin, len(uldm.wavelengths), tile, overlap, progress, cancel)
            break
        except Exception as exc:  # noqa: BLE001 — only GPU out-of-memory is handled here
            if not _is_oom(exc):
                raise
            _free_gpu()
            if tile > 128:
                tile //= 2
                messages.append(f"{dev} ran out of memory: retrying with {tile}-pixel tiles")
            elif dev != "cpu":
                messages.append(f"{dev} ran out of memory even with small tiles: falling back to the CPU")
                dev = "cpu"
            else:
                raise
    wl = np.asarray(uldm.wavelengths, dtype=np.float64)
    meta = {"model": str(path), "steps": steps, "samples": samples, "seed": seed, "scheduler": scheduler,
            "response": uldm.response.name}
    cube = HSCube(mean, wl, meta, kind="radiance")
    std_cube = HSCube(std, wl, {**meta, "quantity": "per-pixel standard deviation"}, kind="radiance") \
        if std is not None else None
    progress(1.0, "done")
    return ReconstructionResult(cube, std_cube, str(path), dev, time.monotonic() - t0, messages)


def to_reflectance(cube: HSCube, std: HSCube | None = None) -> tuple[HSCube, HSCube | None]:
    """(reflectance cube, std cube or None): a reflectance cube as is; a reconstruction divided by the capture
    illuminant it records (D65 for an sRGB photo, scaled so the photo's white reads 1), its std by the same
    divisor; an :class:`InputError` when it records none (its reflectance is unknown)."""
    from . import relight

    if cube.kind == "reflectance":
        return cube, std
    light = relight.recorded_capture_illuminant(cube)
    if light is None:
        raise InputError("this cube records no capture illuminant (it is not a reconstruction of an sRGB photo), "
                         "so its reflectance is unknown; expected a reconstruction from a model with an sRGB "
                         "response, or a reflectance cube")
    divisor = relight.reflectance_divisor(cube, light).astype(np.float32)
    refl = relight.estimate_reflectance(cube, light)
    if std is not None:
        std = HSCube(std.data / divisor, std.wavelengths, {**std.metadata, "reflectance_from": light},
                     kind="reflectance")
    return refl, std


def _is_oom(exc: BaseException) -> bool:
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _free_gpu() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


__all__ = ["ReconstructionResult", "reconstruct", "model_defaults", "to_reflectance", "bundle_class", "RECONSTRUCTION_CLASSES", "run_tiled", "linear_rgb", "models_dir",
           "default_model_path", "list_models", "load_model", "resolve_model", "SCHEDULERS"]
