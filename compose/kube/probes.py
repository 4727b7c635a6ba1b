"""A compose healthcheck as Kubernetes probes.

WHY readiness and liveness both: Docker's health status gates ``service_healthy``
dependents (readiness: traffic and the dependents' waits) and, with a restart policy
watcher, unhealthy containers get replaced (liveness). ``start_period`` delays the first
verdict (initialDelaySeconds); ``start_interval`` probes faster during that period, which is
what a startupProbe does.
"""
from __future__ import annotations

from compose.kube import quantities
from compose.kube.containers import escape
from compose.kube.context import Context
from compose.kube.coverage import APPROXIMATED, REFUSED
from engine.values import format_duration


def exec_command(ctx: Context, service: str, test) -> list[str] | None:
    """CMD -> the argv itself; CMD-SHELL (or a plain string) -> /bin/sh -c; NONE -> None."""
    if isinstance(test, str):
        return ["/bin/sh", "-c", escape(test)]
    if not test:
        return None
    kind, args = test[0], [escape(str(a)) for a in test[1:]]
    if kind == "NONE":
        return None
    if kind == "CMD":
        return args or None
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(args)] if args else None
    ctx.warn_key(service, "healthcheck", REFUSED, f"test kind {kind!r} is not CMD or CMD-SHELL")
    return None


def probes(ctx: Context, service: str, svc: dict) -> dict:
    """``{"readinessProbe": ..., "livenessProbe": ..., "startupProbe": ...}`` (empty: no probes)."""
    hc = svc.get("healthcheck") or {}
    if not hc or hc.get("disable"):
        return {}
    command = exec_command(ctx, service, hc.get("test"))
    if not command:
        return {}
    base: dict = {"exec": {"command": command}}
    period = quantities.seconds(_or_default(hc.get("interval")))
    timeout = quantities.seconds(_or_default(hc.get("timeout")))
    retries = hc.get("retries") if hc.get("retries") is not None else 3
    start = quantities.seconds(hc.get("start_period"), minimum=0) or 0
    base["periodSeconds"] = period
    base["timeoutSeconds"] = timeout
    base["failureThreshold"] = max(1, int(retries))
    out: dict = {}
    if hc.get("start_interval") is not None and start:
        every = quantities.seconds(hc["start_interval"])
        # probe every start_interval until healthy, for as long as start_period lasts
        out["startupProbe"] = {"exec": {"command": command}, "periodSeconds": every, "timeoutSeconds": timeout,
                               "failureThreshold": -(-start // every) + max(1, int(retries))}
        if hc["start_interval"] % 1_000_000_000:
            ctx.warn_key(service, "healthcheck", APPROXIMATED,
                         f"start_interval {format_duration(hc['start_interval'])} rounded up to {every}s "
                         "(probes count in seconds)")
        out["readinessProbe"] = dict(base)
        out["livenessProbe"] = dict(base)
        return out
    if start:
        base["initialDelaySeconds"] = start
    out["readinessProbe"] = dict(base)
    out["livenessProbe"] = dict(base)
    return out


def _or_default(ns: int | None) -> int:
    """Docker's 30s when a healthcheck leaves the interval or timeout out."""
    return 30_000_000_000 if ns is None else ns
