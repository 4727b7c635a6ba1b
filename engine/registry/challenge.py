"""Parse ``WWW-Authenticate`` challenges (RFC 7235) as registries send them.

``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull,push"``
-> ``[("bearer", {"realm": ..., "service": ..., "scope": ...})]``. Quoted values may hold
commas and escaped quotes; several challenges may share one header.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def _quoted(s: str, i: int) -> tuple[str, int]:
    """The quoted string starting at s[i] == '"', and the index after it."""
    out = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i


def _param(s: str, i: int) -> tuple[str | None, str, int]:
    """One ``key=value`` at i: (key, value, next index), key None when i is not at a parameter."""
    m = _TOKEN.match(s, i)
    if not m:
        return None, "", i
    j = _skip_ws(s, m.end())
    if j >= len(s) or s[j] != "=":
        return None, "", i
    j = _skip_ws(s, j + 1)
    if j < len(s) and s[j] == '"':
        value, j = _quoted(s, j)
    else:
        v = _TOKEN.match(s, j)
        value, j = (v.group(0), v.end()) if v else ("", j)
    return m.group(0).lower(), value, j


def parse(header: str) -> list[tuple[str, dict[str, str]]]:
    """All challenges in ``header``: (lower-case scheme, parameters with lower-case keys)."""
    out: list[tuple[str, dict[str, str]]] = []
    i, s = 0, header or ""
    while i < len(s):
        i = _skip_ws(s, i)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        m = _TOKEN.match(s, i)
        if not m:
            break
        scheme, params = m.group(0).lower(), {}
        i = m.end()
        while True:
            i = _skip_ws(s, i)
            key, value, j = _param(s, i)
            if key is None:
                break
            params[key] = value
            i = _skip_ws(s, j)
            if i < len(s) and s[i] == ",":
                i += 1
        out.append((scheme, params))
    return out
