"""``--format helm``: a chart whose values hold each service's image (repository, tag) and replicas.

WHY only these values: they are what changes between environments (the same compose model,
another registry, tag or scale); everything else stays exactly what the model says, in
templates that are the converted objects with those few fields turned into expressions.
"""
from __future__ import annotations

import copy

from compose.kube.convert import Bundle
from compose.kube.yamlout import Raw, dump_file

NS = Raw("{{ .Values.namespace }}")


def split_image(ref: str) -> tuple[str, str]:
    """``repo[:tag]`` -> (repo, tag); a digest stays in the repository."""
    if "@" in ref:
        return ref, ""
    head, sep, tail = ref.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return ref, ""


def _svc(service: str) -> str:
    return f'(index .Values.services "{service}")'


def _image_expr(service: str) -> Raw:
    v = f"{_svc(service)}.image"
    return Raw(f'{{{{ if {v}.tag }}}}{{{{ printf "%s:%s" {v}.repository {v}.tag | quote }}}}'
               f'{{{{ else }}}}{{{{ {v}.repository | quote }}}}{{{{ end }}}}')


def _templated(obj: dict, by_name: dict[str, str], namespace: str) -> dict:
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    if obj["kind"] == "Namespace":
        meta["name"] = NS
    if meta.get("namespace") == namespace:
        meta["namespace"] = NS
    for subject in obj.get("subjects") or []:
        subject["namespace"] = NS
    service = by_name.get(meta["name"]) if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job") else None
    if service:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = _image_expr(service)
        if "replicas" in obj["spec"]:
            obj["spec"]["replicas"] = Raw(f"{{{{ {_svc(service)}.replicas }}}}")
    return obj


def helm_files(bundle: Bundle, header: list[str], project: str) -> dict[str, str]:
    by_name = {info["name"]: service for service, info in bundle.helm.items()}
    files = {"Chart.yaml": dump_file(header, [{
        "apiVersion": "v2", "name": bundle.namespace, "description": f"The compose project {project}",
        "type": "application", "version": "0.1.0", "appVersion": "0.1.0"}])}
    services = {}
    for service, info in sorted(bundle.helm.items()):
        repo, tag = split_image(info["image"])
        services[service] = {"image": {"repository": repo, "tag": tag}, "replicas": info["replicas"]}
    publish = "LoadBalancer"
    for patch in bundle.published.values():
        publish = patch["type"]
    files["values.yaml"] = dump_file(header, [{"namespace": bundle.namespace, "createNamespace": True,
                                               "publish": {"type": publish}, "services": services}])
    for stem, obj in bundle.objects:
        obj = _templated(obj, by_name, bundle.namespace)
        if stem in bundle.published:
            obj["spec"]["type"] = Raw("{{ .Values.publish.type }}")
        text = dump_file(header, [obj])
        if obj["kind"] == "Namespace":
            text = "{{- if .Values.createNamespace }}\n" + text + "{{- end }}\n"
        files[f"templates/{stem}.yaml"] = text
    return files
