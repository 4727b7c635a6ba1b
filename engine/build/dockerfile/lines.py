"""Dockerfile text -> raw instruction lines, the way BuildKit's parser reads them.

This layer knows parser directives (``# syntax=``, ``# escape=``, ``# check=``,
only at the top), comments, line continuations (the escape character last on
a line; continuation lines keep their leading blanks, comment and empty lines
inside a continuation are skipped), leading ``--flags`` and heredoc bodies. It
knows nothing of what each instruction means (``instructions.py`` does).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.build.dockerfile.ast import Heredoc, LintWarning
from engine.build.dockerfile.shell import ShellError, expand_words
from engine.errors import DockerfileError

DIRECTIVE_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
KNOWN_DIRECTIVES = ("syntax", "escape", "check")
HEREDOC_RE = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$", re.S)
HEREDOC_INSTRUCTIONS = ("ADD", "COPY", "RUN")


@dataclass
class RawLine:
    """One instruction as read: keyword, leading flags, the rest, its lines and heredoc bodies."""

    keyword: str  # as written ("run"); upper-case it to compare
    flags: list[str]
    rest: str
    original: str
    line: int
    end_line: int
    heredocs: list[Heredoc] = field(default_factory=list)


@dataclass
class ReadResult:
    lines: list[RawLine]
    escape: str
    directives: dict[str, str]
    warnings: list[LintWarning]


def _continuation_re(escape: str) -> re.Pattern:
    e = re.escape(escape)
    return re.compile(r"([^" + e + r"])" + e + r"[ \t]*$|^" + e + r"[ \t]*$")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


class _Directives:
    """Parser directives: only in the leading comment block, each at most once."""

    def __init__(self, filename: str):
        self.filename = filename
        self.done = False
        self.found: dict[str, str] = {}
        self.escape = "\\"

    def offer(self, line: str, lineno: int) -> bool:
        """True when ``line`` is a directive (then it is not a comment for anyone else)."""
        if self.done:
            return False
        if not line.startswith("#"):
            self.done = True
            return False
        m = DIRECTIVE_RE.match(line[1:].lstrip())
        key = m.group(1).lower() if m else ""
        if key not in KNOWN_DIRECTIVES:
            self.done = True
            return False
        if key in self.found:
            raise DockerfileError(f"only one {key} parser directive can be used", lineno, self.filename)
        value = m.group(2)
        if key == "escape":
            if value not in ("`", "\\"):
                raise DockerfileError(f"invalid escape token '{value}' does not match ` or \\", lineno, self.filename)
            self.escape = value
        self.found[key] = value
        return True


def split_flags(text: str, escape: str) -> tuple[list[str], str]:
    """Leading ``--name[=value]`` words of an instruction's arguments, and what follows them."""
    flags: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return flags, ""
        if not text.startswith("--", i):
            return flags, text[i:]
        word: list[str] = []
        quote = ""
        blank_ok = False
        while i < n:
            ch = text[i]
            if quote:
                if ch == quote:
                    quote = ""
                    i += 1
                    continue
            elif ch.isspace():
                break
            elif ch in "'\"":
                quote, blank_ok = ch, True
                i += 1
                continue
            if ch == escape:
                if i + 1 == n:
                    i += 1
                    continue
                i += 1
                ch = text[i]
            word.append(ch)
            i += 1
        w = "".join(word)
        if w == "--":
            return flags, text[i:]
        if w or blank_ok:
            flags.append(w)
    return flags, ""


def heredoc_word(word: str) -> tuple[str, bool, bool] | None:
    """(delimiter, expand, chomp) when ``word`` is ``<<EOF``/``<<-'EOF'``/``<<"EOF"``, else None."""
    m = HEREDOC_RE.match(word)
    if not m or not m.group(3):
        return None
    rest = m.group(3)
    try:
        plain = expand_words(rest, {}, "\\", skip_unset=True)
        raw = expand_words(rest, {}, "\\", skip_unset=True, raw_quotes=True)
    except ShellError as e:
        raise ValueError(str(e)) from None
    if len(plain) != 1:
        return None
    quotes = lambda s: s.count("'") + s.count('"')  # noqa: E731
    return plain[0], quotes(plain[0]) == quotes(raw[0]), m.group(2) == "-"


def heredocs_in(line: str) -> list[tuple[str, bool, bool]]:
    """Every heredoc introducer on an instruction line, in order."""
    words = expand_words(line, {}, "\\", raw_quotes=True, raw_escapes=True, skip_unset=True)
    out = []
    for w in words:
        h = heredoc_word(w)
        if h:
            out.append(h)
    return out


def json_array(rest: str) -> list | None:
    """The JSON array of an instruction's exec form, or None when ``rest`` is not one (shell form)."""
    import json

    s = rest.lstrip()
    if not s.startswith("["):
        return None
    try:
        v = json.loads(s)
    except ValueError:
        return None
    return v if isinstance(v, list) else None


def _heredoc_keyword(keyword: str, flags_rest: str, escape: str) -> bool:
    """RUN/COPY/ADD (not in JSON form), also as an ONBUILD trigger."""
    kw = keyword.upper()
    rest = flags_rest
    if kw == "ONBUILD":
        parts = rest.strip().split(None, 1)
        if not parts:
            return False
        kw = parts[0].upper()
        rest = split_flags(parts[1] if len(parts) > 1 else "", escape)[1]
    return kw in HEREDOC_INSTRUCTIONS and json_array(rest) is None


def split_instruction(text: str, escape: str) -> tuple[str, list[str], str]:
    """``RUN --mount=x echo hi`` -> ("RUN", ["--mount=x"], "echo hi")."""
    parts = re.split(r"[\t\v\f\r ]+", text.strip(), maxsplit=1)
    if len(parts) < 2:
        return parts[0], [], ""
    flags, rest = split_flags(parts[1], escape)
    return parts[0], flags, rest.strip()


def read_lines(text: str, filename: str = "Dockerfile") -> ReadResult:
    """Split a Dockerfile into raw instruction lines (directives, continuations, heredocs)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    src = text.splitlines(keepends=True)
    d = _Directives(filename)
    warnings: list[LintWarning] = []
    out: list[RawLine] = []
    cont = _continuation_re("\\")
    i = 0
    while i < len(src):
        raw = src[i].rstrip("\r\n").lstrip()
        i += 1
        start = i
        if d.offer(raw, start):
            cont = _continuation_re(d.escape)
            continue
        if _is_comment(raw):
            continue
        buf, done = _trim_continuation(raw, cont)
        if done and not buf:
            continue
        parts = [buf]
        empty_cont = False
        while not done and i < len(src):
            nxt = src[i].rstrip("\r\n")
            i += 1
            if _is_comment(nxt):
                continue
            if not nxt.strip():
                empty_cont = True
                continue
            piece, done = _trim_continuation(nxt, cont)
            parts.append(piece)
        line = "".join(parts)
        if empty_cont:
            warnings.append(LintWarning(i, "NoEmptyContinuation", f"Empty continuation line found in: {line}"))
        keyword, flags, rest = split_instruction(line, d.escape)
        node = RawLine(keyword, flags, rest, line.strip(), start, i)
        if "<<" in line and _heredoc_keyword(keyword, line.strip()[len(keyword):], d.escape):
            i = _read_heredocs(node, line, src, i, filename)
        out.append(node)
    if not out:
        raise DockerfileError("file with no instructions", None, filename)
    return ReadResult(out, d.escape, d.found, warnings)


def _trim_continuation(line: str, cont: re.Pattern) -> tuple[str, bool]:
    if cont.search(line):
        return cont.sub(r"\1", line, count=1), False
    return line, True


def _read_heredocs(node: RawLine, line: str, src: list[str], i: int, filename: str) -> int:
    """Consume the bodies of the heredocs ``line`` opens; returns the next line index."""
    try:
        docs = heredocs_in(line)
    except (ValueError, ShellError) as e:
        raise DockerfileError(f"{node.keyword.upper()}: {e}", node.line, filename) from None
    for name, expand, chomp in docs:
        body: list[str] = []
        while True:
            if i >= len(src):
                raise DockerfileError(f"{node.keyword.upper()}: unterminated heredoc {name}", node.line, filename)
            ln = src[i]
            i += 1
            candidate = ln.rstrip("\r\n")
            if chomp:
                candidate = candidate.lstrip("\t")
            if candidate == name:
                break
            body.append(ln if ln.endswith("\n") else ln + "\n")
        content = "".join(body)
        if chomp:
            content = re.sub(r"(?m)^\t+", "", content)
        node.heredocs.append(Heredoc(name=name, content=content, expand=expand, chomp=chomp))
    node.end_line = i
    return i
