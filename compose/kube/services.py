"""Services: DNS by name, aliases, waits and published ports.

WHY several per compose service: Compose's embedded DNS answers the service name, every
network alias and link alias; published ports are reachable from outside. Kubernetes splits
these: ``<service>`` (ClusterIP on the ports other services use, headless when there are
none so the name still resolves), one Service per alias, ``<service>-published`` for the
outside (LoadBalancer or NodePort; ClusterIP in the kustomize base, the overlay picks the
type), and the headless ``-pods``/``-ready`` names the depends_on waits resolve.
"""
from __future__ import annotations

from compose.kube.containers import service_ports
from compose.kube.context import Context
from compose.kube.coverage import APPROXIMATED, REFUSED
from compose.kube.depends import pods_name, ready_name
from compose.kube.names import is_dns_label, port_name


def _service(ctx: Context, name: str, service: str, spec: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ctx.namespace, "labels": ctx.selector(service)},
            "spec": {"selector": ctx.selector(service), **spec}}


def _dns_spec(ctx: Context, service: str, svc: dict) -> dict:
    ports = service_ports(ctx, service, svc)
    dnsrr = (svc.get("deploy") or {}).get("endpoint_mode") == "dnsrr"
    spec: dict = {}
    if ports:
        spec["ports"] = [{"name": port_name(proto, p), "port": p, "protocol": proto, "targetPort": p}
                         for p, proto in ports]
    if dnsrr or not ports:
        spec["clusterIP"] = "None"
    else:
        spec["type"] = "ClusterIP"
    return spec


def dns_services(ctx: Context, service: str, svc: dict) -> list[dict]:
    """``<service>`` itself plus one Service per alias (network aliases, link aliases to it)."""
    out = [_service(ctx, ctx.name(service), service, _dns_spec(ctx, service, svc))]
    for alias in aliases(ctx, service):
        out.append(_service(ctx, alias, service, _dns_spec(ctx, service, svc)))
    return out


def aliases(ctx: Context, service: str) -> list[str]:
    svc = ctx.compose_services[service]
    wanted: list[tuple[str, str, str]] = []   # (alias, declared by service, key)
    for net in sorted(svc.get("networks") or {}):
        for a in ((svc["networks"] or {}).get(net) or {}).get("aliases") or []:
            wanted.append((a, service, "networks"))
    for other, osvc in sorted(ctx.compose_services.items()):
        for link in osvc.get("links") or []:
            target, _, alias = str(link).partition(":")
            if target == service and alias:
                wanted.append((alias, other, "links"))
    out = []
    for alias, owner, key in wanted:
        if alias == service or alias in out:
            continue
        if not is_dns_label(alias) or not alias[0].isalpha():
            ctx.warn_key(owner, key, REFUSED, f"alias {alias!r} is not a valid Service name (a-z, 0-9, '-')")
            continue
        if not ctx.services.reserve(alias):
            ctx.warn_key(owner, key, REFUSED, f"alias {alias!r} is already the name of another Service")
            continue
        out.append(alias)
    return out


def wait_services(ctx: Context, service: str, conditions: set[str], stateful: bool) -> list[dict]:
    """Headless names for the depends_on waits (and a StatefulSet's governing Service)."""
    out = []
    if "service_started" in conditions or stateful:
        out.append(_service(ctx, pods_name(ctx, service), service,
                            {"clusterIP": "None", "publishNotReadyAddresses": True}))
    if "service_healthy" in conditions:
        out.append(_service(ctx, ready_name(ctx, service), service, {"clusterIP": "None"}))
    return out


def published_ports(ctx: Context, service: str, svc: dict) -> list[dict]:
    out: list[dict] = []
    seen = set()
    for port in svc.get("ports") or []:
        target = port.get("target")
        published = str(port.get("published") or "")
        if not target:
            continue
        if not published or published == "0":
            published = str(target)   # a random host port in Compose: the target port here
        if port.get("host_ip"):
            ctx.warn_key(service, "ports", REFUSED,
                         f"host_ip {port['host_ip']} left out: a Service listens on every node address")
        if "-" in published:
            ctx.warn_key(service, "ports", APPROXIMATED, f"published range {published}: its first port is used")
            published = published.split("-")[0]
        proto = str(port.get("protocol") or "tcp").upper()
        key = (int(published), proto)
        if key in seen:
            ctx.warn_key(service, "ports", REFUSED, f"{published}/{proto.lower()} is published twice; first kept")
            continue
        seen.add(key)
        name = str(port.get("name") or "")
        if name and not (len(name) <= 15 and is_dns_label(name) and name[0].isalpha()):
            ctx.warn_key(service, "ports", APPROXIMATED, f"port name {name!r} is not an IANA service name: "
                         f"{port_name(proto, int(published))} used")
            name = ""
        entry = {"name": name or port_name(proto, int(published)), "port": int(published), "protocol": proto,
                 "targetPort": int(target)}
        if port.get("app_protocol"):
            entry["appProtocol"] = str(port["app_protocol"])
        if port.get("mode") == "host":
            ctx.warn_key(service, "ports", APPROXIMATED,
                         f"{published}/{proto.lower()} mode host: published by the Service, not on each node's port")
        out.append(entry)
    return sorted(out, key=lambda p: (p["port"], p["protocol"]))


def published_service(ctx: Context, service: str, svc: dict) -> tuple[dict, dict] | None:
    """``(<service>-published as ClusterIP, the spec patch that publishes it)``: LoadBalancer,
    or NodePort with node ports equal to the published ports where the range allows."""
    ports = published_ports(ctx, service, svc)
    if not ports:
        return None
    base = _service(ctx, published_name(ctx, service), service, {"ports": ports, "type": "ClusterIP"})
    if ctx.options.publish != "nodeport":
        return base, {"type": "LoadBalancer"}
    node_ports = [{"name": p["name"], "port": p["port"], "protocol": p["protocol"]} for p in ports]
    apply_node_ports(ctx, service, node_ports)
    patch: dict = {"type": "NodePort"}
    if any("nodePort" in p for p in node_ports):
        patch["ports"] = [p for p in node_ports if "nodePort" in p]
    return base, patch


def patched(service_obj: dict, patch: dict) -> dict:
    """The published Service with the patch applied (what kustomize renders from the overlay)."""
    import copy

    out = copy.deepcopy(service_obj)
    out["spec"]["type"] = patch["type"]
    by_port = {(p["port"], p["protocol"]): p for p in patch.get("ports") or []}
    for p in out["spec"]["ports"]:
        extra = by_port.get((p["port"], p["protocol"]))
        if extra and "nodePort" in extra:
            p["nodePort"] = extra["nodePort"]
    return out


def published_name(ctx: Context, service: str) -> str:
    return ctx.services.derived((service, "published"), f"{ctx.name(service)}-published")


def apply_node_ports(ctx: Context, service: str, ports: list[dict]) -> None:
    for p in ports:
        if 30000 <= p["port"] <= 32767:
            p["nodePort"] = p["port"]
        else:
            ctx.warn_key(service, "ports", APPROXIMATED,
                         f"{p['port']} is outside the NodePort range 30000-32767: the cluster picks the node port")
