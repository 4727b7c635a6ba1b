"""The public surface of engine.api, pinned: what compose/ and engine/cli may use. A name added to or
dropped from the front door (or from one of its resource modules) must change this test too, so the
contract in docs/ARCHITECTURE.md changes on purpose, never by accident."""
from __future__ import annotations

import importlib
import inspect

import pytest

SURFACE = {
    "engine.api": ["Containers", "Engine", "Images", "LogEntry", "Networks", "Volumes", "build_progress_renderer",
                   "progress_text"],
    "engine.api.facade": ["Engine"],
    "engine.api.images": ["Images", "image_time", "is_image_id", "parse_reference", "reference_matches"],
    "engine.api.containers": ["Containers", "format_log_time", "stats_figures"],
    "engine.api.volumes": ["Volumes"],
    "engine.api.networks": ["Networks"],
    "engine.api.builds": ["BuildError", "BuildVerbs", "build_progress_renderer"],
    "engine.api.registry": ["MessageDisplay", "RegistryVerbs", "has_credentials"],
}

METHODS = {
    "Engine": ["containers", "events", "images", "lock", "login", "logout", "networks", "notify", "revive",
               "shutdown", "supervisor", "supervisor_running", "volumes"],
    "Images": ["build", "build_cache_usage", "exists", "get", "import_", "inspect", "list", "load", "prune",
               "prune_build_cache", "pull", "push", "records", "remove", "resolve_digest", "save", "search", "tag",
               "users"],
    "Containers": ["attach", "attach_running", "commit", "copy_from", "copy_to", "create", "diff", "exec", "inspect",
                   "kill", "list", "logs", "path_stat", "pause", "port", "prune", "record", "remove", "remove_many",
                   "rename", "restart", "start", "start_many", "stats", "stop", "top", "unpause", "wait"],
    "Volumes": ["create", "inspect", "list", "prune", "remove", "users"],
    "Networks": ["connect", "create", "disconnect", "inspect", "list", "prune", "remove"],
}


@pytest.mark.parametrize("module", sorted(SURFACE))
def test_each_module_exports_what_is_pinned(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(SURFACE[module])
    for name in mod.__all__:  # every listed name resolves (the lazy ones too)
        assert getattr(mod, name) is not None


@pytest.mark.parametrize("cls", sorted(METHODS))
def test_public_methods_are_pinned(cls):
    obj = getattr(importlib.import_module("engine.api"), cls)
    public = sorted(n for n, _ in inspect.getmembers(obj) if not n.startswith("_"))
    assert public == sorted(METHODS[cls])


def test_engine_objects_keep_their_stores_private(tmp_path):
    """The stores and the network manager behind ``Engine`` and its resources are private: callers use
    the verbs above, engine internals get the store from the API call that hands it to them. The data
    root (``Engine.root``) is the one public attribute."""
    from engine.api import Engine

    eng = Engine(str(tmp_path / "root"))
    assert sorted(n for n in vars(eng) if not n.startswith("_")) == ["root"]
    for resource in ("images", "containers", "volumes", "networks"):
        obj = getattr(eng, resource)
        assert [n for n in vars(obj) if not n.startswith("_")] == [], resource


def test_importing_the_front_door_loads_no_resource_module():
    """``from engine.api import Engine`` stays cheap: ps and --version load no image, network or log code."""
    import subprocess
    import sys

    code = ("import sys; from engine.api import Engine; "
            "print(sorted(m for m in sys.modules if m.startswith(('engine.api.', 'engine.images', 'engine.network', "
            "'engine.logs', 'engine.build', 'engine.registry'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2])).stdout.strip()
    assert out == "['engine.api.facade']"
