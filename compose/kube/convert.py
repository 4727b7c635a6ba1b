"""The conversion: a compose model in, Kubernetes objects and warnings out.

WHY from the model: it is the fully resolved project ``pycompose config`` prints (extends,
include, profiles, interpolation and env_file already applied), so the cluster runs exactly
what ``up`` would run here. Pure: no engine, no files written (configs and secrets files are
read for their content); layouts (kustomize, plain, helm) are the writers' job.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compose.kube import configs, coverage, depends, policies, services, storage, workloads
from compose.kube.context import Context, Options
from compose.kube.coverage import APPROXIMATED
from compose.kube.pod import template


@dataclass
class Bundle:
    """What a layout writes: each object with its file stem, in a stable order."""

    namespace: str
    objects: list[tuple[str, dict]] = field(default_factory=list)
    published: dict[str, dict] = field(default_factory=dict)   # file stem -> the patch publishing it
    helm: dict[str, dict] = field(default_factory=dict)        # service -> image, replicas, kind
    warnings: list[str] = field(default_factory=list)


def convert(project_name: str, model: dict, environment: dict[str, str], options: Options) -> Bundle:
    ctx = Context(project_name, model, environment, options)
    bundle = Bundle(ctx.namespace)
    names = sorted(ctx.compose_services)
    for s in names:
        if ctx.name(s) != s:
            ctx.warn_key(s, "name", APPROXIMATED, f"named {ctx.name(s)!r} in Kubernetes (DNS names take a-z, 0-9 "
                         f"and '-'); other services must call it {ctx.name(s)!r}")
    ctx.jobs = depends.job_services(ctx)
    bundle.objects.append((f"0-{ctx.namespace}-namespace", _namespace(ctx)))
    used = {"configs": set(), "secrets": set()}
    for svc in ctx.compose_services.values():
        for section in used:
            used[section].update(r.get("source") for r in svc.get(section) or [])
    content = configs.objects(ctx, used)
    waits = depends.wait_targets(ctx)
    templated: set[str] = set()
    published_ports: dict[str, list[dict]] = {}
    counts = {s: workloads.replicas(ctx.compose_services[s]) for s in names}
    for s in names:
        templated |= _service_objects(ctx, bundle, s, waits.get(s, set()), published_ports)
    for obj in storage.claims(ctx, templated, counts):
        bundle.objects.append((f"{obj['metadata']['name']}-persistentvolumeclaim", obj))
    for obj in content:
        bundle.objects.append((f"{obj['metadata']['name']}-{obj['kind'].lower()}", obj))
    for obj in policies.network_policies(ctx, published_ports):
        bundle.objects.append((obj["metadata"]["name"], obj))
    _network_warnings(ctx)
    if ctx.waits_on_jobs:
        for obj in depends.rbac(ctx):
            bundle.objects.append((f"{obj['metadata']['name']}-{obj['kind'].lower()}", obj))
    bundle.objects = _unique_stems(bundle.objects)
    bundle.warnings = list(ctx.warnings)
    return bundle


def _namespace(ctx: Context) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ctx.namespace, "labels": {"com.docker.compose.project": ctx.namespace_label}}}


def _service_objects(ctx: Context, bundle: Bundle, service: str, conditions: set[str],
                     published_ports: dict[str, list[dict]]) -> set[str]:
    """Adds the service's workload and Services; returns the volumes it templates."""
    svc = ctx.compose_services[service]
    for line in coverage.key_warnings(service, svc):
        ctx.warn(line)
    n = workloads.replicas(svc)
    mode = (svc.get("deploy") or {}).get("mode") or "replicated"
    stateful = service not in ctx.jobs and mode == "replicated" and storage.is_stateful(ctx, service, svc, n)
    kind = workloads.kind_of(ctx, service, svc, stateful)
    restart_policy, backoff = workloads.pod_restart_policy(ctx, service, svc, kind)
    pod, st = template(ctx, service, svc, stateful and kind == "StatefulSet", restart_policy)
    governing = depends.pods_name(ctx, service) if kind == "StatefulSet" else None
    wl = workloads.workload(ctx, service, svc, kind, pod, st.claim_templates, backoff, governing)
    name = ctx.name(service)
    bundle.objects.append((f"{name}-{kind.lower()}", wl))
    bundle.helm[service] = {"image": ctx.image(service), "replicas": n, "kind": kind, "name": name}
    for obj in services.dns_services(ctx, service, svc):
        bundle.objects.append((f"{obj['metadata']['name']}-service", obj))
    for obj in services.wait_services(ctx, service, conditions, kind == "StatefulSet"):
        bundle.objects.append((f"{obj['metadata']['name']}-service", obj))
    published = services.published_service(ctx, service, svc)
    if published is not None:
        pub, patch = published
        stem = f"{pub['metadata']['name']}-service"
        bundle.objects.append((stem, pub))
        bundle.published[stem] = patch
        published_ports[service] = pub["spec"]["ports"]
    return {v for v in storage.templated_volumes(ctx, service, svc)} if kind == "StatefulSet" else set()


def _network_warnings(ctx: Context) -> None:
    used = {n for s in ctx.compose_services.values() for n in policies.member_networks(s)}
    for net in sorted(used):
        spec = (ctx.model.get("networks") or {}).get(net) or {}
        if (spec.get("ipam") or {}).get("config"):
            ctx.warn(f'network "{net}": ipam refused: pod addresses come from the cluster network (CNI)')
        if spec.get("driver") not in (None, "", "bridge", "overlay"):
            ctx.warn(f'network "{net}": driver {spec["driver"]} refused: NetworkPolicies only separate traffic')
        if spec.get("driver_opts") or spec.get("attachable"):
            ctx.warn(f'network "{net}": driver_opts/attachable refused: no Kubernetes counterpart')
        if spec.get("enable_ipv6"):
            ctx.warn(f'network "{net}": enable_ipv6 approximated: dual stack is a cluster setting')
    for s, svc in sorted(ctx.compose_services.items()):
        for net, cfg in sorted((svc.get("networks") or {}).items()):
            fixed = [k for k in ("ipv4_address", "ipv6_address", "mac_address", "link_local_ips", "interface_name",
                                 "driver_opts", "gw_priority", "priority") if (cfg or {}).get(k)]
            if fixed:
                ctx.warn_key(s, "networks", "refused",
                             f"{net}: {', '.join(fixed)} left out: the CNI plugin sets up pod interfaces")


def _unique_stems(objects: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    seen: dict[str, int] = {}
    out = []
    for stem, obj in objects:
        if stem in seen:
            seen[stem] += 1
            stem = f"{stem}-{seen[stem]}"
        else:
            seen[stem] = 1
        out.append((stem, obj))
    return out
