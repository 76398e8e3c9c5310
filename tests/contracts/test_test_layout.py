"""The tests' own layout: they mirror the package, share their builders through tests/factories.py instead of
importing one another, and are named after behaviour rather than tracker issues."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = TESTS.parent / "hsi_studio"


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_test_module_imports_another():
    offenders = {}
    for path in _test_files():
        bad = {m for m in _imported_modules(path)
               if m.startswith("tests.") or m == "tests" or m.split(".")[-1].startswith(("test_", "conftest"))}
        if bad:
            offenders[str(path.relative_to(TESTS))] = sorted(bad)
    assert not offenders, f"import shared builders from tests/factories.py instead: {offenders}"


def test_test_folders_mirror_the_package():
    """tests/core/<domain>/ and tests/gui/<area>/ exist only for a package of the same name."""
    for root in ("core", "gui"):
        for folder in sorted(p for p in (TESTS / root).rglob("*") if p.is_dir() and p.name != "__pycache__"):
            rel = folder.relative_to(TESTS)
            assert (PACKAGE / rel).is_dir(), f"tests/{rel} mirrors no package hsi_studio/{rel}"


ISSUE = re.compile(r"\bissues?\s*#?\s*\d+|#\d{1,3}\b|\bissue_\d+", re.IGNORECASE)


def test_tests_are_named_after_behaviour_not_issues():
    """No test function, module or docstring cites a tracker issue by number."""
    offenders = []
    for path in _test_files():
        rel = path.relative_to(TESTS)
        if ISSUE.search(path.stem):
            offenders.append(str(rel))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = getattr(node, "name", "")
                doc = ast.get_docstring(node) or ""
                if ISSUE.search(name) or ISSUE.search(doc):
                    offenders.append(f"{rel}:{name or '(module)'}")
    assert not offenders, f"name tests after what they check: {offenders}"
