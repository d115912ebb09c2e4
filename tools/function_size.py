"""Fail when a function of `sim/` is longer than the project's cap (60 lines, decorators and docstring included).

ruff checks cyclomatic complexity (C901, max 20); this checks length, which
no ruff rule measures in lines. Run: python tools/function_size.py [PATH ...]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_LINES = 60


def long_functions(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length) of each function in ``path`` over the cap."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    length = (child.end_lineno or child.lineno) - first + 1
                    if length > MAX_LINES:
                        found.append((name, first, length))
                visit(child, name + ".")

    visit(tree, "")
    return found


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path("sim")]
    files = sorted(f for r in roots for f in ([r] if r.is_file() else r.rglob("*.py")))
    bad = [(f, *x) for f in files for x in long_functions(f)]
    for f, name, line, length in bad:
        print(f"{f}:{line}: {name} is {length} lines (at most {MAX_LINES})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
