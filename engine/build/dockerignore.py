"""``.dockerignore``: which paths of a build context are not sent, with moby/patternmatcher's rules.

Patterns are cleaned (leading ``/`` and ``./`` dropped, ``a//b/../c`` -> ``a/c``),
``#`` lines are comments, ``!`` makes an exception, the LAST matching pattern
wins. ``*`` and ``?`` never cross ``/``, ``**`` matches any number of
directories, ``[...]`` is a character class, ``\\`` escapes. A pattern also
matches everything under a directory it matches, so ``node_modules`` excludes
the whole tree -- but a directory is still walked when an exception could
re-include something inside it (``build`` + ``!build/keep.txt``).

The Dockerfile's own ignore file (``app.Dockerfile.dockerignore`` next to
``app.Dockerfile``) is preferred over the context's ``.dockerignore``.
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from engine.errors import InvalidArgument

_ESCAPE = set(".+()|{}$")


def read_patterns(text: str) -> list[str]:
    """The patterns of an ignore file, cleaned like Docker's ignorefile.ReadAll."""
    out = []
    for n, raw in enumerate(text.splitlines()):
        if n == 0:
            raw = raw.lstrip("\ufeff")
        if raw.startswith("#"):
            continue
        p = raw.strip()
        if not p:
            continue
        invert = p.startswith("!")
        if invert:
            p = p[1:].strip()
        if p:
            p = posixpath.normpath(p)
            if len(p) > 1 and p.startswith("/"):
                p = p.lstrip("/") or "/"
        out.append("!" + p if invert else p)
    return out


@dataclass
class _Pattern:
    text: str
    exclusion: bool
    dirs: list[str]
    kind: str = ""  # exact | prefix | suffix | regexp
    regex: re.Pattern | None = None

    def compile(self) -> None:
        out = ["^"]
        kind = "exact"
        s = self.text
        i = 0
        first = True
        while i < len(s):
            ch = s[i]
            i += 1
            if ch == "*":
                if i < len(s) and s[i] == "*":
                    i += 1
                    if i < len(s) and s[i] == "/":
                        i += 1
                    if i >= len(s):
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            out.append(".*")
                            kind = "regexp"
                    else:
                        out.append("(.*/)?")
                        kind = "regexp"
                    if first:
                        kind = "suffix"
                else:
                    out.append("[^/]*")
                    kind = "regexp"
            elif ch == "?":
                out.append("[^/]")
                kind = "regexp"
            elif ch in _ESCAPE:
                out.append("\\" + ch)
            elif ch == "\\":
                if i < len(s):
                    out.append(re.escape(s[i]))
                    i += 1
                    kind = "regexp"
                else:
                    out.append("\\\\")
            elif ch in "[]":
                out.append(ch)
                kind = "regexp"
            else:
                out.append(ch)
            first = False
        self.kind = kind
        if kind == "regexp":
            try:
                self.regex = re.compile("".join(out) + "$", re.S)
            except re.error as e:
                raise InvalidArgument(f"bad .dockerignore pattern {self.text!r}: {e}") from None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        return bool(self.regex.match(path))  # type: ignore[union-attr]

    def may_match_under(self, dirs: list[str]) -> bool:
        """Could this pattern match ``dir`` or something below it (conservative)?"""
        for seg, d in zip(self.dirs, dirs):
            if "**" in seg:
                return True
            if not fnmatch.fnmatchcase(d, seg.replace("\\", "")):
                return False
        return True


def _check_syntax(p: str) -> None:
    """Reject what Go's filepath.Match calls a bad pattern (unclosed ``[``, trailing ``\\``)."""
    depth = 0
    i = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            if i + 1 >= len(p):
                raise InvalidArgument(f"bad .dockerignore pattern {p!r}: syntax error in pattern")
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        i += 1
    if depth:
        raise InvalidArgument(f"bad .dockerignore pattern {p!r}: syntax error in pattern")


class DockerIgnore:
    """Compiled patterns; ``excluded("a/b")`` answers for one context-relative path."""

    def __init__(self, patterns: list[str] | None):
        self.patterns: list[_Pattern] = []
        for raw in patterns or []:
            p = raw.strip()
            if not p:
                continue
            exclusion = p.startswith("!")
            if exclusion:
                if len(p) == 1:
                    raise InvalidArgument('illegal exclusion pattern: "!"')
                p = p[1:]
            p = posixpath.normpath(p)
            if len(p) > 1 and p.startswith("/"):
                p = p.lstrip("/") or "/"
            _check_syntax(p)
            pat = _Pattern(p, exclusion, p.split("/"))
            pat.compile()
            self.patterns.append(pat)
        self.has_exceptions = any(p.exclusion for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excluded(self, relpath: str) -> bool:
        """True when ``relpath`` (``/``-separated, relative to the context) is not sent."""
        path = posixpath.normpath(relpath.replace(os.sep, "/")).lstrip("/")
        if path in (".", ""):
            return False
        parents = path.split("/")[:-1]
        matched = False
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(path)
            if not hit:
                for i in range(len(parents)):
                    if pat.match("/".join(parents[:i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pat.exclusion
        return matched

    def skip_dir(self, relpath: str) -> bool:
        """True when a directory is excluded and no exception can bring back anything under it."""
        if not self.excluded(relpath):
            return False
        dirs = posixpath.normpath(relpath).lstrip("/").split("/")
        return not any(p.exclusion and p.may_match_under(dirs) for p in self.patterns)

    def walk(self, root: str | os.PathLike) -> Iterator[tuple[str, os.DirEntry]]:
        """Context-relative paths that are sent, parents before children, sorted; symlinks not followed.

        A directory is yielded when it is not excluded itself, or when something inside it is kept.
        """
        yield from self._walk(Path(root), "")

    def _walk(self, base: Path, prefix: str) -> Iterator[tuple[str, os.DirEntry]]:
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if self.skip_dir(rel):
                    continue
                inner = list(self._walk(Path(entry.path), rel + "/"))
                if inner or not self.excluded(rel):
                    yield rel, entry
                    yield from inner
            elif not self.excluded(rel):
                yield rel, entry


def ignore_file_for(context: str | os.PathLike, dockerfile: str | os.PathLike | None) -> Path | None:
    """The ignore file that applies: ``<Dockerfile>.dockerignore`` if it exists, else ``<context>/.dockerignore``."""
    ctx = Path(context)
    if dockerfile:
        df = Path(dockerfile)
        if not df.is_absolute():
            df = ctx / df
        own = df.with_name(df.name + ".dockerignore")
        if own.is_file():
            return own
    common = ctx / ".dockerignore"
    return common if common.is_file() else None


def read_dockerignore(context: str | os.PathLike, dockerfile: str | os.PathLike | None = None) -> DockerIgnore:
    """The DockerIgnore of a build context (empty when there is no ignore file)."""
    path = ignore_file_for(context, dockerfile)
    if path is None:
        return DockerIgnore([])
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as e:
        raise InvalidArgument(f"cannot read {path}: {e.strerror}") from None
    return DockerIgnore(read_patterns(text))
