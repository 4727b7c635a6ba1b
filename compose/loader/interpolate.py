"""Variable interpolation in compose values: ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``,
``${VAR:?err}``, ``${VAR?err}``, ``${VAR:+alt}``, ``${VAR+alt}``, nesting and ``$$``.

WHY these exact rules: users' files rely on Compose's behaviour, including its corner
cases (the operator that appears first wins, nested defaults are expanded, an unset
variable becomes "" with a warning, values at typed paths are cast after interpolation).
Only values are interpolated, never keys; it runs per file, before merging.
"""
from __future__ import annotations

import re
import sys
from typing import Callable

from compose.errors import LoadError
from compose.loader.keypaths import PathRules

Lookup = Callable[[str], "str | None"]

_PATTERN = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|\{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))",
    re.IGNORECASE,
)
_OPERATORS = (":?", "?", ":-", "-", ":+", "+")


class InvalidTemplate(Exception):
    def __init__(self, template: str = ""):
        super().__init__(template)
        self.template = template


class MissingRequired(Exception):
    def __init__(self, variable: str, reason: str):
        self.variable, self.reason = variable, reason
        msg = f"required variable {variable} is missing a value"
        super().__init__(f"{msg}: {reason}" if reason else msg)


class Warner:
    """Warns once per unset variable on stderr (Compose warns each time; once is enough)."""

    def __init__(self, stream=None):
        self.seen: set[str] = set()
        self.stream = stream

    def __call__(self, name: str) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        out = self.stream or sys.stderr
        out.write(f'WARN[0000] The "{name}" variable is not set. Defaulting to a blank string. \n')


def _closing_brace(s: str) -> int:
    """Index of the "}" that closes the first "{" of ``s`` (-1 if none); like compose-go, the
    character right after each "{" is not looked at."""
    depth, chars = 0, iter(enumerate(s))
    for i, c in chars:
        if c == "}":
            depth -= 1
            if depth == 0:
                return i
        elif c == "{":
            depth += 1
            next(chars, None)
    return -1


def _first_operator(template: str) -> str | None:
    best, best_i = None, None
    for op in _OPERATORS:
        i = template.find(op)
        if i >= 0 and (best_i is None or i < best_i):
            best, best_i = op, i
    return best


def _apply_operator(op: str, substitution: str, lookup: Lookup, warn) -> tuple[str, bool]:
    if op not in substitution:
        return "", False
    name, arg = substitution.split(op, 1)
    arg = substitute(arg, lookup, warn)
    value = lookup(name)
    if op in (":-", "-"):
        if value is None or (op == ":-" and value == ""):
            return arg, True
        return value, True
    if op in (":+", "+"):
        if value is not None and (op == "+" or value != ""):
            return arg, True
        return value if value is not None else "", True
    # required
    if value is None or (op == ":?" and value == ""):
        raise MissingRequired(name, arg)
    return value, True


def _replace(substring: str, lookup: Lookup, warn) -> str:
    op = _first_operator(substring)
    end = _closing_brace(substring)
    rest = ""
    if end > -1:
        rest = substring[end + 1:]
        substring = substring[: end + 1]
    m = _PATTERN.search(substring)
    if m is None:  # pragma: no cover - substring always starts with a match
        raise InvalidTemplate()
    if m.group("escaped"):
        return "$"
    substitution = m.group("named")
    braced = False
    if not substitution:
        substitution = m.group("braced")
        braced = True
    if not substitution:
        raise InvalidTemplate()
    if braced and op is not None:
        value, applied = _apply_operator(op, substitution, lookup, warn)
        if applied:
            return value + substitute(rest, lookup, warn)
    value = lookup(substitution)
    if value is None:
        if warn:
            warn(substitution)
        return ""
    return value


def substitute(template: str, lookup: Lookup, warn=None) -> str:
    """Interpolate one string. Raises InvalidTemplate / MissingRequired."""
    if "$" not in template:
        return template
    out = []
    pos = 0
    for m in _PATTERN.finditer(template):
        out.append(template[pos:m.start()])
        try:
            out.append(_replace(m.group(0), lookup, warn))
        except InvalidTemplate as e:
            if not e.template:
                e.template = template
            raise
        pos = m.end()
    out.append(template[pos:])
    return "".join(out)


# ----------------------------------------------------------------- typed paths


_INT = re.compile(r"[+-]?[0-9]+\Z")


def _to_int(v: str):
    if not _INT.match(v):
        raise ValueError(f'strconv.Atoi: parsing "{v}": invalid syntax')
    return int(v)


def _to_float(v: str):
    try:
        return float(v)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{v}": invalid syntax') from None


def to_bool(v: str) -> bool:
    low = v.lower()
    if low in ("true", "y", "yes", "on"):
        return True
    if low in ("false", "n", "no", "off"):
        return False
    raise ValueError(f"invalid boolean: {v}")


_S = ("services", "*")
CASTS: dict[tuple, Callable] = {
    _S + ("cpu_count",): _to_int, _S + ("cpu_percent",): _to_float, _S + ("cpu_period",): _to_int,
    _S + ("cpu_quota",): _to_int, _S + ("cpu_rt_period",): _to_int, _S + ("cpu_rt_runtime",): _to_int,
    _S + ("cpus",): _to_float, _S + ("cpu_shares",): _to_int, _S + ("init",): to_bool,
    _S + ("deploy", "replicas"): _to_int,
    _S + ("deploy", "update_config", "parallelism"): _to_int,
    _S + ("deploy", "update_config", "max_failure_ratio"): _to_float,
    _S + ("deploy", "rollback_config", "parallelism"): _to_int,
    _S + ("deploy", "rollback_config", "max_failure_ratio"): _to_float,
    _S + ("deploy", "restart_policy", "max_attempts"): _to_int,
    _S + ("deploy", "placement", "max_replicas_per_node"): _to_int,
    _S + ("healthcheck", "retries"): _to_int, _S + ("healthcheck", "disable"): to_bool,
    _S + ("oom_kill_disable",): to_bool, _S + ("oom_score_adj",): _to_int,
    _S + ("pids_limit",): _to_int, _S + ("ports", "[]", "target"): _to_int,
    _S + ("privileged",): to_bool, _S + ("read_only",): to_bool, _S + ("scale",): _to_int,
    _S + ("stdin_open",): to_bool, _S + ("tty",): to_bool,
    _S + ("ulimits", "*"): _to_int, _S + ("ulimits", "*", "hard"): _to_int,
    _S + ("ulimits", "*", "soft"): _to_int,
    _S + ("volumes", "[]", "read_only"): to_bool, _S + ("volumes", "[]", "volume", "nocopy"): to_bool,
    ("networks", "*", "external"): to_bool, ("networks", "*", "internal"): to_bool,
    ("networks", "*", "attachable"): to_bool, ("networks", "*", "enable_ipv4"): to_bool,
    ("networks", "*", "enable_ipv6"): to_bool, ("volumes", "*", "external"): to_bool,
    ("secrets", "*", "external"): to_bool, ("configs", "*", "external"): to_bool,
}
_CAST_RULES = PathRules(CASTS)


def _real(path: tuple) -> str:
    from compose.loader.yamlread import format_path

    return format_path(path)


def interpolate(config: dict, lookup: Lookup, warn=None, positions: dict | None = None) -> dict:
    """Interpolate every string value of a compose document (a new tree is returned).
    ``positions`` (from yamlread) puts file:line:col on errors."""

    def fail(msg, real):
        where = (positions or {}).get(real)
        if where:
            return LoadError(msg, file=where[0], line=where[1], column=where[2])
        return LoadError(msg)

    def walk(value, path, real):
        if isinstance(value, str):
            try:
                new = substitute(value, lookup, warn)
            except InvalidTemplate as e:
                raise fail(f"invalid interpolation format for {_real(real)}: {e.template!r}; "
                           "you may need to escape any $ with another $", real) from None
            except MissingRequired as e:
                raise fail(f"error while interpolating {_real(real)}: {e}", real) from None
            cast = _CAST_RULES.find(path)
            if cast is None:
                return new
            try:
                return cast(new)
            except ValueError as e:
                raise fail(f"error while interpolating {_real(real)}: "
                           f"failed to cast to expected type: {e}", real) from None
        if isinstance(value, dict):
            return {k: walk(v, path + (k,), real + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            p = path + ("[]",)
            return [walk(v, p, real + (i,)) for i, v in enumerate(value)]
        return value

    return {k: walk(v, (k,), (k,)) for k, v in config.items()}
