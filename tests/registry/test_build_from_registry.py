"""``FROM`` an image that is not in the store: the build pulls it (Images.pull), like BuildKit
resolving a base image; a missing one fails with BuildKit's "failed to resolve source metadata"."""
from __future__ import annotations

import pytest

from engine.build.errors import BuildError

pytestmark = pytest.mark.root


def test_build_pulls_a_missing_base_image(registry, engine, tmp_path):
    ref = f"{registry.host}/busybox:latest"
    (tmp_path / "Dockerfile").write_text(f"FROM {ref}\nRUN echo pulled-base > /x\n")
    assert not engine.images.exists(ref)
    events: list[dict] = []
    iid = engine.images.build(str(tmp_path), tags=["pyc-build-pulled:1"], progress=events.append,
                              network="none")
    names = [e["name"] for e in events if "name" in e]
    assert f"[internal] load metadata for {ref}" in names
    assert engine.images.exists(ref)
    base = engine.images.inspect(ref)
    assert engine.images.inspect(iid)["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    (tmp_path / "Dockerfile").write_text(f"FROM {registry.host}/nothing-here:latest\n")
    with pytest.raises(BuildError, match="failed to solve: .*failed to resolve source metadata for "
                                         f"{registry.host}/nothing-here:latest"):
        engine.images.build(str(tmp_path))


def test_build_pull_checks_the_registry_again(registry, engine, tmp_path):
    ref = f"{registry.host}/busybox:latest"
    (tmp_path / "Dockerfile").write_text(f"FROM {ref}\n")
    engine.images.build(str(tmp_path), network="none")
    events: list[dict] = []
    engine.images.build(str(tmp_path), pull=False, progress=events.append)
    assert not any("load metadata" in e.get("name", "") for e in events)  # local: no registry round trip
    events.clear()
    engine.images.build(str(tmp_path), pull=True, progress=events.append)
    assert any(e.get("name") == f"[internal] load metadata for {ref}" for e in events)
