"""``pycompose container commit|diff|attach``: docker's flags and output for these three verbs.

Kept apart from engine/cli/container.py (already at its size limit); that module
registers these verbs through ``add_verbs`` and dispatches through ``VERBS``.
"""
from __future__ import annotations

import sys

from engine.errors import InvalidArgument

KIND_LETTERS = {0: "C", 1: "A", 2: "D"}


_TRUE, _FALSE = ("true", "1", "t", "True", "TRUE"), ("false", "0", "f", "False", "FALSE")


def _go_bool_positionals(value, positionals: list[str | None]) -> tuple[bool, list[str | None]]:
    """A Go bool flag never takes the next word: ``-p c repo`` is pause=true, CONTAINER=c.

    argparse gave the flag ``c``; hand it back to the positionals."""
    if value is True or value in _TRUE:
        return True, positionals
    if value in _FALSE:
        return False, positionals
    return True, [value] + [p for p in positionals if p is not None]


def add_verbs(verb) -> None:
    """Add the verbs to the ``container`` parser; ``verb(names, help)`` makes a sub-parser."""
    p = verb("commit", "Create a new image from a container's changes")
    p.add_argument("-a", "--author", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", help="Commit message")
    p.add_argument("-p", "--pause", nargs="?", const=True, default=True,
                   help="Pause container during commit (default true)")
    p.add_argument("container", nargs="?", metavar="CONTAINER")
    p.add_argument("repository", nargs="?", metavar="[REPOSITORY[:TAG]]")
    p = verb("diff", "Inspect changes to files or directories on a container's filesystem")
    p.add_argument("container", metavar="CONTAINER")
    p = verb("attach", "Attach local standard input, output, and error streams to a running container")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    p.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    p.add_argument("--sig-proxy", nargs="?", const=True, default=True,
                   help="Proxy all received signals to the process (default true)")
    p.add_argument("container", nargs="?", metavar="CONTAINER")


def _engine():
    from engine.api import Engine

    return Engine()


def _commit(args) -> int:
    pause, pos = _go_bool_positionals(args.pause, [args.container, args.repository])
    pos = [p for p in pos if p is not None]
    if not 1 <= len(pos) <= 2:
        raise InvalidArgument('"pycompose container commit" requires at least 1 and at most 2 arguments.\n'
                              "Usage:  pycompose container commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")
    container, repository = pos[0], (pos[1] if len(pos) > 1 else None)
    changes = [c for c in args.change if c.strip()]
    if repository is not None and not repository:
        raise InvalidArgument("invalid reference format")
    iid = _engine().containers.commit(container, repo_tag=repository, message=args.message,
                                      author=args.author, changes=changes, pause=pause)
    print(iid)
    return 0


def _diff(args) -> int:
    out = sys.stdout
    for c in _engine().containers.diff(args.container):
        out.write(f"{KIND_LETTERS[c['Kind']]} {c['Path']}\n")
    out.flush()
    return 0


def _attach(args) -> int:
    sig_proxy, pos = _go_bool_positionals(args.sig_proxy, [args.container])
    pos = [p for p in pos if p is not None]
    if len(pos) != 1:
        raise InvalidArgument('"pycompose container attach" requires exactly 1 argument.\n'
                              "Usage:  pycompose container attach [OPTIONS] CONTAINER")
    code = _engine().containers.attach_running(pos[0], stdin=not args.no_stdin,
                                               detach_keys=args.detach_keys, sig_proxy=sig_proxy)
    if code is None:  # detached with the detach keys: docker says so and exits 1
        sys.stderr.write("read escape sequence\n")
        sys.stderr.flush()
        return 1
    return code


VERBS = {"commit": _commit, "diff": _diff, "attach": _attach}
