"""Layouts on disk: Compose bridge's ``base/`` + ``overlays/desktop/`` (kustomize), or plain files.

WHY an overlay: the base stays portable (published Services are ClusterIP, which every cluster
has); the ``desktop`` overlay turns them into LoadBalancer (what Docker Desktop and most local
clusters serve on localhost) or NodePort, as ``--publish`` says, the way Compose bridge's
default transformation does. ``plain`` applies those patches itself and writes flat files.
"""
from __future__ import annotations

from compose.kube.convert import Bundle
from compose.kube.services import patched
from compose.kube.yamlout import dump_file

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
OVERLAY = "overlays/desktop"


def kustomize_files(bundle: Bundle, header: list[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for stem, obj in bundle.objects:
        files[f"base/{stem}.yaml"] = dump_file(header, [obj])
    files["base/kustomization.yaml"] = dump_file(header, [{
        "apiVersion": KUSTOMIZE_API, "kind": "Kustomization",
        "resources": [f"{stem}.yaml" for stem, _ in bundle.objects]}])
    objects = dict(bundle.objects)
    patches = []
    for stem, patch in sorted(bundle.published.items()):
        meta = objects[stem]["metadata"]
        files[f"{OVERLAY}/{stem}.yaml"] = dump_file(header, [{
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "spec": patch}])
        patches.append({"path": f"{stem}.yaml"})
    overlay: dict = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": ["../../base"]}
    if patches:
        overlay["patches"] = patches
    files[f"{OVERLAY}/kustomization.yaml"] = dump_file(header, [overlay])
    return files


def plain_objects(bundle: Bundle) -> list[tuple[str, dict]]:
    """The objects with the publishing patches applied."""
    return [(stem, patched(obj, bundle.published[stem]) if stem in bundle.published else obj)
            for stem, obj in bundle.objects]


def plain_files(bundle: Bundle, header: list[str]) -> dict[str, str]:
    return {f"{stem}.yaml": dump_file(header, [obj]) for stem, obj in plain_objects(bundle)}
