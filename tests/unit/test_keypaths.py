"""compose.loader.keypaths: the one path-pattern matcher and tree walk of the loader stages,
and the named, skippable stages of the pipeline."""
from __future__ import annotations

import pytest

from compose.loader import LoadOptions, load
from compose.loader import canonical, interpolate, merge, normalize
from compose.loader.keypaths import PathRules, rewrite
from compose.loader.stages import Stage, run_stages, skipped_by_options


def test_find_matches_wildcards_and_list_items():
    rules = PathRules.grouped({"seq": "services.*.dns networks.*.labels", "item": "services.*.ports.*"})
    assert rules.find(("services", "web", "dns")) == "seq"
    assert rules.find(("networks", "front", "labels")) == "seq"
    assert rules.find(("services", "web", "ports", "[]")) == "item"
    assert rules.find(("services", "web")) is None
    assert rules.find(("services", "web", "dns", "[]")) is None


def test_rewrite_hands_the_subtree_to_the_rule_and_walks_the_rest():
    doc = {"services": {"web": {"dns": "1.1.1.1", "ports": ["80"], "x": {"dns": "kept"}}}}
    seen = []

    def apply(rule, value, path):
        seen.append(path)
        return [value] if rule == "listify" else value

    out = rewrite(doc, PathRules.grouped({"listify": "services.*.dns", "keep": "services.*.ports"}), apply)
    assert out["services"]["web"]["dns"] == ["1.1.1.1"]
    assert out["services"]["web"]["x"] == {"dns": "kept"}
    assert seen == [("services", "web", "dns"), ("services", "web", "ports")]


@pytest.mark.parametrize("rules", [merge._SPECIAL_RULES, merge._UNIQUE_RULES, canonical._TRANSFORM_RULES,
                                   canonical._DEFAULT_RULES, normalize._PATH_RULES, interpolate._CAST_RULES])
def test_no_two_patterns_of_a_table_match_the_same_path(rules):
    patterns = list(rules.table)
    for i, a in enumerate(patterns):
        for b in patterns[i + 1:]:
            assert not (len(a) == len(b) and all(x == y or "*" in (x, y) for x, y in zip(a, b))), (a, b)


def test_stages_run_in_order_and_skip_by_name():
    calls = []
    stages = [Stage(n, lambda st, n=n: calls.append(n)) for n in ("a", "b", "c")]
    run_stages(stages, None, {"b"})
    assert calls == ["a", "c"]


def test_config_flags_map_to_stage_names():
    opts = LoadOptions(interpolate=False, resolve_paths=False, consistency=False, all_resources=True,
                       skip=frozenset({"extends"}))
    assert skipped_by_options(opts) == {"interpolate", "typing", "paths", "consistency", "unused_resources",
                                        "extends"}
    assert skipped_by_options(LoadOptions()) == frozenset()


def test_skipping_a_stage_by_name(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n    ports: ['80']\n"
                                           "    env_file: missing.env\n")
    base = dict(files=[str(tmp_path / "compose.yaml")], project_name="p", cwd=str(tmp_path), environ={})
    with pytest.raises(Exception, match="missing.env"):
        load(LoadOptions(**base))
    project = load(LoadOptions(**base, skip=frozenset({"service_files"})))
    assert project.services["web"]["ports"][0]["target"] == 80
    assert str(tmp_path / "missing.env") in str(project.services["web"]["env_file"])  # kept, not read
