"""YAML reading: YAML 1.2 scalars like go-yaml v3, positions, tags, duplicate keys, errors."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from compose.errors import ComposeError, LoadError
from compose.loader.yamlread import read_documents, resolve_plain


@pytest.mark.parametrize("text,value", [
    ("yes", "yes"), ("on", "on"), ("true", True), ("False", False), ("~", None), ("null", None),
    ("22:22", "22:22"), ("0777", 511), ("0o17", 15), ("0x1F", 31), ("1_000", 1000), ("1e3", 1000.0),
    (".5", 0.5), ("-3", -3), ("2020-01-01", "2020-01-01"), ("1.2.3", "1.2.3"), ("089", 89.0),
])
def test_plain_scalars_resolve_like_go_yaml_v3(text, value):
    assert resolve_plain(text) == value


def test_positions_of_keys_and_items():
    doc = read_documents("services:\n  web:\n    ports:\n      - 80\n      - '81:81'\n", "c.yaml")[0]
    assert doc.positions[("services", "web")] == ("c.yaml", 2, 3)
    assert doc.positions[("services", "web", "ports", 1)] == ("c.yaml", 5, 9)


def test_anchors_merge_keys_and_independent_copies():
    doc = read_documents("x: &a {image: i, env: [A]}\nservices:\n  s: {<<: *a, image: j}\n", "c.yaml")[0]
    assert doc.data["services"]["s"] == {"image": "j", "env": ["A"]}
    doc.data["services"]["s"]["env"].append("B")
    assert doc.data["x"]["env"] == ["A"]


def test_reset_and_override_tags_are_recorded():
    doc = read_documents("services:\n  web:\n    ports: !reset []\n    command: !override [a]\n", "c")[0]
    assert "ports" not in doc.data["services"]["web"]
    assert doc.data["services"]["web"]["command"] == ["a"]
    assert ("services", "web", "ports") in doc.reset_paths
    assert ("services", "web", "command") in doc.reset_paths


def test_duplicate_key_names_both_lines():
    with pytest.raises(LoadError) as e:
        read_documents("services:\n  web:\n    image: a\n    image: b\n", "c.yaml")
    assert str(e.value).startswith("c.yaml:4:5: services.web: mapping key 'image' already defined at line 3")


def test_syntax_error_has_file_line_and_column():
    with pytest.raises(LoadError) as e:
        read_documents("services:\n  web:\n    image: [a\n", "c.yaml")
    assert str(e.value).startswith("c.yaml:")
    assert e.value.line is not None


@settings(max_examples=80, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                    lambda ch: st.one_of(st.lists(ch, max_size=3),
                                         st.dictionaries(st.text(max_size=5), ch, max_size=3)),
                    max_leaves=12))
def test_random_documents_never_raise_anything_but_compose_errors(tmp_path_factory, data):
    import json

    from compose.loader import LoadOptions, load

    d = tmp_path_factory.mktemp("rand")
    (d / "compose.yaml").write_text(json.dumps({"services": {"s": data}} if not isinstance(data, dict)
                                               else {"services": data}))
    try:
        load(LoadOptions(files=[str(d / "compose.yaml")], project_name="p", cwd=str(d),
                         environ={"PATH": "/bin"}))
    except ComposeError:
        pass
