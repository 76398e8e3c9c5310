"""HSI Studio's settings, read in one place: environment variables and the user's settings file.

The settings file is JSON in the platform's configuration folder — ``$XDG_CONFIG_HOME/HSI Studio`` (default
``~/.config/HSI Studio``) on Linux, ``%APPDATA%\\HSI Studio`` on Windows, ``~/Library/Application Support/HSI
Studio`` on macOS, or the folder ``$HSI_STUDIO_CONFIG`` names — file ``settings.json``::

    {"model_dirs": ["/home/me/models"], "shared_data": "/data/spectra", "max_memory": "4G"}

``model_dirs`` are the user's model folders (a bundle, or a folder of bundles): the desktop app adds a folder
there when it trains a model or the user picks one, and ``hsi-studio models`` / ``--model NAME`` see them.
``shared_data`` and ``max_memory`` are the defaults of ``$HSI_STUDIO_SHARED_DATA`` and
``$HSI_STUDIO_MAX_MEMORY``; an environment variable always wins over the file.

A missing file means the defaults. An unreadable or malformed file gives one warning naming the file and what is
wrong, and the defaults: the program keeps running (the file is kept aside as ``settings.json.broken`` the next
time a setting is saved). Qt-free and stdlib-only: the CLI, the services and the GUI all read it.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

APP_NAME = "HSI Studio"  # the folder name, as Qt's QSettings and QStandardPaths use it (gui.APPLICATION)
SETTINGS_FILE = "settings.json"

ENV_CONFIG = "HSI_STUDIO_CONFIG"  # a folder holding settings.json instead of the platform's one
ENV_MODELS = "HSI_STUDIO_MODELS"  # the shipped models' folder instead of the package's / checkout's
ENV_SHARED_DATA = "HSI_STUDIO_SHARED_DATA"  # libraries of generated training scenes
ENV_MAX_MEMORY = "HSI_STUDIO_MAX_MEMORY"  # e.g. "4G", "512M" or bytes: the decode budget instead of free memory
ENV_DEBUG = "HSI_STUDIO_DEBUG"  # "1": the CLI re-raises internal errors with a traceback
ENV_SMOKE = "HSI_STUDIO_SMOKE"  # "1": the desktop app reports once its window is shown, then quits

#: keys of the settings file and the type each must have (anything else is kept but not used)
KEYS: dict[str, type] = {"model_dirs": list, "shared_data": str, "max_memory": str}


class SettingsWarning(UserWarning):
    """The settings file could not be used (the defaults are used instead)."""


def env(name: str) -> str | None:
    """An environment variable's value; unset or empty → None."""
    value = os.environ.get(name)
    return value if value else None


# -- where things are -----------------------------------------------------------------------------------------
def config_dir() -> Path:
    """The folder of ``settings.json``: ``$HSI_STUDIO_CONFIG``, else the platform's configuration folder."""
    override = env(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = env("APPDATA")
        return Path(base) / APP_NAME if base else Path.home() / "AppData" / "Roaming" / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    xdg = env("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"  # XDG: relative → ignored
    return base / APP_NAME


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def package_dir() -> Path:
    import hsi_studio

    return Path(hsi_studio.__file__).resolve().parent


def models_dir() -> Path:
    """Where the shipped models live: ``$HSI_STUDIO_MODELS``; in the frozen app (PyInstaller) its ``models/``;
    in an installed package ``hsi_studio/_models`` (the wheel carries the checkout's ``models/`` there, see
    setup.py); else the checkout's ``models/``."""
    override = env(ENV_MODELS)
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "models"
    package = package_dir()
    installed = package / "_models"
    return installed if installed.is_dir() else package.parent / "models"


# -- the settings file ----------------------------------------------------------------------------------------
_warned: set[tuple[str, str]] = set()


def _warn_once(path: Path, problem: str) -> None:
    if (str(path), problem) not in _warned:
        _warned.add((str(path), problem))
        warnings.warn(f"settings file {path} {problem}; using the default settings there", SettingsWarning,
                      stacklevel=3)


def _read(path: Path) -> tuple[dict[str, Any], str | None]:
    """(the file's JSON object, what is wrong with it or None); a missing file is ``({}, None)``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"cannot be read ({getattr(exc, 'strerror', None) or exc.__class__.__name__})"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return {}, f"is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return {}, f"holds a JSON {type(data).__name__}, not an object"
    return data, None


def load() -> dict[str, Any]:
    """The settings file's values that have the expected type (see :data:`KEYS`); never raises."""
    path = settings_path()
    data, problem = _read(path)
    if problem:
        _warn_once(path, problem)
        return {}
    out = {}
    for key, kind in KEYS.items():
        if key not in data:
            continue
        value = data[key]
        if key == "model_dirs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = [v for v in value if v]
        elif kind is str and isinstance(value, str):
            out[key] = value
        elif key == "max_memory" and isinstance(value, int) and not isinstance(value, bool):
            out[key] = str(value)  # bytes
        else:
            what = "a list of folder paths" if kind is list else "a string"
            _warn_once(path, f"has {key!r} = {json.dumps(value)[:60]}, expected {what}")
    return out


def save(**changes: Any) -> Path:
    """Set some keys of the settings file (the others are kept), written atomically; a file that cannot be
    parsed is kept aside as ``settings.json.broken`` first. Raises ``OSError`` when it cannot be written."""
    from hsi_studio.core.storage.atomic import atomic_write

    path = settings_path()
    data, problem = _read(path)
    if problem and path.is_file():
        os.replace(path, path.with_name(path.name + ".broken"))
    data.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# -- the values -----------------------------------------------------------------------------------------------
def user_model_dirs() -> list[Path]:
    """The user's model folders (a bundle, or a folder of bundles), in the order they were added."""
    return [Path(d).expanduser() for d in load().get("model_dirs", [])]


def add_model_dirs(folders: Iterable[str | os.PathLike[str]]) -> bool:
    """Add folders (absolute paths) to the user's model folders; True when they are all there afterwards. A file
    that cannot be written gives a warning and False (nothing raised: the caller keeps running)."""
    have = [str(p) for p in user_model_dirs()]
    new = [os.path.abspath(os.path.expanduser(os.fspath(f))) for f in folders if os.fspath(f)]
    new = [f for f in dict.fromkeys(new) if f not in have]
    if not new:
        return True
    try:
        save(model_dirs=[*have, *new])
    except OSError as exc:
        warnings.warn(f"could not save the model folders to {settings_path()}: {exc}", SettingsWarning,
                      stacklevel=2)
        return False
    return True


def _from_env_or_file(name: str, key: str) -> tuple[str, str] | None:
    value = env(name)
    if value:
        return value, f"${name}"
    value = load().get(key)
    return (value, f"{key} in {settings_path()}") if value else None


def shared_data_setting() -> tuple[str, str] | None:
    """(folder, where it was set) of the generated scenes' libraries: ``$HSI_STUDIO_SHARED_DATA``, else the
    settings file's ``shared_data``; None when neither is set."""
    return _from_env_or_file(ENV_SHARED_DATA, "shared_data")


def max_memory_setting() -> str | None:
    """The decode budget as written (``"4G"``, ``"512M"``, bytes): ``$HSI_STUDIO_MAX_MEMORY``, else the settings
    file's ``max_memory``; None when neither is set."""
    found = _from_env_or_file(ENV_MAX_MEMORY, "max_memory")
    return found[0] if found else None


def debug() -> bool:
    """``$HSI_STUDIO_DEBUG`` is set: internal errors raise with a traceback."""
    return env(ENV_DEBUG) is not None


def smoke_run() -> bool:
    return env(ENV_SMOKE) == "1"


def world_size() -> int:
    """Processes of an ``accelerate launch`` (``$WORLD_SIZE``; 1 when run alone)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def local_rank() -> int:
    """This process's rank on its node under ``accelerate launch`` (``$LOCAL_RANK``; 0 when run alone)."""
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def is_local_main() -> bool:
    """The first process on this node (or the only one): the one that tidies shared folders."""
    return os.environ.get("LOCAL_RANK", "0") == "0"


__all__ = ["APP_NAME", "ENV_CONFIG", "ENV_DEBUG", "ENV_MAX_MEMORY", "ENV_MODELS", "ENV_SHARED_DATA", "ENV_SMOKE",
           "KEYS", "SETTINGS_FILE", "SettingsWarning", "add_model_dirs", "config_dir", "debug", "env",
           "is_local_main", "load", "local_rank", "max_memory_setting", "models_dir", "package_dir", "save",
           "settings_path", "shared_data_setting", "smoke_run", "user_model_dirs", "world_size"]
