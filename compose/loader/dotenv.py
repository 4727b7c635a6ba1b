"""``.env`` files with Docker Compose's rules.

WHY not python-dotenv: Compose's parser has its own rules that users' files depend on:
``export`` prefixes, ``#`` comments (inline only after a space when unquoted), single
quotes are literal, double quotes expand escapes and variables and may span lines,
unquoted values are trimmed and interpolated, a bare ``KEY`` line inherits the value
from the environment, and earlier keys of the same file can be referenced.
"""
from __future__ import annotations

import os
import re
from typing import Callable

from compose.errors import LoadError
from compose.loader.interpolate import InvalidTemplate, MissingRequired, substitute

_SPACE = "\t\v\f\r \x85\xa0"
_EXPORT = re.compile(r"^export\s+")
_ESCAPES = re.compile(r"(\\(?:[abcfnrtv$\"\\]|0\d{0,3}))")
_SIMPLE = {"a": "\a", "b": "\b", "c": None, "f": "\f", "n": "\n", "r": "\r", "t": "\t",
           "v": "\v", '"': '"', "\\": "\\"}


class DotenvError(LoadError):
    pass


def _expand_escapes(value: str) -> str:
    def repl(m):
        s = m.group(0)
        if s == "\\$":
            return "$$"
        if s.startswith("\\0"):
            digits = s[2:]
            if not digits:
                return "\0"
            try:
                return chr(int(digits, 8))
            except ValueError:  # pragma: no cover
                return s
        c = _SIMPLE.get(s[1])
        return s if c is None else c

    return _ESCAPES.sub(repl, value)


def _is_key_char(c: str) -> bool:
    return c in "_.-[]" or c.isalnum()


def parse(text: str, lookup: Callable[[str], str | None] | None = None,
          out: dict[str, str] | None = None, filename: str = ".env") -> dict[str, str]:
    """Parse dotenv text into ``out`` (returned). ``lookup`` resolves variables first."""
    out = {} if out is None else out
    if text.startswith("\ufeff"):
        text = text[1:]

    def resolve(name: str) -> str | None:
        if lookup is not None:
            v = lookup(name)
            if v is not None:
                return v
        return out.get(name)

    def expand(value: str, line: int) -> str:
        try:
            return substitute(value, resolve)
        except (InvalidTemplate, MissingRequired) as e:
            raise DotenvError(f"failed to read {filename}: line {line}: {e}") from None

    line = 1
    src = text
    while True:
        # statement start: skip whitespace and comment lines
        i = 0
        while i < len(src) and src[i].isspace():
            if src[i] == "\n":
                line += 1
            i += 1
        src = src[i:]
        if not src:
            break
        if src[0] == "#":
            nl = src.find("\n")
            if nl < 0:
                break
            src = src[nl:]
            continue
        # key
        if _EXPORT.match(src):
            src = src[len("export"):].lstrip(_SPACE)
        key, inherited, offset = None, False, None
        for idx, c in enumerate(src):
            if c in _SPACE:
                continue
            if c in "=:\n":
                key = src[:idx]
                offset = idx + 1
                inherited = c == "\n"
                break
            if _is_key_char(c):
                continue
            first = src.split("\n", 1)[0]
            raise DotenvError(f"failed to read {filename}: line {line}: unexpected character "
                              f"\"{c}\" in variable name \"{first}\"")
        if key is None:  # last line without '=': inherits
            key, offset, inherited = src, len(src), True
        if inherited and " " not in key:
            line += 1
        key = key.rstrip()
        rest = src[offset:].lstrip(_SPACE)
        if " " in key:
            raise DotenvError(f"failed to read {filename}: line {line}: key cannot contain a space")
        if inherited:
            v = lookup(key) if lookup is not None else None
            if v is not None:
                out[key] = v
            src = rest
            continue
        # value
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            chars = []
            escape = False
            end = None
            for j in range(1, len(rest)):
                c = rest[j]
                if c == "\n":
                    line += 1
                if c != quote:
                    if not escape and c == "\\":
                        escape = True
                        continue
                    if escape:
                        escape = False
                        chars.append("\\")
                    chars.append(c)
                    continue
                if escape:
                    escape = False
                    chars.append(c)
                    continue
                end = j
                break
            if end is None:
                first = rest.split("\n", 1)[0]
                raise DotenvError(f"failed to read {filename}: line {line}: unterminated quoted value {first}")
            value = "".join(chars)
            if quote == '"':
                value = expand(_expand_escapes(value), line)
            out[key] = value
            src = rest[end + 1:]
        else:
            value, _, src = rest.partition("\n")
            line += 1
            value = value.split(" #", 1)[0].rstrip()
            out[key] = expand(value, line)
    return out


def read_env_files(files: list[str], environment: dict[str, str]) -> dict[str, str]:
    """Read several env files in order; later files see earlier ones; ``environment`` wins
    for lookups during expansion (Compose's GetEnvFromFile)."""
    result: dict[str, str] = {}
    for f in files:
        path = os.path.abspath(f)
        if not os.path.exists(path):
            raise LoadError(f"couldn't find env file: {path}")
        if os.path.isdir(path):
            raise LoadError(f"{path} is a directory")
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")

        def lookup(k, _r=result):
            v = environment.get(k)
            return v if v is not None else _r.get(k)

        parse(text, lookup, result, filename=path)
    return result
