"""compose.hash against values recorded from the real Docker Compose v2.40.3.

fixtures/hash/corpus.json and handmade.json were captured by
fixtures/hash/capture.py: for each case the canonical model (``config --format
json``) and the binary's ``config --hash '*'``. Cases using env_file are skipped
in the table (``config --hash`` hashes them unresolved while ``config`` prints
them resolved); test_env_file_entries covers them with hand-written models. The
recorded models are printed ones: ``_model`` (printed_models.py) reads their sizes,
durations and file modes back into the numbers the loaded model carries.

fixtures/hash/stable/compose.yaml pins the hashes pycompose computed before the model
carried numbers, so containers an older pycompose made are not recreated.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.errors import ComposeError, LoadError
from compose.hash import go_float32, go_string, label_hash, resolve_service_references, service_hash, service_json
from compose.loader import LoadOptions, load
from printed_models import numeric_service as _model

FIXTURES = Path(__file__).parent / "fixtures" / "hash"


def _table(name: str) -> list:
    rows = []
    for case in json.loads((FIXTURES / name).read_text()):
        if case["env_file"]:
            continue
        for service, model in case["services"].items():
            rows.append(pytest.param(service, _model(model), case["hashes"][service],
                                     id=f"{case['case']}:{service}"))
    return rows


CORPUS = _table("corpus.json")
HANDMADE = _table("handmade.json")


def test_tables_are_big_enough():
    # a silently emptied fixture must not turn the table tests into nothing
    assert len(CORPUS) >= 600 and len(HANDMADE) >= 18


@pytest.mark.parametrize("name,model,expected", CORPUS)
def test_corpus_hash_matches_compose(name, model, expected):
    assert service_hash(name, model) == expected


@pytest.mark.parametrize("name,model,expected", HANDMADE)
def test_handmade_hash_matches_compose(name, model, expected):
    assert service_hash(name, model) == expected


BASE = {"command": None, "entrypoint": None, "image": "busybox", "networks": {"default": None}}


def test_env_file_entries():
    # docker-compose-v2 -p envf config --hash '*' on /tmp/pyc-envf (env_file: a.env; and two optional files)
    req = dict(BASE, env_file=[{"path": "/tmp/pyc-envf/a.env", "required": True}])
    assert service_hash("req", req) == "66f4bfb8137d642867886e1830f9ec631d69539c435cc114715363b4ecb568fd"
    assert service_hash("req", dict(BASE, env_file=["/tmp/pyc-envf/a.env"])) == service_hash("req", req)
    opt = dict(BASE, environment={"BARE": None, "SET": "x"}, env_file=[
        {"path": "/tmp/pyc-envf/a.env", "required": False},
        {"path": "/tmp/pyc-envf/missing.env", "required": False, "format": "raw"}])
    assert service_hash("opt", opt) == "b3bcf7757c164bb590dc55b393bacb39732a77eb4be4b50c16de40f3977d9d8f"


def test_dropped_fields_do_not_change_the_hash():
    plain = service_hash("s", BASE)
    noisy = dict(BASE, build={"context": "/x"}, pull_policy="always", scale=3, profiles=["p"],
                 depends_on={"db": {"condition": "service_started", "required": True}},
                 **{"x-anything": 1})
    assert service_hash("s", noisy) == plain
    with_replicas = dict(BASE, deploy={"replicas": 2, "resources": {}, "placement": {}})
    assert service_hash("s", with_replicas) == service_hash("s", dict(BASE, deploy={}))


def test_relevant_change_changes_the_hash():
    assert service_hash("s", dict(BASE, image="busybox:1")) != service_hash("s", BASE)


def test_loose_input_forms_hash_like_canonical_ones():
    canonical = dict(BASE, ulimits={"nofile": {"soft": 1, "hard": 2}}, extra_hosts=["a=1.2.3.4", "b=::1"])
    loose = dict(BASE, ulimits={"nofile": {"soft": 1, "hard": 2}}, extra_hosts=["b:[::1]", "a:1.2.3.4"])
    assert service_json(loose) == service_json(canonical)
    assert service_json(dict(BASE, command=None, entrypoint=None)) == service_json(
        {"image": "busybox", "networks": {"default": None}})


def test_numbers_print_as_compose_marshals_them():
    text = service_json(dict(BASE, mem_limit=536870912, stop_grace_period=90 * 10**9,
                             secrets=[{"source": "s", "mode": 0o440}],
                             healthcheck={"interval": 1_500_000, "timeout": 0},
                             deploy={"update_config": {"delay": 0, "monitor": 10**9}}))
    assert '"mem_limit":"536870912"' in text and '"stop_grace_period":"1m30s"' in text
    assert '"mode":"0440"' in text and '"interval":"1.5ms"' in text
    assert '"timeout":"0s"' in text  # a pointer: kept when zero
    assert '"update_config":{"monitor":"1s"}' in text  # a value: omitted when zero


# fixtures/hash/stable/compose.yaml: the hashes the code before the numeric model computed (commit 955a6ee)
STABLE = {"deployed": "e59a7ee2f3f8e21df0635dd383ec4959c36b039f5e6dd968f7cb7238186ccd9f",
          "health": "8a676e7ce22fc0117879f745eebc6de138d689a7f2e8e0eecf0abd2289ef5196",
          "limits": "2aadc31e2fc0a60fb5118ce7aa3a145a9f00428a06da0fb44fe482468935d1cc",
          "zero": "d5c343094046d49e3b1bfd9ac096ec45521abf7bcc22c4fea92e34a171bb4076"}


@pytest.mark.parametrize("resolve_env_files", [False, True], ids=["config-hash", "up-label"])
def test_hashes_of_durations_and_sizes_are_stable(resolve_env_files):
    project = load(LoadOptions(files=["compose.yaml"], cwd=str(FIXTURES / "stable"), environ={},
                               resolve_env_files=resolve_env_files))
    assert project.services["limits"]["mem_limit"] == 512 << 20  # the model carries numbers
    assert project.services["health"]["healthcheck"]["interval"] == 90 * 10**9
    assert {n: label_hash(n, s, {}.get) for n, s in project.services.items()} == STABLE
    assert {n: service_hash(n, s) for n, s in project.services.items()} == STABLE


def test_struct_order_and_go_escaping():
    text = service_json(dict(BASE, labels={"b": "<&>", "a": "é\u2028"}, container_name="c"))
    assert text == ('{"command":null,"container_name":"c","entrypoint":null,"image":"busybox",'
                    '"labels":{"a":"é\\u2028","b":"\\u003c\\u0026\\u003e"},"networks":{"default":null}}')


@pytest.mark.parametrize("value,expected", [
    (0.3, "0.3"), (2, "2"), (0.0001, "0.0001"), (1e-7, "1e-7"), (0.123456789, "0.12345679"),
    (1e21, "1e+21"), (12.5, "12.5"), (-0.5, "-0.5"),
])
def test_go_float32(value, expected):
    assert go_float32(value) == expected


def test_go_string_control_characters():
    assert go_string("a\x01\b\f\n\t\"\\") == '"a\\u0001\\b\\f\\n\\t\\"\\\\"'


def test_bad_values_raise_load_error():
    with pytest.raises(LoadError, match=r"services\.s: cannot compute the config hash: "):
        service_hash("s", dict(BASE, mem_limit="lots"))  # the model carries bytes, not text


def test_labels_of_containers_created_by_compose():
    """fixtures/hash/labels.json: labels of containers `docker compose create` made (see its note)."""
    rec = json.loads((FIXTURES / "labels.json").read_text())
    ids = rec["container_ids"]
    rec["services"] = {name: _model(model) for name, model in rec["services"].items()}
    for name, model in rec["services"].items():
        assert label_hash(name, model, ids.get) == rec["labels"][name], name
    # config --hash differs where up resolves more: env_file (kept unresolved) and service references
    assert service_hash("side", rec["services"]["side"]) == rec["config_hash"]["side"]
    envf = dict(rec["services"]["envf"], environment={"BARE": None, "SET": "x"},
                env_file=["/tmp/pyc-labelcheck/app.env"])
    assert service_hash("envf", envf) == rec["config_hash"]["envf"]


def test_service_references_resolved_like_compose():
    service = {"volumes_from": ["db:ro", "container:abc"], "network_mode": "service:db", "ipc": "service:db",
               "pid": "host"}
    out = resolve_service_references(service, {"db": "f00"}.get)
    assert out == {"volumes_from": ["f00", "abc"], "network_mode": "container:f00", "ipc": "container:f00",
                   "pid": "host"}
    assert service["network_mode"] == "service:db"  # the model is not changed
    with pytest.raises(ComposeError, match="^cannot share network namespace with service db: container missing$"):
        resolve_service_references({"network_mode": "service:db"}, {}.get)
