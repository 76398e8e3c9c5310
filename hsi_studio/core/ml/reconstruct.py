"""RGB photo → hyperspectral cube: input checks, model choice, device choice with fallback (GPU out of memory →
smaller tiles → CPU), progress and cancel. The sampling, tiling and K-sample statistics are the model's
pipeline's (:mod:`hsi_studio.core.ml.pipelines`: :class:`~.pipelines.uldm_pipeline.ULDMPipeline`,
:class:`~.pipelines.regression_pipeline.RegressionPipeline`, :class:`~.pipelines.spatial_pipeline.SpatialPipeline`); devices are chosen by :mod:`.devices`.

``model`` is ``"default"`` (the shipped ULDM in ``models/default``), the name of another bundle in
:func:`models_dir` (``rootpoly``, ``mlp``: the shipped learned per-pixel baselines; ``fast``: a residual
spatial CNN over the MLP, one deterministic pass) or in the user's model folders, a path to a ULDM,
PixelRegression or SpatialResidual bundle, or ``"physics:mallett2019" | "physics:otsu2018" | "physics:minnorm"``
(training-free baselines). Learned models never write negative values (see
:func:`~.models.regression.nonnegative_consistent`).

The shipped learned models are registered here, once each, in the methods registry
(:mod:`hsi_studio.core.spectral.methods`; the training-free ones register in
:mod:`hsi_studio.core.spectral.recovery`): :func:`methods` is the full list, :func:`installed` says whether a
shipped model's bundle is there (with the class its kind needs: its ``model_index.json`` ``_class_name``), and the
``--model`` help (:func:`model_help`) and the "expected …" errors of :func:`resolve_model` are derived from it.

Reference (the default model, a ULDM: :mod:`.models.uldm`): K. Deng, J. Nie and Y. Qian, "RGB Pre-Training Enhanced Unobservable Feature Latent Diffusion
Model for Spectral Reconstruction", arXiv:2507.12967 (2025). DOI: 10.48550/arXiv.2507.12967.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from hsi_studio.core import settings
from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken
from hsi_studio.core.ml import devices
from hsi_studio.core.ml.bundle_index import bundle_class, is_bundle
from hsi_studio.core.ml.pipelines.checks import SCHEDULERS, check_sampling
from hsi_studio.core.spectral import methods as registry
from hsi_studio.core.spectral.methods import FAST, PER_PIXEL, TRAINING_FREE, ULDM, Method
from hsi_studio.core.spectral.recovery import linear_srgb  # (and the training-free methods are registered)

DEFAULT_TILE = 512  # pixels per tile side above which an image is tiled
DEFAULT_OVERLAP = 32
DEFAULT = "default"

_LOAD = "hsi_studio.core.ml.reconstruct:load_model"
#: the shipped learned models (bundles ``models/<name>``), registered once each: name, label, kind, loader
SHIPPED = tuple(registry.register(m) for m in (
    Method(DEFAULT, "Default model (ULDM)", ULDM, _LOAD),
    Method("rootpoly", "root-polynomial (shipped)", PER_PIXEL, _LOAD, baseline=True),
    Method("mlp", "MLP (shipped)", PER_PIXEL, _LOAD, baseline=True),
    Method("fast", "residual U-Net over the MLP (shipped)", FAST, _LOAD),
    Method("materials", "residual U-Net, more materials (shipped)", FAST, _LOAD),
))
#: the bundle classes that reconstruct a cube from a photo (a SpeUAE or an RGB LDM is a training part)
RECONSTRUCTION_CLASSES = tuple(registry.BUNDLE_KINDS)


@dataclass
class ReconstructionResult:
    cube: HSCube
    std: HSCube | None
    model: str
    device: str
    seconds: float
    messages: list[str] = field(default_factory=list)


def models_dir() -> Path:
    """Where the shipped models live: ``$HSI_STUDIO_MODELS``, the frozen bundle's ``models/``, the installed
    package's ``hsi_studio/_models`` (carried by the wheel), or the checkout's ``models/`` (see
    :func:`.settings.models_dir`)."""
    return settings.models_dir()


def named_bundle(name: str) -> Path | None:
    """The bundle called ``name``: in the shipped models folder, else in the user's model folders (a folder of
    bundles, or a bundle itself; :func:`.settings.user_model_dirs`, which the desktop app fills)."""
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    for root in [models_dir(), *settings.user_model_dirs()]:
        for candidate in (root / name, root):
            if candidate.name == name and is_bundle(candidate):
                return candidate
    return None


def default_model_path() -> Path:
    return models_dir() / DEFAULT


def methods(kind: str | None = None) -> tuple[Method, ...]:
    """Every registered method (of ``kind``): the training-free ones, then the shipped learned models."""
    return registry.registered(kind)


def installed(method: Method) -> bool:
    """Whether ``method`` can run: a training-free method always; a shipped learned model when its bundle is in
    :func:`models_dir` and declares the class its kind needs (``model_index.json`` ``_class_name``)."""
    if not method.learned:
        return True
    return registry.BUNDLE_KINDS.get(bundle_class(models_dir() / method.name) or "") == method.kind


def _physics_choices(sep: str) -> str:
    keys = registry.training_free_keys()
    return sep.join(registry.PHYSICS + k for k in keys) if sep != "|" else registry.PHYSICS + "|".join(keys)


def model_help() -> str:
    """``reconstruct --model``'s help: the registered methods by kind."""
    groups: dict[str, list[str]] = {}
    for m in methods():
        if m.learned:
            groups.setdefault(m.kind, []).append(m.name)
    shipped = ", ".join(f"{' or '.join(names)} ({kind} model{'s' if len(names) > 1 else ''})"
                        for kind, names in groups.items())
    return (f"{shipped}: the shipped models; the name of a bundle in your model folders, or a bundle folder; or "
            f"{_physics_choices('|')} ({TRAINING_FREE}). `hsi-studio models` lists what is installed")


def resolve_model(model: str) -> str | Path:
    if model.startswith(registry.PHYSICS):
        if model not in registry.names(TRAINING_FREE):
            raise InputError(f"unknown model {model!r}; expected {DEFAULT}, a bundle folder, or "
                             f"{_physics_choices(', ')}")
        return model
    path = default_model_path() if model in (DEFAULT, "") else Path(model)
    named = named_bundle(model) if model not in (DEFAULT, "") and not path.exists() else None
    if named is not None:
        path = named  # a shipped or user bundle by name, e.g. "rootpoly", "mlp"
    if not is_bundle(path):
        what = "the shipped default model" if model in (DEFAULT, "") else "a model bundle"
        shipped = ", ".join(m.name for m in methods() if m.learned and m.name != DEFAULT)
        raise InputError(f"{path} is not {what} (no model_index.json); expected a ULDM or regression bundle, "
                         f"a bundle name in models/ ({shipped}) or {_physics_choices('|')}")
    return path


@lru_cache(maxsize=2)
def _load(path: str, mtime: float, device: str):
    from hsi_studio.core.ml.models.bundle import load_bundle

    return load_bundle(path, device=device)


def load_model(path: str | Path, device: str = "cpu"):
    """Load (and cache) a reconstructing bundle (ULDM, PixelRegression or SpatialResidual) on ``device``."""
    p = Path(path)
    model = _load(str(p.resolve()), (p / "manifest.json").stat().st_mtime if (p / "manifest.json").exists()
                  else 0.0, device)
    pipeline_for(model, path=p)  # refuses a bundle that does not reconstruct
    return model


def pipeline_for(model, path: str | Path | None = None):
    """The inference pipeline of a loaded model: ULDM → ULDMPipeline, PixelRegression → RegressionPipeline,
    FastModel (a SpatialResidual bundle) → SpatialPipeline."""
    kind = type(model).__name__
    if kind == "ULDM":
        from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

        return ULDMPipeline(model)
    if kind == "PixelRegression":
        from hsi_studio.core.ml.pipelines.regression_pipeline import RegressionPipeline

        return RegressionPipeline(model)
    if kind == "FastModel":
        from hsi_studio.core.ml.pipelines.spatial_pipeline import SpatialPipeline

        return SpatialPipeline(model)
    raise InputError(f"{path if path is not None else 'the model'} holds a {kind}, not a reconstruction model; "
                     "expected a ULDM bundle (stage 2's model/ folder)")


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
    lin, _ = linear_srgb(rgb)
    src = resolve_model(str(model))
    if isinstance(src, str):  # physics baselines
        from hsi_studio.core.spectral.recovery import recover

        method = registry.get(src)
        cube = recover(RGBImage(lin, "linear"), method.key, response=response if method.takes_response else None,
                       progress=progress, cancel=cancel, encoding="linear")
        return ReconstructionResult(cube, None, src, "cpu", time.monotonic() - t0)
    rec = model_defaults(src)
    steps = rec["steps"] if steps is None else steps
    samples = rec["samples"] if samples is None else samples
    check_sampling(steps, samples, scheduler, tile=tile)
    return _reconstruct_learned(lin, src, steps=steps, samples=samples, seed=seed, scheduler=scheduler,
                                device=device, tile=tile or DEFAULT_TILE, overlap=overlap, progress=progress,
                                cancel=cancel, t0=t0)


def _reconstruct_learned(lin, path: Path, *, steps, samples, seed, scheduler, device, tile, overlap, progress,
                         cancel, t0) -> ReconstructionResult:
    dev = devices.resolve_device(device)
    messages: list[str] = []
    while True:
        try:
            pipe = pipeline_for(load_model(path, dev), path=path)
            mean, std = pipe(lin, steps=steps, samples=samples, seed=seed, scheduler=scheduler, device=dev,
                             progress=progress, cancel=cancel, tile=tile, overlap=overlap)
            break
        except Exception as exc:  # only GPU out-of-memory is handled here
            tile, dev = oom_fallback(exc, tile, dev, messages)
    check_physical_range(mean, lin, path)
    wl = np.asarray(pipe.wavelengths, dtype=np.float64)
    meta = {"model": str(path), "steps": steps, "samples": samples, "seed": seed, "scheduler": scheduler,
            "response": pipe.response.name}
    cube = HSCube(mean, wl, meta, kind="radiance")
    std_cube = HSCube(std, wl, {**meta, "quantity": "per-pixel standard deviation"}, kind="radiance") \
        if std is not None else None
    progress(1.0, "done")
    return ReconstructionResult(cube, std_cube, str(path), dev, time.monotonic() - t0, messages)


#: the largest reconstructed value, relative to the photo's brightest linear RGB value (at least 1), that a working
#: model gives: spectra are relative radiance/reflectance, a few units at most (photos are ≤ 1.5 linear); the
#: shipped models stay below 3 on real photos. Above it the model is broken (absurd weights), not the photo.
MAX_OUTPUT_RATIO = 50.0


def oom_fallback(exc: BaseException, tile: int, dev: str, messages: list[str]) -> tuple[int, str]:
    """After ``exc`` in a reconstruction: GPU out-of-memory → the next try's (tile, device) — half the tile down
    to 128 px, then the CPU — with a message; any other error, or out-of-memory on the CPU, is raised again."""
    if not _is_oom(exc):
        raise exc
    _free_gpu()
    if tile > 128:
        tile //= 2
        messages.append(f"{dev} ran out of memory: retrying with {tile}-pixel tiles")
        return tile, dev
    if dev != "cpu":
        messages.append(f"{dev} ran out of memory even with small tiles: falling back to the CPU")
        return tile, "cpu"
    raise exc


def check_physical_range(cube: np.ndarray, lin: np.ndarray, model) -> None:
    """Refuse a reconstruction whose values leave the physical range: an :class:`InputError` naming ``model``
    instead of a cube with maxima of 1e7 (garbage that is still finite)."""
    scale = max(1.0, float(np.max(lin)) if np.size(lin) else 1.0)
    limit = MAX_OUTPUT_RATIO * scale
    top = float(np.max(np.abs(cube))) if np.size(cube) else 0.0
    if not top <= limit:  # NaN fails too
        raise InputError(f"model {model} reconstructed values up to {top:.3g}, far outside the physical range "
                         f"(at most {limit:g} for this photo: spectra are relative radiance, a few units at most); "
                         "expected a working model (its weights are broken or were tampered with)")


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


__all__ = ["DEFAULT", "MAX_OUTPUT_RATIO", "RECONSTRUCTION_CLASSES", "SCHEDULERS", "SHIPPED", "ReconstructionResult",
           "bundle_class", "check_physical_range", "default_model_path", "installed", "load_model", "methods",
           "model_defaults", "model_help", "models_dir", "named_bundle", "pipeline_for", "reconstruct",
           "resolve_model"]
