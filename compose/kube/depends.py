"""``depends_on`` as init containers, and the Jobs ``service_completed_successfully`` needs.

WHY init containers: Kubernetes starts every pod at once; an init container that only
returns once the dependency is there gives Compose's start order back without a controller.
They ask the cluster DNS, which already knows what Compose's conditions mean:

* ``service_started``: ``<dep>-pods``, a headless Service that publishes not-ready
  addresses, resolves as soon as one of the dependency's pods runs;
* ``service_healthy``: ``<dep>-ready``, a headless Service of ready endpoints only, resolves
  once a pod passed its readiness probe (the dependency's healthcheck);
* ``service_completed_successfully``: the dependency runs as a Job and ``kubectl wait``
  (ServiceAccount ``compose-wait``, allowed to read Jobs) returns once it completed.
"""
from __future__ import annotations

from compose.kube.context import KUBECTL_IMAGE, WAIT_ACCOUNT, WAIT_IMAGE, Context
from compose.kube.coverage import APPROXIMATED
from compose.kube.names import dns_label

STARTED, HEALTHY, COMPLETED = "service_started", "service_healthy", "service_completed_successfully"

_WAIT_SCRIPT = ('until nslookup "$SERVICE.$NAMESPACE.svc.$CLUSTER_DOMAIN" >/dev/null 2>&1; '
                'do echo "waiting for $SERVICE"; sleep 2; done')

_RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
               "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65534,
               "runAsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}}


def job_services(ctx: Context) -> set[str]:
    """Services another service waits on with service_completed_successfully."""
    out = set()
    for svc in ctx.compose_services.values():
        for dep, cfg in (svc.get("depends_on") or {}).items():
            if (cfg or {}).get("condition") == COMPLETED and dep in ctx.compose_services:
                out.add(dep)
    return out


def wait_targets(ctx: Context) -> dict[str, set[str]]:
    """Dependency -> the conditions some service waits for on it (started/healthy)."""
    out: dict[str, set[str]] = {}
    for svc in ctx.compose_services.values():
        for dep, cfg in (svc.get("depends_on") or {}).items():
            cond = (cfg or {}).get("condition") or STARTED
            if dep in ctx.compose_services and cond in (STARTED, HEALTHY):
                out.setdefault(dep, set()).add(cond)
    return out


def pods_name(ctx: Context, service: str) -> str:
    return ctx.services.derived((service, "pods"), f"{ctx.name(service)}-pods")


def ready_name(ctx: Context, service: str) -> str:
    return ctx.services.derived((service, "ready"), f"{ctx.name(service)}-ready")


def init_containers(ctx: Context, service: str, svc: dict) -> list[dict]:
    out = []
    for dep, cfg in sorted((svc.get("depends_on") or {}).items()):
        if dep not in ctx.compose_services:
            continue
        cond = (cfg or {}).get("condition") or STARTED
        if (cfg or {}).get("restart"):
            ctx.warn_key(service, "depends_on", APPROXIMATED,
                         f"{dep}: restart: true has no counterpart (pods are not restarted with their dependencies)")
        if cond == COMPLETED:
            out.append(_job_wait(ctx, dep))
            continue
        if cond == HEALTHY:
            dep_hc = ctx.compose_services[dep].get("healthcheck") or {}
            if not dep_hc or dep_hc.get("disable"):
                ctx.warn_key(service, "depends_on", APPROXIMATED,
                             f"{dep} has no healthcheck: service_healthy waits until its pods are ready (running)")
            target = ready_name(ctx, dep)
        else:
            target = pods_name(ctx, dep)
        out.append(_dns_wait(ctx, dep, target))
    return out


def _dns_wait(ctx: Context, dep: str, target: str) -> dict:
    return {
        "name": dns_label(f"wait-for-{ctx.name(dep)}"),
        "image": WAIT_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", _WAIT_SCRIPT],
        "env": [{"name": "CLUSTER_DOMAIN", "value": "cluster.local"},
                {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "SERVICE", "value": target}],
        "securityContext": dict(_RESTRICTED),
    }


def _job_wait(ctx: Context, dep: str) -> dict:
    ctx.waits_on_jobs = True
    return {
        "name": dns_label(f"wait-for-{ctx.name(dep)}"),
        "image": KUBECTL_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["kubectl", "wait", "--for=condition=complete", "--timeout=-1s", f"job/{ctx.name(dep)}"],
        "securityContext": dict(_RESTRICTED),
    }


def rbac(ctx: Context) -> list[dict]:
    """The ServiceAccount the Job waits run as, allowed to read Jobs in the namespace only."""
    meta = {"name": WAIT_ACCOUNT, "namespace": ctx.namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": dict(meta),
         "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": dict(meta),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": WAIT_ACCOUNT},
         "subjects": [{"kind": "ServiceAccount", "name": WAIT_ACCOUNT, "namespace": ctx.namespace}]},
    ]
