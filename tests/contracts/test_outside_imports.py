"""The scripts that live outside the package (benchmarks, scripts, resources, recipes) import the package's
current modules, including the code they hand to child processes as strings.

Those files are not imported by the tests, so a module move left ``benchmarks/speed.py``'s child importing
``hsi_studio.core.pipeline`` (gone since the ``core/`` regrouping): the benchmark printed a traceback per method.
This reads every ``from hsi_studio… import …`` / ``import hsi_studio…`` line in them, code or string alike,
and checks that the module exists and has each name.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("benchmarks", "scripts", "resources", "recipes")

FROM = re.compile(r"^\s*from\s+(hsi_studio(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n#]+)", re.M)
PLAIN = re.compile(r"^\s*import\s+(hsi_studio(?:\.\w+)*)", re.M)


def _imports() -> list[tuple[str, str, list[str]]]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            where = str(path.relative_to(ROOT))
            for m in FROM.finditer(text):
                names = [n.split(" as ")[0].strip() for n in m.group(2).strip("()").replace("\n", " ").split(",")]
                found.append((where, m.group(1), [n for n in names if n and n != "*"]))
            for m in PLAIN.finditer(text):
                found.append((where, m.group(1), []))
    return found


IMPORTS = _imports()


def test_there_are_outside_imports_to_check():
    files = {f for f, _, _ in IMPORTS}
    assert any(f.startswith("benchmarks/speed.py") for f in files)
    assert len(IMPORTS) > 20


@pytest.mark.parametrize("module", sorted({m for _, m, _ in IMPORTS}))
def test_outside_imports_resolve(module):
    mod = importlib.import_module(module)
    missing = []
    for where, name, names in IMPORTS:
        if name != module:
            continue
        for n in names:
            if hasattr(mod, n):
                continue
            try:
                importlib.import_module(f"{module}.{n}")
            except ImportError:
                missing.append(f"{where}: from {module} import {n}")
    assert not missing, "names these scripts import are gone:\n" + "\n".join(missing)
