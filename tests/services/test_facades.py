"""The use-case modules of services/ that the CLI and the GUI share: cubes, spectra, relighting, analysis,
calibration, outputs, settings, reconstruct_files and training — each doing its use case through core, and the
light ones importing no torch."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from factories import random_cube

from hsi_studio.core.errors import InputError, OutputError
from hsi_studio.services import (
    analysis,
    calibration,
    cubes,
    outputs,
    reconstruct_files,
    relighting,
    settings,
    spectra,
    training,
)

ROOT = Path(__file__).resolve().parents[2]
LIGHT = ["cubes", "spectra", "relighting", "analysis", "calibration", "outputs", "settings"]


def test_the_viewing_facades_load_no_torch_and_no_qt():
    code = ("import sys, importlib\n"
            f"for m in {LIGHT!r}: importlib.import_module('hsi_studio.services.' + m)\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'accelerate', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", [*LIGHT, "reconstruct_files", "training"])
def test_each_facade_says_what_use_case_it_serves_and_exports_what_it_names(name):
    module = sys.modules[f"hsi_studio.services.{name}"]
    assert module.__doc__ and len(module.__doc__.split()) > 20
    assert all(hasattr(module, n) for n in module.__all__)


# -- cubes -----------------------------------------------------------------------------------------------------
def test_describe_convert_and_evaluate(tmp_path):
    src = cubes.write_cube(random_cube((8, 6, 31)), tmp_path / "c.h5")
    assert cubes.describe(src)["bands"] == 31
    written = cubes.convert(src, tmp_path / "c.mat", grid="standard")
    np.testing.assert_allclose(cubes.read_cube(written).data, cubes.read_cube(src).data, rtol=1e-6)
    with pytest.raises(InputError, match="--resample 'fine'; expected 'standard'"):
        cubes.convert(src, tmp_path / "d.mat", grid="fine")
    scores = cubes.evaluate_files(written, src)
    assert scores["rmse"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(InputError, match="--crop 0"):
        cubes.evaluate_files(written, src, crop=0)
    with pytest.raises(InputError, match="leaves no bands"):
        cubes.evaluate_files(written, src, min_nm=800)


# -- spectra ---------------------------------------------------------------------------------------------------
def test_simulate_photo_checks_its_options():
    img, response, scale = spectra.simulate_photo(random_cube((8, 6, 31)), "cie1964-srgb", bits=16)
    assert img.data.shape == (8, 6, 3) and img.bit_depth == 16 and response.name and scale > 0
    with pytest.raises(InputError, match="--jpeg 0"):
        spectra.check_simulation(None, 0)
    with pytest.raises(InputError, match="--noise"):
        spectra.check_simulation(-1.0, None)
    with pytest.raises(InputError, match="--exposure 'bright'"):
        spectra.exposure_of("bright")


# -- relighting ------------------------------------------------------------------------------------------------
def test_relight_file_renders_under_an_illuminant(tmp_path):
    src = cubes.write_cube(random_cube((8, 6, 31), kind="reflectance"), tmp_path / "c.h5")
    relit = relighting.relight_file(src, "A", exposure="auto")
    assert relit.image.data.shape == (8, 6, 3) and relit.spec == "A" and relit.shape == (8, 6)
    assert relit.capture is None and not relit.capture_recorded
    with pytest.raises(InputError):
        relighting.relight_file(src, "no-such-light")
    assert relighting.exposure_of(" AUTO ") == "auto" and relighting.exposure_of("2") == 2.0


# -- analysis --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["npy", "h5"])
def test_write_results_writes_all_or_nothing(tmp_path, fmt):
    cube = random_cube((8, 6, 31))
    angle = analysis.sam_map(cube, cube.data[0, 0])
    images = {"sam": analysis.colourise(angle, 0.0, 30.0)}
    lib = analysis.SpectralLibrary(["a"], cube.wavelengths, [cube.data[0, 0]], "test")
    written = analysis.write_results(tmp_path, images, {"sam": angle}, array_format=fmt, library=lib,
                                     library_out=tmp_path / "lib.sli")
    expected = analysis.output_paths(tmp_path, ["sam"], fmt, str(tmp_path / "lib.sli"))
    assert all(p.exists() for p in expected)
    assert sorted(map(str, written)) == sorted(str(p) for p in expected if p.suffix != ".hdr")


# -- calibration -----------------------------------------------------------------------------------------------
def test_photo_options_are_parsed_before_any_work():
    wb, chart, ref = calibration.parse_photo_options("auto", "AUTO", None)
    assert wb is not None and chart == "auto" and ref == calibration.REFERENCE_DEFAULT
    assert calibration.parse_photo_options(None, None, calibration.REFERENCE_DEFAULT.upper())[2] == \
        calibration.REFERENCE_DEFAULT
    with pytest.raises(InputError, match="unknown chart reference"):
        calibration.check_reference("no such chart")


# -- outputs ---------------------------------------------------------------------------------------------------
def test_outputs_are_checked_before_any_work(tmp_path):
    assert outputs.output_files(tmp_path / "x.hdr") == [tmp_path / "x.hdr", tmp_path / "x.img"]
    (tmp_path / "x.img").write_bytes(b"")
    with pytest.raises(OutputError, match="x.img already exists"):
        outputs.check_output(tmp_path / "x.hdr", force=False)
    assert outputs.check_output(tmp_path / "x.hdr", force=True) == tmp_path / "x.hdr"
    with pytest.raises(OutputError, match="does not exist"):
        outputs.check_output(tmp_path / "missing" / "y.h5", force=False)
    with pytest.raises(OutputError, match="empty name"):
        outputs.writable_folder(" ")
    outputs.check_new_outputs([tmp_path / "new"], force=False)
    with pytest.raises(OutputError, match="x.img already exists"):
        outputs.check_new_outputs([tmp_path / "x.img"], force=False)


def test_output_folder_is_removed_again_when_nothing_was_written(tmp_path):
    target = tmp_path / "a" / "b"
    with outputs.output_folder(target, force=False, holder="test") as folder:
        assert folder.is_dir()
    assert not (tmp_path / "a").exists()
    with outputs.output_folder(target, force=False, holder="test") as folder:
        (folder / "kept.txt").write_text("x")
    assert (target / "kept.txt").is_file()


# -- settings --------------------------------------------------------------------------------------------------
def test_the_run_environment_is_read_through_settings(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert settings.world_size() == 1 and settings.local_rank() == 0 and settings.is_local_main()
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert settings.world_size() == 3 and settings.local_rank() == 2 and not settings.is_local_main()
    monkeypatch.setenv("LOCAL_RANK", "x")
    assert settings.local_rank() == 0


# -- reconstruct_files -----------------------------------------------------------------------------------------
def test_inputs_and_output_names_are_checked_before_any_work(tmp_path, monkeypatch):
    for name in ("a.png", "b.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    inputs = reconstruct_files.expand_inputs([str(tmp_path), str(tmp_path / "a.png")])
    assert [p.name for p in inputs] == ["a.png", "b.jpg"]
    with pytest.raises(InputError, match="no input images found"):
        reconstruct_files.expand_inputs([str(tmp_path / "*.tif")])
    paths = reconstruct_files.output_paths(tmp_path, "a", "envi", preview=True, std=True, force=False, chart=True)
    assert [p.name for p in paths.values()] == ["a.hdr", "a_std.hdr", "a_preview.png", "a_chart.json",
                                                "a_chart.csv", "a_chart.png"]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.tif").write_bytes(b"")
    with pytest.raises(InputError, match="would both write"):
        reconstruct_files.check_output_names([tmp_path / "a.png", tmp_path / "sub" / "a.tif"], "h5", True, False,
                                             False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert reconstruct_files.my_share(inputs) == inputs  # alone: every input, no accelerate


# -- training --------------------------------------------------------------------------------------------------
def test_stage_config_merges_and_refuses_typos(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"stage": {"layers": 2}}))
    cfg = training.stage_config("stage1", config=recipe, flags={"steps": 3}, tiny=True)
    assert cfg.steps == 3 and cfg.stage["layers"] == 2 and cfg == training.stage_config(
        "stage1", config=recipe, flags={"steps": 3}, tiny=True)
    recipe.write_text(json.dumps({"stage": {"layer": 2}}))
    with pytest.raises(training.UnknownSettingError, match="did you mean 'layers'"):
        training.stage_config("stage1", config=recipe)
    assert training.default_config("stage2") == training.TrainConfig.preset("stage2")
    assert training.split_validation([f"c{i}" for i in range(10)], 0.2)[1]
