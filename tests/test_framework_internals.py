"""The code reads no private part of a library (a module or name with a leading underscore):
the request path runs on what FastAPI, Starlette and the rest document, so that upgrading
them cannot change it unseen (docs/decisions/0002-planned-read-path.md). Where FastAPI's own
objects are walked (``iter_route_contexts``), tests/test_planned_routes.py fails loudly if
they change."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"api", "services", "worker", "migrations", "tests"}


def _private_imports(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in OURS or node.module == "__future__":
                continue
            names = [a.name for a in node.names if a.name.startswith("_")]
            if any(part.startswith("_") for part in node.module.split(".")) or names:
                found.append((node.lineno, f"from {node.module} import {', '.join(names) or '...'}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] not in OURS and any(part.startswith("_") for part in parts):
                    found.append((node.lineno, f"import {alias.name}"))
    return found


def test_no_module_imports_a_private_part_of_a_library():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for package in ("api", "services", "worker", "migrations")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, what in _private_imports(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "use the library's documented interface instead:\n" + "\n".join(found)


def test_the_scan_finds_private_imports():
    assert _private_imports("from starlette._utils import get_route_path") == [(1, "from starlette._utils import ...")]
    assert _private_imports("from fastapi.routing import _IncludedRouter, APIRoute") == [
        (1, "from fastapi.routing import _IncludedRouter")
    ]
    assert _private_imports("import httpcore._async") == [(1, "import httpcore._async")]
    assert _private_imports("from services._x import y\nfrom __future__ import annotations") == []
