"""Docker's COPY/ADD rules that need no file system: destinations, --chown, --chmod, --parents.

* A relative destination is joined with WORKDIR; ``.`` and ``""`` mean WORKDIR itself.
* The destination is a directory when it ends with ``/`` (or ``/.``), when there
  are several sources (or a wildcard matched several files), or when it already
  exists as a directory; a source directory's *contents* are copied into it.
* ``--chown user:group`` takes names or numbers; names are looked up in the
  image's /etc/passwd and /etc/group; a user without a group uses the same
  number for the group (Docker's documented rule).
* ``--chmod`` is octal (``0755``, at most 07777) or symbolic (``u+x,go-w``).
"""
from __future__ import annotations

import posixpath
import re
from typing import Callable

from engine.errors import InvalidArgument

_SYMBOLIC_RE = re.compile(r"^([ugoa]*)([+=-])([rwxXst]*|[ugo])$")
_GLOB_CHARS = "*?["


def clean_path(path: str, keep_slash: bool = False) -> str:
    """posix-clean ``path`` (no ``..`` above /), keeping a trailing slash when asked."""
    trailing = keep_slash and (path.endswith("/") or path.endswith("/.")) and path not in ("/",)
    out = posixpath.normpath("/" + path.lstrip("/")) if path.startswith("/") else posixpath.normpath(path)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    if trailing and not out.endswith("/"):
        out += "/"
    return out


def resolve_dest(dest: str, workdir: str) -> str:
    """The absolute destination of a COPY: joined with WORKDIR when relative, trailing ``/`` kept."""
    if dest in ("", "."):
        dest = "./"
    wd = workdir or "/"
    if not dest.startswith("/"):
        dest = posixpath.join(wd if wd.startswith("/") else "/" + wd, dest)
    return clean_path(dest, keep_slash=True)


def has_wildcards(path: str) -> bool:
    return any(c in path for c in _GLOB_CHARS)


def dest_is_dir(dest: str, n_sources: int, exists_as_dir: bool = False) -> bool:
    """Whether sources go *into* ``dest`` (else ``dest`` is the new name of the one source)."""
    return dest.endswith("/") or n_sources > 1 or exists_as_dir


def check_dest(dest: str, sources: list[str], what: str = "COPY") -> None:
    """Docker's rule: several sources (or a wildcard) need a directory destination ending in /."""
    if len(sources) > 1 and not (dest.endswith("/") or dest.endswith("/.")):
        raise InvalidArgument(f"When using {what} with more than one source file, the destination must be a "
                              "directory and end with a /")


def target_of(source_name: str, dest: str, into_dir: bool) -> str:
    """Where one source lands: ``dest/<name>`` when copying into a directory, else ``dest``."""
    base = dest.rstrip("/") or "/"
    if into_dir:
        return posixpath.join(base, posixpath.basename(source_name.rstrip("/")))
    return base


def split_parents(source: str) -> tuple[str, str]:
    """``COPY --parents a/./b/c dst/``: (pivot "a", kept part "b/c"); without ``/./`` the whole path is kept."""
    parent, sep, rest = source.partition("/./")
    if not sep:
        return "/", clean_path("/" + source).lstrip("/")
    return clean_path("/" + parent), clean_path("/" + rest).lstrip("/")


# --chown ------------------------------------------------------------------

def _table(text: str | None, fields: int) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def _lookup(name: str, rows: list[list[str]], what: str, file: str) -> list[str]:
    for r in rows:
        if r[0] == name:
            return r
    raise InvalidArgument(f"unable to find {what} {name}: no matching entries in {file} file")


def resolve_chown(chown: str, passwd: str | None, group: str | None) -> tuple[int, int]:
    """``"user:group"`` / ``"1000"`` / ``"app"`` -> (uid, gid), names looked up in the image's files.

    ``passwd``/``group`` are the contents of the image's /etc/passwd and /etc/group (None if absent).
    """
    user, sep, grp = chown.partition(":")
    if not user or (sep and not grp):
        raise InvalidArgument(f"invalid --chown value {chown!r}: expected user[:group]")
    if user.isdigit():
        uid = int(user)
    else:
        uid = int(_lookup(user, _table(passwd, 7), "user", "passwd")[2])
    if not sep:
        return uid, uid
    if grp.isdigit():
        return uid, int(grp)
    return uid, int(_lookup(grp, _table(group, 3), "group", "group")[2])


# --chmod ------------------------------------------------------------------

def parse_chmod(text: str) -> Callable[[int, bool], int]:
    """``--chmod`` -> a function (current mode, is_dir) -> new permission bits."""
    try:
        value = int(text, 8)
    except ValueError:
        if text.isdigit():
            raise _chmod_error(text) from None
        return _symbolic(text)
    if not 0 <= value <= 0o7777:
        raise _chmod_error(text)
    return lambda _mode, _is_dir: value


def _chmod_error(text: str) -> InvalidArgument:
    return InvalidArgument(f"invalid chmod parameter: '{text}'. it should be octal string and between 0 and 07777")


_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}


def _symbolic(text: str) -> Callable[[int, bool], int]:
    clauses = []
    for clause in text.split(","):
        m = _SYMBOLIC_RE.match(clause)
        if not m:
            raise InvalidArgument(f"invalid chmod parameter: '{text}'")
        clauses.append(m.groups())

    def apply(mode: int, is_dir: bool) -> int:
        mode &= 0o7777
        for who, op, perms in clauses:
            mask = 0
            for w in who or "a":
                mask |= 0o7777 if w == "a" else _WHO[w]
            bits = _perm_bits(perms, mode, is_dir) & mask
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                mode = (mode & ~mask) | bits
        return mode

    return apply


def _perm_bits(perms: str, mode: int, is_dir: bool) -> int:
    if perms in ("u", "g", "o"):
        shift = {"u": 6, "g": 3, "o": 0}[perms]
        r = (mode >> shift) & 7
        return r << 6 | r << 3 | r
    bits = 0
    for p in perms:
        if p == "r":
            bits |= 0o444
        elif p == "w":
            bits |= 0o222
        elif p == "x" or (p == "X" and (is_dir or mode & 0o111)):
            bits |= 0o111
        elif p == "s":
            bits |= 0o6000
        elif p == "t":
            bits |= 0o1000
    return bits
