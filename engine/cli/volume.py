"""``pycompose volume ...``: docker's volume verbs (create, ls, inspect, rm, prune) with its
flags, columns and messages. Goes through ``engine.api.Engine`` only (its in-use check knows the
containers)."""
from __future__ import annotations

from engine.cli import common
from engine.errors import InvalidArgument, NotFound

HELP = "Manage volumes"


def add_arguments(parser, command) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("create", help="Create a volume")
    p.add_argument("name", nargs="?", metavar="VOLUME")
    p.add_argument("--name", dest="name_flag", help="Specify volume name")
    p.add_argument("-d", "--driver", default="local", help='Specify volume driver name (default "local")')
    p.add_argument("--label", "-l", action="append", default=[], help="Set metadata for a volume")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")

    for name in ("ls", "list"):
        p = sub.add_parser(name, help="List volumes")
        p.add_argument("-q", "--quiet", action="store_true", help="Only display volume names")
        p.add_argument("-f", "--filter", action="append", default=[], help="Provide filter values (e.g. \"dangling=true\")")
        p.add_argument("--format", help="Format output using a custom template ('table', 'json', or a Go template)")

    common.add_inspect(sub, "volume")
    common.add_rm(sub, "volume", "Force the removal of one or more volumes")

    p = sub.add_parser("prune", help="Remove unused local volumes")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused volumes, not just anonymous ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"label=<label>\")")


def _volumes():
    """The engine's volumes (``engine.api.volumes.Volumes``)."""
    from engine.api import Engine

    return Engine().volumes


def run(args, gopts) -> int:
    return {"create": _create, "ls": _ls, "list": _ls, "inspect": _inspect, "rm": _rm, "remove": _rm,
            "prune": _prune}[args.verb](args)


def _create(args) -> int:
    if args.name and args.name_flag and args.name != args.name_flag:
        raise InvalidArgument(f"conflicting options: either specify --name or provide positional arg, not both")
    vol = _volumes().create(args.name or args.name_flag, driver=args.driver,
                            labels=common.key_values(args.label, "label"),
                            driver_opts=common.key_values(args.opt, "option"))
    print(vol["Name"])
    return 0


def _ls(args) -> int:
    vols = _volumes().list(common.parse_filters(args.filter))
    rows = [dict(v, Labels=",".join(f"{k}={x}" for k, x in sorted(v["Labels"].items())), Links="N/A",
                 Size="N/A", Availability="N/A", Group="N/A") for v in vols]
    common.print_formatted(rows, args.format, ["DRIVER", "VOLUME NAME"], lambda r: [r["Driver"], r["Name"]],
                           quiet=(lambda r: r["Name"]) if args.quiet else None,
                           header_names={"Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT"})
    return 0


def _inspect(args) -> int:
    missing = common.print_inspected(args.volumes, _volumes().inspect, args.format)
    if missing:
        raise NotFound("Error response from daemon: " + "; ".join(map(str, missing)))
    return 0


def _rm(args) -> int:
    volumes = _volumes()

    def remove(name: str) -> None:
        volumes.remove(name, force=args.force)
        print(name)

    return common.remove_each(args.volumes, remove)


def _prune(args) -> int:
    volumes = _volumes()
    filters = common.parse_filters(args.filter)
    if not args.force:
        what = "all local volumes" if args.all else "anonymous local volumes"
        if not common.confirm(f"WARNING! This will remove {what} not used by at least one container."):
            return 0
    report = volumes.prune(filters, all=args.all)
    return common.print_prune_report(report, "VolumesDeleted", "Deleted Volumes")
