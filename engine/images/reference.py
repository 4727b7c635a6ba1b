"""Docker image references: parse, normalise and shorten for display.

Docker users type ``busybox``, ``me/app:1.2``, ``localhost:5000/x/y:tag`` or
``name@sha256:...``; the store keys images by the fully qualified form
(``docker.io/library/busybox:latest``) so the same image is never known under
two spellings, and shows the short ("familiar") form the docker CLI prints.
The grammar follows distribution/reference.
"""
from __future__ import annotations

import collections
import re

from engine.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"



class _LazyPattern:
    """A regex compiled on its first match: compiling these five at import was ~1.5 ms of every
    ``container run``, which parses one plain name (the registry's pattern is never needed for it)."""

    __slots__ = ("source", "compiled")

    def __init__(self, source: str):
        self.source, self.compiled = source, None

    def match(self, s: str):
        if self.compiled is None:
            self.compiled = re.compile(self.source)
        return self.compiled.match(s)


_PATH_RE = _LazyPattern(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = _LazyPattern(rf"^{_DOMAIN}$")
_TAG_RE = _LazyPattern(rf"^{_TAG}$")
_DIGEST_RE = _LazyPattern(rf"^{_DIGEST}$")
_ID_RE = _LazyPattern(r"^(?:sha256:)?([0-9a-f]{64})$")
MAX_NAME = 255


class Reference(collections.namedtuple("Reference", ("domain", "path", "tag", "digest"), defaults=(None, None))):
    """A normalised reference: ``domain/path[:tag][@digest]`` (domain: str, path: str, tag and digest:
    str or None); immutable. A named tuple, not a dataclass: ``container run`` parses one, and
    dataclasses' import (inspect, ast, dis) costs more; collections', not typing's, whose field
    annotations are compiled at import (the first compile of a run: ~0.8 ms)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        """Repository name, fully qualified (``docker.io/library/busybox``)."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        return self._with_suffixes(self.name)

    def _with_suffixes(self, name: str) -> str:
        """``name`` followed by ``:tag`` and ``@digest`` where the reference has them."""
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def familiar_name(self) -> str:
        """Repository name as docker prints it (``busybox``, ``me/app``, ``localhost:5000/x``)."""
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_PREFIX) and "/" not in path[len(OFFICIAL_PREFIX):]:
                path = path[len(OFFICIAL_PREFIX):]
            return path
        return self.name

    def familiar(self) -> str:
        """Whole reference as docker prints it (``busybox:latest``)."""
        return self._with_suffixes(self.familiar_name)

    def with_tag(self, tag: str) -> "Reference":
        return Reference(self.domain, self.path, tag, None)


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    if i == -1:
        return DEFAULT_DOMAIN, name
    first = name[:i]
    if "." not in first and ":" not in first and first != "localhost" and first.lower() == first:
        return DEFAULT_DOMAIN, name
    return first, name[i + 1:]


def parse(ref: str, default_tag: bool = True) -> Reference:
    """Parse and normalise ``ref``; ``default_tag`` adds ``:latest`` when neither tag nor digest is given.

    Raises InvalidArgument with docker's wording for malformed references.
    """
    if not isinstance(ref, str) or not ref:
        raise InvalidArgument("invalid reference format: repository name must not be empty")
    if is_id(ref):
        raise InvalidArgument(f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    rest, digest = ref, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidArgument(f"invalid reference format: invalid digest in {ref!r}")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.match(tag):
            raise InvalidArgument(f"invalid reference format: invalid tag {tag!r} in {ref!r}")
    domain, path = _split_domain(rest)
    if domain != DEFAULT_DOMAIN and not _DOMAIN_RE.match(domain):  # the default one is valid
        raise InvalidArgument(f"invalid reference format: invalid registry {domain!r} in {ref!r}")
    if path != path.lower() or domain == DEFAULT_DOMAIN and rest != rest.lower():
        raise InvalidArgument(f"invalid reference format: repository name ({rest}) must be lowercase")
    if not _PATH_RE.match(path):
        raise InvalidArgument(f"invalid reference format: {ref!r}")
    if domain in ("index.docker.io",):
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    if len(f"{domain}/{path}") > MAX_NAME:
        raise InvalidArgument(f"invalid reference format: repository name must not be more than {MAX_NAME} characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def normalize(ref: str) -> str:
    """Fully qualified string form: ``busybox`` -> ``docker.io/library/busybox:latest``."""
    return str(parse(ref))


def familiar(ref: str) -> str:
    """Short display form: ``docker.io/library/busybox:latest`` -> ``busybox:latest``."""
    return parse(ref, default_tag=False).familiar()


def is_id(s: str) -> bool:
    """True for a full image id, with or without the ``sha256:`` prefix."""
    return bool(_ID_RE.match(s))


def is_id_prefix(s: str) -> bool:
    """True when ``s`` could be a (short) image id: hex only, optionally ``sha256:``-prefixed."""
    if s.startswith("sha256:"):
        s = s[7:]
    return 0 < len(s) <= 64 and all(c in "0123456789abcdef" for c in s)
