"""Service volumes as pod volumes, mounts, PersistentVolumeClaims and claim templates.

WHY refuse bind mounts by default: a host path means "this machine's directory"; in a
cluster it is whichever node the pod lands on, usually empty, and a security hole when it
is not. ``--allow-hostpath`` opts in knowingly. Named volumes become claims whose size,
storage class and access mode come from labels on the top-level volume (documented in
docs/KUBERNETES.md), so the compose file stays the single source.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compose.kube import quantities
from compose.kube.context import (ACCESS_MODE_LABEL, DEFAULT_SIZE, SIZE_LABEL, STATEFUL_LABEL,
                                  STORAGE_CLASS_LABEL, Context)
from compose.kube.coverage import APPROXIMATED, REFUSED
from compose.kube.names import dns_label

_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod")


@dataclass
class Storage:
    volumes: list[dict] = field(default_factory=list)
    mounts: list[dict] = field(default_factory=list)
    claim_templates: list[dict] = field(default_factory=list)
    _targets: set = field(default_factory=set)

    def add(self, ctx: Context, service: str, volume: dict | None, mount: dict) -> None:
        if mount["mountPath"] in self._targets:
            ctx.warn_key(service, "volumes", REFUSED, f"{mount['mountPath']} is mounted twice; the first mount wins")
            return
        self._targets.add(mount["mountPath"])
        if volume is not None and all(v["name"] != volume["name"] for v in self.volumes):
            self.volumes.append(volume)
        self.mounts.append(mount)


def volume_users(ctx: Context) -> dict[str, list[str]]:
    """Named (non-external) volume -> the services that mount it."""
    users: dict[str, list[str]] = {}
    for name, svc in sorted(ctx.compose_services.items()):
        for v in svc.get("volumes") or []:
            if v.get("type") == "volume" and v.get("source"):
                users.setdefault(v["source"], [])
                if name not in users[v["source"]]:
                    users[v["source"]].append(name)
    return users


def is_stateful(ctx: Context, service: str, svc: dict, replicas: int) -> bool:
    asked = ctx.options.stateful or str((svc.get("labels") or {}).get(STATEFUL_LABEL, "")).lower() == "true"
    return asked and replicas == 1 and bool(templated_volumes(ctx, service, svc))


def templated_volumes(ctx: Context, service: str, svc: dict) -> list[str]:
    """Named volumes only this service uses: they can be a StatefulSet's claim templates."""
    users = volume_users(ctx)
    top = ctx.model.get("volumes") or {}
    return sorted({v["source"] for v in svc.get("volumes") or []
                   if v.get("type") == "volume" and v.get("source") and users.get(v["source"]) == [service]
                   and not (top.get(v["source"]) or {}).get("external")})


def claim_name(ctx: Context, source: str) -> str:
    top = (ctx.model.get("volumes") or {}).get(source) or {}
    if top.get("external"):
        return dns_label(top.get("name") or source)
    return ctx.volumes.assign(source)


def pod_storage(ctx: Context, service: str, svc: dict, stateful: bool) -> Storage:
    st = Storage()
    templated = templated_volumes(ctx, service, svc) if stateful else []
    for i, v in enumerate(svc.get("volumes") or []):
        _one_volume(ctx, service, v, i, st, templated)
    for i, spec in enumerate(svc.get("tmpfs") or []):
        path, _, opts = str(spec).partition(":")
        size = None
        for o in opts.split(","):
            if o.startswith("size="):
                size = quantities.memory(quantities.size_bytes(o[5:]))
        st.add(ctx, service, _memory_dir(f"tmpfs-{i}", size), {"name": f"tmpfs-{i}", "mountPath": path})
    if svc.get("shm_size"):
        st.add(ctx, service, _memory_dir("shm", quantities.memory(svc["shm_size"])),
               {"name": "shm", "mountPath": "/dev/shm"})
    for source in templated:
        st.claim_templates.append(claim_template(ctx, source))
    return st


def _memory_dir(name: str, size: str | None) -> dict:
    empty: dict = {"medium": "Memory"}
    if size:
        empty["sizeLimit"] = size
    return {"name": name, "emptyDir": empty}


def _one_volume(ctx: Context, service: str, v: dict, i: int, st: Storage, templated: list[str]) -> None:
    kind, target = v.get("type"), v.get("target")
    mount: dict = {"mountPath": target}
    if v.get("read_only"):
        mount["readOnly"] = True
    if kind == "volume" and v.get("source"):
        source = v["source"]
        name = claim_name(ctx, source)
        sub = (v.get("volume") or {}).get("subpath")
        if sub:
            mount["subPath"] = sub
        if source in templated:
            st.add(ctx, service, None, {**mount, "name": name})
            return
        top = (ctx.model.get("volumes") or {}).get(source) or {}
        if top.get("external"):
            ctx.warn_key(service, "volumes", APPROXIMATED,
                         f"external volume {source!r} is expected as an existing PersistentVolumeClaim {name!r}")
        st.add(ctx, service, {"name": f"vol-{name}"[:63].rstrip("-"), "persistentVolumeClaim": {"claimName": name}},
               {**mount, "name": f"vol-{name}"[:63].rstrip("-")})
    elif kind == "volume":
        ctx.warn_key(service, "volumes", APPROXIMATED,
                     f"anonymous volume at {target} -> emptyDir (gone with the pod; Docker keeps it until rm)")
        st.add(ctx, service, {"name": f"anon-{i}", "emptyDir": {}}, {**mount, "name": f"anon-{i}"})
    elif kind == "bind":
        _bind(ctx, service, v, i, st, mount)
    elif kind == "tmpfs":
        size = quantities.memory((v.get("tmpfs") or {}).get("size"))
        st.add(ctx, service, _memory_dir(f"tmpfs-v{i}", size), {**mount, "name": f"tmpfs-v{i}"})
    elif kind == "image":
        sub = (v.get("image") or {}).get("subpath")
        if sub:
            mount["subPath"] = sub
        st.add(ctx, service, {"name": f"image-{i}", "image": {"reference": v.get("source"),
                                                             "pullPolicy": "IfNotPresent"}},
               {**mount, "name": f"image-{i}", "readOnly": True})
    else:
        ctx.warn_key(service, "volumes", REFUSED, f"{kind} mount at {target}: no Kubernetes equivalent")


def _bind(ctx: Context, service: str, v: dict, i: int, st: Storage, mount: dict) -> None:
    source, target = v.get("source"), v.get("target")
    if not ctx.options.allow_hostpath:
        ctx.warn_key(service, "volumes", REFUSED,
                     f"bind mount {source} -> {target} left out: a host path names a directory of whichever "
                     "node runs the pod (--allow-hostpath maps it to hostPath; a ConfigMap or a volume is the "
                     "portable way)")
        return
    ctx.warn_key(service, "volumes", APPROXIMATED,
                 f"bind mount {source} -> {target} -> hostPath: the path must exist on every node")
    bind = v.get("bind") or {}
    propagation = _PROPAGATION.get(bind.get("propagation") or "")
    if propagation == "Bidirectional" and not ctx.compose_services[service].get("privileged"):
        ctx.warn_key(service, "volumes", APPROXIMATED,
                     f"{target}: shared propagation needs a privileged container: HostToContainer used")
        propagation = "HostToContainer"
    if propagation:
        mount["mountPropagation"] = propagation
    if bind.get("selinux"):
        ctx.warn_key(service, "volumes", REFUSED, f"{target}: SELinux relabeling (:z/:Z) is the kubelet's job")
    st.add(ctx, service, {"name": f"bind-{i}", "hostPath": {"path": source}}, {**mount, "name": f"bind-{i}"})


# Docker's bind propagation -> Kubernetes' mountPropagation (private modes are the default: None)
_PROPAGATION = {"rshared": "Bidirectional", "shared": "Bidirectional", "rslave": "HostToContainer",
                "slave": "HostToContainer"}


def _claim_spec(ctx: Context, source: str, shared: bool) -> dict:
    top = (ctx.model.get("volumes") or {}).get(source) or {}
    labels = top.get("labels") or {}
    size = labels.get(SIZE_LABEL) or DEFAULT_SIZE
    if not quantities.memory(quantities.size_bytes(size)) and not _is_quantity(size):
        ctx.warn(f'volume "{source}": {SIZE_LABEL}={size!r} is not a size; {DEFAULT_SIZE} used')
        size = DEFAULT_SIZE
    mode = labels.get(ACCESS_MODE_LABEL) or "ReadWriteOnce"
    if mode not in _ACCESS_MODES:
        ctx.warn(f'volume "{source}": {ACCESS_MODE_LABEL}={mode!r} is not one of {", ".join(_ACCESS_MODES)}; '
                 "ReadWriteOnce used")
        mode = "ReadWriteOnce"
    if shared and mode == "ReadWriteOnce":
        ctx.warn(f'volume "{source}": shared by several pods but ReadWriteOnce: they must run on one node '
                 f"(label {ACCESS_MODE_LABEL}: ReadWriteMany when the storage class allows it)")
    if top.get("driver") or top.get("driver_opts"):
        ctx.warn(f'volume "{source}": driver and driver_opts approximated: the storage class decides '
                 f"(label {STORAGE_CLASS_LABEL})")
    spec: dict = {"accessModes": [mode],
                  "resources": {"requests": {"storage": quantities.memory(quantities.size_bytes(size)) or size}}}
    if labels.get(STORAGE_CLASS_LABEL):
        spec["storageClassName"] = labels[STORAGE_CLASS_LABEL]
    return spec


def _is_quantity(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?", str(text)))


def claim_template(ctx: Context, source: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim_name(ctx, source), "labels": {"com.docker.compose.volume": source}
                         if _label_ok(source) else {}},
            "spec": _claim_spec(ctx, source, shared=False)}


def _label_ok(text: str) -> bool:
    from compose.kube.names import is_label_value

    return is_label_value(text)


def claims(ctx: Context, templated: set[str], replicas: dict[str, int]) -> list[dict]:
    """A PVC per named volume some pod mounts as a claim (not external, not templated)."""
    out = []
    top = ctx.model.get("volumes") or {}
    for source, users in sorted(volume_users(ctx).items()):
        if source in templated or (top.get(source) or {}).get("external"):
            continue
        shared = len(users) > 1 or any(replicas.get(u, 1) > 1 for u in users)
        meta: dict = {"name": claim_name(ctx, source), "namespace": ctx.namespace}
        labels, annotations = ctx.carry_labels(f'volume "{source}"', (top.get(source) or {}).get("labels"),
                                               skip=("com.pycompose.kube.",))
        if _label_ok(source):
            labels["com.docker.compose.volume"] = source
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                    "spec": _claim_spec(ctx, source, shared)})
    return out
