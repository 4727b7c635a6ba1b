"""Compose configs and secrets as ConfigMaps and Secrets, and the mounts that place them.

WHY content is read here: a compose config or secret names a file next to the project (or
an environment variable); the cluster has neither, so the content travels inside the object
(read relative to the project, as the model's resolved paths say).
"""
from __future__ import annotations

import base64

from compose.kube.context import Context
from compose.kube.coverage import APPROXIMATED, REFUSED
from compose.kube.names import dns_label

_MAX = 1 << 20   # the API server's object size limit for ConfigMap and Secret data


def _key(source: str) -> str:
    """A data key (``[-._a-zA-Z0-9]+``) for the compose name."""
    import re

    return re.sub(r"[^-._a-zA-Z0-9]", "-", source) or "data"


def _content(ctx: Context, section: str, name: str, spec: dict) -> bytes | None:
    if "content" in spec:
        return str(spec["content"]).encode()
    if spec.get("environment"):
        var = spec["environment"]
        if var not in ctx.environment:
            ctx.warn(f'{section[:-1]} "{name}": environment variable {var} is not set; the value is empty')
        return ctx.environment.get(var, "").encode()
    path = spec.get("file")
    if path:
        try:
            with open(path, "rb") as fh:
                data = fh.read(_MAX + 1)
        except OSError as e:
            ctx.warn(f'{section[:-1]} "{name}": {path}: {e.strerror or e}; no object written')
            return None
        if len(data) > _MAX:
            ctx.warn(f'{section[:-1]} "{name}": {path} is larger than 1 MiB, the API server limit; '
                     "no object written")
            return None
        return data
    return None


def objects(ctx: Context, used: dict[str, set[str]]) -> list[dict]:
    """ConfigMaps and Secrets for the configs/secrets services use (external ones are referenced
    only); ``ctx.content`` records which ones were written."""
    out = []
    for section in ("configs", "secrets"):
        for name, spec in sorted((ctx.model.get(section) or {}).items()):
            if name not in used[section] or (spec or {}).get("external"):
                continue
            spec = spec or {}
            if spec.get("driver") or spec.get("template_driver"):
                ctx.warn(f'{section[:-1]} "{name}": driver/template_driver refused: Kubernetes stores the '
                         "content as is")
            data = _content(ctx, section, name, spec)
            if data is None:
                continue
            ctx.content.add((section, name))
            meta: dict = {"name": getattr(ctx, section).assign(name), "namespace": ctx.namespace}
            labels, annotations = ctx.carry_labels(f'{section[:-1]} "{name}"', spec.get("labels"))
            if labels:
                meta["labels"] = labels
            if annotations:
                meta["annotations"] = annotations
            key = _key(name)
            if section == "secrets":
                out.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                            "data": {key: base64.b64encode(data).decode()}})
                continue
            try:
                body = {"data": {key: data.decode("utf-8")}}
            except UnicodeDecodeError:
                body = {"binaryData": {key: base64.b64encode(data).decode()}}
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, **body})
    return out


def mounts(ctx: Context, service: str, svc: dict, storage, available: set[tuple[str, str]]) -> None:
    """Adds a volume and a subPath mount per config/secret the service asks for."""
    for section, prefix, default_dir in (("configs", "cfg", "/"), ("secrets", "sec", "/run/secrets/")):
        for i, ref in enumerate(svc.get(section) or []):
            source = ref.get("source")
            top = (ctx.model.get(section) or {}).get(source)
            if top is None:
                continue
            external = bool((top or {}).get("external"))
            if not external and (section, source) not in available:
                ctx.warn_key(service, section, REFUSED, f"{source}: no content to mount (see the warning above)")
                continue
            target = ref.get("target") or source
            if not target.startswith("/"):
                target = default_dir + target
            obj_name = dns_label((top or {}).get("name") or source) if external else \
                getattr(ctx, section).assign(source)
            if external:
                ctx.warn_key(service, section, APPROXIMATED,
                             f"external {section[:-1]} {source!r} is expected to exist as {obj_name!r} "
                             f"with a key {_key(source)!r}")
            if ref.get("uid") or ref.get("gid"):
                ctx.warn_key(service, section, REFUSED,
                             f"{source}: uid/gid cannot be set per file (pod securityContext.fsGroup sets the group)")
            item: dict = {"key": _key(source), "path": _key(source)}
            if ref.get("mode"):
                item["mode"] = ref["mode"]
            vol_name = f"{prefix}-{i}"
            kind = {"secret": {"secretName": obj_name, "items": [item]}} if section == "secrets" else \
                {"configMap": {"name": obj_name, "items": [item]}}
            storage.add(ctx, service, {"name": vol_name, **kind},
                        {"name": vol_name, "mountPath": target, "subPath": _key(source), "readOnly": True})

