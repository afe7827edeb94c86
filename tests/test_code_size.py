"""Every module of the package is small enough to read whole: at most 400 lines per file
and 80 lines per function (issue 13), as the formatter lays it out: no `fmt: skip` or
`fmt: off` squeezes a file under the limit (issue 24)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rscolor"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
KNOWN_EXCEPTIONS: set[str] = set()
# Functions over the limit, left for now (file, function).
KNOWN_LONG_FUNCTIONS: set[tuple[str, str]] = set()
FILES = sorted(p for p in PACKAGE.rglob("*.py"))
# What switches the formatter off for a line or a block (ruff and black read both spellings).
FORMATTER_OFF = re.compile(r"fmt:\s*(skip|off)")


def function_sizes(tree: ast.AST) -> list[tuple[str, int, int]]:
    """(name, first line, lines) of every function and method, decorators included."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append((node.name, first, node.end_lineno - first + 1))
    return out


def test_the_package_is_found() -> None:
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_file_and_function_sizes(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    if rel in KNOWN_EXCEPTIONS:
        pytest.skip("known exception: " + rel)
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_FILE_LINES, f"{rel}: {lines} lines (at most {MAX_FILE_LINES})"
    long = [
        f"{name} (line {first}): {n} lines"
        for name, first, n in function_sizes(ast.parse(text, filename=str(path)))
        if n > MAX_FUNCTION_LINES and (rel, name) not in KNOWN_LONG_FUNCTIONS
    ]
    assert not long, f"{rel}: functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_formatter_escapes(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    text = path.read_text(encoding="utf-8")
    found = [
        f"line {n}: {match.group()}"
        for n, line in enumerate(text.splitlines(), 1)
        if (match := FORMATTER_OFF.search(line))
    ]
    assert not found, f"{rel}: the formatter is switched off ({found}); split the file instead"
