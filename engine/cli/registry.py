"""``pycompose image pull|push|search`` and the pull of ``container run|create``: docker's output.

``docker pull`` on a terminal shows one line per layer rewritten in place, plain
lines elsewhere (``engine.jsonmessage``), then the full reference on stdout;
``-q`` prints only that reference. ``docker run`` pulls a missing image first
(``Unable to find image 'x:latest' locally`` and the progress on stderr).
"""
from __future__ import annotations

import sys

from engine.errors import InvalidArgument

PULL_CHOICES = ("always", "missing", "never")


def add_pull_parser(sub) -> None:
    p = sub.add_parser("pull", help="Download an image from a registry")
    p.add_argument("-a", "--all-tags", action="store_true", help="Download all tagged images in the repository")
    p.add_argument("--platform", help="Set platform if server is multi-platform capable")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--disable-content-trust", action="store_true", default=True, help="Skip image verification")
    p.add_argument("reference", metavar="NAME[:TAG|@DIGEST]")


def add_push_parser(sub) -> None:
    p = sub.add_parser("push", help="Upload an image to a registry")
    p.add_argument("-a", "--all-tags", action="store_true", help="Push all tags of an image to the repository")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--platform", help="Push a platform-specific manifest as a single-platform image")
    p.add_argument("--disable-content-trust", action="store_true", default=True, help="Skip image signing")
    p.add_argument("reference", metavar="NAME[:TAG]")


def add_search_parser(sub) -> None:
    p = sub.add_parser("search", help="Search Docker Hub for images")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Pretty-print search using a Go template")
    p.add_argument("--limit", type=int, default=25, help="Max number of search results")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("term", metavar="TERM")


def _engine():
    from engine.api import Engine

    return Engine()


def _parse(ref: str, default_tag: bool = True):
    from engine.api.images import parse_reference

    return parse_reference(ref, default_tag=default_tag)


def pull(args) -> int:
    named = _parse(args.reference, default_tag=False)
    if args.all_tags and (named.tag or named.digest):
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    full = named if (args.all_tags or named.tag or named.digest) else named.with_tag("latest")
    from engine.api.registry import MessageDisplay

    display = MessageDisplay(sys.stdout, "quiet" if args.quiet else "auto")
    if not args.quiet and full is not named:
        print("Using default tag: latest", flush=True)
    try:
        _engine().images.pull(str(full), platform=args.platform, all_tags=args.all_tags, progress=display)
    finally:
        display.close()
    print(str(full))
    return 0


def push(args) -> int:
    named = _parse(args.reference, default_tag=False)
    if args.all_tags and (named.tag or named.digest):
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    if named.digest:
        raise InvalidArgument(f"cannot push a digest reference: {args.reference}")
    full = named if (args.all_tags or named.tag) else named.with_tag("latest")
    from engine.api.registry import MessageDisplay

    display = MessageDisplay(sys.stdout, "quiet" if args.quiet else "auto")
    if not args.quiet and full is not named:
        print("Using default tag: latest", flush=True)
    try:
        _engine().images.push(str(full), all_tags=args.all_tags, progress=display)
    finally:
        display.close()
    if args.quiet:
        print(str(full))
    return 0


# ---------------------------------------------------------------------------- search

SEARCH_HEADERS = {"StarCount": "STARS", "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED"}


def ellipsis(text: str, width: int) -> str:
    """docker's formatter.Ellipsis: cut to ``width`` characters, the last one ``…``."""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def search_rows(results: list[dict], no_trunc: bool) -> list[dict]:
    """Search results with the field names docker's ``--format`` templates use."""
    rows = []
    for r in results:
        desc = " ".join((r.get("description") or "").split("\n")).replace("\r", " ")
        rows.append({
            "Name": r.get("name", ""),
            "Description": desc if no_trunc else ellipsis(desc, 45),
            "StarCount": str(r.get("star_count") or 0),
            "IsOfficial": "[OK]" if r.get("is_official") else "",
            "IsAutomated": "[OK]" if r.get("is_automated") else "",
        })
    return rows


def search(args) -> int:
    if args.limit < 1 or args.limit > 100:
        raise InvalidArgument(f"limit {args.limit} is outside the range of [1, 100]")
    from engine.cli import common  # here: the pull of `container run` prints none of it

    filters = common.parse_filters(args.filter)
    for key in filters:
        if key not in ("stars", "is-official", "is-automated"):
            raise InvalidArgument(f"invalid filter '{key}'")
    results = _engine().images.search(args.term, limit=args.limit, filters=filters or None)
    rows = search_rows(results, args.no_trunc)
    common.print_formatted(rows, args.format, ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"],
                           lambda r: [r["Name"], r["Description"], r["StarCount"], r["IsOfficial"]],
                           header_names=SEARCH_HEADERS)
    return 0


# ---------------------------------------------------------------------------- run / create --pull


def ensure_image(eng, image: str, policy: str, platform: str | None = None, quiet: bool = False) -> None:
    """``docker run --pull``: ``always`` pulls, ``missing`` pulls when the image is not here
    (saying so on stderr first), ``never`` leaves it to create (which reports it missing)."""
    if policy not in PULL_CHOICES:
        raise InvalidArgument(f"invalid pull option: '{policy}': must be one of \"always\", \"missing\" or \"never\"")
    from engine.api.images import is_image_id

    if policy == "never" or is_image_id(image):
        return
    if policy == "missing":
        if eng.images.exists(image):
            return
        named = _parse(image)
        sys.stderr.write(f"Unable to find image '{named.familiar()}' locally\n")
        sys.stderr.flush()
    from engine.api.registry import MessageDisplay

    display = MessageDisplay(sys.stderr, "quiet" if quiet else "auto")
    try:
        eng.images.pull(str(_parse(image)), platform=platform, progress=display)
    finally:
        display.close()
