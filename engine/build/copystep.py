"""``COPY`` and ``ADD``: sources matched, their cache key, and the layer written without a container.

The key is what decides the layer's content: the parent's key (none with ``--link``,
whose layer does not depend on what is below), the destination and flags, and for each
source the content, mode and owner of every file (never mtimes), so ``touch`` keeps the
step cached and a one-byte change busts it and what follows.
"""
from __future__ import annotations

import email.utils
import hashlib
import os
import posixpath
import shutil
import time
from dataclasses import dataclass

from engine.build.cache import key_of
from engine.build.copyops import CopyJob, Writer, extract_archive, is_archive
from engine.build.errors import BuildError
from engine.build.fsview import LayeredFS
from engine.build.imageconfig import StageImage
from engine.build.sources import (Item, Source, context_sources, file_source, fs_sources, heredoc_source,
                                  not_found, parents_rel)

MULTI_SOURCE_ERROR = "When using {kw} with more than one source file, the destination must be a directory and end with a /"


@dataclass
class Plan:
    sources: list[tuple[Source, str | None]]  # (source, kept path for --parents)
    digests: list
    dest: str
    dest_is_dir: bool
    owner: tuple[int, int] | None
    chmod: object  # (mode, is_dir) -> mode, or None


def _is_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


def dest_of(img: StageImage, dest: str) -> tuple[str, bool]:
    """Absolute destination and whether it names a directory (Docker's rules)."""
    is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith(("/.", "/.."))
    if not dest.startswith("/"):
        dest = posixpath.join(img.config.get("WorkingDir") or "/", dest)
    return posixpath.normpath(dest) if dest not in ("", "/") else "/", is_dir


def parse_chmod(value: str | None):
    """``--chmod`` (octal or symbolic, as BuildKit takes it) -> (mode, is_dir) -> mode, or None."""
    if not value:
        return None
    from engine.build.dockerfile.copyrules import parse_chmod as rules
    from engine.errors import InvalidArgument

    try:
        return rules(value)
    except InvalidArgument as e:
        raise BuildError(str(e)) from None


def parse_chown(value: str | None, layer_dirs) -> tuple[int, int] | None:
    """``--chown=user:group`` -> ids, names looked up in the stage's /etc/passwd and /etc/group."""
    if not value:
        return None
    from engine.errors import InvalidArgument
    from engine.runtime.users import resolve_user

    user, _, group = value.partition(":")
    try:
        who = resolve_user(value if group else user, list(layer_dirs()))
    except InvalidArgument as e:
        raise BuildError(f"unable to convert uid/gid chown string to host mapping: {e}") from None
    # a user without a group takes the user's numeric id as its group id (Docker's rule)
    return who.uid, who.gid if group else who.uid


def plan_copy(sb, img: StageImage, instr, is_add: bool) -> Plan:
    """Match the sources and compute their digests (downloads ADD URLs)."""
    kw = "ADD" if is_add else "COPY"
    dest, dest_is_dir = dest_of(img, instr.dest)
    from_ = getattr(instr, "from_", None)
    srcs: list[tuple[Source, str | None]] = []
    digests: list = []
    ctx_like, fs, src_key = None, None, None
    if from_:
        ctx_like, fs, src_key = sb.copy_origin(from_)
    else:
        ctx_like = sb.build.context()
    patterns = list(instr.sources)
    for pattern in patterns:
        if is_add and _is_url(pattern):
            s = sb.build.download(pattern, getattr(instr, "checksum", None), dest_is_dir)
            srcs.append((s, None))
            digests.append(["url", pattern, s.items[0].mode, _file_sha(s.items[0].src)])
            continue
        if fs is not None:
            found = fs_sources(fs, pattern)
            digests.append(["from", src_key, pattern])
        else:
            found = context_sources(ctx_like, pattern)
        if not found:
            raise not_found(pattern)
        found = _excluded(found, instr.excludes)
        pivot = _pivot(pattern) if instr.parents else None
        for s in found:
            if is_add and not s.is_dir and fs is None and _unpack(instr) and is_archive(s.items[0].src or ""):
                s.archive = s.items[0].src
            kept = None
            if pivot is not None:
                kept = s.rel_path[len(pivot):].lstrip("/") if s.rel_path.startswith(pivot) else s.rel_path
                kept = parents_rel(kept)
            srcs.append((s, kept))
            if fs is None:
                digests.append(["ctx", s.rel_path, kept, s.archive is not None, _items_digest(ctx_like, s)])
    for h in instr.heredocs:
        data = h.content.encode()
        srcs.append((heredoc_source(h.name, data, time.time_ns()), None))
        digests.append(["heredoc", h.name, hashlib.sha256(data).hexdigest()])
    if len(srcs) > 1 and not dest_is_dir and not instr.parents:
        raise BuildError(MULTI_SOURCE_ERROR.format(kw=kw))
    owner = parse_chown(instr.chown, lambda: sb.build.layer_dirs(img.layers)) if instr.chown else None
    return Plan(srcs, digests, dest, dest_is_dir or bool(instr.parents), owner, parse_chmod(instr.chmod))


def _unpack(instr) -> bool:
    u = getattr(instr, "unpack", None)
    return True if u is None else bool(u)


def _pivot(pattern: str) -> str:
    from engine.build.context import clean_rel

    p = pattern.replace("\\", "/")
    return clean_rel(p.split("/./", 1)[0]) if "/./" in p else ""


def _excluded(found: list[Source], patterns: list[str]) -> list[Source]:
    if not patterns:
        return found
    from engine.build.dockerignore import DockerIgnore

    ign = DockerIgnore(list(patterns))
    out = []
    for s in found:
        base = s.rel_path
        if ign.excluded(base):
            continue
        s.items = [it for it in s.items if not it.rel or not ign.excluded(f"{base}/{it.rel}" if base else it.rel)]
        out.append(s)
    return out


def _items_digest(ctx, s: Source) -> str:
    h = hashlib.sha256()
    for it in s.items:
        h.update(f"{it.rel}\0{it.kind}\0{it.mode:o}\0{it.link or ''}\0".encode())
        if it.kind == "file" and it.src:
            h.update(ctx.file_digest(it.src, it.st or os.stat(it.src, follow_symlinks=False)).encode())
    return h.hexdigest()


def _file_sha(path: str | None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def copy_key(img: StageImage, instr, plan: Plan, is_add: bool) -> str:
    parent = "link" if instr.link else img.key
    return key_of("add" if is_add else "copy", parent, plan.dest, plan.dest_is_dir, plan.owner, instr.chmod,
                  bool(instr.parents), plan.digests, None if instr.link else img.config.get("WorkingDir"))


def execute(sb, img: StageImage, instr, plan: Plan) -> dict | None:
    """Write the sources into a fresh upper dir and store it as the step's layer."""
    from engine.build.output import commit_upper

    build = sb.build
    scratch = build.scratch_dir("copy")
    upper = scratch / "upper"
    upper.mkdir(mode=0o755)
    try:
        base = None if instr.link else LayeredFS(build.layer_dirs(img.layers))
        job = CopyJob(upper, base, plan.dest, plan.dest_is_dir, plan.owner, plan.chmod, bool(instr.parents))
        w = Writer(job)
        for src, kept in plan.sources:
            if src.archive:
                extract_archive(job, w, src.archive)
                continue
            w.write(src, w.target_of(src, kept))
        w.finish()
        return commit_upper(build.store, upper, adopt=True)
    except OSError as e:
        raise BuildError(f"failed to copy files: {e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def history_text(instr, is_add: bool) -> str:
    words = list(instr.sources) + [f"<<{h.name}" for h in instr.heredocs]
    return f"{'ADD' if is_add else 'COPY'} {' '.join(words)} {instr.dest} # buildkit"


def http_mtime(header: str | None) -> int:
    if not header:
        return 0
    try:
        return int(email.utils.parsedate_to_datetime(header).timestamp() * 1e9)
    except (TypeError, ValueError):
        return 0


__all__ = ["plan_copy", "copy_key", "execute", "history_text", "Item", "file_source"]
