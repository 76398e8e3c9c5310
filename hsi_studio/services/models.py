"""The model list, in one place: the shipped default model, the bundles in the models folder (and in the user's
model folders — kept in the settings file, :mod:`hsi_studio.core.settings`, which the desktop app and the command
line share) that reconstruct a cube from a photo, then the training-free baselines."""

from __future__ import annotations

from pathlib import Path

from hsi_studio.core import settings
from hsi_studio.core.ml.reconstruct import (
    RECONSTRUCTION_CLASSES,
    bundle_class,
    default_model_path,
    models_dir,
)
from hsi_studio.core.spectral.recovery import METHOD_LABELS, METHODS

#: the shipped learned per-pixel baselines (models/rootpoly, models/mlp)
REGRESSION_LABELS = {"rootpoly": "root-polynomial (shipped)", "mlp": "MLP (shipped)"}
REGRESSION_KIND = "Per-pixel regression"
#: the shipped fast model (models/fast): a residual spatial CNN over the per-pixel MLP, one deterministic pass
FAST_LABELS = {"fast": "residual U-Net over the MLP (shipped)"}
FAST_KIND = "Fast model"
_KINDS = {"PixelRegression": (REGRESSION_KIND, REGRESSION_LABELS), "SpatialResidual": (FAST_KIND, FAST_LABELS)}


def bundles(root: str | Path) -> list[Path]:
    """The bundle folders in ``root`` (or ``root`` itself) that can reconstruct a cube from a photo (a SpeUAE or
    a base RGB LDM is a training part: not listed)."""
    root = Path(root)
    try:
        if (root / "model_index.json").is_file():
            candidates = [root]
        else:
            candidates = sorted(p for p in root.iterdir() if p.is_dir() and (p / "model_index.json").is_file())
    except OSError:
        return []
    return [p for p in candidates if bundle_class(p) in RECONSTRUCTION_CLASSES]


def default_installed() -> bool:
    return (default_model_path() / "model_index.json").is_file()


def user_model_folders() -> list[Path]:
    """The user's model folders (the settings file's ``model_dirs``)."""
    return settings.user_model_dirs()


def remember_model_folders(folders: list[str | Path]) -> bool:
    """Add folders to the user's model folders, so that ``hsi-studio models`` and ``--model NAME`` see their
    bundles; False (with a warning) when the settings file cannot be written."""
    return settings.add_model_dirs(folders)


def model_choices(extra_dirs: list[str | Path] = ()) -> list[tuple[str, str, bool]]:
    """(label, model spec, available) for the model picker: the default model, bundles found in the models
    folder, the user's model folders and ``extra_dirs`` (folders holding ``model_index.json``, or such a folder
    itself), then the training-free baselines."""
    default = default_model_path()
    installed = default_installed()
    out: list[tuple[str, str, bool]] = [
        ("Default model (ULDM)" if installed else "Default model (not installed)", "default", installed)]
    seen = {default.resolve()} if default.exists() else set()
    for root in [models_dir(), *user_model_folders(), *map(Path, extra_dirs)]:
        for bundle in bundles(root):
            if bundle.resolve() not in seen:
                seen.add(bundle.resolve())
                kind, labels = _KINDS.get(bundle_class(bundle) or "", ("Bundle", {}))
                out.append((f"{kind}: {labels.get(bundle.name, bundle.name)}", str(bundle), True))
    for m in METHODS:
        out.append((f"Baseline: {METHOD_LABELS.get(m, m)}", f"physics:{m}", True))
    return out


def method_label(method: str) -> str:
    """What a scored or reconstructing method is called: ``physics:<m>`` by the baseline's name, a shipped
    regression by its label, anything else (a bundle path or name) by itself."""
    method = str(method)
    if method.startswith("physics:"):
        key = method.split(":", 1)[1]
        return METHOD_LABELS.get(key, method)
    if method in REGRESSION_LABELS:
        return f"{REGRESSION_KIND}: {REGRESSION_LABELS[method]}"
    if method in FAST_LABELS:
        return f"{FAST_KIND}: {FAST_LABELS[method]}"
    return method


__all__ = ["FAST_LABELS", "REGRESSION_LABELS", "bundles", "default_installed", "method_label", "model_choices",
           "remember_model_folders", "user_model_folders"]
