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


class _Reader:
    """The dotenv text left to read and the line it is at (for messages)."""

    def __init__(self, text: str, filename: str):
        self.src, self.line, self.filename = text, 1, filename

    def error(self, message: str) -> DotenvError:
        return DotenvError(f"failed to read {self.filename}: line {self.line}: {message}")

    def next_statement(self) -> bool:
        """Skip whitespace and comment lines; False at the end of the text."""
        while True:
            i = 0
            while i < len(self.src) and self.src[i].isspace():
                if self.src[i] == "\n":
                    self.line += 1
                i += 1
            self.src = self.src[i:]
            if not self.src:
                return False
            if self.src[0] != "#":
                return True
            nl = self.src.find("\n")
            if nl < 0:
                return False
            self.src = self.src[nl:]

    def key(self) -> tuple[str, bool, str]:
        """(name, inherited: no ``=`` so the value comes from the environment, text after the key)."""
        src = self.src
        if _EXPORT.match(src):
            src = src[len("export"):].lstrip(_SPACE)
        key, inherited, offset = None, False, None
        for idx, c in enumerate(src):
            if c in _SPACE:
                continue
            if c in "=:\n":
                key, offset, inherited = src[:idx], idx + 1, c == "\n"
                break
            if not _is_key_char(c):
                first = src.split("\n", 1)[0]
                raise self.error(f"unexpected character \"{c}\" in variable name \"{first}\"")
        if key is None:  # last line without '=': inherits
            key, offset, inherited = src, len(src), True
        if inherited and " " not in key:
            self.line += 1
        key = key.rstrip()
        if " " in key:
            raise self.error("key cannot contain a space")
        return key, inherited, src[offset:].lstrip(_SPACE)

    def quoted(self, rest: str) -> str:
        """A quoted value (``rest`` starts with its quote); backslashes kept except before the quote."""
        quote, chars, escape = rest[0], [], False
        for j in range(1, len(rest)):
            c = rest[j]
            if c == "\n":
                self.line += 1
            if c == quote and not escape:
                self.src = rest[j + 1:]
                return "".join(chars)
            if c != quote and not escape and c == "\\":
                escape = True
                continue
            if escape and c != quote:
                chars.append("\\")
            escape = False
            chars.append(c)
        raise self.error(f"unterminated quoted value {rest.split(chr(10), 1)[0]}")


def parse(text: str, lookup: Callable[[str], str | None] | None = None,
          out: dict[str, str] | None = None, filename: str = ".env") -> dict[str, str]:
    """Parse dotenv text into ``out`` (returned). ``lookup`` resolves variables first."""
    out = {} if out is None else out
    reader = _Reader(text[1:] if text.startswith("\ufeff") else text, filename)

    def resolve(name: str) -> str | None:
        v = lookup(name) if lookup is not None else None
        return v if v is not None else out.get(name)

    def expand(value: str) -> str:
        try:
            return substitute(value, resolve)
        except (InvalidTemplate, MissingRequired) as e:
            raise reader.error(str(e)) from None

    while reader.next_statement():
        key, inherited, rest = reader.key()
        if inherited:
            v = lookup(key) if lookup is not None else None
            if v is not None:
                out[key] = v
            reader.src = rest
        elif rest[:1] in ("'", '"'):
            value = reader.quoted(rest)
            out[key] = expand(_expand_escapes(value)) if rest[0] == '"' else value
        else:
            value, _, reader.src = rest.partition("\n")
            reader.line += 1
            out[key] = expand(value.split(" #", 1)[0].rstrip())
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
