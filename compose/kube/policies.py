"""NetworkPolicies that reproduce the compose networks.

WHY this shape: in Compose two containers can talk only when they share a network. Each pod
carries one label per network it joins; a namespace-wide policy denies all ingress, and one
policy per network admits ingress from pods of that network (policies add up, so a pod on two
networks admits both). Published ports admit ingress from anywhere on their target ports. An
``internal`` network also has no way out: its pods may reach only that network and the
cluster DNS, unless they also join a routed network (whose policy then admits all egress).
"""
from __future__ import annotations

from compose.kube.context import NETWORK_LABEL, Context
from compose.kube.names import dns_label


def network_label(net: str) -> str:
    return f"{NETWORK_LABEL}.{dns_label(net, limit=63 - len(NETWORK_LABEL) - 1)}"


def member_networks(svc: dict) -> list[str]:
    """Networks whose policies apply to the service's pods (none with network_mode)."""
    if svc.get("network_mode"):
        return []
    return sorted(svc.get("networks") or {})


def _meta(ctx: Context, name: str) -> dict:
    return {"name": name, "namespace": ctx.namespace}


def network_policies(ctx: Context, published: dict[str, list[dict]]) -> list[dict]:
    """``published``: service -> its published Service ports (for the ingress exceptions)."""
    out = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(ctx, "default-deny-ingress"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]
    used = sorted({n for s in ctx.compose_services.values() for n in member_networks(s)})
    networks = ctx.model.get("networks") or {}
    any_internal = any((networks.get(n) or {}).get("internal") for n in used)
    for net in used:
        sel = {"matchLabels": {network_label(net): "true"}}
        spec: dict = {"podSelector": sel, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": sel}]}]}
        if (networks.get(net) or {}).get("internal"):
            spec["policyTypes"].append("Egress")
            spec["egress"] = [{"to": [{"podSelector": sel}]},
                              {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                               "to": [{"namespaceSelector": {}}]}]
        elif any_internal:
            # egress rules add up: a pod also on this (routed) network keeps its way out
            spec["policyTypes"].append("Egress")
            spec["egress"] = [{}]
        meta = _meta(ctx, dns_label(f"{net}-network-policy"))
        labels, annotations = ctx.carry_labels(f'network "{net}"', (networks.get(net) or {}).get("labels"))
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec})
    for service, svc in sorted(ctx.compose_services.items()):
        if svc.get("network_mode") == "none":
            out.append(_no_network(ctx, service, svc))
    for service in sorted(published):
        ports = published[service]
        if not ports:
            continue
        allowed = []
        for p in ports:
            entry = {"port": p["targetPort"], "protocol": p["protocol"]}
            if entry not in allowed:
                allowed.append(entry)
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": _meta(ctx, dns_label(f"{ctx.name(service)}-published-ingress")),
                    "spec": {"podSelector": {"matchLabels": ctx.selector(service)}, "policyTypes": ["Ingress"],
                             "ingress": [{"ports": allowed}]}})
    return out


def _no_network(ctx: Context, service: str, svc: dict) -> dict:
    """``network_mode: none``: no egress either (DNS stays open for the depends_on waits)."""
    egress = []
    if svc.get("depends_on"):
        egress = [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                   "to": [{"namespaceSelector": {}}]}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(ctx, dns_label(f"{ctx.name(service)}-no-network")),
            "spec": {"podSelector": {"matchLabels": ctx.selector(service)}, "policyTypes": ["Egress"],
                     "egress": egress}}
