"""The import rules of docs/ARCHITECTURE.md, read from the source: compose/ reaches the engine only
through engine.api, engine.errors and engine.values; engine/ never imports compose/; engine.values
imports nothing of the project (both halves use it)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str):
    """(file, imported module) for every import in a package, relative imports resolved."""
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[:-node.level]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                yield path, name
                for alias in node.names:  # "from engine import values" imports engine.values
                    yield path, f"{name}.{alias.name}"


def _project(name: str) -> bool:
    return name.split(".")[0] in ("compose", "engine")


def test_compose_reaches_the_engine_only_through_its_front_doors():
    allowed = ("engine.api", "engine.errors", "engine.values")
    bad = [(str(p.relative_to(ROOT)), n) for p, n in _imports("compose")
           if n.startswith("engine.") and not n.startswith(allowed)]
    assert bad == []


def test_engine_never_imports_compose():
    assert [(str(p.relative_to(ROOT)), n) for p, n in _imports("engine") if n.split(".")[0] == "compose"] == []


def test_values_import_nothing_of_the_project():
    bad = [(str(p.relative_to(ROOT)), n) for p, n in _imports("engine/values")
           if _project(n) and not n.startswith("engine.values")]
    assert bad == []


def test_engine_cli_uses_only_the_front_door():
    """engine/cli reaches the engine through engine.api (and engine.errors, engine.values) and its own
    helpers, like compose/: the stores, the network manager and the runtime stay behind the API."""
    allowed = ("engine.api", "engine.errors", "engine.values", "engine.cli")
    bad = [(str(p.relative_to(ROOT)), n) for p, n in _imports("engine/cli")
           if _project(n) and not n.startswith(allowed) and n != "engine"]
    assert bad == []


def test_nothing_outside_the_engine_imports_private_api_modules():
    """engine/api/_*.py are the API's internals: compose/ and engine/cli never name them."""
    bad = [(str(p.relative_to(ROOT)), n) for pkg in ("compose", "engine/cli") for p, n in _imports(pkg)
           if n.startswith("engine.api._")]
    assert bad == []


def _assigns_all(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in
               [t.id for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)] for node in tree.body)


def test_every_engine_package_says_what_it_exports():
    """Each engine package's __init__ lists its exports in ``__all__`` (empty for a package of modules
    reached by name or through engine.api), and every listed name is there."""
    import importlib

    inits = sorted((ROOT / "engine").rglob("__init__.py"))
    assert [str(p.relative_to(ROOT)) for p in inits if not _assigns_all(p)] == []
    for path in inits:
        module = importlib.import_module(".".join(path.parent.relative_to(ROOT).parts))
        assert [n for n in module.__all__ if getattr(module, n, None) is None] == [], module.__name__
