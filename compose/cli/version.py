"""``pycompose version``."""
from __future__ import annotations

from compose import __version__


def add_arguments(parser, command):
    parser.add_argument("-f", "--format", choices=["pretty", "json"], default="pretty")
    parser.add_argument("--short", action="store_true")


def run(args, gopts) -> int:
    if args.short:
        print(__version__)
    elif args.format == "json":
        import json

        print(json.dumps({"version": f"v{__version__}"}))
    else:
        print(f"pycompose version v{__version__}")
    return 0
