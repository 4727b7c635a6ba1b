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


def env_pairs(items: list[str]) -> list[str]:
    """-e values as the engine takes them: ``K=V`` strings."""
    return [f"{k}={v}" for k, v in env_list(items).items()]


def env_list(items: list[str]) -> dict[str, str]:
    """-e K=V (or -e K, taken from our environment like docker does)."""
    from compose.convert import flag_pairs

    return flag_pairs(items, os.environ, "invalid environment variable {!r}")


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
    tty = not args.no_tty and sys.stdout.isatty()  # Compose: -T defaults to "stdout is not a terminal"
    code = b.engine.containers.exec(
        c["Id"], list(args.cmd), env=env_pairs(args.env) or None, workdir=args.workdir, user=args.user, tty=tty,
        detach=args.detach, privileged=args.privileged,
        stdin=None if args.detach else sys.stdin.fileno(),
        stdout=None if args.detach else sys.stdout.fileno(),
        stderr=None if args.detach else sys.stderr.fileno())
    return int(code or 0)


def attach(args, gopts) -> int:
    """Relay our stdin (when the service keeps stdin open) and the container's output from now
    until it stops; its exit code is ours."""
    b = open_backend(gopts, need_project=False)
    c = b.container_of(args.service, args.index)
    cfg = b.engine.containers.inspect(c["Id"]).get("Config") or {}
    stdin = bool(cfg.get("OpenStdin")) and not args.no_stdin
    tty = stdin and bool(cfg.get("Tty")) and sys.stdin.isatty()
    try:
        return int(b.engine.containers.attach(c["Id"], tty=tty, stdin=stdin, history=False) or 0)
    except KeyboardInterrupt:
        return 130


def cp(args, gopts) -> int:
    """``SERVICE:PATH LOCAL`` or ``LOCAL SERVICE:PATH`` (docker cp's syntax, with a service name).

    The engine moves tar streams; packing and unpacking on this side keeps docker cp's rules:
    a local directory destination receives the copied entry under its own name.
    """
    b = open_backend(gopts, need_project=False)

    def split(spec: str):
        if ":" in spec and not spec.startswith(("/", ".")):
            svc, _, path = spec.partition(":")
            return svc, path
        return None, spec

    s_svc, s_path = split(args.src)
    d_svc, d_path = split(args.dest)
    if bool(s_svc) == bool(d_svc):
        raise UsageError("copying between services is not supported: exactly one of SRC and DEST must be SERVICE:PATH")
    svc = s_svc or d_svc
    if args.all and d_svc:
        targets = b.containers([svc], all=False)
    else:
        targets = [b.container_of(svc, args.index or 1, running=False)]
    for c in targets:
        if s_svc:
            _copy_out(b, c["Id"], s_path, d_path, args.follow_link)
        else:
            _copy_in(b, c["Id"], s_path, d_path, args.follow_link)
    return 0


def _copy_in(b, cid: str, src: str, dest: str, follow: bool) -> None:
    import io
    import tarfile

    if not os.path.lexists(src):
        raise UsageError(f"no such file or directory: {src}")
    into_dir = dest.endswith(("/", "/.")) or dest in (".", "/")
    parent = dest.rstrip("/") or "/" if into_dir else (os.path.dirname(dest.rstrip("/")) or "/")
    name = os.path.basename(os.path.abspath(src)) if into_dir else os.path.basename(dest.rstrip("/"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", dereference=follow) as tar:
        tar.add(src, arcname=name)
    buf.seek(0)
    b.engine.containers.copy_to(cid, parent, buf)


def _copy_out(b, cid: str, src: str, dest: str, follow: bool) -> None:
    import io
    import shutil
    import tarfile
    import tempfile

    buf = io.BytesIO()
    b.engine.containers.copy_from(cid, src, buf)
    buf.seek(0)
    if dest == "-":
        sys.stdout.buffer.write(buf.getvalue())
        return
    with tarfile.open(fileobj=buf, mode="r") as tar:
        if os.path.isdir(dest):
            tar.extractall(dest, filter="data")
            return
        tmp = tempfile.mkdtemp(prefix=".pycompose-cp-", dir=os.path.dirname(os.path.abspath(dest)) or ".")
        try:
            tar.extractall(tmp, filter="data")
            entries = os.listdir(tmp)
            if len(entries) != 1:
                raise UsageError(f"cp: unexpected archive from the container for {src}")
            os.replace(os.path.join(tmp, entries[0]), dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
