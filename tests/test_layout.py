"""The code's layout holds: every routes module is mounted once, from `server.app.ROUTES`, and
no module of the project imports another of its modules inside a function (where an import
cycle would hide from `lint-imports`). The layers themselves are `lint-imports`' contracts in
pyproject.toml, run by scripts/test."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from server import app

ROOT = Path(__file__).resolve().parent.parent


def _modules(*patterns: str) -> set[str]:
    found = set()
    for pattern in patterns:
        for path in ROOT.glob(pattern):
            found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def test_every_routes_module_is_mounted_from_the_app_and_only_there() -> None:
    on_disk = _modules("server/*/routes.py", "server/*/*_routes.py")
    listed = {m.__name__ for m in app.ROUTES}
    assert listed == on_disk
    mounted = {id(h.fn) for r in app.app.routes for h in getattr(r, "route_handlers", [])}
    for name in sorted(on_disk):
        module = importlib.import_module(name)
        # A routes module lists its own handlers only: no area mounts another's.
        assert all(h.fn.__module__ == name for h in module.route_handlers), name
        assert all(id(h.fn) in mounted for h in module.route_handlers), name


def test_no_function_level_import_of_the_projects_own_modules() -> None:
    hidden = []
    for path in sorted([*ROOT.glob("server/**/*.py"), *ROOT.glob("schema/*.py")]):
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                    [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if any(n.split(".")[0] in ("server", "schema") for n in names):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == []
