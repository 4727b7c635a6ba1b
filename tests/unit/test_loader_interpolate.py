"""Interpolation: the table of forms Compose supports, escapes, errors, typed paths."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, strategies as st

from compose.errors import LoadError
from compose.loader.interpolate import InvalidTemplate, MissingRequired, Warner, interpolate, substitute

ENV = {"SET": "value", "EMPTY": "", "B": "b", "NUM": "8080"}

TABLE = [
    ("$SET", "value"),
    ("${SET}", "value"),
    ("x${SET}y", "xvaluey"),
    ("${UNSET}", ""),
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${UNSET-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${SET:-default}", "value"),
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${SET?err}", "value"),
    ("${EMPTY?err}", ""),
    ("${SET:?err}", "value"),
    ("${UNSET:-${B}}", "b"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("${UNSET:-${B}} and ${SET}", "b and value"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("$$$$", "$$"),
    ("cost=$$5", "cost=$5"),
    ("${UNSET:-a:b-c}", "a:b-c"),
    ("no dollar", "no dollar"),
    ("$1", "$1"),
    ("${1}", None),
    ("${SET", None),
]


@pytest.mark.parametrize("template,expected", TABLE)
def test_interpolation_table(template, expected):
    if expected is None:
        with pytest.raises(InvalidTemplate):
            substitute(template, ENV.get)
    else:
        assert substitute(template, ENV.get) == expected


@pytest.mark.parametrize("template,message", [
    ("${UNSET:?you must set it}", "required variable UNSET is missing a value: you must set it"),
    ("${EMPTY:?empty is not enough}", "required variable EMPTY is missing a value: empty is not enough"),
    ("${UNSET?}", "required variable UNSET is missing a value"),
])
def test_required_aborts_with_its_message(template, message):
    with pytest.raises(MissingRequired) as e:
        substitute(template, ENV.get)
    assert str(e.value) == message


def test_unset_warns_once_and_becomes_empty():
    out = io.StringIO()
    warner = Warner(out)
    assert substitute("${NOPE} $NOPE ${NOPE}", ENV.get, warner) == "  "
    assert out.getvalue().count('"NOPE" variable is not set') == 1


def test_only_values_are_interpolated_and_paths_are_cast():
    doc = {"services": {"${SET}": {"image": "img:${SET}", "ports": [{"target": "${NUM}"}],
                                   "privileged": "${TRUE:-true}", "scale": "2"}}}
    out = interpolate(doc, ENV.get)
    svc = out["services"]["${SET}"]
    assert svc["image"] == "img:value"
    assert svc["ports"][0]["target"] == 8080
    assert svc["privileged"] is True
    assert svc["scale"] == 2


def test_errors_name_the_path():
    with pytest.raises(LoadError, match=r"services.web.image.*required variable TAG"):
        interpolate({"services": {"web": {"image": "x:${TAG:?}"}}}, ENV.get)
    with pytest.raises(LoadError, match="invalid interpolation format for services.web.command"):
        interpolate({"services": {"web": {"command": "echo ${"}}}, ENV.get)
    with pytest.raises(LoadError, match="failed to cast to expected type: invalid boolean: maybe"):
        interpolate({"services": {"web": {"tty": "maybe"}}}, ENV.get)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_escaped_strings_come_back_verbatim(text):
    escaped = text.replace("$", "$$")
    assert substitute(escaped, {}.get) == text


@given(st.text(max_size=30))
def test_substitute_never_crashes_unexpectedly(text):
    try:
        substitute(text, ENV.get)
    except (InvalidTemplate, MissingRequired):
        pass
