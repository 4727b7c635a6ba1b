"""Compose's build section -> Images.build arguments, what up builds, --print, down --rmi (pure).

The engine here is a small stand-in that records calls (the real builds run in tests/e2e/test_build.py).
"""
import json

import pytest

from compose import build as bd
from compose.backend import Compose
from compose.project import Project
from compose.errors import ComposeError, UsageError
from compose.render.progress import QuietProgress


class FakeImages:
    def __init__(self, present=(), listed=()):
        self.present = set(present)
        self.listed = list(listed)
        self.built = []

    def exists(self, ref):
        return ref in self.present

    def build(self, progress=None, **kw):
        self.built.append(kw)
        for t in kw["tags"]:
            self.present.add(t)
        return "sha256:" + f"{len(self.built):064x}"

    def list(self, filters=None):
        return self.listed


class FakeEngine:
    def __init__(self, **kw):
        self.images = FakeImages(**kw)


def backend(services, secrets=None, environment=None, engine=None, name="proj"):
    model = {"name": name, "services": services, "secrets": secrets or {}}
    view = Project(name=name, model=model, working_dir="/work/p", environment=environment or {})
    return Compose(engine or FakeEngine(), view, progress=QuietProgress())


FULL = {
    "build": {"context": "/work/p/app", "dockerfile": "Dockerfile.dev", "args": {"A": "1", "B": "2"},
              "labels": {"x": "y"}, "tags": ["me/app:1"], "target": "final", "network": "host", "no_cache": True,
              "pull": True, "shm_size": 67108864, "extra_hosts": ["h=1.2.3.4", "v6=::1"],
              "additional_contexts": {"extra": "/work/p/other", "img": "docker-image://alpine"},
              "secrets": [{"source": "tok"}, {"source": "envtok", "target": "api"}],
              "cache_from": ["type=local,src=/tmp/c"], "cache_to": ["type=local,dest=/tmp/c"],
              "no_cache_filter": ["final"]},
}
SECRETS = {"tok": {"name": "p_tok", "file": "/work/p/tok.txt"}, "envtok": {"name": "p_e", "environment": "API_KEY"}}


def test_build_kwargs_map_every_key(monkeypatch):
    monkeypatch.delenv("API_KEY", raising=False)
    b = backend({"app": FULL}, SECRETS, environment={"API_KEY": "from-dotenv", "B": "env-b"})
    kw = bd.build_kwargs(b, "app", bd.BuildOptions(build_args=["A=cli", "B", "NOPE"]))
    assert kw == dict(
        context="/work/p/app", dockerfile="Dockerfile.dev", dockerfile_inline=None, tags=["proj-app", "me/app:1"],
        target="final", build_args={"A": "cli", "B": "env-b"},
        labels={"x": "y", "com.docker.compose.version": kw["labels"]["com.docker.compose.version"],
                "com.docker.compose.project": "proj", "com.docker.compose.service": "app"},
        no_cache=True, no_cache_filter=["final"], pull=True, network="host",
        extra_hosts=["h:1.2.3.4", "v6:::1"], shm_size=64 * 1024 * 1024,
        additional_contexts={"extra": "/work/p/other", "img": "docker-image://alpine"},
        secrets={"tok": {"file": "/work/p/tok.txt"}, "api": {"env": "API_KEY"}},
        cache_from=["type=local,src=/tmp/c"], cache_to=["type=local,dest=/tmp/c"], platform=None)
    import os

    assert os.environ["API_KEY"] == "from-dotenv"  # the builder reads env secrets from this process


def test_image_name_and_inline_dockerfile():
    b = backend({"web": {"image": "me/web:2", "build": {"context": "/c", "dockerfile_inline": "FROM a\n",
                                                         "dockerfile": "Dockerfile"}}})
    kw = bd.build_kwargs(b, "web", bd.BuildOptions(no_cache=True, pull=True))
    assert kw["tags"] == ["me/web:2"] and kw["dockerfile"] is None and kw["dockerfile_inline"] == "FROM a\n"
    assert kw["no_cache"] and kw["pull"]
    assert bd.image_name("p", "svc", {}) == "p-svc" and bd.image_name("p", "svc", {"image": "x"}) == "x"


@pytest.mark.parametrize("build, message", [
    ({"context": "https://github.com/x/y.git"}, "remote build contexts are not available"),
    ({"context": "/c", "secrets": [{"source": "missing"}]}, "undefined build secret missing"),
    ({"context": "/c", "platforms": ["linux/s390x"]}, "cannot build for platform linux/s390x"),
])
def test_build_kwargs_errors(build, message):
    b = backend({"s": {"build": build}})
    with pytest.raises(ComposeError, match=message):
        bd.build_kwargs(b, "s", bd.BuildOptions())


def test_host_platform_is_accepted(monkeypatch):
    monkeypatch.setattr(bd, "_host_platform", lambda: "linux/arm64")
    assert bd.check_platforms("s", {"build": {"platforms": ["linux/arm64/v8", "linux/aarch64"]}}) == "linux/arm64"
    assert bd.check_platforms("s", {"build": {}}) is None
    with pytest.raises(ComposeError, match=r"this host's platform only \(linux/arm64\)"):
        bd.check_platforms("s", {"platform": "linux/amd64", "build": {}})


def test_service_contexts_build_first_and_pass_the_image():
    services = {"app": {"build": {"context": "/c", "additional_contexts": {"base": "service:base"}}},
                "base": {"image": "me/base", "build": {"context": "/b"}},
                "db": {"image": "postgres"}}
    b = backend(services)
    assert bd.build_dependencies(b, ["app"]) == ["app", "base"]
    assert bd.build_order(b, ["app", "base"]) == ["base", "app"]
    ids = bd.build_services(b, bd.build_dependencies(b, ["app", "db"]), bd.BuildOptions(progress="quiet"))
    built = b.engine.images.built
    assert [k["tags"][0] for k in built] == ["me/base", "proj-app"]
    assert built[1]["additional_contexts"] == {"base": "docker-image://me/base"}
    assert set(ids) == {"me/base", "proj-app"}


def test_build_cycle_and_unknown_service():
    b = backend({"a": {"build": {"context": "/a", "additional_contexts": {"x": "service:b"}}},
                 "b": {"build": {"context": "/b", "additional_contexts": {"y": "service:a"}}}})
    with pytest.raises(ComposeError, match="build dependency cycle"):
        bd.build_order(b, ["a", "b"])
    b = backend({"a": {"build": {"context": "/a", "additional_contexts": {"x": "service:nope"}}}})
    with pytest.raises(ComposeError, match="undefined service nope"):
        bd.build_dependencies(b, ["a"])


def test_what_up_builds():
    services = {"missing": {"build": {"context": "/m"}}, "present": {"build": {"context": "/p"}},
                "policy": {"image": "here", "pull_policy": "build", "build": {"context": "/x"}},
                "plain": {"image": "busybox"}}
    b = backend(services, engine=FakeEngine(present={"proj-present", "here", "busybox"}))
    names = list(services)
    assert bd.to_build(b, names, bd.MISSING) == ["missing", "policy"]
    assert bd.to_build(b, names, bd.ALWAYS) == ["missing", "present", "policy"]
    assert bd.to_build(b, names, bd.NEVER) == []


def test_one_build_per_image():
    services = {"a": {"image": "shared", "build": {"context": "/s"}}, "b": {"image": "shared", "build": {"context": "/s"}}}
    b = backend(services)
    bd.build_services(b, ["a", "b"], bd.BuildOptions(progress="quiet"))
    assert len(b.engine.images.built) == 1


@pytest.mark.parametrize("build, no_build, want", [(True, False, bd.ALWAYS), (False, True, bd.NEVER),
                                                    (False, False, bd.MISSING)])
def test_build_flags(build, no_build, want):
    assert bd.check_build_flags(build, no_build) == want


def test_build_and_no_build_conflict():
    with pytest.raises(UsageError, match="--build and --no-build are incompatible"):
        bd.check_build_flags(True, True)


def test_bake_definition_like_compose_print():
    services = {"app": {"build": {"context": "/c", "dockerfile": "Dockerfile", "args": {"V": "${X}"},
                                  "additional_contexts": {"base": "service:my.base"},
                                  "extra_hosts": ["h=1.1.1.1", "h=2.2.2.2"]}},
                "my.base": {"image": "b", "build": {"context": "/b", "dockerfile": "Dockerfile"}},
                "db": {"image": "postgres"}}
    b = backend(services)
    out = bd.bake_definition(b, ["app"], bd.BuildOptions())
    assert out["group"] == {"default": {"targets": ["app"]}}
    assert list(out["target"]) == ["app", "my_base"]
    app = out["target"]["app"]
    assert app["context"] == "/c" and app["dockerfile"] == "/c/Dockerfile"
    assert app["contexts"] == {"base": "target:my_base"} and app["args"] == {"V": "$${X}"}
    assert app["tags"] == ["proj-app"] and app["output"] == ["type=docker"]
    assert app["extra-hosts"] == {"h": "1.1.1.1,2.2.2.2"}
    assert "no-cache" not in app and "pull" not in app
    json.dumps(out)


def test_images_to_remove():
    listed = [{"RepoTags": ["proj-app:latest"], "Labels": {"com.docker.compose.service": "app"}},
              {"RepoTags": ["custom:1"], "Labels": {"com.docker.compose.service": "named"}},
              {"RepoTags": ["old:1"], "Labels": {"com.docker.compose.service": "gone"}},
              {"RepoTags": [], "Labels": {"com.docker.compose.service": "app"}}]
    services = {"app": {"build": {"context": "/a"}}, "named": {"image": "custom:1", "build": {"context": "/n"}},
                "db": {"image": "postgres"}, "nobuild": {"build": {"context": "/x"}}}
    b = backend(services, engine=FakeEngine(present={"proj-app", "custom:1", "postgres"}, listed=listed))
    assert bd.images_to_remove(b, "local") == ["custom:1", "proj-app:latest"]
    assert bd.images_to_remove(b, "all") == ["custom:1", "postgres:latest", "proj-app:latest"]
    assert bd.images_to_remove(b, "local", remove_orphans=True) == ["custom:1", "old:1", "proj-app:latest"]
