"""Helpers for the bridge convert tests: strict Kubernetes schema validation and conversion.

Validation uses PyPI ``kubernetes-validate``'s schemas of the newest Kubernetes version it
ships, in strict mode (no unknown fields), through its own loader; the validator of each kind
is built once so the corpus test validates thousands of objects in-process. The tests at the
bottom prove the strict validator really rejects what the API server would.
"""
from __future__ import annotations

import functools
import re

import jsonschema
import referencing
from kubernetes_validate import utils

from compose.kube.context import Options
from compose.kube.render import render
from compose.loader import LoadOptions, load

VERSION = utils.latest_version()
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@functools.lru_cache(maxsize=None)
def _validator(kind: str, api_version: str):
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"v{VERSION}-local-strict"
    schema = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", VERSION)
    defs = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", VERSION)
    registry = referencing.Resource.from_contents(defs) @ (referencing.Resource.from_contents(schema)
                                                          @ referencing.Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate(obj: dict) -> list[str]:
    """Schema errors of one object, plus the name rules the API server applies on top."""
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in _validator(obj["kind"], obj["apiVersion"]).iter_errors(obj)]
    name = obj.get("metadata", {}).get("name", "")
    rule = _DNS_1035 if obj["kind"] == "Service" else _DNS_LABEL
    if not rule.match(name) or len(name) > 63:
        errors.append(f"metadata.name {name!r} is not a valid {obj['kind']} name")
    return errors + semantic_errors(obj)


_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def semantic_errors(obj: dict) -> list[str]:
    """A few of the API server's rules the OpenAPI schema does not carry."""
    errors = []
    metas = [obj.get("metadata") or {}]
    spec = obj.get("spec") or {}
    if obj["kind"] in _WORKLOADS:
        metas.append(spec["template"].get("metadata") or {})
        errors += _pod_errors(spec["template"]["spec"], spec.get("volumeClaimTemplates") or [], obj["kind"])
        labels = metas[1].get("labels") or {}
        for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items():
            if labels.get(k) != v:
                errors.append(f"selector {k}={v} does not match the pod template")
    for meta in metas:
        for k, v in (meta.get("labels") or {}).items():
            if not _QUALIFIED.match(k) or not _LABEL_VALUE.match(v):
                errors.append(f"label {k}={v!r} is not valid")
        for k in meta.get("annotations") or {}:
            if not _QUALIFIED.match(k):
                errors.append(f"annotation key {k!r} is not valid")
    if obj["kind"] == "Service":
        ports = spec.get("ports") or []
        names = [p.get("name") for p in ports]
        if len(ports) > 1 and (None in names or len(set(names)) != len(names)):
            errors.append(f"Service port names must be unique and set: {names}")
        if any(not 0 < p["port"] < 65536 for p in ports):
            errors.append("Service port out of range")
    return errors


def _pod_errors(pod: dict, claims: list[dict], kind: str) -> list[str]:
    errors = []
    volumes = [v["name"] for v in pod.get("volumes") or []]
    known = set(volumes) | {c["metadata"]["name"] for c in claims}
    if len(set(volumes)) != len(volumes):
        errors.append(f"duplicate volume names {volumes}")
    containers = (pod.get("initContainers") or []) + pod["containers"]
    cnames = [c["name"] for c in containers]
    if len(set(cnames)) != len(cnames) or not all(_DNS_LABEL.match(n) for n in cnames):
        errors.append(f"container names {cnames}")
    for c in containers:
        paths = [m["mountPath"] for m in c.get("volumeMounts") or []]
        if len(set(paths)) != len(paths):
            errors.append(f"{c['name']}: duplicate mount paths {paths}")
        for m in c.get("volumeMounts") or []:
            if m["name"] not in known:
                errors.append(f"{c['name']}: mount of unknown volume {m['name']}")
        pnames = [p["name"] for p in c.get("ports") or [] if "name" in p]
        if len(set(pnames)) != len(pnames) or any(len(n) > 15 for n in pnames):
            errors.append(f"{c['name']}: port names {pnames}")
    for v in volumes:
        if not _DNS_LABEL.match(v):
            errors.append(f"volume name {v!r}")
    if pod.get("shareProcessNamespace") and pod.get("hostPID"):
        errors.append("shareProcessNamespace with hostPID")
    policy = pod.get("restartPolicy", "Always")
    if (kind == "Job") == (policy == "Always"):
        errors.append(f"restartPolicy {policy} in a {kind}")
    return errors


def load_dir(cwd: str, args: list[str] | None = None, environ: dict | None = None):
    """The Project in ``cwd`` (global args like -f/-p as the CLI takes them)."""
    from compose.cli.main import GlobalOptions, _global_parser

    ns = _global_parser().parse_args(list(args or []) + ["bridge"])
    gopts = GlobalOptions(files=ns.files, project_name=ns.project_name, profiles=ns.profiles,
                          env_files=ns.env_files, project_directory=ns.project_directory)
    return load(LoadOptions.from_global(gopts, cwd=cwd, environ=environ))


def convert_dir(cwd: str, args: list[str] | None = None, environ: dict | None = None, **opts):
    """(files, bundle) for the project in ``cwd``."""
    return render(load_dir(cwd, args, environ), Options(**opts))


def helm_template(files: dict[str, str]) -> list[dict]:
    """A stand-in for ``helm template`` (helm is not installable from the registries reachable here):
    evaluates exactly the expressions the chart uses, with its values.yaml, and fails on any other."""
    import yaml

    values = yaml.safe_load(files["values.yaml"])

    def image(service: str) -> str:
        img = values["services"][service]["image"]
        ref = f"{img['repository']}:{img['tag']}" if img["tag"] else img["repository"]
        return f'"{ref}"'

    docs = []
    for path in sorted(p for p in files if p.startswith("templates/")):
        text = files[path]
        if text.startswith("{{- if .Values.createNamespace }}"):
            if not values["createNamespace"]:
                continue
            text = text.split("\n", 1)[1].replace("{{- end }}\n", "")
        text = re.sub(r'\{\{ if \(index \.Values\.services "([^"]+)"\)\.image\.tag \}\}.*?\{\{ end \}\}',
                      lambda m: image(m.group(1)), text)
        text = re.sub(r'\{\{ \(index \.Values\.services "([^"]+)"\)\.replicas \}\}',
                      lambda m: str(values["services"][m.group(1)]["replicas"]), text)
        text = text.replace("{{ .Values.namespace }}", values["namespace"])
        text = text.replace("{{ .Values.publish.type }}", values["publish"]["type"])
        assert "{{" not in text, f"{path}: an expression the stand-in does not know"
        docs.extend(d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d)
    return docs


def test_strict_validation_rejects_unknown_fields_and_bad_names():
    good = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "p"},
            "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}
    assert validate(good) == []
    assert validate({**good, "spec": {**good["spec"], "portz": []}})
    assert validate({**good, "metadata": {"name": "my_web"}})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}},
                           "template": {"spec": {"containers": [{"name": "web", "image": "x", "ulimits": {}}]}}}}
    assert any("ulimits" in e for e in validate(deployment))
    deployment["spec"]["template"]["spec"]["containers"][0].pop("ulimits")
    deployment["spec"]["template"]["metadata"] = {"labels": {"a": "c"}}
    assert any("selector" in e for e in validate(deployment))


def test_validation_uses_the_newest_schema_version():
    assert VERSION == utils.all_versions()[-1]
    assert tuple(int(x) for x in VERSION.split(".")[:2]) >= (1, 37)
