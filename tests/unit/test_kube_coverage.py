"""The key-coverage table: every compose-spec service key has a row, the docs show the same table."""
from __future__ import annotations

import json
from pathlib import Path

from compose.kube.coverage import APPROXIMATED, KEYS, MAPPED, REFUSED, key_warnings, markdown_table, shares

REPO = Path(__file__).resolve().parents[2]


def _spec_service_keys() -> set[str]:
    schema = json.loads((REPO / "schemas" / "compose-spec.json").read_text())
    return set(schema["definitions"]["service"]["properties"])


def test_every_service_key_of_the_compose_spec_has_exactly_one_row():
    assert set(KEYS) == _spec_service_keys()
    assert all(row.status in (MAPPED, APPROXIMATED, REFUSED) and row.ours for row in KEYS.values())


def test_docs_show_the_table_the_code_warns_from():
    doc = (REPO / "docs" / "KUBERNETES.md").read_text()
    table = doc.split("<!-- coverage:start -->\n", 1)[1].split("<!-- coverage:end -->", 1)[0]
    assert table == markdown_table()
    s = shares()
    assert f"{s[MAPPED]} of the {len(KEYS)} service keys" in doc


def test_refused_and_approximated_keys_warn_mapped_keys_do_not():
    svc = {"ulimits": {"nofile": 1}, "init": True, "image": "x", "command": None, "environment": {"A": "1"}}
    lines = key_warnings("web", svc)
    assert lines == ['service "web": init: approximated: ' + KEYS["init"].ours,
                     'service "web": ulimits: refused: ' + KEYS["ulimits"].ours]
