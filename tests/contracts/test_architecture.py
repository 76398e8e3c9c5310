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


def _imports(path: Path) -> list[str]:
    """Every module a source file imports, at the top or inside functions (``from . import x`` resolved)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return out


def _contract(name: str) -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return config[f"importlinter:contract:{name}"]


def test_nothing_outside_core_ml_imports_torch():
    """The torch boundary is a package rule: only hsi_studio.core.ml imports torch, diffusers or accelerate
    (the ``torch-only-in-core-ml`` contract; checked here on the sources too)."""
    contract = _contract("torch-only-in-core-ml")
    assert sorted(contract["forbidden_modules"].split()) == sorted(TORCH)
    assert contract["allow_indirect_imports"].strip() == "True"
    sources = set(contract["source_modules"].split())
    top = {p.stem if p.suffix else p.name for p in (ROOT / "hsi_studio").iterdir()
           if (p.suffix == ".py" or p.is_dir()) and not p.name.startswith(("_", "."))} - {"core", "resources"}
    assert {f"hsi_studio.{m}" for m in top} <= sources, "every top-level package is a source of the contract"
    core = {p.stem if p.suffix else p.name for p in (ROOT / "hsi_studio" / "core").iterdir()
            if (p.suffix == ".py" or p.is_dir()) and not p.name.startswith(("_", "."))} - {"ml"}
    assert {f"hsi_studio.core.{m}" for m in core} <= sources, "every core package but ml is a source"
    offenders = []
    for path in (ROOT / "hsi_studio").rglob("*.py"):
        if (ROOT / "hsi_studio" / "core" / "ml") in path.parents:
            continue
        bad = {m.split(".")[0] for m in _imports(path)} & set(TORCH)
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert not offenders, offenders


def test_the_cli_calls_services_and_the_plain_core_types_only():
    """commands/* and cli.py import hsi_studio.services, and of core only cube, errors and jobs (the
    ``cli-through-services`` contract; checked here on the sources too)."""
    contract = _contract("cli-through-services")
    assert set(contract["source_modules"].split()) == {"hsi_studio.commands", "hsi_studio.cli"}
    forbidden = set(contract["forbidden_modules"].split())
    assert {f"hsi_studio.core.{m}" for m in ("io", "photo", "spectral", "analysis", "storage", "ml",
                                             "settings")} <= forbidden
    plain = ("cube", "errors", "jobs")
    offenders = []
    for path in [ROOT / "hsi_studio" / "cli.py", *(ROOT / "hsi_studio" / "commands").glob("*.py")]:
        for module in _imports(path):
            parts = module.split(".")
            if parts[:2] == ["hsi_studio", "core"] and len(parts) > 2 and parts[2] not in plain:
                offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert not offenders, offenders
