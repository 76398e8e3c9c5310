"""Layering rules (docs/architecture.md): core never loads Qt; viewing/relighting modules never load torch; --help is fast."""

import configparser
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import hsi_studio.core

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "pyqtgraph", "shiboken6")
TORCH = ("torch", "diffusers", "accelerate")


def viewing_path() -> list[str]:
    """The torch-free viewing path: the one list, the source modules of ``.importlinter``'s contract."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    contract = config["importlinter:contract:viewing-path-no-torch"]
    assert sorted(contract["forbidden_modules"].split()) == sorted(TORCH)
    return contract["source_modules"].split()


def _loaded_after_import(modules):
    code = (
        "import sys, json, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(k.split('.')[0] for k in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _core_modules():
    mods = []
    for info in pkgutil.walk_packages(hsi_studio.core.__path__, "hsi_studio.core."):
        mods.append(info.name)
    return mods


def test_core_loads_no_qt():
    mods = _core_modules()
    assert "hsi_studio.core.spectral.responses" in mods and "hsi_studio.core.cube" in mods
    loaded = _loaded_after_import(mods)
    assert not loaded & set(QT), f"core imported Qt: {loaded & set(QT)}"


def test_viewing_modules_load_no_torch():
    modules = viewing_path()
    assert "hsi_studio.core.cube" in modules and any(m.startswith("hsi_studio.gui.") for m in modules)
    plain = [m for m in modules if not m.startswith("hsi_studio.gui.")]
    loaded = _loaded_after_import(plain)
    assert not loaded & {*TORCH, *QT}, loaded & {*TORCH, *QT}
    loaded = _loaded_after_import(modules)  # the GUI's views load Qt, never torch
    assert not loaded & set(TORCH), loaded & set(TORCH)


def test_help_does_not_import_torch_and_is_fast():
    code = ("import sys, time; t=time.perf_counter(); from hsi_studio.cli import build_parser; "
            "build_parser().format_help(); print(time.perf_counter()-t, 'torch' in sys.modules, "
            "'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    seconds, torch_loaded, qt_loaded = out.stdout.split()
    assert torch_loaded == "False" and qt_loaded == "False"
    assert float(seconds) < 0.5
