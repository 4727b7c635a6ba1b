"""``pycompose build``: build the images of the services that have a ``build:`` section.

Flags as Docker Compose v2's: ``--no-cache``, ``--pull``, ``-q``, ``--build-arg``,
``--with-dependencies``, ``--print`` (the equivalent bake file), ``--progress``, SERVICE...
"""
from __future__ import annotations

import sys

from compose.backend import open_backend

HELP = "Build or rebuild services"


def add_arguments(parser, command) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="Set build-time variables for services")
    parser.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
    parser.add_argument("--pull", action="store_true", help="Always attempt to pull a newer version of the image")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output")
    parser.add_argument("--with-dependencies", action="store_true", help="Also build dependencies (transitively)")
    parser.add_argument("--print", action="store_true", dest="print_bake", help="Print equivalent bake file")
    parser.add_argument("--progress", choices=["auto", "tty", "plain", "json", "quiet"], default=None,
                        help="Set type of ui output")
    parser.add_argument("--dry-run", action="store_true")


def run(args, gopts) -> int:
    from compose import build as bd
    from compose.render.progress import make_progress

    mode = args.progress or gopts.progress
    quiet = args.quiet or mode == "quiet"
    progress = make_progress("quiet" if quiet or args.print_bake else mode, title="Building")
    b = open_backend(gopts, title="Building", services=args.services, progress=progress)
    b.check_services(args.services)
    names = list(args.services) or list(b.project.services)
    if args.with_dependencies:
        names = b.with_dependencies(names)
    names = bd.build_dependencies(b, names)
    opts = bd.BuildOptions(services=names, no_cache=args.no_cache, pull=args.pull, quiet=quiet,
                           build_args=list(args.build_arg), with_dependencies=args.with_dependencies,
                           progress="plain" if mode == "json" else mode)
    if args.print_bake:
        bd.print_bake(b, names, opts)
        return 0
    buildable = [n for n in names if (b.project.services.get(n) or {}).get("build") is not None]
    if not buildable:
        if not quiet:
            sys.stderr.write("WARN[0000] No services to build\n")
        return 0
    if args.dry_run or gopts.dry_run:
        for n in bd.build_order(b, buildable):
            print(f"DRY-RUN MODE - Image {bd.image_name(b.name, n, b.project.services[n])}  Building")
        return 0
    with b.progress:
        bd.build_services(b, buildable, opts)
    return 0
