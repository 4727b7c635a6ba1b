"""``pycompose config``: parse, resolve and print the compose model like ``docker compose config``.

WHY it matters: it is how users (and our tests) see exactly the model every other
command acts on; its flags and output follow Docker Compose v2 so scripts keep working.
"""
from __future__ import annotations

import os
import sys

from compose.errors import UsageError

HELP = "Parse, resolve and render compose file in canonical format"


def add_arguments(parser, command):
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("--format", default="", help="Format the output. Values: [yaml | json]")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="Only validate the configuration, don't print anything")
    parser.add_argument("--no-interpolate", action="store_true", help="Don't interpolate environment variables")
    parser.add_argument("--no-normalize", action="store_true", help="Don't normalize compose model")
    parser.add_argument("--no-path-resolution", action="store_true", help="Don't resolve file paths")
    parser.add_argument("--no-consistency", action="store_true",
                        help="Don't check model consistency - warning: may produce invalid Compose output")
    parser.add_argument("--no-env-resolution", action="store_true", help="Don't resolve service env files")
    parser.add_argument("--resolve-image-digests", action="store_true", help="Pin image tags to digests")
    parser.add_argument("--lock-image-digests", action="store_true",
                        help="Produces an override file with image digests")
    for names in ("services", "volumes", "networks", "models", "profiles", "images"):
        parser.add_argument(f"--{names}", dest=f"list_{names}", action="store_true",
                            help=f"Print the {names[:-1]} names, one per line.")
    parser.add_argument("--hash", default="", help='Print the service config hash, one per line ("*" or SERVICE,...).')
    parser.add_argument("--variables", action="store_true", help="Print model variables and default values.")
    parser.add_argument("--environment", action="store_true", help="Print environment used for interpolation.")
    parser.add_argument("-o", "--output", default="", help="Save to file (default to stdout)")


def _options(args, gopts, **kw):
    from compose.loader import LoadOptions

    base = dict(interpolate=not args.no_interpolate, normalize=not (args.no_normalize or gopts.compatibility),
                resolve_paths=not args.no_path_resolution, consistency=not args.no_consistency)
    base.update(kw)
    return LoadOptions.from_global(gopts, **base)


def _emit(text: str, args) -> None:
    if args.quiet:
        return
    if args.output and text:
        with open(args.output, "w") as fh:
            fh.write(text)
        return
    sys.stdout.write(text)


def run(args, gopts) -> int:
    from compose.loader import load

    fmt = args.format
    if fmt and fmt not in ("yaml", "json") and not args.variables:
        raise UsageError(f"unsupported format {fmt!r}")
    if args.list_services:
        project = load(_options(args, gopts, resolve_env_files=False))
        _emit("".join(f"{n}\n" for n in _start_order(project.services)), args)
        return 0
    if args.list_volumes or args.list_networks or args.list_models:
        project = load(_options(args, gopts, resolve_env_files=False))
        key = "volumes" if args.list_volumes else "networks" if args.list_networks else "models"
        _emit("".join(f"{n}\n" for n in (project.model.get(key) or {})), args)
        return 0
    if args.hash:
        return _hash(args, gopts)
    if args.list_profiles:
        project = load(_options(args, gopts, resolve_env_files=False, services=list(args.services)))
        profiles = set()
        for svc in list(project.services.values()) + list(project.disabled_services.values()):
            profiles.update(svc.get("profiles") or [])
        _emit("".join(f"{p}\n" for p in sorted(profiles)), args)
        return 0
    if args.list_images:
        project = load(_options(args, gopts, resolve_env_files=False, services=list(args.services)))
        _emit("".join(f"{project.image_name(n)}\n" for n in project.services), args)
        return 0
    if args.variables:
        return _variables(args, gopts)
    if args.environment:
        project = load(_options(args, gopts, services=list(args.services)))
        _emit("".join(f"{k}={v}\n" for k, v in sorted(project.environment.items())), args)
        return 0
    project = load(_options(args, gopts, services=list(args.services),
                            resolve_env_files=not args.no_env_resolution))
    if args.resolve_image_digests or args.lock_image_digests:  # Compose: lock implies resolve
        from compose.backend import open_engine
        from compose.pulling import resolve_images

        resolve_images(open_engine(), project.model, project.model_with_extensions)
    model = project.model
    if args.lock_image_digests:
        model = {"services": {n: ({"image": s["image"]} if s.get("image") else {})
                              for n, s in project.services.items()}}
    from compose.loader.output import go_texts, to_json, to_yaml, yaml_model

    if (fmt or "yaml") == "json":
        text = to_json(go_texts(model)) if not args.no_interpolate else to_json(_sorted(model))
    else:
        if not args.lock_image_digests and project.model_with_extensions is not None:
            model = project.model_with_extensions
        text = to_yaml(yaml_model(go_texts(model)) if not args.no_interpolate else _sorted(model))
    if not args.no_interpolate:
        text = text.replace("$", "$$")
    _emit(text, args)
    return 0


def _sorted(obj):
    if isinstance(obj, dict):
        return {k: _sorted(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [_sorted(v) for v in obj]
    return obj


def _start_order(services: dict) -> list[str]:
    """Dependencies first (Compose walks the graph); ties in name order."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(n, stack=()):
        if n in seen or n not in services or n in stack:
            return
        for d in sorted((services[n].get("depends_on") or {})):
            visit(d, stack + (n,))
        seen.add(n)
        order.append(n)

    for n in sorted(services):
        visit(n)
    return order


def _hash(args, gopts) -> int:
    from compose.errors import ComposeError
    from compose.hash import service_hash
    from compose.loader import load

    project = load(_options(args, gopts, resolve_env_files=False))
    names = sorted(project.services) if args.hash == "*" else sorted(args.hash.split(","))
    lines = []
    for n in names:
        if n not in project.services:
            raise ComposeError(f"no such service: {n}")
        lines.append(f"{n} {service_hash(n, project.services[n])}\n")
    _emit("".join(lines), args)
    return 0


def _variables(args, gopts) -> int:
    from compose.loader import load
    from compose.loader.variables import extract_variables, render_variables

    project = load(_options(args, gopts, interpolate=False, resolve_env_files=False,
                            services=list(args.services)))
    variables = extract_variables(project.model)
    _emit(render_variables(variables, args.format or "table"), args)
    return 0
