"""Layering rules (DESIGN §3): core never loads Qt; viewing/relighting modules never load torch; --help is fast."""

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import hsi_studio.core

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "shiboken6")
NO_TORCH = ["cube", "errors", "jobs", "io", "spectral", "metrics", "relight", "recovery"]


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
    assert "hsi_studio.core.spectral" in mods and "hsi_studio.core.cube" in mods
    loaded = _loaded_after_import(mods)
    assert not loaded & set(QT), f"core imported Qt: {loaded & set(QT)}"


def test_viewing_modules_load_no_torch():
    present = [f"hsi_studio.core.{m}" for m in NO_TORCH if (ROOT / "hsi_studio/core" / f"{m}.py").exists()]
    assert len(present) >= 6
    loaded = _loaded_after_import(present)
    assert "torch" not in loaded and not loaded & set(QT)


def test_help_does_not_import_torch_and_is_fast():
    code = ("import sys, time; t=time.perf_counter(); from hsi_studio.cli import build_parser; "
            "build_parser().format_help(); print(time.perf_counter()-t, 'torch' in sys.modules, "
            "'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    seconds, torch_loaded, qt_loaded = out.stdout.split()
    assert torch_loaded == "False" and qt_loaded == "False"
    assert float(seconds) < 0.5
