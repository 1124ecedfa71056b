"""The shared package's rooms depend downwards only, and never on the layers built on it
(actions, connectors, web, tests): a newcomer can read a room knowing only the rooms below it."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

GROUND = {"config", "errors", "concurrency", "money"}
# Lowest first; rooms of one rank may not import each other either way round without a reason here.
RANKS = {"ground": 0, "store": 1, "tenancy": 2, "understanding": 3, "messaging": 3, "shop": 4, "whatsapp": 5,
         "payments": 5, "rasa_plugins": 6, "llm": 7, "learn": 7, "analytics": 7,
         "privacy": 8, "run": 9}
OUTER = {"actions", "connectors", "web", "tests", "scripts"}


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "grace":
        return parts[0]
    return "ground" if len(parts) == 1 or parts[1] in GROUND else parts[1]


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_every_room_of_grace_has_a_rank():
    rooms = {p.name for p in (ROOT / "grace").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms <= set(RANKS), f"add {sorted(rooms - set(RANKS))} to RANKS"
    loose = {p.stem for p in (ROOT / "grace").glob("*.py")} - GROUND - {"__init__"}
    assert not loose, f"modules at the root of grace/ beyond the ground ones: {sorted(loose)}"


def test_imports_point_down_only():
    wrong = []
    for path in sorted((ROOT / "grace").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        own = room(module)
        for imported in imports(path):
            target = room(imported)
            if target in OUTER:
                wrong.append(f"{module} imports {imported}, a layer built on grace")
            elif imported.startswith("grace") and target != own and RANKS[target] > RANKS[own]:
                wrong.append(f"{module} ({own}) imports {imported} ({target}), a room above it")
    assert not wrong, "\n".join(wrong)
