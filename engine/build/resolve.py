"""What a build reads from outside its Dockerfile: the Dockerfile itself, the context,
named contexts, base images (pulled when missing and a registry client exists), URLs.

Also the stage graph (which stages the target needs) and BuildKit's error excerpt.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import threading
import urllib.parse
from pathlib import Path

from engine.build.errors import BuildError
from engine.errors import EngineError, InvalidArgument, NotFound

_pull_lock = threading.Lock()


# --- the Dockerfile and the context ----------------------------------------------------------------
def _is_stream(ctx) -> bool:
    return hasattr(ctx, "read")


def read_dockerfile(build) -> tuple[str, str]:
    """(text, name shown in errors)."""
    opts = build.opts
    if opts.dockerfile_inline is not None:
        return opts.dockerfile_inline, "Dockerfile"
    name = opts.dockerfile or "Dockerfile"
    if _is_stream(opts.context):
        ctx = build.context()
        if getattr(ctx, "dockerfile_text", None) is not None:
            return ctx.dockerfile_text, "Dockerfile"
        path = Path(ctx.host(name))
    else:
        root = Path(opts.context)
        if not root.is_dir():
            raise BuildError(f'unable to prepare context: path "{opts.context}" not found')
        path = Path(name) if os.path.isabs(name) else root / name
        if not os.path.isabs(name) and not path.exists() and Path(name).exists():
            path = Path(name)  # relative to the current directory, like docker's -f
    try:
        return path.read_text(encoding="utf-8", errors="replace"), os.path.basename(name)
    except FileNotFoundError:
        raise BuildError(f"failed to solve: failed to read dockerfile: open {name}: no such file or directory") \
            from None
    except IsADirectoryError:
        raise BuildError(f"failed to solve: failed to read dockerfile: {name} is a directory") from None


def open_context(build):
    from engine.build.context import load_context

    dockerfile = None if build.opts.dockerfile_inline is not None else (build.opts.dockerfile or "Dockerfile")
    return load_context(build.opts.context, dockerfile, build.root, build.tmp)


def uses_context(build) -> bool:
    """True when a needed stage copies from the context or bind-mounts it."""
    for st in build.needed:
        for i in st.instructions:
            kw = i.keyword
            if kw in ("COPY", "ADD") and not getattr(i, "from_", None) and any(
                    not s.startswith(("http://", "https://")) for s in i.sources):
                return True
            if kw == "RUN" and any(m.type == "bind" and not m.from_ for m in i.mounts or []):
                return True
            if kw == "RUN" and getattr(i, "mount_specs", None) and not i.mounts:
                return True
    return _is_stream(build.opts.context)


def named_context(build, name: str):
    """A ``--build-context name=DIR`` as a BuildContext (None when not a directory context)."""
    value = (build.opts.additional_contexts or {}).get(name)
    if value is None or value.startswith("docker-image://"):
        return None
    with build._lock:
        if name not in build._named:
            from engine.build.context import load_context

            if not Path(value).is_dir():
                raise BuildError(f'failed to solve: build context "{name}": path "{value}" not found')
            build._named[name] = load_context(value, None, build.root)
        return build._named[name]


def _image_override(build, ref: str) -> str:
    value = (build.opts.additional_contexts or {}).get(ref)
    if value and value.startswith("docker-image://"):
        return value[len("docker-image://"):]
    return ref


# --- the stage graph ---------------------------------------------------------------------------------
def _deps(build, st) -> list:
    df = build.df
    names = []
    if st.base:
        names.append(build.expand_global(st.base))
    for i in st.instructions:
        if i.keyword in ("COPY", "ADD") and getattr(i, "from_", None):
            names.append(build.expand_global(i.from_))
        if i.keyword == "RUN":
            names += [m.from_ for m in i.mounts or [] if m.from_]
    out = []
    for n in names:
        dep = df.stage(n)
        if dep is not None and dep.index < st.index and dep not in out:
            out.append(dep)
    return out


def stages_needed(build, target) -> list:
    """The target and the stages it reaches through FROM, COPY --from and RUN --mount from=."""
    seen: dict[int, object] = {}
    todo = [target]
    while todo:
        st = todo.pop()
        if st.index in seen:
            continue
        seen[st.index] = st
        todo += _deps(build, st)
    return [seen[i] for i in sorted(seen)]


# --- images ----------------------------------------------------------------------------------------------
def base_image(build, ref: str, from_vertex: str | None):
    """The image ``ref`` names, pulled first when missing (or with ``--pull``)."""
    ref = _image_override(build, ref)
    display = build.display_ref(ref)
    with _pull_lock:
        rec = build._images.get(display)
        if isinstance(rec, BaseException):
            raise rec  # the same failure once, not one pull attempt per stage
        if rec is None:
            try:
                rec = _fetch(build, ref, display)
            except BuildError as e:
                build._images[display] = e
                raise
            build._images[display] = rec
            local = getattr(rec, "_was_local", False)
        else:
            local = True
    if from_vertex:
        v = build.progress.vertex(from_vertex)
        if local:
            v.cached()
        v.done()
    return rec


def _fetch(build, ref: str, display: str):
    store = build.store
    have = store.exists(ref)
    if have and not build.opts.pull:
        rec = store.get(ref)
        rec._was_local = True
        return rec
    pull = getattr(build.images, "pull", None)
    v = build.progress.vertex(f"[internal] load metadata for {display}")
    if pull is None:
        v.done("pull access denied")
        raise BuildError(f"failed to solve: {ref}: failed to resolve source metadata for {display}: pull access "
                         "denied, repository does not exist or may require authorization: the image is not in "
                         "the local store (load it with `pycompose image load`) and no registry client is "
                         "installed")
    try:
        pull(ref)
    except EngineError as e:
        v.done(str(e))
        if have and build.opts.pull:
            raise BuildError(f"failed to solve: {ref}: failed to resolve source metadata for {display}: {e}") \
                from None
        raise BuildError(f"failed to solve: {ref}: failed to resolve source metadata for {display}: {e}") from None
    v.done()
    try:
        return store.get(ref)
    except NotFound:
        raise BuildError(f"failed to solve: {ref}: image not found after pulling it") from None


def check_tags(tags) -> None:
    """Refuse a bad ``-t`` before building anything (docker's wording)."""
    from engine.images import reference

    for t in tags or []:
        try:
            ref = reference.parse(t)
        except EngineError as e:
            raise InvalidArgument(f'invalid argument "{t}" for "-t, --tag" flag: {e}') from None
        if ref.digest:
            raise InvalidArgument(f'invalid argument "{t}" for "-t, --tag" flag: a tag cannot contain a digest')


def full_names(tags) -> list[str]:
    from engine.images import reference

    return [str(reference.parse(t)) for t in tags or []]


# --- ADD <url> ---------------------------------------------------------------------------------------------
def download(build, url: str, checksum: str | None, dest_is_dir: bool):
    """Fetch ``url`` into the build's scratch space; a one-file Source (mode 0600, like Docker)."""
    import httpx

    from engine.build.copystep import http_mtime
    from engine.build.sources import file_source

    scratch = build.scratch_dir("url")
    path = scratch / "download"
    sha = hashlib.sha256()
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as r:
            if r.status_code != 200:
                raise BuildError(f"failed to solve: failed to load {url}: invalid response status {r.status_code}")
            with open(path, "wb") as f:
                for chunk in r.iter_bytes(1 << 20):
                    sha.update(chunk)
                    f.write(chunk)
            mtime = http_mtime(r.headers.get("last-modified"))
    except httpx.HTTPError as e:
        raise BuildError(f"failed to solve: failed to load {url}: {e}") from None
    got = "sha256:" + sha.hexdigest()
    if checksum and checksum != got:
        raise BuildError(f"failed to solve: digest mismatch {checksum}: {got}")
    name = posixpath.basename(urllib.parse.urlparse(url).path) or "index.html"
    return file_source(name, str(path), 0o600, mtime)


# --- errors -------------------------------------------------------------------------------------------------
def error_details(build, vertex_name: str, instr, tail: bytes) -> str:
    """BuildKit's excerpt: the step's last output lines, then the Dockerfile around the line."""
    out = ["------", f" > {vertex_name}:"]
    lines = tail.decode("utf-8", "replace").splitlines()[-10:]
    out += lines
    out.append("------")
    if instr is None or not getattr(instr, "line", None):
        return "\n".join(out)
    src = build.df_text.split("\n")
    start, end = instr.line, max(instr.line, getattr(instr, "end_line", instr.line) or instr.line)
    first = start
    end = min(end, len(src))
    pad = 4 if end == start else 2
    p = 0
    while p < pad:
        if start > 1:
            start -= 1
            p += 1
        if end != len(src):
            end += 1
            p += 1
        p += 1
    out.append(f"{build.df.filename}:{first}")
    out.append("-" * 20)
    for i in range(start, end + 1):
        mark = ">>>" if instr.line <= i <= (getattr(instr, "end_line", instr.line) or instr.line) else "   "
        out.append(f" {i:3d} | {mark} {src[i - 1]}")
    out.append("-" * 20)
    return "\n".join(out)
