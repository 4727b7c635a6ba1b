"""``pycompose ps``: the project's containers, Docker Compose v2's table or one JSON object per line."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from compose import convert as cv
from compose.backend import labels, open_backend, short_name
from compose.errors import UsageError
from engine.values import human_duration, parse_rfc3339

HELP = "List containers"
STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def add_arguments(parser, command) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("-a", "--all", action="store_true", help="Show all stopped containers")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    parser.add_argument("--services", dest="list_services", action="store_true", help="Display services")
    parser.add_argument("--status", action="append", default=[], help="Filter services by status")
    parser.add_argument("--filter", action="append", default=[], help="Filter services by a property (status)")
    parser.add_argument("--format", default="table", help="Format the output: table or json")
    parser.add_argument("--no-trunc", action="store_true")
    parser.add_argument("--orphans", action="store_true", default=True)


def human_ago(created: float | int | str | None) -> str:
    """Docker's CREATED column: go-units' HumanDuration since ``created`` plus " ago"."""
    if created is None:
        return ""
    if isinstance(created, str):
        try:
            created = parse_rfc3339(created) / 1e9
        except ValueError:
            return created
    return human_duration(max(0.0, time.time() - float(created))) + " ago"


def ports_text(ports: list[dict] | None) -> str:
    """``0.0.0.0:8080->80/tcp, 443/tcp`` like docker ps."""
    out = []
    for p in sorted(ports or [], key=lambda p: (p.get("PrivatePort", 0), p.get("PublicPort", 0) or 0)):
        priv = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort"):
            ip = p.get("IP") or "0.0.0.0"
            host = f"[{ip}]" if ":" in ip else ip
            out.append(f"{host}:{p['PublicPort']}->{priv}")
        else:
            out.append(priv)
    seen, uniq = set(), []
    for x in out:
        if x not in seen:
            seen.add(x)
            uniq.append(x)
    return ", ".join(uniq)


def wanted_statuses(args) -> set[str]:
    st = set(args.status)
    for f in args.filter:
        key, sep, value = f.partition("=")
        if not sep or key != "status":
            raise UsageError(f"invalid filter {f!r}: only status=<status> is supported by compose ps")
        st.add(value)
    for s in st:
        if s not in STATUSES:
            raise UsageError(f"invalid status {s!r}: one of {', '.join(STATUSES)}")
    return st


def run(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, labels_only=True)
    b.check_services(args.services)
    statuses = wanted_statuses(args)
    cs = b.containers(args.services or None, all=args.all or bool(statuses), oneoff=None)
    if statuses:
        cs = [c for c in cs if c.get("State") in statuses]
    if args.list_services:
        seen = []
        for c in cs:
            s = labels(c).get(cv.SERVICE)
            if s and s not in seen:
                seen.append(s)
        if not cs and b.project and not statuses:
            seen = list(b.project.services)
        print("\n".join(seen)) if seen else None
        return 0
    if args.quiet:
        for c in cs:
            print(c["Id"])
        return 0
    rows = [row(c) for c in cs]
    if args.format == "json":
        for r in rows:
            print(json.dumps(r))
        return 0
    if args.format != "table":
        raise UsageError(f"invalid --format {args.format!r}: table or json")
    heads = ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    table = [[r["Name"], r["Image"], json.dumps(r["Command"][:20] + ("…" if len(r["Command"]) > 20 else ""),
                                                ensure_ascii=False), r["Service"], r["RunningFor"], r["Status"],
              r["Ports"]] for r in rows]
    widths = [max([len(h)] + [len(t[i]) for t in table]) for i, h in enumerate(heads)]
    print("   ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
    for t in table:
        print("   ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip())
    return 0


def row(c: dict) -> dict:
    """One container as Docker Compose v2's ``ps --format json`` prints it."""
    lb = labels(c)
    return {
        "Command": c.get("Command", ""),
        "CreatedAt": _created_at(c.get("Created")),
        "ExitCode": _exit_code(c),
        "Health": _health(c.get("Status", "")),
        "ID": c["Id"][:12],
        "Image": c.get("Image", ""),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(lb.items())),
        "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Type") == "volume")),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in c.get("Mounts") or []),
        "Name": short_name(c),
        "Names": short_name(c),
        "Networks": ",".join(((c.get("NetworkSettings") or {}).get("Networks") or {}).keys()),
        "Ports": ports_text(c.get("Ports")),
        "Project": lb.get(cv.PROJECT, ""),
        "Publishers": [{"URL": p.get("IP", ""), "TargetPort": p.get("PrivatePort"),
                        "PublishedPort": p.get("PublicPort", 0) or 0, "Protocol": p.get("Type", "tcp")}
                       for p in c.get("Ports") or []],
        "RunningFor": human_ago(c.get("Created")),
        "Service": lb.get(cv.SERVICE, ""),
        "Size": "0B",
        "State": c.get("State", ""),
        "Status": c.get("Status", ""),
    }


def _created_at(created) -> str:
    if isinstance(created, (int, float)):
        return datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
    return str(created or "")


def _exit_code(c: dict) -> int:
    status = c.get("Status", "")
    if status.startswith("Exited (") and ")" in status:
        try:
            return int(status[len("Exited ("):status.index(")")])
        except ValueError:
            return 0
    return 0


def _health(status: str) -> str:
    for h in ("unhealthy", "healthy", "health: starting"):
        if f"({h})" in status:
            return "starting" if h == "health: starting" else h
    return ""
