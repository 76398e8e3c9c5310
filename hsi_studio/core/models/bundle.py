"""Model bundles in the diffusers folder layout (DESIGN §4.4–4.5).

::

    model_index.json            {"_class_name": "ULDM"|"RGBLDM"|"SpeUAE", component: [library, class], …}
    speuae/ vae/ unet/          config.json + diffusion_pytorch_model.safetensors (save_pretrained)
    unet/null_embedding.safetensors   (Stable-Diffusion-based UNets only)
    scheduler/scheduler_config.json
    spectral.json               camera response, wavelengths, RGB normalisation the model was trained with
    training.json               how it was made (optional)
    manifest.json               sha256 of every file + versions — written last, verified on load

Class names read from disk go through :data:`ALLOWED` (never ``importlib``); pickle files are refused.
Writes go to a temporary folder beside the destination, which is then renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel, UNet2DModel

from ..checkpoint import PICKLE_SUFFIXES, verify_manifest, write_manifest
from ..errors import FileFormatError, InputError, UnsafeFileError
from ..io_base import clean_stale_temporaries, read_json, swap_folder, temp_folder_name
from .refiner import CodeRefiner
from .regression import PixelRegression
from .speuae import SpeUAE

ALLOWED_COMPONENTS = {
    "SpeUAE": SpeUAE,
    "CodeRefiner": CodeRefiner,
    "PixelRegression": PixelRegression,
    "AutoencoderKL": AutoencoderKL,
    "UNet2DModel": UNet2DModel,
    "UNet2DConditionModel": UNet2DConditionModel,
}
ALLOWED_BUNDLES = ("ULDM", "RGBLDM", "SpeUAE", "PixelRegression")
BUNDLE_VERSION = 1


def refuse_pickles(folder: Path) -> None:
    for p in Path(folder).rglob("*"):
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise UnsafeFileError(f"{p.name} is a pickle-based weights file; expected .safetensors weights "
                                  "(HSI Studio never loads pickle)", path=str(folder))


def _versions() -> dict:
    import diffusers

    from ... import __version__

    return {"hsi_studio": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__}


def _component_class(module) -> tuple[str, str]:
    from .base import CondUNet

    inner = module.unet if isinstance(module, CondUNet) else module
    name = type(inner).__name__
    if name not in ALLOWED_COMPONENTS:
        raise InputError(f"cannot save a {name}; expected one of {sorted(ALLOWED_COMPONENTS)}")
    return ("hsi_studio" if name in ("SpeUAE", "CodeRefiner", "PixelRegression") else "diffusers", name)


def _save_component(module, folder: Path) -> None:
    from safetensors.torch import save_file

    from .base import CondUNet

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
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(dest.parent)  # what a killed earlier save left
    tmp = temp_folder_name(dest)
    tmp.mkdir()
    try:
        _write_contents(tmp, class_name, components, scheduler, spectral, extra)
        _fsync_tree(tmp)
        write_manifest(tmp, {"kind": f"hsi-studio-{class_name}", "versions": _versions(),
                             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        _swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
    (tmp / "model_index.json").write_text(json.dumps(index, indent=2))
    if spectral is not None:
        (tmp / "spectral.json").write_text(json.dumps(spectral, indent=2))
    if extra is not None:
        (tmp / "training.json").write_text(json.dumps(extra, indent=2, default=str))


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _swap_into_place(tmp: Path, dest: Path) -> None:
    swap_folder(tmp, dest)
    _fsync_dir(dest.parent)


def save_speuae(model: SpeUAE, path: str | Path, extra: dict | None = None) -> Path:
    """Stage 1's bundle: the SpeUAE alone (+ spectral.json, manifest)."""
    return save_bundle(path, "SpeUAE", {"speuae": model}, extra=extra, spectral=model.spectral_info())


def read_index(path: str | Path) -> dict:
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; expected a model bundle folder")
    index_file = root / "model_index.json"
    if not index_file.is_file():
        raise FileFormatError("model_index.json is missing; expected a model bundle", path=str(root))
    index = read_json(index_file, "model_index.json", expect=object)
    if not isinstance(index, dict) or index.get("_class_name") not in ALLOWED_BUNDLES:
        got = index.get("_class_name") if isinstance(index, dict) else type(index).__name__
        raise FileFormatError(f"unknown bundle class {got!r}; expected one of {', '.join(ALLOWED_BUNDLES)} "
                              "(allow-list)", path=str(root))
    for name, entry in index.items():
        if not name.startswith("_") and name != "scheduler":
            _allowed_class(root, name, entry)
    return index


# The classes each component role may hold (a class on the allow-list in another role is refused too).
ROLE_CLASSES = {"speuae": ("SpeUAE",), "refiner": ("CodeRefiner",), "vae": ("AutoencoderKL",),
                "unet": ("UNet2DModel", "UNet2DConditionModel"), "regression": ("PixelRegression",)}


def _allowed_class(root: Path, name: str, entry):
    """The class for a ``model_index.json`` entry — only ever looked up in :data:`ALLOWED_COMPONENTS`."""
    cls_name = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
    cls = ALLOWED_COMPONENTS.get(cls_name) if isinstance(cls_name, str) else None
    if cls is None:
        raise FileFormatError(f"component {name!r} has class {' '.join(repr(entry).split())[:80]}; expected one "
                              f"of {', '.join(sorted(ALLOWED_COMPONENTS))} (allow-list)", path=str(root))
    if name in ROLE_CLASSES and cls_name not in ROLE_CLASSES[name]:
        raise FileFormatError(f"component {name!r} has class {cls_name}; expected "
                              f"{' or '.join(ROLE_CLASSES[name])} in that role", path=str(root))
    return cls


def check_unlisted(root: Path, manifest: dict) -> None:
    """Every weights/config file in the bundle must be covered by the manifest."""
    listed = set(manifest.get("files", {}))
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel != "manifest.json" and rel not in listed and not p.name.startswith("."):
            raise FileFormatError(f"{rel} is not listed in manifest.json (added after the bundle was written); "
                                  "expected only the files the manifest lists", path=str(root))


def _load_component(root: Path, name: str, index: dict):
    from safetensors.torch import load_file

    from .base import CondUNet

    if name not in index:
        raise FileFormatError(f"model_index.json has no {name!r} component; expected it in a "
                              f"{index['_class_name']} bundle", path=str(root))
    cls = _allowed_class(root, name, index[name])
    try:
        module = cls.from_pretrained(root / name, local_files_only=True, use_safetensors=True)
    except (OSError, ValueError, RuntimeError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise FileFormatError(f"cannot load component {name} ({' '.join(str(exc).split())[:160]}); expected a "
                              "component saved by HSI Studio", path=str(root)) from None
    null = root / name / "null_embedding.safetensors"
    if cls is UNet2DConditionModel:
        emb = load_file(str(null))["null_embedding"] if null.is_file() else None
        module = CondUNet(module, emb)
    return module


_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


def scheduler_settings(root: Path) -> dict:
    """``scheduler/scheduler_config.json``, checked: a JSON object naming only DDPMScheduler settings, with a
    known beta schedule and sane numbers (a bogus one must not surface as a crash while loading)."""
    import inspect

    from diffusers import DDPMScheduler

    cfg = read_json(root / "scheduler" / "scheduler_config.json", "scheduler/scheduler_config.json")
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
    """Verify and load a bundle → :class:`SpeUAE`, :class:`RGBLDM` or :class:`ULDM` (on ``device``); a bundle
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
    from .base import RGBLDM
    from .uldm import ULDM

    root = Path(path)
    index = read_index(root)
    refuse_pickles(root)
    check_unlisted(root, verify_manifest(root))
    kind = index["_class_name"]
    sched = {}
    if (root / "scheduler" / "scheduler_config.json").is_file():
        sched = scheduler_settings(root)
        sched = {k: v for k, v in sched.items() if not k.startswith("_")}
    if kind == "SpeUAE":
        model = _load_component(root, "speuae", index)
    elif kind == "PixelRegression":
        model = _load_component(root, "regression", index)
    elif kind == "RGBLDM":
        vae = _load_component(root, "vae", index)
        model = RGBLDM(vae, _load_component(root, "unet", index), sched or None)
        model.latent_scale_set.fill_(True)
    else:
        vae = _load_component(root, "vae", index)
        refiner = _load_component(root, "refiner", index) if "refiner" in index else None
        model = ULDM(_load_component(root, "speuae", index), vae, _load_component(root, "unet", index), sched,
                     float(vae.config.scaling_factor), refiner=refiner)
    return model.to(device).eval()


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


__all__ = ["ALLOWED_BUNDLES", "ALLOWED_COMPONENTS", "bundle_info", "check_unlisted", "load_bundle",
           "read_index", "refuse_pickles", "save_bundle", "save_speuae"]
