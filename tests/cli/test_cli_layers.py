"""The CLI calls services only: no module of bastion.cli imports storage or SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

import bastion.cli

FORBIDDEN = ("bastion.storage", "sqlalchemy")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_no_cli_module_reaches_the_database_past_the_services() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in Path(bastion.cli.__file__).parent.glob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    }
    assert offenders == set()
