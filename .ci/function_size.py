"""Fail when a function in the checked packages is longer than MAX_LINES lines.

Why: a function that does one thing fits on a screen; ruff's C901 bounds its branches,
this bounds its length (issue 14). Lines are counted from the ``def`` (decorators
excluded) to the function's last line, docstring and comments included. Data builders
(migrations, program definitions written as data) may be exempted by name below.

Usage: ``python .ci/function_size.py`` from the repository root (``make lint`` runs it).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_LINES = 50
PATHS = ["workflow", "app"]
EXEMPT_DIRS = {"migrations"}
"""Alembic revisions: schema data, written once, never edited."""
EXEMPT_FUNCTIONS: set[str] = set()
"""``path::qualified.name`` of functions that are data (e.g. a program definition builder)."""


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")


def too_long(root: Path) -> list[str]:
    problems = []
    for base in PATHS:
        for path in sorted((root / base).rglob("*.py")):
            relative = path.relative_to(root)
            if EXEMPT_DIRS.intersection(relative.parts):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))
            for name, node in functions(tree):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_LINES and f"{relative}::{name}" not in EXEMPT_FUNCTIONS:
                    problems.append(f"{relative}:{node.lineno}: {name} is {length} lines (max {MAX_LINES})")
    return problems


def main() -> int:
    problems = too_long(Path(__file__).resolve().parent.parent)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
