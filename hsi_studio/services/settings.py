"""The user's settings and the run environment — the use case of knowing where things are and how this run was
started, for the CLI and the GUI alike: the user's model folders (a model trained in the GUI shows in
``hsi-studio models``), the shared data folder, the memory budget, the settings file itself, debug and smoke
switches, and the processes of an ``accelerate launch``. Read in one place, :mod:`hsi_studio.core.settings`;
this module is its front door. Stdlib only."""

from __future__ import annotations

from hsi_studio.core.settings import (
    APP_NAME,
    ENV_CONFIG,
    ENV_DEBUG,
    ENV_MAX_MEMORY,
    ENV_MODELS,
    ENV_SHARED_DATA,
    ENV_SMOKE,
    KEYS,
    SETTINGS_FILE,
    SettingsWarning,
    add_model_dirs,
    config_dir,
    debug,
    env,
    is_local_main,
    load,
    local_rank,
    max_memory_setting,
    models_dir,
    package_dir,
    save,
    settings_path,
    shared_data_setting,
    smoke_run,
    user_model_dirs,
    world_size,
)

__all__ = ["APP_NAME", "ENV_CONFIG", "ENV_DEBUG", "ENV_MAX_MEMORY", "ENV_MODELS", "ENV_SHARED_DATA", "ENV_SMOKE",
           "KEYS", "SETTINGS_FILE", "SettingsWarning", "add_model_dirs", "config_dir", "debug", "env",
           "is_local_main", "load", "local_rank", "max_memory_setting", "models_dir", "package_dir", "save", "settings_path", "shared_data_setting",
           "smoke_run", "user_model_dirs", "world_size"]
