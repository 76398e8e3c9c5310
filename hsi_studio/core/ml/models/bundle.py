"""Model bundles in the diffusers folder layout.

::

    model_index.json            {"_class_name": "ULDM"|"RGBLDM"|"SpeUAE"|"PixelRegression"|"SpatialResidual",
                                 component: [library, class], …}
    speuae/ vae/ unet/          config.json + diffusion_pytorch_model.safetensors (save_pretrained)
    unet/null_embedding.safetensors   (Stable-Diffusion-based UNets only)
    scheduler/scheduler_config.json
    spectral.json               camera response, wavelengths, RGB normalisation the model was trained with
    training.json               how it was made (optional)
    manifest.json               sha256 of every file + versions — written last, verified on load

``model_index.json`` is read in one place, :func:`hsi_studio.core.ml.bundle_index.read_index` (torch-free: the
model list and ``--model NAME`` use it too). Class names read from disk go through :data:`ALLOWED_BUNDLES` and
:data:`ALLOWED_COMPONENTS` (never ``importlib``); pickle files are refused.
Writes go to a temporary folder beside the destination, which is then renamed into place
(:func:`hsi_studio.core.storage.atomic.staged_folder`).

Saving and loading are functions of this module (``save_uldm``, ``save_rgbldm``, ``save_speuae``,
``save_regression``, or ``save_model`` for any of them; ``load_bundle``, ``load_uldm``, ``load_base``,
``load_sd_base``), never methods of the models: this module imports the component modules, which never import
it.
"""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path

import diffusers
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel, UNet2DModel
from safetensors.torch import load as safetensors_load
from safetensors.torch import save_file

from hsi_studio import __version__
from hsi_studio.core.errors import FileFormatError, InputError, UnsafeFileError, one_line
from hsi_studio.core.ml.bundle_index import (
    ALLOWED_BUNDLES,
    COMPONENT_CLASSES,
    INDEX,
    ROLE_CLASSES,
    component_class,
    read_index,
)
from hsi_studio.core.ml.models import limits
from hsi_studio.core.ml.models.code_head import CodeHead
from hsi_studio.core.ml.models.refiner import CodeRefiner
from hsi_studio.core.ml.models.regression import PixelRegression
from hsi_studio.core.ml.models.rgb_base import RGBLDM, CondUNet, scheduler_config
from hsi_studio.core.ml.models.spatial import FastModel, SpatialResidual
from hsi_studio.core.ml.models.speuae import SpeUAE
from hsi_studio.core.ml.models.uldm import ULDM
from hsi_studio.core.storage.atomic import staged_folder
from hsi_studio.core.storage.files import read_json
from hsi_studio.core.storage.manifest import PICKLE_SUFFIXES, read_verified, refuse_symlinks, write_manifest

ALLOWED_COMPONENTS = {
    "SpeUAE": SpeUAE,
    "CodeRefiner": CodeRefiner,
    "PixelRegression": PixelRegression,
    "SpatialResidual": SpatialResidual,
    "AutoencoderKL": AutoencoderKL,
    "UNet2DModel": UNet2DModel,
    "UNet2DConditionModel": UNet2DConditionModel,
    "CodeHead": CodeHead,
}
if tuple(ALLOWED_COMPONENTS) != COMPONENT_CLASSES:  # the names bundle_index checks must be these classes' names
    raise ImportError("ALLOWED_COMPONENTS and bundle_index.COMPONENT_CLASSES disagree")
BUNDLE_VERSION = 1


def refuse_pickles(folder: Path) -> None:
    for p in Path(folder).rglob("*"):
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise UnsafeFileError(f"{p.name} is a pickle-based weights file; expected .safetensors weights "
                                  "(HSI Studio never loads pickle)", path=str(folder))


def _versions() -> dict:
    return {"hsi_studio": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__}


def _component_class(module) -> tuple[str, str]:
    inner = module.unet if isinstance(module, CondUNet) else module
    name = type(inner).__name__
    if name not in ALLOWED_COMPONENTS:
        raise InputError(f"cannot save a {name}; expected one of {sorted(ALLOWED_COMPONENTS)}")
    return ("hsi_studio" if name in ("SpeUAE", "CodeRefiner", "PixelRegression", "SpatialResidual", "CodeHead") else "diffusers", name)


def _save_component(module, folder: Path) -> None:
    inner = module.unet if isinstance(module, CondUNet) else module
    inner.save_pretrained(folder, safe_serialization=True)
    if isinstance(module, CondUNet):
        save_file({"null_embedding": module.null_embedding.detach().cpu().contiguous()},
                  str(folder / "null_embedding.safetensors"))


def save_bundle(path: str | Path, class_name: str, components: dict, *, scheduler: dict | None = None,
                spectral: dict | None = None, extra: dict | None = None) -> Path:
    """Write a bundle atomically: everything goes into a temporary folder beside ``path`` (each file
    fsynced, ``manifest.json`` last), which then replaces ``path`` — an existing bundle survives a failure."""
    dest = Path(path)
    with staged_folder(dest) as tmp:  # what a killed earlier save left is removed first
        _write_contents(tmp, class_name, components, scheduler, spectral, extra)
        write_manifest(tmp, {"kind": f"hsi-studio-{class_name}", "versions": _versions(),
                             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return dest


def _write_contents(tmp: Path, class_name: str, components: dict, scheduler, spectral, extra) -> None:
    index = {"_class_name": class_name, "_diffusers_version": _versions()["diffusers"],
             "_hsi_studio_bundle": BUNDLE_VERSION}
    for name, module in components.items():
        index[name] = list(_component_class(module))
        _save_component(module, tmp / name)
    if scheduler is not None:
        index["scheduler"] = ["diffusers", "DDPMScheduler"]
        (tmp / "scheduler").mkdir()
        sched = {k: v for k, v in scheduler.items() if not k.startswith("_")}
        (tmp / "scheduler" / "scheduler_config.json").write_text(
            json.dumps({"_class_name": "DDPMScheduler", **sched}, indent=2))
    (tmp / INDEX).write_text(json.dumps(index, indent=2))
    if spectral is not None:
        (tmp / "spectral.json").write_text(json.dumps(spectral, indent=2))
    if extra is not None:
        (tmp / "training.json").write_text(json.dumps(extra, indent=2, default=str))


def save_speuae(model: SpeUAE, path: str | Path, extra: dict | None = None) -> Path:
    """Stage 1's bundle: the SpeUAE alone (+ spectral.json, manifest)."""
    return save_bundle(path, "SpeUAE", {"speuae": model}, extra=extra, spectral=model.spectral_info())


def save_rgbldm(model: RGBLDM, path: str | Path, extra: dict | None = None) -> Path:
    """``rgb-pretrain``'s bundle: VAE (its ``scaling_factor`` set to the measured latent scale) + UNet + DDPM
    schedule."""
    model.vae.register_to_config(scaling_factor=float(model.latent_scale))
    return save_bundle(path, "RGBLDM", {"vae": model.vae, "unet": model.unet},
                       scheduler=model.scheduler_config, extra=extra)


def save_uldm(model: ULDM, path: str | Path, extra: dict | None = None) -> Path:
    """Stage 2's bundle: SpeUAE + SpaAE + adapted UNet (+ refiner) + DDPM schedule + spectral.json."""
    model.vae.register_to_config(scaling_factor=float(model.latent_scale))
    spectral = model.speuae.spectral_info()
    spectral["rgb"]["vae_condition"] = "clip to [0, 1], sRGB-encode, scale to [-1, 1]"
    spectral["prediction_type"] = model.prediction_type
    parts = {"speuae": model.speuae, "vae": model.vae, "unet": model.unet}
    if model.refiner is not None:
        parts["refiner"] = model.refiner
    if model.code_head is not None:  # the latent-resolution code decoder distilled from the SpaAE's
        parts["code_head"] = model.code_head
    if model.mean is not None:  # corrective diffusion: the spatial mean travels inside the bundle
        parts["prior"], parts["spatial"] = model.mean.prior, model.mean.spatial
        spectral["corrective"] = ("the spatial mean (prior/ + spatial/, a fast model) carries the mean; the "
                                  "diffusion samples the correction: x̄ + D(y, dec(z)) − D(y, dec(z_ū))")
    gain = float(getattr(model, "correction_gain", 1.0))
    if model.mean is not None and gain != 1.0:
        from hsi_studio.core.analysis.uncertainty import CORRECTION_MEANING

        spectral["correction"] = {"gain": gain, "meaning": CORRECTION_MEANING,
                                  **dict(getattr(model, "gain_calibration", None) or {})}
    scale = float(getattr(model, "sigma_scale", 1.0))
    if scale != 1.0:
        from hsi_studio.core.analysis.uncertainty import SIGMA_MEANING

        spectral["uncertainty"] = {"sigma_scale": scale, "meaning": SIGMA_MEANING,
                                   **dict(getattr(model, "sigma_calibration", None) or {})}
    return save_bundle(path, "ULDM", parts, scheduler=model.scheduler_config, extra=extra, spectral=spectral)


def save_regression(model: PixelRegression, path: str | Path, extra: dict | None = None) -> Path:
    """A learned per-pixel baseline's bundle (+ spectral.json)."""
    return save_bundle(path, "PixelRegression", {"regression": model}, extra=extra, spectral=model.spectral_info())


def save_fast(model: FastModel, path: str | Path, extra: dict | None = None) -> Path:
    """The fast model's bundle: the per-pixel prior (a copy, so the bundle is self-contained) + the spatial
    residual CNN (+ spectral.json, the prior's response)."""
    return save_bundle(path, "SpatialResidual", {"prior": model.prior, "spatial": model.spatial}, extra=extra,
                       spectral=model.spectral_info())


_SAVERS = ((ULDM, save_uldm), (RGBLDM, save_rgbldm), (SpeUAE, save_speuae), (PixelRegression, save_regression),
           (FastModel, save_fast))


def save_model(model, path: str | Path, extra: dict | None = None) -> Path:
    """Write ``model`` (a ULDM, RGBLDM, SpeUAE or PixelRegression) as its bundle; ``extra`` → training.json."""
    for cls, save in _SAVERS:
        if isinstance(model, cls):
            return save(model, path, extra=extra)
    raise InputError(f"cannot save a {type(model).__name__} as a bundle; expected one of "
                     f"{', '.join(c.__name__ for c, _ in _SAVERS)}")


def _allowed_class(root: Path, name: str, entry):
    """The class for a ``model_index.json`` entry — only ever looked up in :data:`ALLOWED_COMPONENTS` (the names
    checked by :func:`.bundle_index.component_class`)."""
    return ALLOWED_COMPONENTS[component_class(root, name, entry)]


def check_unlisted(root: Path, manifest: dict) -> None:
    """Every weights/config file in the bundle must be covered by the manifest."""
    listed = set(manifest.get("files", {}))
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel != "manifest.json" and rel not in listed and not p.name.startswith("."):
            raise FileFormatError(f"{rel} is not listed in manifest.json (added after the bundle was written); "
                                  "expected only the files the manifest lists", path=str(root))


def _load_component(root: Path, name: str, index: dict, data: dict[str, bytes]):
    """Build component ``name`` from the verified bytes of its ``config.json`` and weights: the config's sizes
    are checked against their ceilings and the parameter count measured on the meta device before anything is
    allocated (:mod:`.limits`); the weights must be floating point, finite and of sane magnitude, and fill the
    module exactly (no missing or unexpected tensor)."""
    if name not in index:
        raise FileFormatError(f"model_index.json has no {name!r} component; expected it in a "
                              f"{index['_class_name']} bundle", path=str(root))
    cls = _allowed_class(root, name, index[name])
    cfg_rel, weights_rel = f"{name}/config.json", f"{name}/diffusion_pytorch_model.safetensors"
    for rel in (cfg_rel, weights_rel):
        if rel not in data:
            raise FileFormatError(f"{rel} is missing (or not listed in manifest.json); expected a component saved "
                                  "by HSI Studio", path=str(root))
    try:
        config = json.loads(data[cfg_rel].decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(f"{cfg_rel} is unreadable ({type(exc).__name__}: {one_line(exc, 120)}); expected "
                              "valid JSON", path=str(root)) from None
    limits.check_config(config, name, root)
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    try:
        limits.check_size(cls, config, name, root)
        tensors = _tensors(data[weights_rel], weights_rel, root)
        limits.check_weights(tensors, name, root)
        module = cls.from_config(config)
        module.load_state_dict(tensors, strict=True)
    except FileFormatError:
        raise
    except (OSError, ValueError, RuntimeError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise FileFormatError(f"cannot load component {name} ({' '.join(str(exc).split())[:160]}); expected a "
                              "component saved by HSI Studio", path=str(root)) from None
    if cls is UNet2DConditionModel:
        null_rel = f"{name}/null_embedding.safetensors"
        emb = None
        if null_rel in data:
            null = _tensors(data[null_rel], null_rel, root)
            limits.check_weights(null, name, root)
            emb = null["null_embedding"]
        module = CondUNet(module, emb)
    return module


def _tensors(blob: bytes, rel: str, root: Path) -> dict:
    """Tensors parsed from bytes already verified against the manifest (private, writable copies)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.frombuffer on read-only bytes; cloned below
            tensors = safetensors_load(blob)
    except Exception as exc:  # safetensors raises its own error type for damaged files
        raise FileFormatError(f"{rel} is unreadable ({type(exc).__name__}: {one_line(exc, 120)}); expected a "
                              "complete safetensors file", path=str(root)) from None
    return {k: v.clone() for k, v in tensors.items()}


_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


def scheduler_settings(root: Path, raw: bytes | None = None) -> dict:
    """``scheduler/scheduler_config.json``, checked: a JSON object naming only DDPMScheduler settings, with a
    known beta schedule and sane numbers (a bogus one must not surface as a crash while loading)."""
    if raw is None:
        cfg = read_json(root / "scheduler" / "scheduler_config.json", "scheduler/scheduler_config.json")
    else:
        try:
            cfg = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise FileFormatError(f"scheduler/scheduler_config.json is unreadable ({type(exc).__name__}: "
                                  f"{one_line(exc, 120)}); expected valid JSON", path=str(root)) from None
        if not isinstance(cfg, dict):
            raise FileFormatError("scheduler/scheduler_config.json holds no JSON object; expected one",
                                  path=str(root))
    known = set(inspect.signature(DDPMScheduler.__init__).parameters) - {"self"}
    unknown = sorted(k for k in cfg if not k.startswith("_") and k not in known)
    if unknown:
        raise FileFormatError(f"scheduler config has unknown setting(s) {unknown[:5]}; expected DDPMScheduler "
                              "settings", path=str(root))
    steps = cfg.get("num_train_timesteps", 1000)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 100_000:
        raise FileFormatError(f"scheduler num_train_timesteps {' '.join(repr(steps).split())[:40]}; expected an "
                              "integer from 1 to 100,000", path=str(root))
    if cfg.get("beta_schedule", "linear") not in _SCHEDULES:
        raise FileFormatError(f"scheduler beta_schedule {' '.join(repr(cfg.get('beta_schedule')).split())[:40]}; "
                              f"expected one of {', '.join(_SCHEDULES)}", path=str(root))
    for key in ("beta_start", "beta_end"):
        v = cfg.get(key, 0.01)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            raise FileFormatError(f"scheduler {key} {' '.join(repr(v).split())[:40]}; expected a number in (0, 1)",
                                  path=str(root))
    if cfg.get("prediction_type", "epsilon") not in ("epsilon", "v_prediction", "sample"):
        raise FileFormatError("scheduler prediction_type is not epsilon, v_prediction or sample; expected one of "
                              "them", path=str(root))
    return cfg


def load_bundle(path: str | Path, device: str = "cpu"):
    """Verify and load a bundle → :class:`SpeUAE`, :class:`RGBLDM`, :class:`ULDM`, :class:`PixelRegression` or
    :class:`FastModel` (on ``device``); a bundle
    whose parts do not fit together is a :class:`FileFormatError`, never a crash."""
    try:
        return _load_bundle(path, device)
    except InputError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RuntimeError, NotImplementedError,
            RecursionError) as exc:
        raise FileFormatError(f"bundle does not load ({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
                              "expected a consistent bundle written by HSI Studio", path=str(path)) from None


def _load_bundle(path: str | Path, device: str = "cpu"):
    root = Path(path)
    if root.is_dir():
        refuse_symlinks(root)  # before anything inside is read (model_index.json included)
    index = read_index(root)
    refuse_pickles(root)
    manifest, data = read_verified(root)  # load what you hash: everything below parses these bytes
    check_unlisted(root, manifest)
    try:
        same = json.loads(data["model_index.json"].decode("utf-8")) == index
    except (KeyError, ValueError, RecursionError):
        same = False
    if not same:
        raise FileFormatError("model_index.json is not the one manifest.json covers (not listed, or changed while "
                              "the bundle was read); expected a bundle nobody writes to", path=str(root))
    kind = index["_class_name"]
    sched = {}
    if "scheduler/scheduler_config.json" in data:
        sched = scheduler_settings(root, data["scheduler/scheduler_config.json"])
        sched = {k: v for k, v in sched.items() if not k.startswith("_")}

    def part(name: str):
        return _load_component(root, name, index, data)

    if kind == "SpeUAE":
        model = part("speuae")
    elif kind == "PixelRegression":
        model = part("regression")
    elif kind == "SpatialResidual":
        model = FastModel(part("prior"), part("spatial"))
    elif kind == "RGBLDM":
        vae = part("vae")
        model = RGBLDM(vae, part("unet"), sched or None)
        model.latent_scale_set.fill_(True)
    else:
        vae = part("vae")
        refiner = part("refiner") if "refiner" in index else None
        head = part("code_head") if "code_head" in index else None
        mean = FastModel(part("prior"), part("spatial")) if "spatial" in index else None
        model = ULDM(part("speuae"), vae, part("unet"), sched, float(vae.config.scaling_factor), refiner=refiner,
                     mean=mean, code_head=head)
        _check_corrective(model, root)
        model.sigma_scale = _sigma_scale(data.get("spectral.json"), root)
        model.correction_gain = _correction_gain(data.get("spectral.json"), root)
    return model.to(device).eval()


def _spectral_number(raw: bytes | None, root: Path, section: str, key: str, lo: float, hi: float) -> float | None:
    """``spectral.json``'s ``section.key`` (None when absent); anything but a finite number in [lo, hi] is a
    :class:`FileFormatError`."""
    if raw is None:
        return None
    try:
        info = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise FileFormatError("spectral.json is not JSON; expected the bundle's spectral description",
                              path=str(root)) from None
    part = info.get(section) if isinstance(info, dict) else None
    if not isinstance(part, dict) or key not in part:
        return None
    value = part[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        raise FileFormatError(f"{section}.{key} {value!r}; expected a number in [{lo:g}, {hi:g}]", path=str(root))
    return float(value)


def _sigma_scale(raw: bytes | None, root: Path) -> float:
    """``uncertainty.sigma_scale`` (1 when absent), in [0.001, 1000]."""
    value = _spectral_number(raw, root, "uncertainty", "sigma_scale", 1e-3, 1e3)
    return 1.0 if value is None else value


def _correction_gain(raw: bytes | None, root: Path) -> float:
    """``correction.gain`` (1 when absent), in [0, 1]: how far the mean of the samples moves from the spatial
    mean (:func:`hsi_studio.core.analysis.uncertainty.fit_correction_gain`)."""
    value = _spectral_number(raw, root, "correction", "gain", 0.0, 1.0)
    return 1.0 if value is None else value


def _check_corrective(model: ULDM, root: Path) -> None:
    """The UNet's input channels must match what the bundle conditions on (RGB latents, + the mean's code
    latents when it holds a spatial mean)."""
    inner = getattr(model.unet, "unet", model.unet)
    lc = int(model.vae.config.latent_channels)
    want = lc * (3 if model.mean is not None else 2)
    got = int(inner.config.in_channels)
    if got != want:
        what = "a spatial mean (prior/ + spatial/)" if model.mean is not None else "no spatial mean"
        raise FileFormatError(f"the UNet takes {got} input channels but the bundle has {what}; expected {want}",
                              path=str(root))
    if model.mean is not None and not torch.allclose(model.mean.S, model.speuae.S, atol=1e-5):
        raise FileFormatError("the spatial mean and the SpeUAE were made for different camera responses; expected "
                              "the same response", path=str(root))


def load_uldm(path: str | Path, device: str = "cpu") -> ULDM:
    """Verify and load a ULDM bundle (stage 2's ``model/`` folder); any other bundle is an :class:`InputError`."""
    model = load_bundle(path, device=device)
    if not isinstance(model, ULDM):
        raise InputError(f"{path} holds a {type(model).__name__} bundle; expected a ULDM bundle "
                         "(stage 2's model/ folder)")
    return model


# -- RGB-pretrained bases ------------------------------------------------------------------------------------
def load_sd_base(path: str | Path) -> RGBLDM:
    """A Stable Diffusion checkpoint (diffusers layout) on the user's disk, offline, safetensors only."""
    root = Path(path)
    if not (root / "vae").is_dir() or not (root / "unet").is_dir():
        raise InputError(f"{root} is not a Stable Diffusion folder; expected vae/ and unet/ (diffusers layout)")
    refuse_pickles(root / "vae")
    refuse_pickles(root / "unet")
    for part, cls in (("vae", AutoencoderKL), ("unet", UNet2DConditionModel)):  # sizes bounded before building
        cfg = read_json(root / part / "config.json", f"{part}/config.json", error=InputError)
        limits.check_config(cfg, part, root)
        try:
            limits.check_size(cls, {k: v for k, v in cfg.items() if not k.startswith("_")}, part, root)
        except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as exc:
            raise FileFormatError(f"{part}/config.json does not describe a model ({type(exc).__name__}: "
                                  f"{one_line(exc, 120)}); expected a Stable Diffusion {part} config",
                                  path=str(root)) from None
    try:
        vae = AutoencoderKL.from_pretrained(root / "vae", local_files_only=True, use_safetensors=True)
        unet = UNet2DConditionModel.from_pretrained(root / "unet", local_files_only=True, use_safetensors=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"cannot load the Stable Diffusion checkpoint ({' '.join(str(exc).split())[:200]}); "
                              "expected safetensors weights in vae/ and unet/", path=str(root)) from None
    _check_sd_unet(unet, vae, root)
    model = RGBLDM(vae, CondUNet(unet), _sd_scheduler(root))
    model.latent_scale_set.fill_(True)  # SD's own scaling_factor
    return model


def _check_sd_unet(unet: UNet2DConditionModel, vae: AutoencoderKL, root: Path) -> None:
    cfg = unet.config
    if cfg.in_channels != vae.config.latent_channels or cfg.out_channels != vae.config.latent_channels:
        raise InputError(f"the UNet takes {cfg.in_channels} channels for {vae.config.latent_channels}-channel "
                         "latents (an inpainting or depth model?); expected a plain text-to-image checkpoint",
                         path=str(root))
    if cfg.addition_embed_type is not None or cfg.class_embed_type is not None:
        raise InputError("the UNet needs extra conditioning (SDXL / upscaler style); expected a Stable "
                         "Diffusion 1.x/2.x text-to-image checkpoint", path=str(root))


def _sd_scheduler(root: Path) -> dict:
    """Our DDPM defaults, with the noise schedule and prediction type of the checkpoint's scheduler."""
    sched = scheduler_config()
    sched_file = root / "scheduler" / "scheduler_config.json"
    if sched_file.is_file():
        try:
            cfg = json.loads(sched_file.read_text())
        except ValueError:
            raise FileFormatError("scheduler/scheduler_config.json is not valid JSON", path=str(root)) from None
        sched.update({k: cfg[k] for k in ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end",
                                          "prediction_type") if k in cfg})
    return sched


def load_base(path: str | Path) -> RGBLDM:
    """``--base``: an HSI Studio RGB LDM bundle, or a local Stable Diffusion folder."""
    root = Path(path)
    if not (root / INDEX).is_file():
        raise InputError(f"{root} has no model_index.json; expected an rgb-pretrain model folder or a "
                         "Stable Diffusion folder in diffusers layout")
    try:
        kind = read_index(root, check=False).get("_class_name")  # a Stable Diffusion folder's class too
    except FileFormatError:
        raise FileFormatError("model_index.json is not valid JSON", path=str(root)) from None
    if kind == "RGBLDM":
        return load_bundle(root)
    return load_sd_base(root)


def bundle_info(path: str | Path) -> dict:
    root = Path(path)
    index = read_index(root)
    info = {"path": str(root), "class": index["_class_name"],
            "components": {k: v for k, v in index.items() if not k.startswith("_")}}
    for name in ("spectral.json", "training.json", "manifest.json"):
        p = root / name
        if p.is_file():
            try:
                info[name.removesuffix(".json")] = json.loads(p.read_text())
            except (ValueError, RecursionError):
                info[name.removesuffix(".json")] = "unreadable"
    return info


__all__ = ["ALLOWED_BUNDLES", "ALLOWED_COMPONENTS", "ROLE_CLASSES", "bundle_info", "check_unlisted", "load_base", "load_bundle",
           "load_sd_base", "load_uldm", "read_index", "refuse_pickles", "save_bundle", "save_fast", "save_model", "save_regression",
           "save_rgbldm", "save_speuae", "save_uldm"]
