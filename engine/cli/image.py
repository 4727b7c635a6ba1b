"""``pycompose image ...``: docker's image verbs with the docker CLI's flags, columns and messages.

load, import, ls/list, inspect, tag, save, rm/remove, prune, history. The verbs go
through ``engine.api.Engine`` only (its in-use check knows the containers).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from typing import BinaryIO, Callable

from engine.cli import common
from engine.errors import InvalidArgument, NotFound

HELP = "Manage images"
IMAGE_HEADERS = {"ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "VirtualSize": "SIZE",
                 "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}


def add_arguments(parser, command) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("load", help="Load an image from a tar archive or STDIN")
    p.add_argument("-i", "--input", help="Read from tar archive file, instead of STDIN")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")

    p = sub.add_parser("import", help="Import the contents from a tarball to create a filesystem image")
    p.add_argument("file", metavar="file|URL|-")
    p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", help="Set commit message for imported image")
    p.add_argument("--platform", help="Set platform if server is multi-platform capable")

    for name in ("ls", "list"):
        p = sub.add_parser(name, help="List images")
        p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
        p.add_argument("-a", "--all", action="store_true", help="Show all images")
        p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
        p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
        p.add_argument("--format", help="Format output using a custom template ('table', 'json', or a Go template)")
        p.add_argument("--digests", action="store_true", help="Show digests")
        p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")

    common.add_inspect(sub, "image")

    p = sub.add_parser("tag", help="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    p.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    p.add_argument("target", metavar="TARGET_IMAGE[:TAG]")

    p = sub.add_parser("save", help="Save one or more images to a tar archive (streamed to STDOUT by default)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")

    for p in common.add_rm(sub, "image", "Force removal of the image"):
        p.add_argument("--no-prune", action="store_true", help="Do not delete untagged parents")

    p = sub.add_parser("prune", help="Remove unused images")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"until=<timestamp>\")")

    from engine.cli import registry

    registry.add_pull_parser(sub)
    registry.add_push_parser(sub)
    registry.add_search_parser(sub)

    from engine.cli import imagebuild

    imagebuild.add_build_parser(sub)

    p = sub.add_parser("history", help="Show the history of an image")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("--format")
    p.add_argument("-H", "--human", action="store_true", default=True)


def _images():
    """The engine's images (``engine.api.images.Images``)."""
    from engine.api import Engine

    return Engine().images


def run(args, gopts) -> int:
    if args.verb == "build":
        from engine.cli import imagebuild

        return imagebuild.build(args)
    if args.verb in ("pull", "push", "search"):
        from engine.cli import registry

        return getattr(registry, args.verb)(args)
    return {
        "load": _load, "import": _import, "ls": _ls, "list": _ls, "inspect": _inspect, "tag": _tag,
        "save": _save, "rm": _rm, "remove": _rm, "prune": _prune, "history": _history,
    }[args.verb](args)


@contextlib.contextmanager
def _temp_tar(prefix: str, fill: Callable[[BinaryIO], None] | None = None):
    """A temporary ``.tar`` path, written by ``fill(file)`` first when given, removed after the block."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tar")
    try:
        with os.fdopen(fd, "wb") as f:
            if fill is not None:
                fill(f)
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def _stdin_to_file():
    """Archives must be seekable: spool STDIN into a temp file."""
    if sys.stdin.isatty():
        raise InvalidArgument("requested load from stdin, but stdin is empty")
    with _temp_tar("pycompose-stdin-", lambda f: shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)) as tmp:
        if os.path.getsize(tmp) == 0:
            raise InvalidArgument("requested load from stdin, but stdin is empty")
        yield tmp


def _load(args) -> int:
    images = _images()

    def retag(tag: str, old_id: str) -> None:
        if not args.quiet:
            print(f"The image {tag} already exists, renaming the old one with ID {old_id} to empty string")

    if args.input:
        loaded = images.load(args.input, on_retag=retag)
    else:
        with _stdin_to_file() as tmp:
            loaded = images.load(tmp, on_retag=retag)
    if not args.quiet:
        for name in loaded:
            print(f"Loaded image ID: {name}" if name.startswith("sha256:") else f"Loaded image: {name}")
    return 0


def _fetch_url(url: str):
    """``image import URL``: the download in a temporary file, for a ``with`` block."""
    import httpx

    def download(f: BinaryIO) -> None:
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=60) as r:
                if r.status_code != 200:
                    raise InvalidArgument(f"import {url}: HTTP {r.status_code}")
                for chunk in r.iter_bytes(1 << 20):
                    f.write(chunk)
        except httpx.HTTPError as e:
            raise InvalidArgument(f"import {url}: {e}") from None

    return _temp_tar("pycompose-import-", download)


def _import(args) -> int:
    images = _images()
    src = args.file
    if src == "-":
        ctx = _stdin_to_file()
    elif src.startswith(("http://", "https://")):
        ctx = _fetch_url(src)
    else:
        ctx = contextlib.nullcontext(src)
    with ctx as path:
        iid = images.import_(path, args.reference, changes=args.change, message=args.message)
    print(iid)
    return 0


def _names(rec, patterns: list[str], digests: bool) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) rows of one image as docker's image formatter makes them: a tag
    shows the digests of its own repository (one row each with ``--digests``), a repository
    known only by digest gets ``<none>`` tag rows; an image with neither is ``<none> <none>``."""
    from engine.api.images import parse_reference, reference_matches

    tags: dict[str, list[str]] = {}
    by_repo: dict[str, list[str]] = {}
    for r in rec.refs:
        ref = parse_reference(r)
        if patterns and not any(reference_matches(ref.familiar(), p) for p in patterns):
            continue
        tags.setdefault(ref.familiar_name, []).append(ref.tag or "<none>")
    for r in rec.repo_digests:
        try:
            ref = parse_reference(r, default_tag=False)
        except InvalidArgument:
            continue
        if ref.digest:
            by_repo.setdefault(ref.familiar_name, []).append(ref.digest)
    out = []
    for repo, repo_tags in tags.items():
        ds = by_repo.pop(repo, [])
        shown = ds if digests and ds else [ds[0] if ds else "<none>"]
        out.extend((repo, tag, d) for tag in repo_tags for d in shown)
    if not patterns:
        for repo, ds in by_repo.items():
            out.extend((repo, "<none>", d) for d in (ds if digests else ds[:1]))
    return out or ([("<none>", "<none>", "<none>")] if not patterns else [])


def _rows(recs, no_trunc: bool, patterns: list[str], digests: bool = False) -> list[dict]:
    """One row per tag (``<none>`` for untagged), with docker's template field names;
    with ``reference=`` filters only the tags that match are shown, as docker shows them."""
    rows = []
    for rec in recs:
        for repo, tag, digest in _names(rec, patterns, digests):
            rows.append({
                "Containers": "N/A",
                "CreatedAt": common.go_time(rec.created_unix),
                "CreatedSince": common.ago(rec.created_unix),
                "Digest": digest,
                "ID": rec.id if no_trunc else common.short_id(rec.id),
                "Repository": repo,
                "SharedSize": "N/A",
                "Size": common.human_size(rec.size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": common.human_size(rec.size),
            })
    return rows


def _ls(args) -> int:
    filters = common.parse_filters(args.filter)
    if args.reference:
        filters.setdefault("reference", []).append(args.reference)
    recs = _images().records(filters)
    rows = _rows(recs, args.no_trunc, filters.get("reference") or [], args.digests)
    if args.quiet:
        seen = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        for i in seen:
            print(i)
        return 0
    headers = ["REPOSITORY", "TAG"] + (["DIGEST"] if args.digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    common.print_formatted(
        rows, args.format, headers,
        lambda r: [r["Repository"], r["Tag"]] + ([r["Digest"]] if args.digests else [])
        + [r["ID"], r["CreatedSince"], r["Size"]], header_names=IMAGE_HEADERS)
    return 0


def _inspect(args) -> int:
    missing = common.print_inspected(args.images, _images().inspect, args.format)
    if missing:
        raise NotFound("; ".join(f"Error: {e}" if not str(e).startswith("Error") else str(e) for e in missing))
    return 0


def _tag(args) -> int:
    images = _images()
    images.tag(args.source, args.target)
    return 0


def _save(args) -> int:
    images = _images()
    if args.output:
        images.save(args.images, args.output)
        return 0
    if sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    with _temp_tar("pycompose-save-") as tmp:
        images.save(args.images, tmp)
        sys.stdout.flush()
        with open(tmp, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()
    return 0


def _rm(args) -> int:
    images = _images()

    def remove(name: str) -> None:
        for item in images.remove(name, force=args.force):
            for k, v in item.items():
                print(f"{k}: {v}")

    return common.remove_each(args.images, remove)


def _prune(args) -> int:
    images = _images()
    filters = common.parse_filters(args.filter)
    if not args.force:
        warning = ("WARNING! This will remove all images without at least one container associated to them."
                   if args.all else "WARNING! This will remove all dangling images.")
        if not common.confirm(warning):
            return 0
    report = images.prune(all=args.all, filters=filters)
    deleted = report.get("ImagesDeleted") or []
    if deleted:
        print("Deleted Images:")
        for item in deleted:
            for k, v in item.items():
                print(f"{k.lower()}: {v}")
        print()
    print(f"Total reclaimed space: {common.human_size(report.get('SpaceReclaimed') or 0)}")
    return 0


def _history(args) -> int:
    from engine.api.images import image_time

    rec = _images().get(args.image)
    history = list(rec.image_config.get("history") or [])
    sizes = [l.get("size", 0) for l in rec.layers]
    rows, li = [], 0
    for h in history:
        size = 0
        if not h.get("empty_layer") and li < len(sizes):
            size = sizes[li]
            li += 1
        created_by = h.get("created_by", "")
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        rows.append({"ID": "<missing>", "CreatedSince": common.ago(image_time(h.get("created"))),
                     "CreatedAt": h.get("created", ""), "CreatedBy": created_by,
                     "Size": common.human_size(size), "Comment": h.get("comment", "")})
    rows.reverse()
    if rows:
        rows[0]["ID"] = rec.id if args.no_trunc else common.short_id(rec.id)
    if args.quiet:
        for r in rows:
            print(r["ID"])
        return 0
    common.print_formatted(rows, args.format, ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                           lambda r: [r["ID"], r["CreatedSince"], r["CreatedBy"], r["Size"], r["Comment"]])
    return 0
