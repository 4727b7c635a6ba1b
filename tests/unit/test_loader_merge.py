"""Merge rules of several compose files (compose-spec merge section), and unicity."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st

from compose.loader.merge import enforce_unicity, merge


def _svc(**kw):
    return {"services": {"web": kw}}


def _merged(base, override):
    return enforce_unicity(merge(copy.deepcopy(base), copy.deepcopy(override)))["services"]["web"]


MERGE_TABLE = [
    # key, base, override, expected
    ("image", "a", "b", "b"),
    ("command", ["a", "b"], ["c"], ["c"]),
    ("entrypoint", "/x", ["/y"], ["/y"]),
    ("environment", {"A": "1", "B": "1"}, {"B": "2", "C": "2"}, ["A=1", "B=2", "C=2"]),
    ("environment", ["A=1", "B=1"], {"B": "2"}, ["A=1", "B=2"]),
    ("labels", {"a": "1"}, ["a=2", "b=2"], ["a=2", "b=2"]),
    ("dns", "1.1.1.1", ["8.8.8.8", "1.1.1.1"], ["1.1.1.1", "8.8.8.8"]),
    ("cap_add", ["NET_ADMIN"], ["SYS_TIME", "NET_ADMIN"], ["NET_ADMIN", "SYS_TIME"]),
    ("volumes", ["./a:/data", "b:/other"], ["./c:/data"], ["./c:/data", "b:/other"]),
    ("ports", ["80:80"], ["80:80", "443:443"], ["80:80", "443:443"]),
    ("depends_on", ["db"], {"cache": {"condition": "service_healthy"}},
     {"db": {"condition": "service_started", "required": True}, "cache": {"condition": "service_healthy"}}),
    ("networks", ["front"], {"back": {"aliases": ["x"]}}, {"front": None, "back": {"aliases": ["x"]}}),
    ("build", ".", {"dockerfile": "Other"}, {"context": ".", "dockerfile": "Other"}),
    ("ulimits", {"nofile": {"soft": 1, "hard": 2}}, {"nofile": {"soft": 3}}, {"nofile": {"soft": 3}}),
    ("logging", {"driver": "json-file", "options": {"a": "1"}}, {"driver": "syslog"}, {"driver": "syslog"}),
    ("logging", {"driver": "json-file", "options": {"a": "1"}}, {"options": {"b": "2"}},
     {"driver": "json-file", "options": {"a": "1", "b": "2"}}),
    ("healthcheck", {"test": ["CMD", "a"], "interval": "1s"}, {"test": ["CMD", "b"]},
     {"test": ["CMD", "b"], "interval": "1s"}),
    ("extra_hosts", ["a:1.1.1.1"], ["b:2.2.2.2", "a:1.1.1.1"], ["a:1.1.1.1", "b:2.2.2.2"]),
]


@pytest.mark.parametrize("key,base,override,expected", MERGE_TABLE)
def test_merge_rule_table(key, base, override, expected):
    assert _merged(_svc(**{key: base}), _svc(**{key: override}))[key] == expected


def test_new_services_and_top_level_sections_are_added():
    out = merge({"services": {"a": {"image": "x"}}, "volumes": {"v": None}},
                {"services": {"b": {"image": "y"}}, "volumes": {"w": {"driver": "local"}}})
    assert set(out["services"]) == {"a", "b"}
    assert out["volumes"] == {"v": None, "w": {"driver": "local"}}


def test_type_mismatch_is_an_error():
    with pytest.raises(Exception, match="cannot override services.web.deploy"):
        merge(_svc(deploy={"replicas": 1}), _svc(deploy=["x"]))


_scalar = st.one_of(st.text(max_size=5), st.integers(-5, 5), st.booleans())
_doc = st.fixed_dictionaries({"services": st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.fixed_dictionaries({}, optional={
        "image": st.text(min_size=1, max_size=5),
        "environment": st.dictionaries(st.sampled_from(["A", "B"]), _scalar, max_size=2),
        "labels": st.lists(st.sampled_from(["x=1", "y=2"]), max_size=2),
        "cap_add": st.lists(st.sampled_from(["NET_ADMIN", "SYS_TIME"]), max_size=2),
        "ports": st.lists(st.sampled_from(["80", "81:81"]), max_size=2),
    }), max_size=3)})


@settings(max_examples=60, deadline=None)
@given(_doc)
def test_merging_a_file_with_itself_is_idempotent(doc):
    once = enforce_unicity(merge({}, copy.deepcopy(doc)))
    twice = enforce_unicity(merge(copy.deepcopy(once), copy.deepcopy(doc)))
    thrice = enforce_unicity(merge(copy.deepcopy(twice), copy.deepcopy(doc)))
    assert twice == thrice
