"""check_consistency on canonical models: Compose's wording, plus where in the file."""
from __future__ import annotations

import glob
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import DependencyCycleError, LoadError
from compose.loader.validate import check_consistency
from printed_models import numeric_model

NET = {"default": {"name": "p_default", "ipam": {}}}


def svc(**kw):
    base = {"image": "busybox", "command": None, "entrypoint": None, "networks": {"default": None}}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def model(services, **top):
    return {"name": "p", "networks": dict(NET, **top.pop("networks", {})), "services": services, **top}


CASES = [
    (model({"web": svc(image=...)}),
     'service "web" has neither an image nor a build context specified: invalid compose project'),
    (model({"web": svc(networks={"front": None})}),
     'service "web" refers to undefined network front: invalid compose project'),
    (model({"web": svc(network_mode="host")}),
     "service web declares mutually exclusive `network_mode` and `networks`: invalid compose project"),
    (model({"web": svc(depends_on={"db": {"condition": "service_started", "required": True, "restart": False}})}),
     'service "web" depends on undefined service "db": invalid compose project'),
    (model({"web": svc(links=["db:database"])}),
     'service "web" depends on undefined service "db": invalid compose project'),
    (model({"web": svc(networks=..., network_mode="service:vpn")}),
     'service "web" depends on undefined service "vpn": invalid compose project'),
    (model({"web": svc(volumes_from=["data:ro"])}),
     'service "web" depends on undefined service "data": invalid compose project'),
    (model({"web": svc(volumes=[{"type": "volume", "source": "data", "target": "/data"}])}),
     'service "web" refers to undefined volume data: invalid compose project'),
    (model({"web": svc(secrets=[{"source": "token"}])}),
     'service "web" refers to undefined secret token: invalid compose project'),
    (model({"web": svc(configs=[{"source": "cfg"}])}),
     'service "web" refers to undefined config cfg: invalid compose project'),
    (model({"web": svc(build={"context": "/x", "secrets": [{"source": "npmrc"}]})}),
     'service "web" refers to undefined build secret npmrc: invalid compose project'),
    (model({"web": svc(models={"llm": None})}, models={}),
     'service "web" refers to undefined model llm: invalid compose project'),
    (model({"web": svc(scale=2, deploy={"replicas": 3})}),
     "services.web: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project"),
    (model({"web": svc(scale=-1)}), "services.web.scale: must be greater than or equal to 0"),
    (model({"web": svc(deploy={"replicas": -2})}), "services.web.deploy.replicas: must be greater than or equal to 0"),
    (model({"web": svc(scale=2, container_name="web1")}),
     "services.web: can't set container_name and scale as container name must be unique: invalid compose project"),
    (model({"web": svc(deploy={"replicas": 2}, container_name="web1")}),
     "services.web: can't set container_name and deploy.replicas as container name must be unique: "
     "invalid compose project"),
    (model({"web": svc(cpus=0.5, deploy={"resources": {"limits": {"cpus": 1.5}}})}),
     "services.web: can't set distinct values on 'cpus' and 'deploy.resources.limits.cpus': invalid compose project"),
    (model({"web": svc(mem_limit=1073741824, deploy={"resources": {"limits": {"memory": 52428800}}})}),
     "services.web: can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory': "
     "invalid compose project"),
    (model({"web": svc(healthcheck={"test": ["wget", "-q", "http://x"]})}),
     'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"'),
    (model({"web": svc(develop={"watch": [{"path": "/src", "action": "sync"}]})}),
     "services.web.develop.watch: target is required for non-rebuild actions: invalid compose project"),
    (model({"web": svc(tmpfs=["/data"], volumes=[{"type": "bind", "source": "/a", "target": "/data"}])}),
     "services.web.volumes[0]: target /data already mounted as services.web.tmpfs[0]"),
    (model({"web": svc(ports=[{"target": 80, "published": "9000-8000", "protocol": "tcp"}])}),
     "services.web.ports[0]: invalid port: port range 9000-8000 ends before it starts"),
    (model({"web": svc(ports=[{"target": 0, "protocol": "tcp"}])}),
     "services.web.ports[0]: invalid port: container port must be between 1 and 65535"),
    (model({"web": svc(ports=[{"target": 80, "published": "70000"}])}),
     "services.web.ports[0]: invalid port: port 70000 is out of range (0-65535)"),
    (model({"web": svc()}, secrets={"s": {"name": "s"}}),
     'secret "s" must declare either `file` or `environment`: invalid compose project'),
    (model({"a": svc(container_name="same"), "b": svc(container_name="same")}),
     'services.b: container name "same" is already in use by service "a"'),
    (model({"web": svc(build={"context": "/x", "platforms": ["linux/amd64"]}, platform="linux/arm64")}),
     'service.build.platforms MUST include service.platform "linux/arm64": invalid compose project'),
    (model({"web": svc(build={"context": "/x", "additional_contexts": {"base": "service:nope"}})}),
     'service "web" declares unknown service "nope" as additional contexts base'),
]


@pytest.mark.parametrize("project,message", CASES, ids=[m[:60] for _, m in CASES])
def test_consistency_message(project, message):
    with pytest.raises(LoadError) as err:
        check_consistency(project, disabled={})
    assert str(err.value) == message


def test_position_of_the_offending_key():
    project = model({"web": svc(secrets=[{"source": "token"}])})
    positions = {("services", "web"): ("compose.yaml", 2, 3), ("services", "web", "secrets", 0): ("compose.yaml", 5, 9)}
    with pytest.raises(LoadError) as err:
        check_consistency(project, positions)
    assert str(err.value) == ('compose.yaml:5:9: service "web" refers to undefined secret token: '
                              "invalid compose project")


def test_cycle_is_a_dependency_cycle_error_with_position():
    project = model({"web": svc(depends_on={"api": {"condition": "service_started", "required": True}}),
                     "api": svc(links=["web"])})
    positions = {("services", "api"): ("compose.yaml", 7, 3)}
    with pytest.raises(DependencyCycleError) as err:
        check_consistency(project, positions)
    assert str(err.value) == "compose.yaml:7:3: dependency cycle: api -> web -> api"


def test_dependency_on_a_disabled_service():
    project = model({"web": svc(depends_on={"db": {"condition": "service_started", "required": True}})})
    disabled = {"db": {"image": "postgres", "profiles": ["debug", "db"]}}
    with pytest.raises(LoadError, match=r'^service "db" is required by "web" but is disabled\. '
                                        r"Can be enabled by profiles \[debug db\]$"):
        check_consistency(project, disabled=disabled)
    optional = model({"web": svc(depends_on={"db": {"condition": "service_started", "required": False}})})
    check_consistency(optional, disabled=disabled)
    with pytest.raises(LoadError, match="depends on undefined service"):
        check_consistency(optional, disabled={})


def test_consistent_model_passes():
    project = model({
        "web": svc(depends_on={"db": {"condition": "service_healthy", "required": True, "restart": True}},
                   ports=[{"target": 80, "published": "8000-8010", "protocol": "tcp", "mode": "ingress"}],
                   volumes=[{"type": "volume", "source": "data", "target": "/data"}],
                   secrets=[{"source": "s", "target": "/run/secrets/s"}], scale=2, deploy={"replicas": 2},
                   cpus=0.5, mem_limit=52428800,
                   healthcheck={"test": ["CMD-SHELL", "true"]}),
        "db": svc(image="postgres", deploy={"resources": {"limits": {"cpus": 0.5}}}),
    }, volumes={"data": {"name": "p_data"}}, secrets={"s": {"name": "p_s", "file": "/s"}})
    check_consistency(project)


CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "oracle", "corpus")


@pytest.mark.skipif(not os.path.isdir(CORPUS), reason="../shared/oracle/corpus not present")
def test_no_false_positive_on_compose_accepted_models():
    """Every model Docker Compose printed as valid must pass (bar dependencies on profile-disabled services)."""
    checked = 0
    for path in sorted(glob.glob(os.path.join(CORPUS, "*", "*", "expected.json"))):
        with open(path) as f:
            project = numeric_model(json.load(f))
        check_consistency(project)
        checked += 1
    assert checked > 400


names = st.sampled_from(["web", "db", "x"])
anything = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=5),
                                  names, st.sampled_from(["service:web", "container:1", "db:alias", "/data"])),
                        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
                            st.sampled_from(["source", "target", "published", "condition", "required", "type",
                                             "replicas", "resources", "limits", "cpus", "memory", "test",
                                             "watch", "action", "path", "file", "external", "web", "db"]),
                            inner, max_size=3)), max_leaves=10)
service = st.dictionaries(st.sampled_from(["image", "build", "depends_on", "links", "volumes_from", "network_mode",
                                           "ipc", "networks", "volumes", "secrets", "configs", "ports", "scale",
                                           "deploy", "container_name", "cpus", "mem_limit", "healthcheck",
                                           "develop", "tmpfs", "models", "platform"]), anything, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names, st.one_of(st.none(), service), max_size=3),
       st.dictionaries(st.sampled_from(["networks", "volumes", "secrets", "configs", "models"]),
                       st.one_of(st.none(), st.dictionaries(names, anything, max_size=2)), max_size=3))
def test_random_models_raise_only_load_error(services, top):
    try:
        check_consistency({"services": services, **top})
    except LoadError as e:
        assert str(e)
