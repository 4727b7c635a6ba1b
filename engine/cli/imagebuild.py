"""``pycompose image build``: docker build's flags, BuildKit's progress output, the image id.

Progress goes to stderr (as BuildKit's does); ``-q`` prints only the image id on stdout.
A failed build prints BuildKit's excerpt (the step's last output and the Dockerfile
lines around the instruction) and then ``ERROR: failed to solve: ...``.
"""
from __future__ import annotations

import os
import signal
import sys

from engine.errors import InvalidArgument


def add_build_parser(sub) -> None:
    p = sub.add_parser("build", help="Build an image from a Dockerfile")
    p.add_argument("context", metavar="PATH|URL|-")
    p.add_argument("-t", "--tag", action="append", default=[], help="Name and optionally a tag (\"name:tag\")")
    p.add_argument("-f", "--file", help="Name of the Dockerfile (default: \"PATH/Dockerfile\")")
    p.add_argument("--target", help="Set the target build stage to build")
    p.add_argument("--build-arg", action="append", default=[], help="Set build-time variables")
    p.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
    p.add_argument("--no-cache-filter", action="append", default=[], help="Do not cache specified stages")
    p.add_argument("--pull", action="store_true", help="Always attempt to pull all referenced images")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output and print image ID on success")
    p.add_argument("--label", action="append", default=[], help="Set metadata for an image")
    p.add_argument("--network", help="Set the networking mode for the RUN instructions during build")
    p.add_argument("--iidfile", help="Write the image ID to the file")
    p.add_argument("--progress", default="auto", help="Set type of progress output (auto, plain, tty, quiet)")
    p.add_argument("--secret", action="append", default=[], help="Secret to expose to the build (id=mysecret[,src=/local/secret])")
    p.add_argument("--build-context", action="append", default=[], help="Additional build contexts (e.g., name=path)")
    p.add_argument("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (\"host:ip\")")
    p.add_argument("--shm-size", help="Size of /dev/shm")
    p.add_argument("--platform", help="Set target platform for build (the host's only)")
    p.add_argument("--cache-from", action="append", default=[], help="External cache sources (type=local,src=path)")
    p.add_argument("--cache-to", action="append", default=[], help="Cache export destinations (type=local,dest=path)")


def add_builder_parser(parser) -> None:
    """``pycompose builder prune|du``."""
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("prune", help="Remove build cache")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused build cache, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"until=24h\")")
    p.add_argument("--keep-storage", help="Amount of disk space to keep for cache")
    p = sub.add_parser("du", help="Disk usage of the build cache")
    p.add_argument("--verbose", action="store_true", help="Provide a more verbose output")


def _kv(values: list[str], what: str, allow_bare: bool = False) -> dict:
    out: dict = {}
    for v in values:
        k, eq, val = v.partition("=")
        if not k or (not eq and not allow_bare):
            raise InvalidArgument(f"invalid {what}: {v!r} (expected key=value)")
        out[k] = val if eq else None
    return out


def parse_secret(value: str) -> tuple[str, dict]:
    """``id=x,src=path`` / ``id=x,env=NAME`` / ``id=x`` (then $x or a file named x)."""
    fields = {}
    for f in value.split(","):
        k, _, v = f.partition("=")
        fields[k.strip().lower()] = v
    sid = fields.get("id")
    if not sid:
        raise InvalidArgument(f"invalid secret {value!r}: id= is required")
    kind = fields.get("type")
    if fields.get("env") or kind == "env":
        return sid, {"env": fields.get("env") or fields.get("src") or sid}
    src = fields.get("src") or fields.get("source") or fields.get("file")
    if src:
        return sid, {"file": src}
    return sid, ({"env": sid} if sid in os.environ else {"file": sid})


def size_flag(value: str | None) -> int | None:
    if not value:
        return None
    from engine import values

    try:
        return int(values.parse_size(value.strip()))
    except Exception:  # noqa: BLE001 - re-raised with the flag's name
        raise InvalidArgument(f"invalid size: {value!r}") from None


def _host(value: str) -> str:
    """``--add-host name:ip`` (or docker's newer ``name=ip``) as ``name:ip``."""
    name, eq, ip = value.partition("=")
    return f"{name}:{ip}" if eq and ":" not in name else value


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def build(args) -> int:
    from engine.api import Engine
    from engine.api import build_progress_renderer
    from engine.api.builds import BuildError

    mode = "quiet" if args.quiet else args.progress
    render = build_progress_renderer(mode)
    context = sys.stdin.buffer if args.context == "-" else args.context
    if args.context != "-" and args.context.startswith(("http://", "https://", "git@")):
        raise InvalidArgument(f"unable to prepare context: remote contexts are not available: {args.context}")
    secrets = dict(parse_secret(s) for s in args.secret)
    inline = None
    if args.file == "-":  # `docker build -f - .`: the Dockerfile on stdin, the context a directory
        if args.context == "-":
            raise InvalidArgument("invalid argument: can't use stdin for both build context and dockerfile")
        inline = sys.stdin.read()
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a killed build cleans up like Ctrl-C
    failure = None
    try:
        iid = Engine().images.build(
            context, dockerfile=None if inline is not None else args.file, dockerfile_inline=inline,
            tags=args.tag, target=args.target, build_args=_kv(args.build_arg, "build-arg", allow_bare=True),
            labels=_kv(args.label, "label"), no_cache=args.no_cache, no_cache_filter=args.no_cache_filter,
            pull=args.pull, network=args.network, extra_hosts=[_host(h) for h in args.add_host],
            shm_size=size_flag(args.shm_size), additional_contexts=_kv(args.build_context, "build-context"),
            secrets=secrets, cache_from=args.cache_from, cache_to=args.cache_to, platform=args.platform,
            progress=render)
    except BuildError as e:
        failure = e
    finally:
        signal.signal(signal.SIGTERM, previous)
        render.close()
    if failure is not None:
        if failure.details:
            sys.stderr.write(failure.details + "\n")
        if not str(failure).startswith("ERROR"):
            raise BuildError("ERROR: " + str(failure))
        raise failure
    if args.iidfile:
        with open(args.iidfile, "w") as f:
            f.write(iid)
    if args.quiet:
        print(iid)
    return 0


def builder(args) -> int:
    from engine.api import Engine
    from engine.cli import common

    images = Engine().images
    if args.verb == "du":
        return _du(images, args.verbose)
    filters = common.parse_filters(args.filter)
    if not args.force:
        q = ("WARNING! This will remove all build cache." if args.all
             else "WARNING! This will remove all dangling build cache.")
        if not common.confirm(q):
            return 0
    keep = size_flag(args.keep_storage) if args.keep_storage else None
    report = images.prune_build_cache(all=args.all, filters=filters, keep_storage=keep)
    return common.print_prune_report(report, "CachesDeleted", "Deleted build cache objects")


def _du(images, verbose: bool) -> int:
    from engine.cli import common

    rows = sorted(images.build_cache_usage(), key=lambda r: -r["Size"])
    if verbose:
        for r in rows:
            print(f"ID:\t\t{r['ID']}\nCreated at:\t{common.go_time(r['LastUsedAt'])}\nMutable:\tfalse\n"
                  f"Reclaimable:\t{str(r['Reclaimable']).lower()}\nShared:\t\t{str(r['Shared']).lower()}\n"
                  f"Size:\t\t{common.human_size(r['Size'])}\nDescription:\t{r['Description']}\n"
                  f"Usage count:\t1\nLast used:\t{common.ago(r['LastUsedAt'])}\nType:\t\t{r['Type']}\n")
    else:
        common.print_table(["ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"],
                           [[r["ID"] + ("*" if r["Shared"] else ""), str(r["Reclaimable"]).lower(),
                             common.human_size(r["Size"]), common.ago(r["LastUsedAt"])] for r in rows])
    shared = sum(r["Size"] for r in rows if r["Shared"])
    private = sum(r["Size"] for r in rows if not r["Shared"])
    reclaim = sum(r["Size"] for r in rows if r["Reclaimable"])
    if shared:
        print(f"Shared:\t\t{common.human_size(shared)}\nPrivate:\t{common.human_size(private)}")
    print(f"Reclaimable:\t{common.human_size(reclaim)}\nTotal:\t\t{common.human_size(shared + private)}")
    return 0
