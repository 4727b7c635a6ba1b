"""``exec``, ``attach`` and ``cp``: act on one running container of a service.

``exec`` gives the process a TTY only when our stdout is a terminal (and not
-T), like Docker Compose v2, so ``pycompose exec web cat f > out`` gets clean bytes.
"""
from __future__ import annotations

import os
import sys

from compose.backend import open_backend, short_name
from compose.errors import UsageError

HELP = "Execute a command in a running container"


def add_arguments(parser, command) -> None:
    if command == "exec":
        parser.add_argument("-d", "--detach", action="store_true", help="Detached mode: Run command in the background")
        parser.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="Disable pseudo-TTY allocation")
        parser.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
        parser.add_argument("-w", "--workdir", help="Path to workdir directory for this command")
        parser.add_argument("-u", "--user", help="Run the command as this user")
        parser.add_argument("--index", type=int, default=1, help="Index of the container if service has multiple replicas")
        parser.add_argument("--privileged", action="store_true")
        parser.add_argument("-i", "--interactive", action="store_true", default=True)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("service", metavar="SERVICE")
        parser.add_argument("cmd", nargs="...", metavar="COMMAND")
    elif command == "attach":
        parser.add_argument("--index", type=int, default=1)
        parser.add_argument("--no-stdin", action="store_true")
        parser.add_argument("--sig-proxy", action="store_true", default=True)
        parser.add_argument("--detach-keys")
        parser.add_argument("service", metavar="SERVICE")
    else:  # cp
        parser.add_argument("-a", "--archive", action="store_true")
        parser.add_argument("-L", "--follow-link", action="store_true")
        parser.add_argument("--index", type=int, default=0)
        parser.add_argument("--all", action="store_true")
        parser.add_argument("src", metavar="SRC")
        parser.add_argument("dest", metavar="DEST")


def env_list(items: list[str]) -> dict[str, str]:
    """-e K=V (or -e K, taken from our environment like docker does)."""
    out = {}
    for e in items:
        k, sep, v = e.partition("=")
        if not k:
            raise UsageError(f"invalid environment variable {e!r}")
        if sep:
            out[k] = v
        elif k in os.environ:
            out[k] = os.environ[k]
    return out


def run(args, gopts) -> int:
    return {"exec": do_exec, "attach": attach, "cp": cp}[args.command](args, gopts)


def do_exec(args, gopts) -> int:
    if not args.cmd:
        raise UsageError("exec needs a SERVICE and a COMMAND")
    b = open_backend(gopts, need_project=False)
    c = b.container_of(args.service, args.index)
    if args.dry_run or gopts.dry_run:
        print(f"DRY-RUN MODE - Container {short_name(c)}  exec {' '.join(args.cmd)}")
        return 0
    tty = not args.no_tty and sys.stdout.isatty() and sys.stdin.isatty()
    code = b.engine.containers.exec(
        c["Id"], list(args.cmd), env=env_list(args.env) or None, workdir=args.workdir, user=args.user, tty=tty,
        detach=args.detach, privileged=args.privileged,
        stdin=None if args.detach else sys.stdin, stdout=None if args.detach else sys.stdout,
        stderr=None if args.detach else sys.stderr)
    return int(code or 0)


def attach(args, gopts) -> int:
    """Stream the container's output until it stops; its exit code is ours."""
    from compose.cli.logs import _entry_parts

    b = open_backend(gopts, need_project=False)
    c = b.container_of(args.service, args.index)
    try:
        for entry in b.engine.containers.logs(c["Id"], follow=True, tail=0):
            stream, when, data = _entry_parts(entry)
            (sys.stderr if stream == "stderr" else sys.stdout).buffer.write(data)
            (sys.stderr if stream == "stderr" else sys.stdout).flush()
    except KeyboardInterrupt:
        return 130
    return int(b.engine.containers.wait(c["Id"]) or 0)


def cp(args, gopts) -> int:
    """``SERVICE:PATH LOCAL`` or ``LOCAL SERVICE:PATH`` (docker cp's syntax, with a service name)."""
    b = open_backend(gopts, need_project=False)

    def split(spec: str):
        if ":" in spec and not spec.startswith(("/", ".")):
            svc, _, path = spec.partition(":")
            return svc, path
        return None, spec

    s_svc, s_path = split(args.src)
    d_svc, d_path = split(args.dest)
    if bool(s_svc) == bool(d_svc):
        raise UsageError("cp: exactly one of SRC and DEST must be SERVICE:PATH")
    svc = s_svc or d_svc
    if args.all and d_svc:
        targets = b.containers([svc], all=False)
    else:
        targets = [b.container_of(svc, args.index or 1, running=False)]
    for c in targets:
        if s_svc:
            b.engine.containers.copy_from(c["Id"], s_path, d_path)
        else:
            b.engine.containers.copy_to(c["Id"], s_path, d_path)
    return 0
