"""``pycompose down``: stop and remove containers (dependents first), networks, and with -v volumes."""
from __future__ import annotations

from compose.backend import DownOptions, open_backend
from compose.errors import UsageError

HELP = "Stop and remove containers, networks"


def add_arguments(parser, command) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("-v", "--volumes", action="store_true",
                        help="Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
    parser.add_argument("--rmi", choices=["local", "all"], help="Remove images used by services")
    parser.add_argument("--remove-orphans", action="store_true")
    parser.add_argument("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds")
    parser.add_argument("--dry-run", action="store_true")


def run(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, title="Running")
    b.check_services(args.services)
    if args.dry_run or gopts.dry_run:
        for c in b.containers(args.services or None, all=True, oneoff=None):
            print(f"DRY-RUN MODE - Container {c['Names'][0].lstrip('/')}  Stop, Remove")
        return 0
    if args.rmi and args.rmi not in ("local", "all"):
        raise UsageError(f"invalid --rmi {args.rmi!r}: local or all")
    from compose.teardown import down_locked  # no event loop: one engine call does the containers

    with b.progress:
        down_locked(b, DownOptions(volumes=args.volumes, remove_orphans=args.remove_orphans, rmi=args.rmi,
                                   timeout=args.timeout, services=args.services))
    return 0
