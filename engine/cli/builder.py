"""``pycompose builder prune|du``: docker's build-cache verbs (see ``engine.cli.imagebuild``)."""
from __future__ import annotations

HELP = "Manage builds"


def add_arguments(parser, command) -> None:
    from engine.cli.imagebuild import add_builder_parser

    add_builder_parser(parser)


def run(args, gopts) -> int:
    from engine.cli.imagebuild import builder

    return builder(args)
