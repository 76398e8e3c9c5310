"""The one settings module (hsi_studio.core.settings): where the settings file is, a broken file gives one clear
warning and the defaults, environment variables beat the file, the user's model folders reach
``hsi-studio models`` and ``--model NAME``, and no other module reads an ``HSI_STUDIO_*`` variable."""

from __future__ import annotations

import json
import re
import shutil
import sys
import warnings
from pathlib import Path

import pytest

from hsi_studio.cli import main
from hsi_studio.core import cube, settings
from hsi_studio.core.ml import reconstruct as pipeline
from hsi_studio.core.ml.data import scenes
from hsi_studio.services import models

ROOT = Path(__file__).resolve().parents[2]


def _bundle(folder: Path, cls: str = "ULDM") -> Path:
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": cls}))
    return folder


def _cli(args, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    """A fresh configuration folder, found the way users have it on Linux: through $XDG_CONFIG_HOME."""
    monkeypatch.delenv(settings.ENV_CONFIG, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    settings._warned.clear()
    return tmp_path / "xdg" / settings.APP_NAME


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG folder is the Linux/BSD location")
def test_the_settings_file_is_in_the_xdg_config_folder_or_the_one_hsi_studio_config_names(config, tmp_path,
                                                                                          monkeypatch):
    assert settings.settings_path() == config / "settings.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the XDG spec: a relative path is ignored
    assert settings.config_dir() == Path.home() / ".config" / settings.APP_NAME
    monkeypatch.setenv(settings.ENV_CONFIG, str(tmp_path / "portable"))
    assert settings.settings_path() == tmp_path / "portable" / "settings.json"


def test_model_folders_are_saved_once_each_and_other_keys_are_kept(config, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert settings.user_model_dirs() == []  # no file: the defaults
    assert settings.add_model_dirs([a, a, b]) and settings.add_model_dirs([b])
    assert settings.user_model_dirs() == [a, b]
    data = json.loads((config / "settings.json").read_text())
    data["future_key"] = 1
    (config / "settings.json").write_text(json.dumps(data))
    settings.add_model_dirs([tmp_path / "c"])
    assert json.loads((config / "settings.json").read_text())["future_key"] == 1


@pytest.mark.parametrize("text, says", [("{not json", "is not valid JSON"), ("[1, 2]", "holds a JSON list"),
                                        ('{"model_dirs": "/one/folder"}', "expected a list of folder paths")])
def test_a_broken_settings_file_warns_once_and_gives_the_defaults(config, text, says, tmp_path):
    config.mkdir(parents=True)
    (config / "settings.json").write_text(text)
    with pytest.warns(settings.SettingsWarning, match=re.escape(says)) as caught:
        assert settings.user_model_dirs() == []
    assert str(config / "settings.json") in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings.user_model_dirs()  # said once, not on every read
    # saving a setting keeps a file that does not parse aside instead of overwriting it (a wrong value is replaced)
    assert settings.add_model_dirs([tmp_path / "mine"])
    assert (config / "settings.json.broken").is_file() == ("model_dirs" not in text)
    assert settings.user_model_dirs() == [tmp_path / "mine"]


def test_the_cli_runs_with_a_broken_settings_file_and_says_so_in_one_line(config, capsys):
    config.mkdir(parents=True)
    (config / "settings.json").write_text('{"model_dirs": [')
    code, out, err = _cli(["models", "--json"], capsys)
    assert code == 0 and json.loads(out)[0]["model"] == "default"
    lines = [line for line in err.splitlines() if "settings.json" in line]
    assert len(lines) == 1 and "not valid JSON" in lines[0] and "default settings" in lines[0]


def test_an_unwritable_settings_folder_warns_and_returns_false(config, tmp_path):
    config.parent.mkdir(parents=True)
    config.write_text("a file where the folder should be")
    with pytest.warns(settings.SettingsWarning) as caught:
        assert settings.add_model_dirs([tmp_path]) is False
    said = " ".join(str(w.message) for w in caught)
    assert "cannot be read" in said and "could not save the model folders" in said


def test_environment_variables_beat_the_settings_file(config, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    config.mkdir(parents=True)
    (config / "settings.json").write_text(json.dumps({"max_memory": "3G", "shared_data": str(data)}))
    monkeypatch.delenv(settings.ENV_MAX_MEMORY, raising=False)
    monkeypatch.delenv(settings.ENV_SHARED_DATA, raising=False)
    assert cube.memory_budget() == 3 * 1024**3
    folder, origin = scenes.shared_data_origin()
    assert folder == data and "settings.json" in origin

    monkeypatch.setenv(settings.ENV_MAX_MEMORY, "512M")
    assert cube.memory_budget() == 512 * 1024**2
    env_data = tmp_path / "env-data"
    env_data.mkdir()
    monkeypatch.setenv(settings.ENV_SHARED_DATA, str(env_data))
    assert scenes.shared_data_origin() == (env_data, "$HSI_STUDIO_SHARED_DATA")

    monkeypatch.setenv(settings.ENV_MODELS, str(tmp_path / "shipped"))
    assert pipeline.models_dir() == tmp_path / "shipped"
    monkeypatch.delenv(settings.ENV_MODELS)
    assert (pipeline.models_dir() / "default" / "model_index.json").is_file()  # the checkout's (or the wheel's)

    monkeypatch.setenv(settings.ENV_DEBUG, "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert settings.debug() and settings.world_size() == 4


def test_the_cli_lists_and_runs_a_model_in_a_user_model_folder(config, tmp_path, capsys):
    """A folder remembered by the desktop app (or written by hand): ``hsi-studio models`` lists its bundles by
    name and ``--model NAME`` reconstructs with them."""
    mine = tmp_path / "my-models"
    mine.mkdir()
    shutil.copytree(pipeline.models_dir() / "rootpoly", mine / "my-rootpoly")
    _bundle(mine / "part", "SpeUAE")  # a training part: not listed
    assert models.remember_model_folders([mine])
    code, out, _ = _cli(["models", "--json"], capsys)
    rows = {r["model"]: r for r in json.loads(out)}
    assert code == 0 and rows["my-rootpoly"]["class"] == "PixelRegression" and "part" not in rows
    assert pipeline.resolve_model("my-rootpoly") == mine / "my-rootpoly"

    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("RGB", (16, 12), (180, 90, 40)).save(photo)
    code, _, err = _cli(["reconstruct", photo, "--model", "my-rootpoly", "-o", tmp_path / "out"], capsys)
    assert code == 0, err
    assert list((tmp_path / "out").glob("photo*.h5"))


def test_a_shipped_name_wins_and_default_is_never_a_user_bundle(config, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    _bundle(shipped / "rootpoly", "PixelRegression")
    mine = tmp_path / "mine"
    _bundle(mine / "rootpoly", "PixelRegression")
    _bundle(mine / "default")
    monkeypatch.setenv(settings.ENV_MODELS, str(shipped))
    settings.add_model_dirs([mine])
    assert pipeline.resolve_model("rootpoly") == shipped / "rootpoly"
    with pytest.raises(Exception, match="shipped default model"):
        pipeline.resolve_model("default")
    # a user folder that is a bundle itself is found by its name
    settings.add_model_dirs([_bundle(tmp_path / "solo")])
    assert pipeline.named_bundle("solo") == tmp_path / "solo"
    assert pipeline.named_bundle("../solo") is None and pipeline.named_bundle("nothing") is None


def test_no_module_but_settings_reads_an_hsi_studio_environment_variable():
    read = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*["']HSI_STUDIO_""")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "hsi_studio").rglob("*.py")
                 if p.name != "settings.py" and read.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
