"""The wheel carries the shipped models: built from this tree (``pip wheel --no-build-isolation``: offline, seconds),
it holds every bundle's manifest under ``hsi_studio/_models``; installed into a fresh virtual environment and run
from another folder, ``hsi-studio models`` lists the default model as installed, the installed bundles pass
their manifest check, and ``reconstruct --model default`` writes a cube.

The fresh environment borrows this one's dependencies through a ``.pth`` file (added after the install, so
nothing here is seen or touched by it); only HSI Studio itself comes from the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ("default", "fast", "materials", "mlp", "rootpoly", "speuae")
SOURCES = ("pyproject.toml", "setup.py", "README.md", "hsi_studio", "models")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("setuptools", minversion="69", reason="building the wheel offline needs setuptools here")
    src = tmp_path_factory.mktemp("src")  # a copy: the build's build/ and *.egg-info stay out of the checkout
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(src)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return next(out.glob("hsi_studio-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its ``bin`` (``Scripts``) folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    Path(purelib, "_hsi_test_deps.pth").write_text("\n".join(deps) + "\n")
    return python.parent


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HSI_STUDIO_MODELS", "PYTHONPATH", "PYTHONHOME")}
    return {**env, "HOME": str(home), "OMP_NUM_THREADS": "1"}


def test_the_wheel_holds_every_shipped_bundle(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for bundle in BUNDLES:
        manifest = json.loads((ROOT / "models" / bundle / "manifest.json").read_text())
        listed = manifest.get("files", manifest)
        assert f"hsi_studio/_models/{bundle}/manifest.json" in names
        assert {f"hsi_studio/_models/{bundle}/{rel}" for rel in listed} <= names, bundle
    assert "hsi_studio/_models/README.md" in names and "hsi_studio/resources/samples/colorchecker.png" in names


def test_the_installed_package_finds_verifies_and_runs_its_models_from_another_folder(installed, tmp_path):
    exe = installed / ("hsi-studio.exe" if sys.platform == "win32" else "hsi-studio")
    python = installed / ("python.exe" if sys.platform == "win32" else "python")
    env = _env(tmp_path)
    listed = subprocess.run([str(exe), "models", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = {r["model"]: r for r in json.loads(listed.stdout)}
    assert rows["default"]["available"] and rows["default"]["class"] == "ULDM"
    assert {"fast", "materials", "mlp", "rootpoly"} <= set(rows)

    check = ("import json; from hsi_studio.core.ml.training.checkpoint import verify_manifest; "
             "from hsi_studio.core.ml.reconstruct import models_dir; "
             f"[verify_manifest(models_dir() / b) for b in {BUNDLES!r}]; print(json.dumps(str(models_dir())))")
    verified = subprocess.run([str(python), "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    assert verified.returncode == 0, verified.stderr[-3000:]
    where = Path(json.loads(verified.stdout.strip().splitlines()[-1]))
    assert where.name == "_models" and installed.parent in where.parents  # the wheel's copy, not the checkout

    from PIL import Image

    Image.new("RGB", (16, 16), (128, 128, 128)).save(tmp_path / "grey.png")
    done = subprocess.run([str(exe), "reconstruct", "grey.png", "--model", "default", "--steps", "1", "--samples",
                           "1", "-o", "out"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "grey.h5").is_file() and str(where / "default") in done.stdout + done.stderr
