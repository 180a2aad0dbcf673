"""The suite's own house rules: test modules share helpers only through helper modules."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_test_module_imports_another():
    modules = sorted(TESTS.glob("test_*.py"))
    assert len(modules) > 30
    offenders = {path.name: sorted(name for name in _imported_modules(path)
                                   if name.startswith(("test_", "tests.")) or name == "tests")
                 for path in modules}
    assert {name: found for name, found in offenders.items() if found} == {}
