"""The functions the GUI runs on worker threads. Each is a thin orchestration of core calls taking
``progress`` and ``cancel`` (DESIGN §4.1); no Qt here and no numerics beyond choosing what to call.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.io_base import format_bytes, written_bytes  # noqa: F401 — re-exported (the GUI and the CLI share them)
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress

# bundle classes that reconstruct a cube from a photo (a SpeUAE or a base RGB LDM is a training part): the
# core owns the list and the model_index.json reader
from hsi_studio.core.pipeline import RECONSTRUCTION_CLASSES as RECONSTRUCTING_CLASSES
from hsi_studio.core.pipeline import bundle_class

BASELINE_LABELS = {"mallett2019": "Mallett 2019", "otsu2018": "Otsu 2018", "minnorm": "Minimum norm"}
#: the shipped learned per-pixel baselines (models/rootpoly, models/mlp)
REGRESSION_LABELS = {"rootpoly": "root-polynomial (shipped)", "mlp": "MLP (shipped)"}


def io_module():
    """``hsi_studio.core.io`` (imported on first use: readers pull in h5py, tifffile, …)."""
    try:
        return importlib.import_module("hsi_studio.core.io")
    except ModuleNotFoundError as exc:
        if exc.name == "hsi_studio.core.io":
            raise InputError("reading and writing files is not available in this build (hsi_studio.core.io "
                             "is missing)") from None
        raise


def optional_pipeline():
    """``hsi_studio.core.pipeline`` when it imports (it does not import torch itself), else None."""
    try:
        return importlib.import_module("hsi_studio.core.pipeline")
    except ImportError:
        return None


# ---------------------------------------------------------------------------------------------------------
# Rendering a cube for display
# ---------------------------------------------------------------------------------------------------------
def preview_render(cube: HSCube) -> np.ndarray | None:
    """The cube's sRGB uint8 view, core's ``render_view`` (radiance as captured, reflectance under D65); None
    when its wavelengths are outside the visible range."""
    from hsi_studio.core import relight

    try:
        return relight.render_view(cube)
    except InputError:
        return None


def warm_up(progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> list[str]:
    """Import colour-science and build the D65 render matrix off the GUI thread; returns the catalogue."""
    from hsi_studio.core import relight
    from hsi_studio.core.spectral import STANDARD_WAVELENGTHS

    names = relight.list_illuminants()
    cancel.check()
    relight.render_matrix(STANDARD_WAVELENGTHS, "D65")
    return names


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Loaded:
    """A file read by :func:`load_file`: exactly one of ``rgb`` / ``cube`` is set."""

    path: Path
    rgb: RGBImage | None = None
    cube: HSCube | None = None
    render: np.ndarray | None = None
    seconds: float = 0.0


def load_file(path: str | Path, *, want: str = "any", progress=no_progress,
              cancel: CancelToken = NEVER_CANCEL) -> Loaded:
    """Read an RGB image or a cube (``want``: ``"any"`` or ``"cube"``; a folder is a stack of PNG bands)
    and render a cube's preview."""
    t0 = time.monotonic()
    p = Path(path)
    if not p.exists():
        raise InputError("no such file; expected an existing RGB image or cube file", path=str(p))
    io = io_module()
    progress(0.05, f"reading {p.name}")
    obj = io.read_cube(p) if want == "cube" else io.read_any(p)
    cancel.check()
    if isinstance(obj, RGBImage):
        return Loaded(p, rgb=obj, seconds=time.monotonic() - t0)
    progress(0.7, "rendering preview")
    render = preview_render(obj)
    return Loaded(p, cube=obj, render=render, seconds=time.monotonic() - t0)


def write_cube(cube: HSCube, path: str | Path, progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> Path:
    progress(0.0, f"writing {Path(path).name}")
    return Path(io_module().write_cube(cube, path))


def write_reflectance(cube: HSCube, path: str | Path, progress=no_progress,
                      cancel: CancelToken = NEVER_CANCEL) -> Path:
    """Write the reflectance estimate of ``cube`` (a reconstruction divided by the capture illuminant it records;
    a reflectance cube as is) — what ``hsi-studio reconstruct --reflectance`` writes."""
    from hsi_studio.core.pipeline import to_reflectance

    progress(0.0, f"writing {Path(path).name}")
    refl, _ = to_reflectance(cube)
    cancel.check()
    return Path(io_module().write_cube(refl, path))


def has_reflectance(cube: HSCube | None) -> bool:
    """Whether :func:`write_reflectance` can write this cube (reflectance, or a reconstruction of a photo)."""
    if cube is None:
        return False
    from hsi_studio.core.relight import recorded_capture_illuminant

    return cube.kind == "reflectance" or recorded_capture_illuminant(cube) is not None


# ---------------------------------------------------------------------------------------------------------
# Reconstruction
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Reconstruction:
    cube: HSCube
    std: HSCube | None = None
    model: str = ""
    device: str = "cpu"
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    render: np.ndarray | None = None


def reconstruct(rgb: RGBImage, model: str, *, steps: int = 8, samples: int = 1, seed: int = 0,
                device: str = "auto", progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> Reconstruction:
    """RGB → cube with the learned pipeline when it is available, else a training-free baseline."""
    t0 = time.monotonic()
    pipeline = optional_pipeline()
    if pipeline is not None:
        res = pipeline.reconstruct(rgb, model, steps=steps, samples=samples, seed=seed, device=device,
                                   progress=progress, cancel=cancel)
        out = Reconstruction(res.cube, res.std, str(res.model), str(res.device), float(res.seconds),
                             list(res.messages))
    else:
        from hsi_studio.core import recovery

        if not str(model).startswith("physics:"):
            raise InputError(f"model {model!r} needs the learned pipeline, which is not available; expected "
                             f"one of {', '.join('physics:' + m for m in recovery.METHODS)}")
        cube = recovery.recover(rgb, model, progress=progress, cancel=cancel)
        out = Reconstruction(cube, None, str(model), "cpu", time.monotonic() - t0)
    cancel.check()
    out.render = preview_render(out.cube)
    return out


def model_choices(extra_dirs: list[str | Path] = ()) -> list[tuple[str, str, bool]]:
    """(label, model spec, available) for the model picker: the default model, bundles found in the models
    folder(s) (folders holding ``model_index.json``), then the training-free baselines."""
    from hsi_studio.core import recovery

    out: list[tuple[str, str, bool]] = []
    pipeline = optional_pipeline()
    if pipeline is not None:
        default = pipeline.default_model_path()
        installed = (default / "model_index.json").is_file()
        out.append(("Default model (ULDM)" if installed else "Default model (not installed)", "default",
                    installed))
        seen = {default.resolve()} if default.exists() else set()
        for root in [pipeline.models_dir(), *map(Path, extra_dirs)]:
            for bundle in _bundles(root):
                if bundle.resolve() not in seen:
                    seen.add(bundle.resolve())
                    kind = "Per-pixel regression" if bundle_class(bundle) == "PixelRegression" else "Bundle"
                    out.append((f"{kind}: {REGRESSION_LABELS.get(bundle.name, bundle.name)}", str(bundle), True))
    for m in recovery.METHODS:
        out.append((f"Baseline: {BASELINE_LABELS.get(m, m)}", f"physics:{m}", True))
    return out


def _bundles(root: Path) -> list[Path]:
    """The bundle folders in ``root`` (or ``root`` itself) that can reconstruct a cube from a photo."""
    try:
        if (root / "model_index.json").is_file():
            candidates = [root]
        else:
            candidates = sorted(p for p in root.iterdir() if p.is_dir() and (p / "model_index.json").is_file())
    except OSError:
        return []
    return [p for p in candidates if bundle_class(p) in RECONSTRUCTING_CLASSES]


def probe_devices(progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> list[tuple[str, str]]:
    """(device, description) for each accelerator torch can use; [] when there is none (or no torch).
    Imports torch: run it on a worker, never at start-up."""
    if importlib.util.find_spec("torch") is None:
        return []
    import torch

    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append((f"cuda:{i}", f"{props.name}, {props.total_memory / 1024**3:.0f} GiB"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(("mps", "Apple GPU (MPS)"))
    return out


# ---------------------------------------------------------------------------------------------------------
# Comparison with ground truth
# ---------------------------------------------------------------------------------------------------------
def compare(pred: HSCube, gt: HSCube, progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> dict[str, Any]:
    """Scalar metrics (``metrics.evaluate``) and per-pixel maps (``metrics.error_maps``)."""
    from hsi_studio.core import metrics

    if pred.shape[:2] != gt.shape[:2]:
        raise InputError(f"ground truth is {gt.height}×{gt.width} but the cube is {pred.height}×{pred.width}; "
                         "expected the same image size")
    progress(0.1, "error maps")
    maps = metrics.error_maps(pred, gt)
    cancel.check()
    progress(0.5, "metrics")
    scores = metrics.evaluate(pred, gt)
    return {"metrics": scores, "maps": maps}


__all__ = ["BASELINE_LABELS", "RECONSTRUCTING_CLASSES", "bundle_class", "Loaded", "Reconstruction", "compare", "format_bytes", "io_module", "load_file", "model_choices",
           "optional_pipeline", "preview_render", "probe_devices", "reconstruct", "warm_up", "write_cube", "written_bytes"]
