"""``pycompose container ...``: docker's container verbs with its flags, columns and messages.

Everything goes through ``engine.api.Engine``; this module only turns flags
into API calls and API answers into what the docker CLI prints. Errors for
one of several targets are printed as ``Error response from daemon: ...``
and the others are still processed, then the command exits 1, like docker.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from engine.cli import run_flags
from engine.cli.lazyparser import LazyParser
from engine.errors import EngineError, InvalidArgument, NotFound

HELP = "Manage containers"


class PartialFailure(EngineError):
    """Some targets of a multi-container verb failed; each was reported on stderr already."""

    def __init__(self, message: str = ""):
        super().__init__(message)


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=LazyParser)
    sub.required = True

    def verb(names, help_, **kw):
        names = [names] if isinstance(names, str) else names
        p = sub.add_parser(names[0], aliases=names[1:], help=help_, conflict_handler="resolve",
                           formatter_class=parser.formatter_class, **kw)
        return p

    # run's and create's flags are added only when one of them is used (LazyParser)
    verb("run", "Create and run a new container from an image",
         fill=lambda p: run_flags.add_create_flags(p, run=True))
    verb("create", "Create a new container", fill=lambda p: run_flags.add_create_flags(p, run=False))

    p = verb("start", "Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="Attach container's STDIN")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    for name, h in (("stop", "Stop one or more running containers"), ("restart", "Restart one or more containers")):
        p = verb(name, h)
        p.add_argument("-t", "--time", "--timeout", dest="time", type=int, help="Seconds to wait before killing the container")
        p.add_argument("-s", "--signal", help="Signal to send to the container")
        p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = verb("kill", "Kill one or more running containers")
    p.add_argument("-s", "--signal", default="KILL", help="Signal to send to the container")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    for name, h in (("pause", "Pause all processes within one or more containers"),
                    ("unpause", "Unpause all processes within one or more containers")):
        p = verb(name, h)
        p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = verb(["rm", "remove"], "Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true", help="Force the removal of a running container (uses SIGKILL)")
    p.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes associated with the container")
    p.add_argument("-l", "--link", action="store_true", help="Remove the specified link")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = verb(["ls", "list", "ps"], "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Format output using a custom template ('table', 'json', or a Go template)")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
    p.add_argument("-l", "--latest", action="store_true", help="Show the latest created container (includes all states)")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    p = verb("inspect", "Display detailed information on one or more containers")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = verb("logs", "Fetch the logs of a container")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("-n", "--tail", default="all", help='Number of lines to show from the end of the logs (default "all")')
    p.add_argument("--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
    p.add_argument("--until", help="Show logs before a timestamp or relative (e.g. 42m)")
    p.add_argument("--details", action="store_true", help="Show extra details provided to logs")
    p.add_argument("container", metavar="CONTAINER")
    p = verb("exec", "Execute a command in a running container")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode: run command in the background")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_argument("-u", "--user", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")")
    p.add_argument("--privileged", action="store_true", help="Give extended privileges to the command")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    p = verb("wait", "Block until one or more containers stop, then print their exit codes")
    p.add_argument("--condition", default="not-running", help=argparse.SUPPRESS)
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = verb("top", "Display the running processes of a container")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="[ps OPTIONS]")
    p = verb("stats", "Display a live stream of container(s) resource usage statistics")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("--no-stream", action="store_true", help="Disable streaming stats and only pull the first result")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate output")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p = verb("port", "List port mappings or a specific mapping for the container")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("private_port", nargs="?", metavar="PRIVATE_PORT[/PROTO]")
    p = verb("cp", "Copy files/folders between a container and the local filesystem")
    p.add_argument("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output during copy")
    p.add_argument("src", metavar="SRC")
    p.add_argument("dest", metavar="DEST")
    p = verb("rename", "Rename a container")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("new_name", metavar="NEW_NAME")
    from engine.cli import container_changes

    container_changes.add_verbs(verb)
    p = verb("prune", "Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help='Provide filter values (e.g. "until=<timestamp>")')


def _engine():
    from engine.api import Engine

    return Engine()


def _cp(args) -> int:
    from engine.cli import container_cp

    return container_cp.cp(_engine(), args)


def run(args, gopts) -> int:
    verbs = {"run": _run, "create": _create, "start": _start, "stop": _stop, "restart": _restart, "kill": _kill,
             "pause": _pause, "unpause": _unpause, "rm": _rm, "remove": _rm, "ls": _ls, "list": _ls, "ps": _ls,
             "inspect": _inspect, "logs": _logs, "exec": _exec, "wait": _wait, "top": _top, "stats": _stats,
             "port": _port, "cp": _cp, "rename": _rename, "prune": _prune}
    if args.verb not in verbs:
        from engine.cli import container_changes

        verbs.update(container_changes.VERBS)
    return verbs[args.verb](args)


def _each(refs: list[str], action, echo: bool = True) -> int:
    """Apply ``action`` to every ref; docker prints each ref done and each failure, exit 1 if any failed."""
    failed = False
    for ref in refs:
        try:
            action(ref)
            if echo:
                print(ref, flush=True)
        except EngineError as e:
            failed = True
            sys.stderr.write(f"Error response from daemon: {e}\n")
    return 1 if failed else 0


# ---------------------------------------------------------------------------- create / run


def _create_container(eng, args, keep_for_exit_code: bool = False) -> str:
    body = run_flags.body_from_args(args)
    from engine.cli import registry

    registry.ensure_image(eng, args.image, args.pull, args.platform, args.quiet)
    if keep_for_exit_code:
        # a foreground `run --rm` removes the container itself once it has read the exit code
        body["HostConfig"]["AutoRemove"] = False
    return eng.containers.create(body, name=args.name)


def _create(args) -> int:
    eng = _engine()
    print(_create_container(eng, args))
    return 0


def _run(args) -> int:
    eng = _engine()
    cid = _create_container(eng, args, keep_for_exit_code=args.rm and not args.detach)
    if args.detach:
        try:
            eng.containers.start(cid)
        except EngineError as e:
            return _start_failed(eng, cid, e, args.rm)
        print(cid)
        return 0
    try:
        if args.interactive or args.tty:
            return eng.containers.attach(cid, tty=args.tty, stdin=args.interactive)
        try:
            eng.containers.start(cid)
        except EngineError as e:
            return _start_failed(eng, cid, e, False)
        return _stream_until_exit(eng, cid, sig_proxy=str(args.sig_proxy).lower() not in ("false", "0"))
    finally:
        if args.rm:
            _quiet_remove(eng, cid)


def _start_failed(eng, cid: str, e: EngineError, remove: bool) -> int:
    """docker run's answer when the container cannot start: one line, exit status 125/126/127."""
    if remove:
        _quiet_remove(eng, cid)
    msg = str(e).rstrip(".")
    sys.stderr.write(f"pycompose: Error response from daemon: {msg}.\n")
    status = getattr(e, "status", None)
    return status if isinstance(status, int) and status in (125, 126, 127) else 125


def _quiet_remove(eng, cid: str) -> None:
    try:
        eng.containers.remove(cid, force=True, volumes=True)
    except NotFound:
        pass


def _write_entry(e, timestamps: bool = False) -> None:
    from engine.api.containers import format_log_time

    out = sys.stdout.buffer if e.stream == "stdout" else sys.stderr.buffer
    if timestamps:
        out.write(format_log_time(e.time).encode() + b" ")
    out.write(e.data)
    out.flush()


# How long a foreground run waits for the supervisor to report the exit before it follows the output
# as it comes. A short command (``true``, ``echo``) has exited by then: its output is read once,
# whole, with no log follower (whose inotify watch, through ctypes, cost 2-6 ms of each run); a
# longer one shows its first output at most this late, then streams it.
FIRST_EXIT_WAIT = 0.05


def _stream_until_exit(eng, cid: str, sig_proxy: bool = True) -> int:
    """Print the container's output as it comes, then return its exit code.

    With ``sig_proxy`` (docker's default) the signals we get (Ctrl-C, TERM, HUP, QUIT, USR1/2) are
    passed on to the container instead of ending this command, so the container decides. The
    supervisor answers a wait once the output is all in the log, so the log read after it is whole."""
    import signal as _signal

    old = {}
    if sig_proxy:
        def forward(signum, _frame):
            try:
                eng.containers.kill(cid, _signal.Signals(signum).name)
            except EngineError:
                pass

        for s in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1,
                  _signal.SIGUSR2):
            old[s] = _signal.signal(s, forward)
    try:
        try:
            code = eng.containers.wait(cid, timeout=FIRST_EXIT_WAIT)
        except TimeoutError:  # still running: follow its output until it stops for good
            for e in eng.containers.logs(cid, follow=True):
                _write_entry(e)
            return eng.containers.wait(cid)
        for e in eng.containers.logs(cid):
            _write_entry(e)
        return code
    finally:
        for s, h in old.items():
            _signal.signal(s, h)


# ---------------------------------------------------------------------------- lifecycle


def _start(args) -> int:
    eng = _engine()
    if args.attach:
        if len(args.containers) > 1:
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        eng.containers.start(args.containers[0])
        return _stream_until_exit(eng, args.containers[0])
    return _each(args.containers, eng.containers.start)


def _stop(args) -> int:
    eng = _engine()
    return _each(args.containers, lambda r: eng.containers.stop(r, timeout=args.time, signal=args.signal))


def _restart(args) -> int:
    eng = _engine()
    return _each(args.containers, lambda r: eng.containers.restart(r, timeout=args.time, signal=args.signal))


def _kill(args) -> int:
    eng = _engine()
    return _each(args.containers, lambda r: eng.containers.kill(r, signal=args.signal))


def _pause(args) -> int:
    eng = _engine()
    return _each(args.containers, eng.containers.pause)


def _unpause(args) -> int:
    eng = _engine()
    return _each(args.containers, eng.containers.unpause)


def _rm(args) -> int:
    eng = _engine()
    return _each(args.containers, lambda r: eng.containers.remove(r, force=args.force, volumes=args.volumes))


def _rename(args) -> int:
    _engine().containers.rename(args.container, args.new_name)
    return 0


def _prune(args) -> int:
    from engine.cli import common

    eng = _engine()
    if not args.force and not common.confirm("WARNING! This will remove all stopped containers."):
        return 0
    report = eng.containers.prune(common.parse_filters(args.filter))
    return common.print_prune_report(report, "ContainersDeleted", "Deleted Containers")


def _wait(args) -> int:
    eng = _engine()
    failed = False
    for ref in args.containers:
        try:
            print(eng.containers.wait(ref, condition=args.condition), flush=True)
        except EngineError as e:
            failed = True
            sys.stderr.write(f"Error response from daemon: {e}\n")
    return 1 if failed else 0


# ---------------------------------------------------------------------------- ls / inspect


def _ports_text(ports: list[dict]) -> str:
    """docker ps PORTS: ``0.0.0.0:8080->80/tcp, 443/tcp`` (ranges not collapsed)."""
    parts = []
    for p in sorted(ports, key=lambda x: (x.get("PrivatePort", 0), x.get("Type", ""), x.get("IP", ""))):
        if p.get("PublicPort"):
            ip = p.get("IP") or "0.0.0.0"
            ip = f"[{ip}]" if ":" in ip else ip
            parts.append(f"{ip}:{p['PublicPort']}->{p['PrivatePort']}/{p['Type']}")
        else:
            parts.append(f"{p['PrivatePort']}/{p['Type']}")
    return ", ".join(parts)


def _ps_item(c: dict, no_trunc: bool) -> dict:
    """The fields ``docker ps --format`` templates see (and its json lines)."""
    from engine.cli import common

    cmd = c["Command"]
    if not no_trunc and len(cmd) > 20:
        cmd = cmd[:19] + "…"
    created = time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(c["Created"]))
    nets = ",".join(sorted((c.get("NetworkSettings") or {}).get("Networks") or {})) or \
        (c.get("HostConfig") or {}).get("NetworkMode", "")
    size = ""
    if "SizeRw" in c:  # docker: "12B (virtual 4.26MB)"
        size = f"{common.human_size(c['SizeRw'])} (virtual {common.human_size(c.get('SizeRootFs', c['SizeRw']))})"
    mounts = ",".join((m.get("Name") or m.get("Source") or "")[:15 if not no_trunc else None]
                      for m in c.get("Mounts") or [])
    return {
        "Command": json.dumps(cmd, ensure_ascii=False),
        "CreatedAt": created,
        "ID": c["Id"] if no_trunc else c["Id"][:12],
        "Image": c["Image"],
        "Labels": ",".join(f"{k}={v}" for k, v in sorted((c.get("Labels") or {}).items())),
        "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Type") == "volume")),
        "Mounts": mounts,
        "Names": ",".join(n.lstrip("/") for n in c["Names"]),
        "Networks": nets,
        "Ports": _ports_text(c.get("Ports") or []),
        "RunningFor": common.human_duration(time.time() - c["Created"]) + " ago",
        "Size": size,
        "State": c["State"],
        "Status": c["Status"],
    }


def _ls(args) -> int:
    from engine.cli import common

    eng = _engine()
    filters = common.parse_filters(args.filter)
    limit = 1 if args.latest else (args.last if args.last and args.last > 0 else None)
    found = eng.containers.list(all=args.all or limit is not None, filters=filters or None, size=args.size,
                                limit=limit)
    items = [_ps_item(c, args.no_trunc) for c in found]
    headers = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    if args.size:
        headers.append("SIZE")

    def row(it):
        r = [it["ID"], it["Image"], it["Command"], it["RunningFor"], it["Status"], it["Ports"], it["Names"]]
        if args.size:
            r.append(it["Size"])
        return r

    common.print_formatted(items, args.format, headers, row, quiet=(lambda it: it["ID"]) if args.quiet else None)
    return 0


def _inspect(args) -> int:
    from engine.cli import common

    containers = _engine().containers
    missing = common.print_inspected(args.containers, lambda ref: containers.inspect(ref, size=args.size),
                                     args.format)
    if missing:
        for m in missing:
            sys.stderr.write(f"Error: {m}\n")
        return 1
    return 0


# ---------------------------------------------------------------------------- logs / exec


def _logs(args) -> int:
    eng = _engine()
    for e in eng.containers.logs(args.container, follow=args.follow, since=args.since, until=args.until,
                                 tail=args.tail, timestamps=args.timestamps):
        _write_entry(e, args.timestamps)
    return 0


def _exec(args) -> int:
    eng = _engine()
    if not args.cmd:
        raise InvalidArgument("\"pycompose container exec\" requires at least 2 arguments.")
    env = run_flags.env_list(args.env, args.env_file)
    stdin = sys.stdin.buffer if args.interactive else None
    if args.tty and args.interactive and not sys.stdin.isatty():
        raise InvalidArgument("the input device is not a TTY")
    try:
        return eng.containers.exec(args.container, list(args.cmd), env=env, workdir=args.workdir, user=args.user,
                                   tty=args.tty, detach=args.detach, privileged=args.privileged,
                                   stdin=stdin.fileno() if stdin is not None else None,
                                   stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
    except EngineError as e:
        status = getattr(e, "status", None)
        if not isinstance(status, int):
            raise
        sys.stderr.write(f"OCI runtime exec failed: exec failed: {e}: unknown\n")  # docker's words
        return status


# ---------------------------------------------------------------------------- top / stats / port / cp


def _top(args) -> int:
    from engine.cli import common

    eng = _engine()
    res = eng.containers.top(args.container, " ".join(args.ps_args) if args.ps_args else None)
    common.print_table(res["Titles"], res["Processes"])
    return 0


def _bin_size(n: float) -> str:
    """go-units BytesSize (binary, 3 significant digits): 1.5MiB."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    n = float(n)
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return f"{n:.3g}{units[i]}"


def _stats_item(s: dict, no_trunc: bool) -> dict:
    from engine.api.containers import stats_figures
    from engine.cli import common

    figures = stats_figures(s)
    rx, tx = figures["net_io"]
    rd, wr = figures["block_io"]
    mem = figures["mem_usage"]
    limit = int((s.get("memory_stats") or {}).get("limit") or 0)
    running = figures["running"]
    return {
        "BlockIO": f"{common.human_size(rd)} / {common.human_size(wr)}" if running else "0B / 0B",
        "CPUPerc": f"{figures['cpu_percent']:.2f}%" if running else "0.00%",
        "Container": s["id"] if no_trunc else s["id"][:12],
        "ID": s["id"] if no_trunc else s["id"][:12],
        "MemPerc": f"{figures['mem_percent']:.2f}%" if running else "0.00%",
        "MemUsage": f"{_bin_size(mem)} / {_bin_size(limit)}" if running else "0B / 0B",
        "Name": s["name"].lstrip("/"),
        "NetIO": f"{common.human_size(rx)} / {common.human_size(tx)}" if running else "0B / 0B",
        "PIDs": str((s.get("pids_stats") or {}).get("current", 0)),
    }


def _stats(args) -> int:
    from engine.cli import common

    eng = _engine()
    headers = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]

    def targets() -> list[str]:
        if args.containers:
            return list(args.containers)
        return [c["Id"] for c in eng.containers.list(all=args.all)]

    def sample(prev: dict) -> dict:
        out = {}
        for ref in targets():
            try:
                out[ref] = eng.containers.stats(ref, previous=prev.get(ref))
            except NotFound:
                if args.containers:
                    raise
        return out

    def show(samples: dict, clear: bool) -> None:
        items = [_stats_item(s, args.no_trunc) for s in samples.values()]
        if clear:
            sys.stdout.write("\033[2J\033[H")
        common.print_formatted(items, args.format, headers,
                               lambda it: [it["ID"], it["Name"], it["CPUPerc"], it["MemUsage"], it["MemPerc"],
                                           it["NetIO"], it["BlockIO"], it["PIDs"]])
        sys.stdout.flush()

    prev = sample({})
    time.sleep(1.0)  # a CPU % needs two samples, as docker's first answer does
    cur = sample(prev)
    if args.no_stream:
        show(cur, clear=False)
        return 0
    try:
        while True:
            show(cur, clear=True)
            time.sleep(1.0)
            cur = sample(cur)
    except KeyboardInterrupt:
        return 0


def _port(args) -> int:
    eng = _engine()
    mapping = eng.containers.port(args.container, args.private_port)
    for key in sorted(mapping, key=lambda k: (int(k.split("/")[0]), k)):
        for b in mapping[key]:
            ip = b.get("HostIp") or "0.0.0.0"
            ip = f"[{ip}]" if ":" in ip else ip
            if args.private_port:
                print(f"{ip}:{b.get('HostPort')}")
            else:
                print(f"{key} -> {ip}:{b.get('HostPort')}")
    return 0
