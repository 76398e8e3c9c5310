"""``hsi-studio train``'s settings on the command line: a typo in a recipe exits 2 with one line naming the key
and the closest valid one, before any work; the merge is core's (preset < recipe < flags)."""

import json

from factories import run_cli as run
from factories import write_cube_folder


def test_a_typo_in_the_recipe_exits_2_naming_the_key_and_the_suggestion(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": 2, "stage": {"hiden": 32}}))
    out = tmp_path / "run"
    code, stdout, err = run(["train", "stage1", "--tiny", "--config", bad, "--out", out], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hsi-studio train: error: ")
    assert "'hiden'" in lines[0] and "did you mean 'hidden'?" in lines[0] and "bad.json" in lines[0]
    assert not out.exists()  # refused before any work


def test_a_typo_among_the_common_settings_exits_2_too(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"learning_rate": 0.1}))
    code, _, err = run(["train", "stage2", "--tiny", "--config", bad, "--out", tmp_path / "run"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown training setting 'learning_rate'" in err


def test_regression_and_fast_settings_are_checked_before_any_work(tmp_path, capsys):
    code, _, err = run(["train", "regression", "--data", tmp_path, "--out", tmp_path / "r", "--lr", "0"], capsys)
    assert code == 2 and "--lr 0; expected a learning rate above 0" in err
    code, _, err = run(["train", "fast", "--data", tmp_path, "--out", tmp_path / "f", "--crop", "10"], capsys)
    assert code == 2 and "--crop a multiple of 4" in err
    code, _, err = run(["train", "fast", "--data", tmp_path, "--out", tmp_path / "f", "--sam-weight", "-1"], capsys)
    assert code == 2 and "--sam-weight -1.0" in err and "a weight in [0, 100]" in err


def test_a_camera_share_outside_0_1_exits_2_before_training(tmp_path, capsys):
    data = write_cube_folder(tmp_path / "cubes", n=2, size=16)
    code, _, err = run(["train", "regression", "--data", data, "--kind", "mlp", "--cameras", "1.5",
                        "--out", tmp_path / "r"], capsys)
    assert code == 2 and "--cameras 1.5" in err and "expected shares in [0, 1]" in err
    code, _, err = run(["train", "fast", "--data", data, "--cameras", "-1", "--out", tmp_path / "f"], capsys)
    assert code == 2 and "--cameras -1.0" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "f" / "model").exists()
