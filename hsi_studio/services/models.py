"""The model list, in one place: the shipped default model, the bundles in the models folder (and in the user's
model folders — kept in the settings file, :mod:`hsi_studio.core.settings`, which the desktop app and the command
line share) that reconstruct a cube from a photo, then the training-free baselines. Names, labels and kinds come
from the methods registry (:mod:`hsi_studio.core.spectral.methods`, filled by
:mod:`hsi_studio.core.spectral.recovery` and :mod:`hsi_studio.core.ml.reconstruct`)."""

from __future__ import annotations

from pathlib import Path

from hsi_studio.core import settings
from hsi_studio.core.ml.bundle_index import is_bundle
from hsi_studio.core.ml.reconstruct import (
    DEFAULT,
    RECONSTRUCTION_CLASSES,
    bundle_class,
    default_model_path,
    methods,
    model_defaults,
    models_dir,
    named_bundle,
)
from hsi_studio.core.spectral.methods import BUNDLE_KINDS, FAST, PER_PIXEL, TRAINING_FREE
from hsi_studio.core.spectral.methods import get as get_method

#: how the model list titles a bundle of each kind (a bundle of any other kind, e.g. a ULDM of the user's: "Bundle")
KIND_TITLES = {PER_PIXEL: "Per-pixel regression", FAST: "Fast model"}
REGRESSION_KIND, FAST_KIND = KIND_TITLES[PER_PIXEL], KIND_TITLES[FAST]
#: the shipped learned per-pixel baselines (models/rootpoly, models/mlp) and the shipped fast model (models/fast):
#: their labels, from the methods registry
REGRESSION_LABELS = {m.name: m.label for m in methods(PER_PIXEL)}
FAST_LABELS = {m.name: m.label for m in methods(FAST)}


def bundles(root: str | Path) -> list[Path]:
    """The bundle folders in ``root`` (or ``root`` itself) that can reconstruct a cube from a photo (a SpeUAE or
    a base RGB LDM is a training part: not listed)."""
    root = Path(root)
    try:
        if is_bundle(root):
            candidates = [root]
        else:
            candidates = sorted(p for p in root.iterdir() if p.is_dir() and is_bundle(p))
    except OSError:
        return []
    return [p for p in candidates if bundle_class(p) in RECONSTRUCTION_CLASSES]


def default_installed() -> bool:
    return is_bundle(default_model_path())


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
        (get_method(DEFAULT).label if installed else "Default model (not installed)", DEFAULT, installed)]
    seen = {default.resolve()} if default.exists() else set()
    for root in [models_dir(), *user_model_folders(), *map(Path, extra_dirs)]:
        for bundle in bundles(root):
            if bundle.resolve() not in seen:
                seen.add(bundle.resolve())
                out.append((_bundle_label(bundle), str(bundle), True))
    for m in methods(TRAINING_FREE):
        out.append((f"Baseline: {m.label}", m.name, True))
    return out


def _bundle_label(bundle: Path) -> str:
    """"<kind title>: <label>": a registered model's label when the bundle is named after one of that kind (the
    shipped ones), else the folder's name."""
    kind = BUNDLE_KINDS.get(bundle_class(bundle) or "")
    known = get_method(bundle.name)
    label = known.label if known is not None and known.kind == kind and kind in KIND_TITLES else bundle.name
    return f"{KIND_TITLES.get(kind, 'Bundle')}: {label}"


def model_rows(extra_dirs: list[str | Path] = ()) -> list[dict]:
    """The model list as ``hsi-studio models`` shows it: per :func:`model_choices` entry, ``model`` (what
    ``--model`` takes: a name when the shipped or user folders resolve it to that bundle, else the path),
    ``label``, ``available``, ``kind`` (:data:`hsi_studio.core.spectral.methods.KINDS`; None for a bundle of no
    reconstructing kind) and, for a bundle, its ``class`` (and a ULDM's recommended ``sampling`` and whether it is
    ``corrective``)."""
    rows = []
    for label, spec, available in model_choices(extra_dirs):
        row: dict = {"model": spec, "label": label, "available": available}
        known = get_method(spec)
        if known is not None and not known.learned:
            row["kind"] = known.kind
        elif available:
            path = default_model_path() if spec == DEFAULT else Path(spec)
            if spec != DEFAULT:  # what --model takes: a name (shipped or in a user's model folder), else the path
                named = named_bundle(path.name)
                row["model"] = path.name if named and named.resolve() == path.resolve() else spec
            row["class"] = bundle_class(path)
            row["kind"] = BUNDLE_KINDS.get(row["class"] or "")
            if row["class"] == "ULDM":
                row["sampling"] = model_defaults(path)
                row["corrective"] = (path / "spatial" / "config.json").is_file()  # corrective diffusion (#21)
        rows.append(row)
    return rows


def method_label(method: str) -> str:
    """What a scored or reconstructing method is called: ``physics:<m>`` by the baseline's name, a shipped
    regression by its label, anything else (a bundle path or name) by itself."""
    method = str(method)
    known = get_method(method)
    if known is None:
        return method
    if not known.learned:
        return known.label
    return f"{KIND_TITLES[known.kind]}: {known.label}" if known.kind in KIND_TITLES else method


__all__ = ["FAST_LABELS", "KIND_TITLES", "REGRESSION_LABELS", "bundles", "default_installed", "method_label", "model_choices", "model_rows",
           "remember_model_folders", "user_model_folders"]
