"""compose.teardown.stop_waves: the order `down` stops services in (dependents first, as many at
once as the graph allows), from a model's or the labels' depends_on."""
from __future__ import annotations

from compose.teardown import stop_waves


def test_independent_services_stop_in_one_wave():
    graph = {f"s{i}": {} for i in range(5)}
    assert stop_waves(graph, list(graph)) == [list(graph)]


def test_a_chain_stops_from_its_last_dependent_down():
    graph = {"db": {}, "api": {"depends_on": {"db": {}}}, "web": {"depends_on": {"api": {}}}, "cron": {}}
    assert stop_waves(graph, ["db", "api", "web", "cron"]) == [["web", "cron"], ["api"], ["db"]]


def test_a_service_waits_for_its_deepest_dependent():
    graph = {"db": {}, "cache": {"depends_on": ["db"]}, "api": {"depends_on": {"db": {}, "cache": {}}}}
    assert stop_waves(graph, ["db", "cache", "api"]) == [["api"], ["cache"], ["db"]]


def test_only_the_services_asked_for_are_placed_and_unknown_dependencies_are_ignored():
    graph = {"db": {}, "api": {"depends_on": {"db": {}, "gone": {}}}}
    assert stop_waves(graph, ["db"]) == [["db"]]
    assert stop_waves(graph, ["api", "db"]) == [["api"], ["db"]]
