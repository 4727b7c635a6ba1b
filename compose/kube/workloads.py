"""The workload object of a service: Deployment, DaemonSet, StatefulSet or Job.

WHY Recreate by default: ``pycompose up`` stops the old container before starting the new
one, and a ReadWriteOnce claim cannot be mounted by two pods on different nodes; a rolling
update is used only when ``deploy.update_config`` asks for one.
"""
from __future__ import annotations

from compose.kube.context import Context
from compose.kube.coverage import APPROXIMATED, REFUSED
from compose.kube.pod import split_labels


def replicas(svc: dict) -> int:
    deploy = svc.get("deploy") or {}
    if deploy.get("replicas") is not None:
        return int(deploy["replicas"])
    if svc.get("scale") is not None:
        return int(svc["scale"])
    return 1


def kind_of(ctx: Context, service: str, svc: dict, stateful: bool) -> str:
    mode = (svc.get("deploy") or {}).get("mode") or "replicated"
    if service in ctx.jobs or mode in ("replicated-job", "global-job"):
        return "Job"
    if mode == "global":
        return "DaemonSet"
    return "StatefulSet" if stateful else "Deployment"


def _restart(svc: dict) -> tuple[str, int | None]:
    """(compose restart condition, max attempts) from restart or deploy.restart_policy."""
    policy = (svc.get("deploy") or {}).get("restart_policy") or {}
    if policy.get("condition"):
        cond = {"none": "no", "on-failure": "on-failure", "any": "always"}.get(policy["condition"], "always")
        return cond, policy.get("max_attempts")
    restart = svc.get("restart") or ""
    if restart.startswith("on-failure"):
        _, _, n = restart.partition(":")
        return "on-failure", int(n) if n.isdigit() else None
    return restart or "no", None


def pod_restart_policy(ctx: Context, service: str, svc: dict, kind: str) -> tuple[str | None, int | None]:
    """(restartPolicy to set, Job backoffLimit)."""
    cond, attempts = _restart(svc)
    policy = (svc.get("deploy") or {}).get("restart_policy") or {}
    if policy.get("delay") is not None or policy.get("window") is not None:
        ctx.warn_key(service, "deploy", APPROXIMATED,
                     "restart_policy delay/window: the kubelet restarts with its own exponential back-off")
    if kind == "Job":
        if cond in ("always", "unless-stopped"):
            ctx.warn_key(service, "restart", APPROXIMATED, f"{cond}: a Job's pod restarts only on failure")
        policy = "Never" if cond == "no" else "OnFailure"
        return policy, (attempts if attempts is not None else (0 if cond == "no" else 6))
    if cond in ("no", "on-failure") and (svc.get("restart") or (svc.get("deploy") or {}).get("restart_policy")):
        ctx.warn_key(service, "restart", APPROXIMATED,
                     f"{cond}: a {kind} always restarts its pods (Kubernetes accepts only restartPolicy "
                     "Always there); run one-shot services as Jobs (another service's "
                     "depends_on: service_completed_successfully does that)")
    return None, None


def _strategy(ctx: Context, service: str, svc: dict) -> dict:
    update = (svc.get("deploy") or {}).get("update_config") or {}
    if not update:
        return {"type": "Recreate"}
    step = int(update.get("parallelism") or 1) or 1
    if update.get("order") == "start-first":
        rolling = {"maxSurge": step, "maxUnavailable": 0}
    else:
        rolling = {"maxSurge": 0, "maxUnavailable": step}
    if any(update.get(k) for k in ("delay", "failure_action", "monitor", "max_failure_ratio")):
        ctx.warn_key(service, "deploy", APPROXIMATED,
                     "update_config: only parallelism and order map to the rolling update")
    return {"type": "RollingUpdate", "rollingUpdate": rolling}


def workload(ctx: Context, service: str, svc: dict, kind: str, pod: dict, claim_templates: list[dict],
             backoff: int | None, governing_service: str | None) -> dict:
    labels, annotations = split_labels(ctx, service, "deploy", (svc.get("deploy") or {}).get("labels") or {})
    labels.update(ctx.selector(service))
    meta: dict = {"name": ctx.name(service), "namespace": ctx.namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    n = replicas(svc)
    api = "batch/v1" if kind == "Job" else "apps/v1"
    if kind == "Job":
        spec: dict = {"backoffLimit": backoff or 0, "completions": max(1, n), "parallelism": max(1, n),
                      "template": pod}
    else:
        spec = {"selector": {"matchLabels": ctx.selector(service)}, "template": pod}
        if kind != "DaemonSet":
            spec["replicas"] = n
        if kind == "Deployment":
            spec["strategy"] = _strategy(ctx, service, svc)
        if kind == "StatefulSet":
            spec["serviceName"] = governing_service
            spec["volumeClaimTemplates"] = claim_templates
        if (svc.get("deploy") or {}).get("rollback_config"):
            ctx.warn_key(service, "deploy", REFUSED, "rollback_config: use kubectl rollout undo")
        if kind == "DaemonSet" and (svc.get("deploy") or {}).get("replicas") is not None:
            ctx.warn_key(service, "deploy", REFUSED, "replicas with mode global: one pod per node")
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}
