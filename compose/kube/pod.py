"""The pod template of a service: its container(s), volumes and the pod-wide settings.

WHY pod-level: Kubernetes puts the host namespaces, DNS, hosts entries, sysctls, groups and
the grace period on the pod, where Docker puts them on the container; the service's labels
and network membership become the pod's labels so Services and NetworkPolicies select it.
"""
from __future__ import annotations

from compose.kube import configs, quantities
from compose.kube.containers import main_container
from compose.kube.context import WAIT_ACCOUNT, Context
from compose.kube.coverage import REFUSED
from compose.kube.depends import init_containers
from compose.kube.names import is_dns_label, is_label_value, is_qualified_key, is_subdomain
from compose.kube.policies import member_networks, network_label
from compose.kube.probes import probes
from compose.kube.storage import Storage, pod_storage

SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm", "i386": "386"}


def split_labels(ctx: Context, service: str, key: str, labels: dict) -> tuple[dict, dict]:
    """Compose labels -> (Kubernetes labels, annotations for the values labels cannot hold)."""
    return ctx.carry_labels(f'service "{service}": {key}', labels)


def template(ctx: Context, service: str, svc: dict, stateful: bool, restart_policy: str | None) -> tuple[dict, Storage]:
    """``(pod template, storage)``; storage.claim_templates feed a StatefulSet."""
    storage = pod_storage(ctx, service, svc, stateful)
    configs.mounts(ctx, service, svc, storage, ctx.content)
    container = main_container(ctx, service, svc)
    container.update(probes(ctx, service, svc))
    if storage.mounts:
        container["volumeMounts"] = storage.mounts
    spec: dict = {"containers": [container], "enableServiceLinks": False}
    inits = init_containers(ctx, service, svc)
    for init in inits:
        if init["name"] == container["name"]:      # a service called wait-for-<dep>: keep names unique
            init["name"] = init["name"][:58].rstrip("-") + "-init"
    if inits:
        spec["initContainers"] = inits
        if any(c["command"][0] == "kubectl" for c in inits):
            spec["serviceAccountName"] = WAIT_ACCOUNT
    if storage.volumes:
        spec["volumes"] = storage.volumes
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    _pod_fields(ctx, service, svc, spec)
    if (container.get("lifecycle") or {}).get("stopSignal"):
        spec["os"] = {"name": "linux"}
    labels, annotations = split_labels(ctx, service, "labels", svc.get("labels") or {})
    labels.update(ctx.selector(service))
    for net in member_networks(svc):
        labels[network_label(net)] = "true"
    for k, v in sorted((svc.get("annotations") or {}).items()):
        if is_qualified_key(k):
            annotations[k] = "" if v is None else str(v)
        else:
            ctx.warn_key(service, "annotations", REFUSED, f"{k!r} is not a valid Kubernetes annotation key")
    meta: dict = {"labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}, storage


def _pod_fields(ctx: Context, service: str, svc: dict, spec: dict) -> None:
    grace = quantities.seconds(svc.get("stop_grace_period"), minimum=0)
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    if svc.get("init"):
        spec["shareProcessNamespace"] = True
    hostname = svc.get("hostname")
    if hostname:
        if is_dns_label(hostname):
            spec["hostname"] = hostname
        else:
            ctx.warn_key(service, "hostname", REFUSED, f"{hostname!r} is not a DNS label (a-z, 0-9, '-')")
    _dns(svc, spec)
    _hosts(ctx, service, svc, spec)
    _namespaces(ctx, service, svc, spec)
    _security(ctx, service, svc, spec)
    node_selector = _node_selector(ctx, service, svc)
    if node_selector:
        spec["nodeSelector"] = node_selector
    runtime = svc.get("runtime")
    if runtime and runtime != "runc":
        if is_subdomain(runtime):
            spec["runtimeClassName"] = runtime
        else:
            ctx.warn_key(service, "runtime", REFUSED, f"{runtime!r} is not a valid RuntimeClass name")


def _dns(svc: dict, spec: dict) -> None:
    cfg: dict = {}
    if svc.get("dns"):
        cfg["nameservers"] = list(svc["dns"])[:3]
    if svc.get("dns_search"):
        cfg["searches"] = list(svc["dns_search"])
    if svc.get("dns_opt"):
        opts = []
        for o in svc["dns_opt"]:
            name, sep, value = str(o).partition(":")
            opts.append({"name": name, "value": value} if sep else {"name": name})
        cfg["options"] = opts
    if cfg:
        spec["dnsConfig"] = cfg


def _hosts(ctx: Context, service: str, svc: dict, spec: dict) -> None:
    by_ip: dict[str, list[str]] = {}
    for entry in svc.get("extra_hosts") or []:
        text = str(entry)
        host, sep, ip = text.partition("=")
        if not sep:
            host, _, ip = text.partition(":")
        if ip == "host-gateway":
            ctx.warn_key(service, "extra_hosts", REFUSED, f"{host}=host-gateway: there is no Docker host in a cluster")
            continue
        ip = ip.strip("[]")
        by_ip.setdefault(ip, [])
        if host not in by_ip[ip]:
            by_ip[ip].append(host)
    if by_ip:
        spec["hostAliases"] = [{"hostnames": hosts, "ip": ip} for ip, hosts in sorted(by_ip.items())]


def _namespaces(ctx: Context, service: str, svc: dict, spec: dict) -> None:
    mode = svc.get("network_mode") or ""
    if mode == "host":
        spec["hostNetwork"] = True
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    elif mode.startswith(("service:", "container:")):
        ctx.warn_key(service, "network_mode", REFUSED,
                     f"{mode}: pods do not share network namespaces (put the containers in one pod by hand)")
    for key, field in (("pid", "hostPID"), ("ipc", "hostIPC")):
        value = svc.get(key) or ""
        if value == "host":
            spec[field] = True
            if field == "hostPID" and spec.pop("shareProcessNamespace", None):
                ctx.warn_key(service, "init", REFUSED, "pid: host already gives the host's init as PID 1 "
                             "(Kubernetes refuses shareProcessNamespace with hostPID)")
        elif value.startswith(("service:", "container:")):
            ctx.warn_key(service, key, REFUSED, f"{value}: namespaces are not shared across pods")
    if svc.get("cgroup") == "host":
        ctx.warn_key(service, "cgroup", REFUSED, "host cgroup namespace: every pod has its own")
    mode = svc.get("userns_mode") or ""
    if mode == "host":
        spec["hostUsers"] = True
    elif mode:
        ctx.warn_key(service, "userns_mode", REFUSED, f"{mode!r}: only `host` has a Kubernetes equivalent")


def _security(ctx: Context, service: str, svc: dict, spec: dict) -> None:
    psc: dict = {}
    groups = []
    for g in svc.get("group_add") or []:
        if str(g).isdigit():
            groups.append(int(g))
        else:
            ctx.warn_key(service, "group_add", REFUSED, f"group {g!r} is a name; Kubernetes needs numeric groups")
    if groups:
        psc["supplementalGroups"] = sorted(set(groups))
    sysctls = []
    for name, value in sorted((svc.get("sysctls") or {}).items()):
        if name in SAFE_SYSCTLS and not spec.get("hostNetwork"):
            sysctls.append({"name": name, "value": str(value)})
        else:
            ctx.warn_key(service, "sysctls", REFUSED,
                         f"{name} is not one of Kubernetes' safe sysctls (kubelets must allow it explicitly)")
    if sysctls:
        psc["sysctls"] = sysctls
    if psc:
        spec["securityContext"] = psc


def _node_selector(ctx: Context, service: str, svc: dict) -> dict:
    sel: dict = {}
    platform = svc.get("platform")
    if platform:
        parts = str(platform).split("/")
        sel["kubernetes.io/os"] = parts[0]
        if len(parts) > 1:
            sel["kubernetes.io/arch"] = _ARCH.get(parts[1], parts[1])
    placement = ((svc.get("deploy") or {}).get("placement") or {})
    for c in placement.get("constraints") or []:
        key, sep, value = str(c).partition("==")
        key, value = key.strip(), value.strip()
        mapped = {"node.hostname": "kubernetes.io/hostname", "node.platform.os": "kubernetes.io/os",
                  "node.platform.arch": "kubernetes.io/arch"}.get(key)
        if key.startswith("node.labels."):
            mapped = key[len("node.labels."):]
        if sep and mapped and is_qualified_key(mapped) and is_label_value(value):
            sel[mapped] = _ARCH.get(value, value) if mapped == "kubernetes.io/arch" else value
        else:
            ctx.warn_key(service, "deploy", REFUSED, f"placement constraint {c!r} has no nodeSelector equivalent")
    if placement.get("preferences") or placement.get("max_replicas_per_node"):
        ctx.warn_key(service, "deploy", REFUSED, "placement preferences and max_replicas_per_node are not mapped "
                     "(topologySpreadConstraints are the Kubernetes tool)")
    return sel
