"""``pycompose run``: a one-off container of a service, with its command's exit code as ours.

As in Docker Compose v2: dependencies are brought up first (unless
``--no-deps``), the service's ports are not published unless
``--service-ports``/``-p``, the container is named ``<project>-<service>-run-<id>``
and labelled oneoff, and ``--rm`` removes it when the command ends.
"""
from __future__ import annotations

import copy
import shlex
import sys

import anyio

from compose import convert as cv
from compose.backend import UpOptions, open_backend
from compose.cli.exec import env_list
from compose.errors import UsageError

HELP = "Run a one-off command on a service"


def add_arguments(parser, command) -> None:
    parser.add_argument("-d", "--detach", action="store_true", help="Run container in background and print container ID")
    parser.add_argument("--rm", action="store_true", help="Automatically remove the container when it exits")
    parser.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    parser.add_argument("-l", "--label", action="append", default=[], help="Add or override a label")
    parser.add_argument("--entrypoint", help="Override the entrypoint of the image")
    parser.add_argument("--name", help="Assign a name to the container")
    parser.add_argument("--no-deps", action="store_true", help="Don't start linked services")
    parser.add_argument("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    parser.add_argument("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    parser.add_argument("-P", "--service-ports", action="store_true", help="Run command with all service's ports enabled and mapped to the host")
    parser.add_argument("-u", "--user", help="Run as specified username or uid")
    parser.add_argument("-w", "--workdir", help="Working directory inside the container")
    parser.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="Disable pseudo-TTY allocation")
    parser.add_argument("-i", "--interactive", action="store_true", default=True)
    parser.add_argument("--use-aliases", action="store_true", help="Use the service's network aliases in the network(s) the container connects to")
    parser.add_argument("--remove-orphans", action="store_true")
    parser.add_argument("--quiet-pull", action="store_true", help="Pull without printing progress information")
    parser.add_argument("--pull", default="policy", help='Pull image before running ("always"|"missing"|"never")')
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--build", action="store_true", help="Build image before starting container")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("cmd", nargs="...", metavar="COMMAND")


def parse_port(spec: str) -> dict:
    """``[ip:][host:]container[/proto]`` -> the long form."""
    text, _, proto = spec.partition("/")
    parts = text.rsplit(":", 2)
    try:
        if len(parts) == 1:
            return {"target": int(parts[0]), "protocol": proto or "tcp", "mode": "ingress"}
        if len(parts) == 2:
            return {"published": parts[0], "target": int(parts[1]), "protocol": proto or "tcp", "mode": "ingress"}
        return {"host_ip": parts[0], "published": parts[1], "target": int(parts[2]), "protocol": proto or "tcp",
                "mode": "ingress"}
    except ValueError:
        raise UsageError(f"invalid port {spec!r}: expected [IP:][HOST:]CONTAINER[/PROTOCOL]") from None


def parse_volume(spec: str, working_dir: str, volumes: dict) -> dict:
    """``SRC:DST[:ro]`` -> long form: a path is a bind, a name a (project) volume."""
    parts = spec.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    if len(parts) not in (2, 3):
        raise UsageError(f"invalid volume {spec!r}: expected SRC:DST[:ro|rw]")
    src, dst = parts[0], parts[1]
    ro = len(parts) == 3 and "ro" in parts[2].split(",")
    if src.startswith(("/", ".", "~")):
        import os

        path = os.path.normpath(os.path.join(working_dir or os.getcwd(), os.path.expanduser(src)))
        return {"type": "bind", "source": path, "target": dst, "read_only": ro, "bind": {"create_host_path": True}}
    return {"type": "volume", "source": src, "target": dst, "read_only": ro}


def oneoff_service(service: dict, args, working_dir: str, volumes: dict) -> dict:
    s = copy.deepcopy(service)
    if args.cmd:
        s["command"] = list(args.cmd)
    if args.entrypoint is not None:
        s["entrypoint"] = shlex.split(args.entrypoint)
    env = dict(s.get("environment") or {})
    env.update(env_list(args.env))
    s["environment"] = env
    lbl = dict(s.get("labels") or {})
    for item in args.label:
        k, _, v = item.partition("=")
        lbl[k] = v
    s["labels"] = lbl
    if not args.service_ports:
        s.pop("ports", None)
    if args.publish:
        s["ports"] = (s.get("ports") or []) + [parse_port(p) for p in args.publish]
    if args.volume:
        s["volumes"] = (s.get("volumes") or []) + [parse_volume(v, working_dir, volumes) for v in args.volume]
    if args.user:
        s["user"] = args.user
    if args.workdir:
        s["working_dir"] = args.workdir
    s.pop("container_name", None)
    s.pop("restart", None)
    (s.get("deploy") or {}).pop("restart_policy", None)
    s["tty"] = not args.no_tty and not args.detach and sys.stdout.isatty() and sys.stdin.isatty()
    s["stdin_open"] = s["tty"]
    return s


def run(args, gopts) -> int:
    from compose import pullpolicy
    from compose.pulling import pull_for

    pull = pullpolicy.check_up_choice(args.pull)
    b = open_backend(gopts, title="Running", services=[args.service])  # its profile is enabled by naming it
    b.check_services([args.service])
    project = b.project
    service = project.services[args.service]
    deps = [d for d in b.with_dependencies([args.service]) if d != args.service]
    if args.dry_run or gopts.dry_run:
        print(f"DRY-RUN MODE - Container {cv.oneoff_name(b.name, args.service)}  Create, Start")
        return 0
    # the images of the service and its dependencies, before anything is created (Compose's order)
    pull_for(b, [args.service], args.no_deps, pull, args.quiet_pull)
    from compose.build import ALWAYS, MISSING, build_for

    build_for(b, [args.service], args.no_deps, ALWAYS if args.build else MISSING, gopts.progress)
    if deps and not args.no_deps:
        with b.progress:
            anyio.run(b.up, UpOptions(services=deps, remove_orphans=args.remove_orphans, parallel=gopts.parallel))
    else:
        b.ensure_networks()
        b.ensure_volumes()
        b.progress.close()
    s = oneoff_service(service, args, project.working_dir, project.model.get("volumes") or {})
    name = args.name or cv.oneoff_name(b.name, args.service)
    image_id = b.image_ids([args.service])[args.service]
    from compose.hash import service_hash

    extra = cv.Extra(number=1, config_hash=service_hash(args.service, service), image_id=image_id, oneoff=True,
                     name=name, use_aliases=args.use_aliases,
                     service_containers={svc: cs[0]["Id"] for svc in deps
                                         if (cs := b.containers([svc], all=False))})
    body = cv.create_body(project, args.service, s, extra)
    if not args.detach:
        # compose run is interactive by default (-i): our stdin is the command's, and its end
        # closes the command's stdin, so `echo x | pycompose run -T svc cat` ends.
        body.update(OpenStdin=True, AttachStdin=True, StdinOnce=True)
    cid = b.engine.containers.create(body, name=name)
    try:
        if args.detach:
            b.engine.containers.start(cid)
            print(name)
            return 0
        return _attached(b, cid, s["tty"])
    finally:
        if args.rm and not args.detach:
            try:
                b.engine.containers.remove(cid, force=True, volumes=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


def _attached(b, cid: str, tty: bool) -> int:
    """Relay stdin (and the terminal with a tty) and the output while it runs; return its exit code."""
    try:
        code = b.engine.containers.attach(cid, tty=tty, stdin=True)
    except KeyboardInterrupt:
        b.engine.containers.stop(cid, timeout=10)
        code = 130
    return int(code or 0)
