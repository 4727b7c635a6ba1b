"""``pycompose network ...``: docker's network verbs, flags, columns and messages."""
from __future__ import annotations

import json
import re
import sys

from engine.errors import EngineError, InvalidArgument

HELP = "Manage networks"
VERBS = ("create", "ls", "list", "inspect", "rm", "remove", "connect", "disconnect", "prune")


def add_arguments(parser, command) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("create", help="Create a network")
    p.add_argument("-d", "--driver", default="bridge")
    p.add_argument("--subnet", action="append", default=[])
    p.add_argument("--gateway", action="append", default=[])
    p.add_argument("--ip-range", action="append", default=[])
    p.add_argument("--internal", action="store_true")
    p.add_argument("--attachable", action="store_true")
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("-o", "--opt", action="append", default=[])
    p.add_argument("-l", "--label", action="append", default=[])
    p.add_argument("--ipam-driver", default="default")
    p.add_argument("--ipam-opt", action="append", default=[])
    p.add_argument("name")

    for name in ("ls", "list"):
        p = sub.add_parser(name, help="List networks")
        p.add_argument("-q", "--quiet", action="store_true")
        p.add_argument("-f", "--filter", action="append", default=[])
        p.add_argument("--format")
        p.add_argument("--no-trunc", action="store_true")

    p = sub.add_parser("inspect", help="Display detailed information on one or more networks")
    p.add_argument("-f", "--format")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("networks", nargs="+")

    for name in ("rm", "remove"):
        p = sub.add_parser(name, help="Remove one or more networks")
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("networks", nargs="+")

    p = sub.add_parser("connect", help="Connect a container to a network")
    p.add_argument("--alias", action="append", default=[])
    p.add_argument("--ip")
    p.add_argument("--link", action="append", default=[])
    p.add_argument("network")
    p.add_argument("container")

    p = sub.add_parser("disconnect", help="Disconnect a container from a network")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("network")
    p.add_argument("container")

    p = sub.add_parser("prune", help="Remove all unused networks")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--filter", action="append", default=[])


def _networks():
    """The engine's networks (``Engine().networks``)."""
    from engine.api import Engine

    return Engine().networks


def _kv(items: list[str], what: str) -> dict:
    from engine.cli.common import key_values

    return key_values(items, what, "use key=value")


def _ipam_configs(subnets: list[str], gateways: list[str], ranges: list[str]) -> list[dict]:
    """docker's pairing: each --gateway / --ip-range belongs to the --subnet that contains it."""
    import ipaddress

    if (gateways or ranges) and not subnets:
        raise InvalidArgument("gateway and ip-range require a subnet: use --subnet")
    cfgs, nets = [], []
    for sub in subnets:
        try:
            nets.append(ipaddress.ip_network(sub, strict=False))
        except ValueError:
            raise InvalidArgument(f"invalid subnet {sub}: invalid CIDR address: {sub}") from None
        cfgs.append({"Subnet": sub})
    for key, values in (("Gateway", gateways), ("IPRange", ranges)):
        for v in values:
            try:
                probe = ipaddress.ip_network(v, strict=False)
            except ValueError:
                raise InvalidArgument(f"invalid {key.lower()} {v!r}") from None
            owner = next((c for c, n in zip(cfgs, nets) if probe.version == n.version and probe.subnet_of(n)), None)
            if owner is None:
                what = "gateway" if key == "Gateway" else "range"
                raise InvalidArgument(f"no matching subnet for {what} {v}")
            if key in owner:
                raise InvalidArgument(f"cannot configure multiple {key.lower()}s for subnet {owner['Subnet']}")
            owner[key] = v
    return cfgs


def _filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for it in items:
        k, eq, v = it.partition("=")
        if not eq:
            raise InvalidArgument(f"bad format of filter (expected name=value): {it}")
        out.setdefault(k.strip().lower(), []).append(v)
    return out


_TPL = re.compile(r"{{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*}}")


def render_template(tpl: str, obj: dict) -> str:
    """The subset of Go templates docker users type: ``{{.Name}}``, ``{{.IPAM.Config}}``, ``{{json .X}}``."""
    tpl = tpl.replace("\\t", "\t").replace("\\n", "\n")

    def sub(m: re.Match) -> str:
        val = obj
        for part in filter(None, m.group(2).split(".")):
            val = val.get(part) if isinstance(val, dict) else None
        if m.group(1):
            return json.dumps(val)
        if isinstance(val, bool):
            return "true" if val else "false"
        if val is None:
            return "<no value>"
        if isinstance(val, dict):
            return "map[" + " ".join(f"{k}:{v}" for k, v in val.items()) + "]"
        return str(val)

    return _TPL.sub(sub, tpl)


def _ls_row(n: dict, no_trunc: bool) -> dict:
    return {
        "ID": n["Id"] if no_trunc else n["Id"][:12], "Name": n["Name"], "Driver": n["Driver"], "Scope": n["Scope"],
        "IPv4": "true", "IPv6": str(bool(n.get("EnableIPv6"))).lower(), "Internal": str(bool(n["Internal"])).lower(),
        "Labels": ",".join(f"{k}={v}" for k, v in (n.get("Labels") or {}).items()), "CreatedAt": _created(n["Created"]),
    }


def _created(iso: str) -> str:
    # Docker prints "2024-01-02 03:04:05.123456789 +0000 UTC"
    return iso.replace("T", " ").rstrip("Z") + " +0000 UTC"


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    """Docker's tabwriter layout: cells padded by 3, at least 10 wide, last column unpadded."""
    widths = [max(10, max([len(h)] + [len(r[k]) for r in rows]) + 3) for h, k in cols]
    lines = ["".join(h.ljust(w) for (h, _), w in zip(cols, widths)).rstrip()]
    for r in rows:
        lines.append("".join(r[k].ljust(w) for (_, k), w in zip(cols, widths)).rstrip())
    return "\n".join(lines)


def _ls(nets, args) -> int:
    """``network ls``: docker's table, ``--format json`` lines or a Go template; ``-q`` ids only."""
    rows = sorted(nets.list(_filters(args.filter)), key=lambda n: n["Name"])
    if args.quiet:
        for n in rows:
            print(n["Id"] if args.no_trunc else n["Id"][:12])
        return 0
    data = [_ls_row(n, args.no_trunc) for n in rows]
    fmt = args.format
    if fmt == "json":
        for r in data:
            print(json.dumps(r, separators=(",", ":")))
    elif fmt and fmt not in ("table",):
        table = fmt.startswith("table ")
        tpl = fmt[6:] if table else fmt
        if table:
            print(render_template(tpl, {k: k.upper() if k != "ID" else "NETWORK ID" for k in data[0]}
                                  if data else {}))
        for r in data:
            print(render_template(tpl, r))
    else:
        print(_table(data, [("NETWORK ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver"), ("SCOPE", "Scope")]))
    return 0


def run(args, gopts) -> int:
    nets = _networks()
    verb = args.verb
    if verb == "create":
        cfgs = _ipam_configs(args.subnet, args.gateway, args.ip_range)
        ipam = {"Driver": args.ipam_driver, "Config": cfgs, "Options": _kv(args.ipam_opt, "ipam-opt")}
        net = nets.create(args.name, driver=args.driver, internal=args.internal, labels=_kv(args.label, "label"),
                          ipam=ipam, options=_kv(args.opt, "option"), attachable=args.attachable,
                          enable_ipv6=args.ipv6)
        print(net["Id"])
        return 0
    if verb in ("ls", "list"):
        return _ls(nets, args)
    if verb == "inspect":
        found, rc = [], 0
        for ref in args.networks:
            try:
                found.append(nets.inspect(ref))
            except EngineError as e:
                sys.stderr.write(f"Error response from daemon: {e}\n")
                rc = 1
        if args.format:
            for n in found:
                print(render_template(args.format, n))
        else:
            print(json.dumps(found, indent=4))
        return rc
    if verb in ("rm", "remove"):
        rc = 0
        for ref in args.networks:
            try:
                nets.remove(ref)
                print(ref)
            except EngineError as e:
                if args.force and "not found" in str(e):
                    continue
                sys.stderr.write(f"Error response from daemon: {e}\n")
                rc = 1
        return rc
    if verb == "connect":
        nets.connect(args.network, args.container, aliases=args.alias or None, ipv4_address=args.ip)
        return 0
    if verb == "disconnect":
        nets.disconnect(args.network, args.container, force=args.force)
        return 0
    if verb == "prune":
        filters = _filters(args.filter)
        if not args.force:
            sys.stdout.write("WARNING! This will remove all custom networks not used by at least one container.\n"
                             "Are you sure you want to continue? [y/N] ")
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not line.endswith("\n"):
                sys.stdout.write("\n")  # no answer (EOF): end the prompt's line
            answer = line.strip().lower()
            if answer not in ("y", "yes"):
                return 0
        removed = nets.prune(filters)
        if removed:
            print("Deleted Networks:")
            for name in removed:
                print(name)
        return 0
    raise InvalidArgument(f"unknown network command {verb!r}")  # pragma: no cover - argparse refuses first
