"""The hsi-studio command line: data commands end to end, exit codes and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from factories import random_cube
from factories import run_cli as run

from hsi_studio.core.cube import HSCube
from hsi_studio.core.io import api as io
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cube_file(tmp_path):
    return io.write_cube(random_cube((24, 20, 31), low=0.05, kind="reflectance"), tmp_path / "scene.h5")


def test_info_json(cube_file, capsys):
    code, out, _ = run(["info", cube_file, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["bands"] == 31 and info["height"] == 24 and info["range_nm"] == [400, 700]


def test_convert_between_formats_and_refuses_to_clobber(cube_file, tmp_path, capsys):
    for ext in (".hdr", ".mat", ".npy", ".npz", ".tif"):
        out_path = tmp_path / f"conv{ext}"
        code, _, err = run(["convert", cube_file, out_path], capsys)
        assert code == 0, err
        back = io.read_cube(out_path)
        np.testing.assert_allclose(back.data, io.read_cube(cube_file).data, rtol=1e-6)
        np.testing.assert_allclose(back.wavelengths, STANDARD_WAVELENGTHS)
    before = (tmp_path / "conv.mat").read_bytes()
    code, _, err = run(["convert", cube_file, tmp_path / "conv.mat"], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "conv.mat").read_bytes() == before


def test_simulate_rgb_and_evaluate(cube_file, tmp_path, capsys):
    png = tmp_path / "rgb.png"
    code, _, err = run(["simulate-rgb", cube_file, "-o", png, "--response", "nikon-d5100"], capsys)
    assert code == 0, err
    img = io.read_rgb(png)
    assert img.shape == (24, 20, 3) and img.data.max() > 0.9
    code, out, _ = run(["evaluate", cube_file, cube_file, "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and set(res) >= {"mrae", "rmse", "psnr", "sam", "ssim"} and res["rmse"] == 0


def test_evaluate_reports_band_mismatch(cube_file, tmp_path, capsys):
    other = tmp_path / "other.npz"
    io.write_cube(HSCube(np.ones((24, 20, 16), np.float32), np.linspace(400, 700, 16)), other)
    code, _, err = run(["evaluate", cube_file, other], capsys)
    assert code == 2 and "wavelength" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args,needle", [
    (["info", "does-not-exist.h5"], "does-not-exist.h5"),
    (["simulate-rgb", "x.h5", "-o", "/no/such/folder/out.png"], "does not exist"),
    (["simulate-rgb", "{cube}", "-o", "{tmp}/o.png", "--response", "bogus"], "cie1964-srgb"),
    (["simulate-rgb", "{cube}", "-o", "{tmp}/o.png", "--exposure", "bright"], "exposure"),
    (["info", "{tmp}/garbage.h5"], "garbage.h5"),
])
def test_bad_input_exits_2_with_one_line(args, needle, cube_file, tmp_path, capsys):
    (tmp_path / "garbage.h5").write_bytes(b"not an hdf5 file at all")
    args = [a.format(cube=cube_file, tmp=tmp_path) for a in args]
    code, _, err = run(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_console_entry_point_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "hsi_studio", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and "simulate-rgb" in out.stdout and "evaluate" in out.stdout


def test_self_test_passes_from_source(tmp_path):
    """``hsi-studio --self-test`` (what the installers run): the window reconstructs the bundled photo with the
    shipped model, the colour view of the result looks like the photo, and relighting works."""
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "import sys; from hsi_studio.cli import main; "
                          "sys.exit(main(['--self-test']))"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(next(line for line in out.stdout.splitlines() if line.startswith('{"self_test"')))
    names = {c["check"]: c["ok"] for c in summary["checks"]}
    assert summary["self_test"] == "passed" and names["its colour view looks like the photo"] is True
