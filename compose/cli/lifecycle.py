"""create, start, stop, restart, kill, rm, pause, unpause, scale, wait: Docker Compose v2's verbs."""
from __future__ import annotations

import sys
import threading

import anyio

from compose.backend import NoContainer, UpOptions, open_backend, short_name
from compose.errors import UsageError

HELP = "Manage the lifecycle of service containers"


def add_arguments(parser, command) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("--dry-run", action="store_true")
    if command in ("stop", "restart"):
        parser.add_argument("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds")
    if command == "restart":
        parser.add_argument("--no-deps", action="store_true")
    if command == "kill":
        parser.add_argument("-s", "--signal", default="SIGKILL", help="SIGNAL to send to the container")
        parser.add_argument("--remove-orphans", action="store_true")
    if command == "rm":
        parser.add_argument("-f", "--force", action="store_true", help="Don't ask to confirm removal")
        parser.add_argument("-s", "--stop", action="store_true", help="Stop the containers, if required, before removing")
        parser.add_argument("-v", "--volumes", action="store_true", help="Remove any anonymous volumes attached to containers")
    if command == "create":
        parser.add_argument("--force-recreate", action="store_true")
        parser.add_argument("--no-recreate", action="store_true")
        parser.add_argument("--remove-orphans", action="store_true")
        parser.add_argument("--scale", action="append", default=[], metavar="SERVICE=NUM")
        parser.add_argument("-y", "--yes", action="store_true")
        parser.add_argument("--pull", default="policy", help='Pull image before running ("always"|"missing"|"never"|"build")')
        parser.add_argument("--quiet-pull", action="store_true", help="Pull without printing progress information")
        parser.add_argument("--build", action="store_true", help="Build images before starting containers")
        parser.add_argument("--no-build", action="store_true", help="Don't build an image, even if it's policy")
    if command == "scale":
        parser.services_help = "SERVICE=REPLICAS"
        parser.add_argument("--no-deps", action="store_true")
    if command == "wait":
        parser.add_argument("--down-project", action="store_true", help="Drops project when the first container stops")
    if command == "start":
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--wait-timeout", type=float, default=None)


def run(args, gopts) -> int:
    return {"create": create, "start": start, "stop": stop, "restart": restart, "kill": kill, "rm": rm,
            "pause": pause, "unpause": unpause, "scale": scale, "wait": wait}[args.command](args, gopts)


def _dry(args, gopts, b, containers, verb) -> bool:
    if args.dry_run or gopts.dry_run:
        for c in containers:
            print(f"DRY-RUN MODE - Container {short_name(c)}  {verb}")
        return True
    return False


def create(args, gopts) -> int:
    from compose import pullpolicy
    from compose.cli.up import parse_scale

    pull = pullpolicy.check_up_choice(args.pull)
    from compose.build import build_for, check_build_flags

    build = check_build_flags(args.build, args.no_build)
    b = open_backend(gopts, title="Running")
    opts = UpOptions(services=args.services, force_recreate=args.force_recreate, no_recreate=args.no_recreate,
                     remove_orphans=args.remove_orphans, scale=parse_scale(args.scale), no_start=True,
                     dry_run=args.dry_run or gopts.dry_run, parallel=gopts.parallel)
    if opts.dry_run:
        from compose.pulling import dry_run_pulls

        for image in dry_run_pulls(b, args.services, False, pull):
            print(f"DRY-RUN MODE - Image {image}  Pulled")
        plan, *_ = b.make_plan(opts)
        for line in plan.describe():
            print(f"DRY-RUN MODE - {line}")
        return 0
    with b.progress:
        from compose.pulling import pull_for

        pull_for(b, args.services, False, pull, args.quiet_pull)  # before anything is created
        build_for(b, args.services, False, build, gopts.progress)
        anyio.run(b.up, opts)
    return 0


def start(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, title="Running")
    if _dry(args, gopts, b, b.pick(args.services, ["created", "exited"]), "Start"):
        return 0
    with b.progress:
        b.start_services(args.services, wait=args.wait, wait_timeout=args.wait_timeout)
    return 0


def stop(args, gopts) -> int:
    return _each(args, gopts, ["running", "restarting", "paused"], ("Stop", "Stopping", "Stopped"),
                 lambda b, c: b.engine.containers.stop(c["Id"], timeout=b.stop_timeout(c, args.timeout)),
                 dependents_first=True)


def restart(args, gopts) -> int:
    return _each(args, gopts, None, ("Restart", "Restarting", "Started"),
                 lambda b, c: b.engine.containers.restart(c["Id"], timeout=b.stop_timeout(c, args.timeout)))


def kill(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, title="Killing")
    cs = b.pick(args.services, ["running", "restarting", "paused"])
    if not cs:
        raise NoContainer("no container to kill")
    if _dry(args, gopts, b, cs, "Kill"):
        return 0
    with b.progress:
        b.each(cs, lambda c: b.engine.containers.kill(c["Id"], signal=args.signal), "Killing", "Killed")
    return 0


def rm(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, title="Removing")
    cs = b.pick(args.services, None)
    running = [c for c in cs if c.get("State") in ("running", "restarting", "paused")]
    if running and not args.stop:
        cs = [c for c in cs if c not in running]
    if not cs and not running:
        print("No stopped containers")
        return 0
    if _dry(args, gopts, b, cs, "Remove"):
        return 0
    if not args.force and sys.stdin.isatty():
        sys.stdout.write(f"Going to remove {', '.join(short_name(c) for c in cs)}\n? Are you sure? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    with b.progress:
        if args.stop and running:
            b.in_stop_order(running, lambda c: b.engine.containers.stop(c["Id"], timeout=b.stop_timeout(c, None)),
                            "Stopping", "Stopped")
        if cs:
            b.each(cs, lambda c: b.engine.containers.remove(c["Id"], force=True, volumes=args.volumes),
                   "Removing", "Removed")
    if not cs:
        print("No stopped containers")
    return 0


def pause(args, gopts) -> int:
    return _each(args, gopts, ["running"], ("Pause", "Pausing", "Paused"),
                 lambda b, c: b.engine.containers.pause(c["Id"]))


def unpause(args, gopts) -> int:
    return _each(args, gopts, ["paused"], ("Unpause", "Unpausing", "Unpaused"),
                 lambda b, c: b.engine.containers.unpause(c["Id"]))


def _each(args, gopts, states: list[str] | None, words: tuple[str, str, str], act,
          dependents_first: bool = False) -> int:
    """stop, restart, pause, unpause: ``act(backend, container)`` on the services' containers in
    ``states``, with progress ``words`` (dry-run verb, doing, done)."""
    verb, doing, done = words
    b = open_backend(gopts, need_project=False, title=doing)
    cs = b.pick(args.services, states)
    if _dry(args, gopts, b, cs, verb):
        return 0
    with b.progress:
        (b.in_stop_order if dependents_first else b.each)(cs, lambda c: act(b, c), doing, done)
    return 0


def scale(args, gopts) -> int:
    from compose.cli.up import parse_scale

    if not args.services:
        raise UsageError("scale needs SERVICE=REPLICAS arguments")
    want = parse_scale(args.services)
    b = open_backend(gopts, title="Running")
    opts = UpOptions(services=list(want), scale=want, no_deps=args.no_deps, dry_run=args.dry_run or gopts.dry_run,
                     parallel=gopts.parallel)
    if opts.dry_run:
        plan, *_ = b.make_plan(opts)
        for line in plan.describe():
            print(f"DRY-RUN MODE - {line}")
        return 0
    with b.progress:
        anyio.run(b.up, opts)
    return 0


def wait(args, gopts) -> int:
    """Block until the services' containers stop; print their exit codes; return the first non-zero."""
    b = open_backend(gopts, need_project=False)
    cs = b.pick(args.services, None)
    if not cs:
        raise NoContainer("no containers for project " + repr(b.name))
    codes: dict[str, int] = {}
    first = threading.Event()

    def one(c):
        code = b.engine.containers.wait(c["Id"])
        codes[c["Id"]] = int(code)
        print(code, flush=True)
        first.set()

    threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in cs]
    for t in threads:
        t.start()
    if args.down_project:
        first.wait()
        from compose.backend import DownOptions

        anyio.run(b.down, DownOptions())
        return next((v for v in codes.values() if v), 0)
    for t in threads:
        t.join()
    return next((codes[c["Id"]] for c in cs if codes.get(c["Id"])), 0)
