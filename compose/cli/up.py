"""``pycompose up``: converge the project, then (unless -d) show its logs until it stops.

Attached: logs of the attached services with prefixes; Ctrl+C stops the
containers gracefully, a second Ctrl+C kills them. ``--abort-on-container-exit``
stops everything when one container exits, ``--exit-code-from SVC`` returns
that service's exit code (and implies the former), as in Docker Compose v2.
"""
from __future__ import annotations

import signal
import sys
import threading

import anyio

from compose import convert as cv
from compose.backend import UpOptions, labels, open_backend, short_name
from compose.errors import UsageError
from compose.render.logs import LogPrinter, use_colour

HELP = "Create and start containers"


def add_arguments(parser, command) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("-d", "--detach", action="store_true", help="Detached mode: Run containers in the background")
    parser.add_argument("--wait", action="store_true", help="Wait for services to be running|healthy. Implies detached mode.")
    parser.add_argument("--wait-timeout", type=float, default=None, help="Maximum duration in seconds to wait for the project to be running|healthy")
    parser.add_argument("--force-recreate", action="store_true")
    parser.add_argument("--no-recreate", action="store_true")
    parser.add_argument("--always-recreate-deps", action="store_true")
    parser.add_argument("--no-start", action="store_true")
    parser.add_argument("--no-deps", action="store_true")
    parser.add_argument("--remove-orphans", action="store_true")
    parser.add_argument("--abort-on-container-exit", action="store_true")
    parser.add_argument("--abort-on-container-failure", action="store_true")
    parser.add_argument("--exit-code-from", metavar="SERVICE")
    parser.add_argument("--scale", action="append", default=[], metavar="SERVICE=NUM")
    parser.add_argument("-V", "--renew-anon-volumes", action="store_true")
    parser.add_argument("-t", "--timeout", type=int, default=None, help="Shutdown timeout in seconds")
    parser.add_argument("--attach", action="append", default=[], metavar="SERVICE")
    parser.add_argument("--attach-dependencies", action="store_true")
    parser.add_argument("--no-attach", action="append", default=[], metavar="SERVICE")
    parser.add_argument("--no-log-prefix", action="store_true")
    parser.add_argument("--timestamps", action="store_true")
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--quiet-pull", action="store_true", help="Pull without printing progress information")
    parser.add_argument("--pull", default="policy", help='Pull image before running ("always"|"missing"|"never"|"build")')
    parser.add_argument("-y", "--yes", action="store_true")
    parser.add_argument("--build", action="store_true", help="Build images before starting containers")
    parser.add_argument("--no-build", action="store_true", help="Don't build an image, even if it's policy")


def parse_scale(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        svc, sep, n = item.partition("=")
        if not sep or not n.isdigit():
            raise UsageError(f"invalid --scale {item!r}: expected SERVICE=NUMBER")
        out[svc] = int(n)
    return out


def check_flags(args) -> None:
    if args.exit_code_from:
        args.abort_on_container_exit = True
    if args.force_recreate and args.no_recreate:
        raise UsageError("--force-recreate and --no-recreate are incompatible")
    if args.abort_on_container_exit and args.abort_on_container_failure:
        raise UsageError("--abort-on-container-exit and --abort-on-container-failure are incompatible")
    if args.detach and (args.abort_on_container_exit or args.abort_on_container_failure):
        raise UsageError("--abort-on-container-exit and -d cannot be combined.")
    if args.wait and args.no_start:
        raise UsageError("--wait and --no-start are incompatible")
    if args.wait:
        args.detach = True


def run(args, gopts) -> int:
    check_flags(args)
    from compose import pullpolicy

    pull = pullpolicy.check_up_choice(args.pull)
    from compose.build import build_for, check_build_flags

    build = check_build_flags(args.build, args.no_build)
    dry = args.dry_run or gopts.dry_run
    b = open_backend(gopts, title="Running", services=args.services)
    if args.exit_code_from:
        b.check_services([args.exit_code_from])
    opts = UpOptions(services=args.services, no_deps=args.no_deps, force_recreate=args.force_recreate,
                     no_recreate=args.no_recreate, always_recreate_deps=args.always_recreate_deps,
                     no_start=args.no_start, remove_orphans=args.remove_orphans,
                     renew_anon_volumes=args.renew_anon_volumes, scale=parse_scale(args.scale),
                     timeout=args.timeout, wait=args.wait, wait_timeout=args.wait_timeout, dry_run=dry,
                     parallel=gopts.parallel)
    if dry:
        from compose.pulling import dry_run_pulls

        for image in dry_run_pulls(b, args.services, args.no_deps, pull):
            print(f"DRY-RUN MODE - Image {image}  Pulled")
        plan, *_ = b.make_plan(opts)
        b.progress.close()
        for line in plan.describe():
            print(f"DRY-RUN MODE - {line}")
        return 0
    import time

    began = time.time()  # attach replays the engine's events from here: no exit is missed
    try:
        with b.progress:
            from compose.pulling import pull_for

            pull_for(b, args.services, args.no_deps, pull, args.quiet_pull)  # before anything is created
            build_for(b, args.services, args.no_deps, build, gopts.progress)  # what has build: and no image yet
            result = anyio.run(b.up, opts)
    except KeyboardInterrupt:
        return 130
    if args.detach or args.no_start:
        return 0
    args.ansi = gopts.ansi
    return attach(b, args, result.containers, began)


def attach(b, args, started: dict[str, list[str]], since: float) -> int:
    """Show logs of the attached services until every container stops (or abort rules end it)."""
    from compose.cli.logs import Follower
    from compose.scheduler import UntilStopped

    services = list(args.services) or list(b.project.services)
    attach_to = set(args.attach) if args.attach else set(services)
    if args.attach_dependencies:
        attach_to |= set(b.project.services)
    attach_to -= set(args.no_attach)
    printer = LogPrinter(sys.stdout, colour=use_colour(args.no_color, getattr(args, 'ansi', 'auto')),
                         prefix=not args.no_log_prefix, timestamps=args.timestamps)

    def include(c: dict) -> bool:
        return labels(c).get(cv.SERVICE) in attach_to and labels(c).get(cv.ONEOFF) != "True"

    def on_exit(service: str, name: str, code: int) -> None:
        """The exit message (attached services) and the abort rules."""
        if service in attach_to:
            printer.event(name, f"exited with code {code}")
        if args.abort_on_container_exit or (args.abort_on_container_failure and code != 0):
            if not watch.done.is_set():
                printer.event("", "Aborting on container exit...")
            watch.done.set()

    watch = UntilStopped(b.engine, b.name, {cid for ids in started.values() for cid in ids}, since, on_exit)
    follower = Follower(b, printer, follow=True, include=include, timestamps=args.timestamps)
    cs = [c for c in b.containers(all=True) if include(c)]
    if cs:
        printer.stream.write(f"Attaching to {', '.join(short_name(c) for c in cs)}\n")
        printer.stream.flush()
    threading.Thread(target=follower.run, args=(cs,), daemon=True).start()
    threading.Thread(target=watch.run, daemon=True).start()
    interrupted = False
    try:
        if not watch.running:
            watch.done.set()
        watch.done.wait()
    except KeyboardInterrupt:
        interrupted = True
    # stop everything (Ctrl+C, abort-on-exit, or all stopped: nothing to stop then)
    stop_all(b, args, force_on_second_interrupt=True)
    follower.stop()
    if interrupted:
        return 130
    return exit_code(b, args, watch.exit_codes)


def exit_code(b, args, exit_codes: dict[str, int]) -> int:
    """--exit-code-from SERVICE's code, the first failure's with --abort-on-container-failure, else 0."""
    if args.exit_code_from:
        if args.exit_code_from not in exit_codes:
            c = [x for x in b.containers([args.exit_code_from], all=True)]
            if c:
                info = b.engine.containers.inspect(c[0]["Id"])
                return int((info.get("State") or {}).get("ExitCode") or 0)
        return exit_codes.get(args.exit_code_from, 0)
    if args.abort_on_container_failure:
        return next((c for c in exit_codes.values() if c != 0), 0)
    return 0


def stop_all(b, args, force_on_second_interrupt: bool = True) -> None:
    live = [c for c in b.containers(all=True) if c.get("State") in ("running", "restarting", "paused")]
    if not live:
        return
    from compose.render.progress import make_progress

    sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
    b.progress = make_progress("auto", title="Stopping")
    try:
        b.in_stop_order(live, lambda c: b.engine.containers.stop(c["Id"], timeout=b.stop_timeout(c, args.timeout)),
                        "Stopping", "Stopped")
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for c in b.containers(all=True):
            if c.get("State") in ("running", "restarting", "paused"):
                try:
                    b.engine.containers.kill(c["Id"])
                    b.progress.event("Container", short_name(c), "Killed")
                except Exception:  # noqa: BLE001 - it may have stopped meanwhile
                    pass
    finally:
        b.progress.close()
