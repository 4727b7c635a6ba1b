"""``pycompose pull`` / ``pycompose push``: Docker Compose v2's commands for the service images."""
from __future__ import annotations

from compose import pullpolicy
from compose.backend import open_backend

HELP = "Pull service images"


def add_arguments(parser, command) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("--include-deps", action="store_true", help="Also pull/push services declared as dependencies")
    parser.add_argument("-q", "--quiet", action="store_true", help="Pull/push without printing progress information")
    if command == "push":
        parser.description = "Push service images"
        parser.add_argument("--ignore-push-failures", action="store_true", help="Push what it can and ignores images with push failures")
        return
    parser.add_argument("--ignore-buildable", action="store_true", help="Ignore images that can be built")
    parser.add_argument("--ignore-pull-failures", action="store_true", help="Pull what it can and ignores images with pull failures")
    parser.add_argument("--policy", help='Apply pull policy ("missing"|"always")')
    parser.add_argument("--parallel", action="store_true", help="DEPRECATED pull multiple images in parallel")
    parser.add_argument("--no-parallel", action="store_true", help="DEPRECATED disable parallel pulling")


def run(args, gopts) -> int:
    from compose import pulling
    from compose.render.progress import make_progress

    push = args.command == "push"
    policy = None if push else pullpolicy.check_pull_choice(args.policy)
    progress = make_progress("quiet" if args.quiet else gopts.progress, title="Pushing" if push else "Pulling")
    b = open_backend(gopts, progress=progress, services=args.services)
    with b.progress:
        if push:
            pulling.push_command(b, pulling.PushOptions(services=args.services, include_deps=args.include_deps,
                                                        ignore_failures=args.ignore_push_failures, quiet=args.quiet))
        else:
            pulling.pull_command(b, pulling.PullOptions(
                services=args.services, ignore_buildable=args.ignore_buildable,
                ignore_failures=args.ignore_pull_failures, include_deps=args.include_deps, policy=policy,
                quiet=args.quiet))
    return 0
