"""compose.graph: orders, implicit dependencies, cycles named like Compose names them."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compose.errors import ComposeError, DependencyCycleError, LoadError
from compose.graph import ServiceGraph


def dep(condition="service_started", required=True, restart=False):
    return {"condition": condition, "required": required, "restart": restart}


APP = {
    "web": {"depends_on": {"api": dep(), "cache": dep("service_healthy", restart=True)}},
    "api": {"depends_on": {"db": dep("service_healthy")}},
    "db": {},
    "cache": {},
    "worker": {"depends_on": {"db": dep("service_completed_successfully", required=False)}},
}


def test_start_and_stop_order():
    g = ServiceGraph(APP)
    assert g.start_order() == ["cache", "db", "api", "web", "worker"]
    assert g.stop_order() == ["worker", "web", "api", "db", "cache"]
    assert g.levels() == [["cache", "db"], ["api", "worker"], ["web"]]


def test_subset_keeps_only_named_services_in_order():
    assert ServiceGraph(APP).start_order({"web", "db"}) == ["db", "web"]


def test_edges_carry_condition_required_restart():
    g = ServiceGraph(APP)
    assert g.dependencies("web") == {"api": dep(), "cache": dep("service_healthy", restart=True)}
    assert g.dependents("db") == {"api": dep("service_healthy"),
                                  "worker": dep("service_completed_successfully", required=False)}
    assert g.dependencies("db") == {}


def test_with_dependencies_is_transitive():
    g = ServiceGraph(APP)
    assert g.with_dependencies(["web"]) == ["cache", "db", "api", "web"]
    assert g.with_dependencies(["worker"]) == ["db", "worker"]
    assert g.with_dependents(["db"]) == ["worker", "web", "api", "db"]


def test_unknown_service_named():
    with pytest.raises(ComposeError, match="no such service: nope"):
        ServiceGraph(APP).with_dependencies(["nope"])


def test_implicit_dependencies_from_links_volumes_from_and_modes():
    g = ServiceGraph({
        "web": {"links": ["db:database"], "volumes_from": ["data:ro", "container:abc"]},
        "side": {"network_mode": "service:web", "ipc": "service:db", "pid": "host"},
        "db": {}, "data": {},
    })
    assert g.dependencies("web") == {"data": dep(), "db": dep(restart=True)}
    assert g.dependencies("side") == {"db": dep(restart=True), "web": dep(restart=True)}
    assert g.start_order() == ["data", "db", "web", "side"]


def test_short_depends_on_list():
    g = ServiceGraph({"a": {"depends_on": ["b"]}, "b": {}})
    assert g.dependencies("a") == {"b": dep()}


@pytest.mark.parametrize("services,message", [
    ({"web": {"depends_on": {"api": dep()}}, "api": {"depends_on": {"web": dep()}}},
     "dependency cycle: api -> web -> api"),
    ({"web": {"depends_on": {"web": dep()}}}, "dependency cycle: web -> web"),
    ({"service1": {"depends_on": ["service2"]}, "service2": {"depends_on": ["service3"]},
      "service3": {"depends_on": ["service1"]}},
     "dependency cycle: service1 -> service2 -> service3 -> service1"),
    # the cycle is found past an acyclic prefix, and links count
    ({"a": {"depends_on": ["b"]}, "b": {"links": ["c:alias"]}, "c": {"network_mode": "service:b"}},
     "dependency cycle: b -> c -> b"),
])
def test_cycle_messages(services, message):
    g = ServiceGraph(services)
    with pytest.raises(DependencyCycleError) as err:
        g.check()
    assert str(err.value) == message
    with pytest.raises(DependencyCycleError):
        g.start_order()


def test_undefined_required_dependency():
    with pytest.raises(LoadError, match='service "web" depends on undefined service "db": invalid compose project'):
        ServiceGraph({"web": {"depends_on": {"db": dep()}}}).check()


def test_undefined_optional_dependency_is_ignored():
    g = ServiceGraph({"web": {"depends_on": {"db": dep(required=False)}}})
    g.check()
    assert g.start_order() == ["web"]


def test_long_chain_is_fast_and_ordered():
    n = 2000
    services = {f"s{i:04d}": {"depends_on": [f"s{i + 1:04d}"]} if i + 1 < n else {} for i in range(n)}
    order = ServiceGraph(services).start_order()
    assert order[0] == f"s{n - 1:04d}" and order[-1] == "s0000"


names = st.sampled_from([f"s{i}" for i in range(8)])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(names, st.lists(names, max_size=4), min_size=1))
def test_random_graphs_order_or_cycle(edges):
    services = {name: {"depends_on": [d for d in deps]} for name, deps in edges.items()}
    for deps in edges.values():
        for d in deps:
            services.setdefault(d, {})
    g = ServiceGraph(services)
    try:
        order = g.start_order()
    except DependencyCycleError as e:
        cycle = str(e).removeprefix("dependency cycle: ").split(" -> ")
        assert cycle[0] == cycle[-1]
        for a, b in zip(cycle, cycle[1:]):
            assert b in edges.get(a, [])
        return
    pos = {n: i for i, n in enumerate(order)}
    assert sorted(order) == sorted(services)
    for name, deps in edges.items():
        for d in deps:
            assert pos[d] < pos[name]
