"""The size rules of docs/ARCHITECTURE.md for engine/ and compose/, read from the source: no module over
600 lines, no function over 80 lines except the argparse tables (one add_argument per line, nothing to split)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "compose")
ARGUMENT_TABLES = {("engine/cli/container.py", "add_arguments"), ("engine/cli/run_flags.py", "add_create_flags")}


def _sources(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_600_lines(package):
    assert [(name, text.count("\n")) for name, text in _sources(package) if text.count("\n") > 600] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_over_80_lines_but_argument_tables(package):
    long = []
    for name, text in _sources(package):
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (name, node.name) not in ARGUMENT_TABLES:
                lines = node.end_lineno - node.lineno + 1
                if lines > 80:
                    long.append((name, node.name, lines))
    assert long == []
