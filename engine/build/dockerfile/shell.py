"""Dockerfile variable substitution, with the rules of BuildKit's shell lexer.

A Dockerfile word is processed like a POSIX shell word, minus commands:
quotes are removed (single quotes keep everything literal, double quotes
still expand ``$``), the escape character (``\\`` or the ``escape``
directive's backtick) escapes the next character, and ``$v``, ``${v}``,
``${v:-w}``, ``${v-w}``, ``${v:+w}``, ``${v+w}``, ``${v:?msg}``, ``${v?msg}``,
``${v#p}``, ``${v##p}``, ``${v%p}``, ``${v%%p}``, ``${v/p/r}``, ``${v//p/r}``
substitute. Errors raise ``ShellError`` (the caller adds the line).
"""
from __future__ import annotations

import re
from typing import Callable, Mapping

EOF = ""
SPECIAL_PARAMS = "@*#?-$!0"


class ShellError(ValueError):
    """A word that cannot be substituted (bad ``${}``, unterminated quote, ``${v:?}``)."""


class _Words:
    """Collects the whitespace-split words of a processed string (for ``expand_words``)."""

    def __init__(self):
        self.words: list[str] = []
        self.buf: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf.clear()
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, s: str) -> None:
        self.buf.append(s)
        self.in_word = True

    def add_string(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    def finish(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf.clear()
        return self.words


class _Lexer:
    """One pass over one word; ``env`` answers (value, is_set)."""

    def __init__(self, text: str, lookup: Callable[[str], str | None], escape: str,
                 raw_quotes: bool, raw_escapes: bool, skip_quotes: bool, skip_unset: bool):
        self.s = text
        self.i = 0
        self.lookup = lookup
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_quotes = skip_quotes
        self.skip_unset = skip_unset
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.i += 1
        return ch

    def get(self, name: str) -> str | None:
        v = self.lookup(name)
        (self.matched if v is not None else self.unmatched).add(name)
        return v

    def process(self, stop: str = EOF, raw_escapes: bool | None = None) -> tuple[str, list[str]]:
        """Read up to ``stop`` (consumed) or the end; returns (result, words)."""
        raw = self.raw_escapes if raw_escapes is None else raw_escapes
        out: list[str] = []
        words = _Words()
        while self.peek() != EOF:
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(out), words.finish()
            if ch == "$":
                tmp = self.dollar()
                out.append(tmp)
                words.add_string(tmp)
            elif ch == "<":
                tmp = self.possible_heredoc()
                out.append(tmp)
                words.add_raw(tmp)
            elif ch in "'\"" and not self.skip_quotes:
                tmp = self.single_quote() if ch == "'" else self.double_quote(raw)
                out.append(tmp)
                words.add_raw(tmp)
            else:
                ch = self.next()
                if ch == self.escape:
                    if raw:
                        words.add_raw(ch)
                        out.append(ch)
                    ch = self.next()
                    if ch == EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                out.append(ch)
        if stop:
            raise ShellError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out), words.finish()

    def quoted(self, quote: str, piece: Callable[[], str]) -> str:
        """A quoted string from its opening ``quote`` to the closing one (both kept with
        ``raw_quotes``); ``piece()`` reads one piece of what is between."""
        first = self.next()
        out = [first] if self.raw_quotes else []
        while (ch := self.peek()) != quote:
            if ch == EOF:
                kind = "single-quote" if quote == "'" else "double-quote"
                raise ShellError(f"unexpected end of statement while looking for matching {kind}")
            out.append(piece())
        self.next()
        if self.raw_quotes:
            out.append(quote)
        return "".join(out)

    def single_quote(self) -> str:
        """Everything up to the next ' is literal (no escapes at all)."""
        return self.quoted("'", self.next)

    def double_quote(self, raw: bool) -> str:
        """Literal except ``$`` and the escape of ``"``, ``$`` and the escape character."""
        return self.quoted('"', lambda: self.double_quoted_piece(raw))

    def double_quoted_piece(self, raw: bool) -> str:
        if self.peek() == "$":
            return self.dollar()
        ch = self.next()
        if ch == self.escape:
            nxt = self.peek()
            if nxt == EOF:
                return ""  # the quote is unterminated: quoted() says so next
            if nxt in ('"', "$", self.escape):
                return (ch if raw else "") + self.next()
        return ch

    def name(self) -> str:
        """A variable name: digits (positional), one special parameter, or [letters digits _]."""
        start = self.i
        ch = self.peek()
        if ch and ch.isdigit():
            while self.peek() and self.peek().isdigit():
                self.next()
            return self.s[start:self.i]
        if ch and ch in SPECIAL_PARAMS:
            return self.next()
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.next()
        return self.s[start:self.i]

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value = self.get(name)
            if value is None:
                return "$" + name if self.skip_unset else ""
            return value
        self.next()
        ch = self.peek()
        if ch == EOF:
            raise ShellError("syntax error: missing '}'")
        if ch in "{}:":
            raise ShellError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch == "}":
            value = self.get(name)
            if value is None:
                return "${%s}" % name if self.skip_unset else ""
            return value
        if ch == EOF:
            raise ShellError("syntax error: missing '}'")
        if ch == "/":
            return self.replace(name)
        return self.modifier(name, ch)

    def modifier(self, name: str, ch: str) -> str:
        """``${name<op>word}`` for the operators - + ? # % (with or without ':')."""
        op = ch
        null_is_unset = ch == ":"
        if null_is_unset:
            ch = self.next()
            op += ch
        if ch not in "+-?#%" or not ch:
            raise ShellError(f"unsupported modifier ({op}) in substitution")
        trims = ch in "#%"
        if null_is_unset and trims:
            raise ShellError(f"unsupported modifier ({op}) in substitution")
        word = self.word_until("}", trims, "missing '}'")
        value = self.get(name)
        if value is None and self.skip_unset:
            return "${%s%s%s}" % (name, op, word)
        empty = value is None or (null_is_unset and value == "")
        if ch == "-":
            return word if empty else value
        if ch == "+":
            return "" if empty else word
        if ch == "?":
            if value is None:
                raise ShellError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ShellError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        greedy = word.startswith(ch)
        if greedy:
            word = word[1:]
        if ch == "#":
            return _trim_prefix(word, value or "", greedy)
        return _trim_suffix(word, value or "", greedy)

    def replace(self, name: str) -> str:
        """``${name/pattern/repl}`` (first match) and ``${name//pattern/repl}`` (all)."""
        every = self.peek() == "/"
        if every:
            self.next()
        pattern = self.word_until("/", True, "missing '/' in ${}")
        repl = self.word_until("}", True, "missing '}'")
        value = self.get(name)
        if value is None and self.skip_unset:
            return "${%s/%s/%s}" % (name, pattern, repl)
        rx = _pattern_regex(pattern, greedy=True, anchored=False)
        return rx.sub(lambda _m: repl, value or "", count=0 if every else 1)

    def word_until(self, stop: str, raw_escapes: bool, missing: str) -> str:
        """The word of a ``${...}`` operator up to ``stop`` (consumed); cut off by the end of the
        input, BuildKit's "syntax error: <missing>"."""
        try:
            word, _ = self.process(stop, raw_escapes=raw_escapes)
        except ShellError:
            if self.peek() == EOF:
                raise ShellError(f"syntax error: {missing}") from None
            raise
        return word

    def possible_heredoc(self) -> str:
        """``<<`` (and the blanks after it) stays glued to its delimiter word."""
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        start = self.i
        while self.peek() in ("\t", "\r", " ") and self.peek():
            self.next()
        return "<<" + self.s[start:self.i]


def _pattern_regex(pattern: str, greedy: bool, anchored: bool) -> re.Pattern:
    """A shell wildcard pattern (``*`` ``?`` and ``\\`` escapes, no brackets) as a regex."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue
            if nxt not in ("*", "?", "\\"):
                raise ShellError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'")
            out.append(re.escape(nxt))
            i += 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S)


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy, anchored=True).search(value)
    return value[m.end():] if m else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each ``\\x`` escape pair in order."""
    tokens, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i:i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # the shortest/longest suffix match is a prefix match on the reversed strings
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _lookup_of(env: Mapping[str, str] | Callable[[str], str | None]) -> Callable[[str], str | None]:
    return env if callable(env) else env.get  # type: ignore[return-value]


def process_word(word: str, env, escape: str = "\\", *, raw_quotes: bool = False, raw_escapes: bool = False,
                 skip_quotes: bool = False, skip_unset: bool = False) -> tuple[str, set[str], set[str]]:
    """Substitute ``word``; returns (result, variables found, variables not set)."""
    lx = _Lexer(word, _lookup_of(env), escape, raw_quotes, raw_escapes, skip_quotes, skip_unset)
    try:
        result, _ = lx.process()
    except ShellError as e:
        raise ShellError(f"failed to process {_go_quote(word)}: {e}") from None
    return result, lx.matched, lx.unmatched


def expand(word: str, env, escape: str = "\\", **opts) -> str:
    """``word`` with quotes removed and variables substituted from ``env`` (a mapping or lookup)."""
    return process_word(word, env, escape, **opts)[0]


def expand_words(word: str, env, escape: str = "\\", **opts) -> list[str]:
    """Substitute, then split into words on unquoted blanks (quotes keep blanks)."""
    lx = _Lexer(word, _lookup_of(env), escape, opts.get("raw_quotes", False), opts.get("raw_escapes", False),
                opts.get("skip_quotes", False), opts.get("skip_unset", False))
    try:
        return lx.process()[1]
    except ShellError as e:
        raise ShellError(f"failed to process {_go_quote(word)}: {e}") from None


def _go_quote(s: str) -> str:
    """Go's %q for the common cases (what BuildKit's messages show)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
