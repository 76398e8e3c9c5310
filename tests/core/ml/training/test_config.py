"""Typed training settings (core/ml/training/config.py): one dataclass per stage, unknown keys refused with the
closest valid name, presets as class methods, one merge (preset < recipe JSON < flags), and the round trip
through a bundle's training.json."""

import json
from pathlib import Path

import pytest

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.training.config import (
    RegressionSettings,
    RGBPretrainSettings,
    Stage1Settings,
    Stage2Settings,
    TrainConfig,
    UnknownSettingError,
    resolve_stage_config,
    settings_class,
    stage_settings,
)
from hsi_studio.core.ml.training.fast_config import FastConfig, FastSettings
from hsi_studio.core.ml.training.stages import default_config

ROOT = Path(__file__).resolve().parents[4]
STAGE_CLASSES = {"rgb-pretrain": RGBPretrainSettings, "stage1": Stage1Settings, "stage2": Stage2Settings}


def write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


# -- unknown keys ------------------------------------------------------------------------------------------------
def test_a_typo_is_refused_with_the_closest_valid_name():
    with pytest.raises(UnknownSettingError) as err:
        Stage1Settings.from_dict({"hidden": 32, "hiden": 32})
    assert isinstance(err.value, InputError)  # the CLI exits 2 with one line
    assert err.value.key == "hiden" and err.value.suggestion == "hidden"
    assert "unknown stage1 setting 'hiden'; did you mean 'hidden'?" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("cls", "typo", "meant"), [
    (Stage2Settings, "spae_steps", "spaae_steps"), (RGBPretrainSettings, "vae_step", "vae_steps"),
    (RegressionSettings, "degre", "degree"), (FastSettings, "scene_sise", "scene_size"),
    (FastConfig, "widht", "width"),
])
def test_every_stage_refuses_unknown_keys(cls, typo, meant):
    with pytest.raises(UnknownSettingError, match=f"did you mean '{meant}'"):
        cls.from_dict({typo: 1})


def test_a_key_like_no_valid_one_gets_no_suggestion_but_the_valid_names():
    with pytest.raises(UnknownSettingError) as err:
        Stage1Settings.from_dict({"zzzz": 1})
    assert err.value.suggestion is None and "did you mean" not in str(err.value)
    assert "expected one of response, generated," in str(err.value)


def test_a_typo_among_the_common_settings_is_refused_too(tmp_path):
    with pytest.raises(UnknownSettingError, match="unknown training setting 'stpes'; did you mean 'steps'"):
        TrainConfig.from_dict({"stpes": 3})
    config = write(tmp_path / "c.json", {"batchsize": 4})
    with pytest.raises(UnknownSettingError, match="did you mean 'batch_size'") as err:
        resolve_stage_config("stage1", config=config)
    assert str(err.value).startswith(str(config))  # names the file


def test_another_stages_keys_are_unknown_keys(tmp_path):
    config = write(tmp_path / "s2.json", {"stage": {"spaae_steps": 10}})
    with pytest.raises(UnknownSettingError, match="unknown stage1 setting 'spaae_steps'"):
        resolve_stage_config("stage1", config=config)
    assert resolve_stage_config("stage2", config=config).stage["spaae_steps"] == 10


def test_values_are_still_checked_by_type():
    with pytest.raises(InputError, match="hidden"):
        Stage1Settings.from_dict({"hidden": 0})
    with pytest.raises(InputError, match="sim"):
        Stage1Settings.from_dict({"sim": "D65"})
    with pytest.raises(InputError, match="val_crop"):
        Stage1Settings.from_dict({"val_crop": "128"})


# -- presets ---------------------------------------------------------------------------------------------------
def test_presets_are_class_methods():
    assert Stage1Settings.default().hidden == 64 and Stage1Settings.default().layers == 3
    smoke = Stage1Settings.smoke()
    assert (smoke.hidden, smoke.layers, smoke.tiny) == (8, 1, True)
    assert Stage2Settings.smoke().refine_steps == 1 and RGBPretrainSettings.smoke().vae_steps == 2
    assert RegressionSettings.default().kind == "rootpoly" and FastSettings.default().fit_config() == FastConfig()


@pytest.mark.parametrize("stage", ["rgb-pretrain", "stage1", "stage2"])
@pytest.mark.parametrize("tiny", [False, True])
def test_train_config_presets_carry_the_stage_settings(stage, tiny):
    cfg = TrainConfig.preset(stage, tiny=tiny)
    assert default_config(stage, tiny=tiny) == cfg
    assert cfg.stage == STAGE_CLASSES[stage].preset(tiny=tiny).to_dict()
    assert settings_class(stage) is STAGE_CLASSES[stage] and stage_settings(stage, cfg).to_dict() == cfg.stage
    assert (cfg.val_every, cfg.warmup_steps) == ((2, 1) if tiny else (cfg.val_every, 50))
    cfg.validate()
    assert "sim" not in cfg.stage  # an optional setting is part of the dict only once set


def test_an_unknown_stage_is_refused():
    with pytest.raises(InputError, match="unknown training stage 'stage3'; expected one of rgb-pretrain, stage1"):
        TrainConfig.preset("stage3")


# -- the merge -------------------------------------------------------------------------------------------------
def test_merge_order_is_preset_then_recipe_then_flags(tmp_path):
    recipe = write(tmp_path / "r.json", {"steps": 7, "lr": 0.5, "stage": {"hidden": 16, "layers": 2,
                                                                          "sim": {"light": "A"}}})
    cfg = resolve_stage_config("stage1", config=recipe, flags={"steps": 9, "generated": 0.25, "seed": None},
                               tiny=True)
    tiny = TrainConfig.preset("stage1", tiny=True)
    assert cfg.steps == 9  # a flag beats the recipe
    assert cfg.lr == 0.5 and cfg.stage["hidden"] == 16 and cfg.stage["layers"] == 2  # the recipe beats the preset
    assert cfg.batch_size == tiny.batch_size and cfg.crop == tiny.crop and cfg.seed == 0  # untouched: the preset
    assert cfg.stage["generated"] == 0.25 and cfg.stage["tiny"] is True
    assert cfg.stage["sim"] == {"light": "A"}
    lit = resolve_stage_config("stage1", config=recipe, flags={"light": "none"})
    assert lit.stage["sim"] == {"light": None}  # --light none: no light, the recipe's other sim keys kept


def test_the_recipe_names_only_the_keys_it_changes(tmp_path):
    cfg = resolve_stage_config("stage2", config=write(tmp_path / "c.json", {"stage": {"val_steps": 4}}))
    preset = TrainConfig.preset("stage2").to_dict()
    got = cfg.to_dict()
    assert got["stage"].pop("val_steps") == 4 and preset["stage"].pop("val_steps") == 8
    assert got == preset


def test_optional_keys_follow_the_order_they_were_set_in(tmp_path):
    a = resolve_stage_config("stage1", config=write(tmp_path / "a.json", {"stage": {"val_crop": 64, "sim": {}}}))
    b = resolve_stage_config("stage1", config=write(tmp_path / "b.json", {"stage": {"sim": {}, "val_crop": 64}}),
                             flags={"light": "D65"})
    assert list(a.stage)[-2:] == ["val_crop", "sim"] and list(b.stage)[-2:] == ["sim", "val_crop"]
    assert b.stage["sim"] == {"light": "D65"}


@pytest.mark.parametrize("flag", ["steps", "batch_size", "crop", "threads"])
def test_sizes_given_as_flags_must_be_positive(flag):
    with pytest.raises(InputError, match=f"--{flag.replace('_', '-')} 0; expected a positive integer"):
        resolve_stage_config("stage1", flags={flag: 0})


# -- training.json ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("recipe", sorted((ROOT / "recipes" / "default").glob("s[12]*.json")), ids=lambda p: p.stem)
def test_round_trip_through_training_json(recipe, tmp_path):
    """A resolved config, recorded in training.json as a bundle records it (``stages._record``), resolves back to
    itself when given as ``--config``: the same keys, values and order."""
    from hsi_studio.core.ml.training.stages import _record

    stage = "stage1" if recipe.stem == "s1" else "stage2"
    cfg = resolve_stage_config(stage, config=recipe, flags={"data": "cubes", "light": "D65"})
    record = json.loads(json.dumps(_record(cfg, None, {})))
    again = resolve_stage_config(stage, config=write(tmp_path / "training.json", record["training"]))
    assert json.dumps(again.to_dict()) == json.dumps(record["training"]) == json.dumps(cfg.to_dict())
    typed = STAGE_CLASSES[stage].from_dict(record["training"]["stage"])
    assert typed.to_dict() == record["training"]["stage"]


@pytest.mark.parametrize(("model", "stage"), [("default", "stage2"), ("speuae", "stage1")])
def test_the_shipped_models_training_records_are_valid_settings(model, stage):
    path = ROOT / "models" / model / "training.json"
    recorded = json.loads(path.read_text())["training"]
    settings = STAGE_CLASSES[stage].from_dict(recorded["stage"])
    assert settings.to_dict().items() >= recorded["stage"].items()  # every recorded key is a known one
    cfg = TrainConfig.from_dict({k: v for k, v in recorded.items() if k != "stage_name"})
    assert cfg.stage == recorded["stage"]
