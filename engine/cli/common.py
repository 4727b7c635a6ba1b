"""Small helpers shared by the engine CLIs (image, volume, container, network).

They reproduce what a docker CLI user sees: tables aligned like Go's tabwriter,
``--format json`` (one JSON object per line), ``--format '{{.Field}}'`` Go-template
subset, ``--filter key=value``, sizes and ages as the docker CLI prints them.
Keep this module small and stable: other CLIs import it.

* ``parse_filters(["label=a=b", "dangling=true"]) -> {"label": ["a=b"], "dangling": ["true"]}``
* ``print_table(headers, rows)``: docker's table layout (min width 10, padding 3)
* ``print_formatted(items, fmt, headers, row, quiet_key=None)``: table / json / template output
* ``render_template(fmt, obj)``: ``{{.Name}}``, ``{{.A.B}}``, ``{{json .}}``, ``{{json .Labels}}``,
  ``{{index .Labels "k"}}``, ``{{upper .X}}``/``{{lower .X}}``; ``\\t`` and ``\\n`` escapes
* ``print_inspect(objects, fmt)``: ``inspect`` output (indented JSON array, or a template per object)
* ``human_size(n)``: ``4.26MB``; ``human_duration(seconds)``: ``About an hour``; ``ago(unix)``;
  ``go_time(unix)``: ``2024-01-02 03:04:05 +0000 UTC`` (docker's ``CreatedAt``)
* ``short_id(id)``: 12 hex characters without ``sha256:``
* ``confirm(question)``: docker's ``[y/N]`` prompt (False when stdin is not answering)
"""
from __future__ import annotations

import json
import re
import sys
import time
from typing import Any, Callable, Iterable, Sequence

from engine.errors import Conflict, EngineError, InvalidArgument, NotFound

_TEMPLATE_RE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def parse_filters(values: Iterable[str] | None) -> dict[str, list[str]]:
    """``--filter key=value`` flags into docker's filter map; a value without ``=`` is an error."""
    out: dict[str, list[str]] = {}
    for v in values or []:
        key, eq, val = v.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"bad format of filter (expected name=value): {v}")
        out.setdefault(key.strip().lower(), []).append(val)  # "label!=x" gives key "label!"
    return out


def short_id(id_: str) -> str:
    return id_.split(":", 1)[-1][:12]


def human_size(n: float, precision: int = 3) -> str:
    """Decimal units with ``precision`` significant digits, as ``docker images`` prints sizes."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    n = float(n)
    i = 0
    while n >= 1000.0 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    s = f"{n:.{precision}g}"
    if "e" in s:
        s = str(int(round(n)))
    return f"{s}{units[i]}"


# One copy of go-units' HumanDuration, with the other value types.
from engine.values import human_duration  # noqa: E402


def ago(unix_time: float, now: float | None = None) -> str:
    """``2 hours ago``; ``N/A`` for a zero time."""
    if not unix_time:
        return "N/A"
    return human_duration((now or time.time()) - unix_time) + " ago"


def go_time(unix_time: float) -> str:
    """A time as Go prints it and docker's ``--format`` shows ``CreatedAt``: ``2024-01-02 03:04:05 +0000 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(unix_time))


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded like Go's tabwriter(minwidth=10, padding=3) as docker uses it."""
    rows = [[str(c) for c in r] for r in rows]
    table = [list(headers)] + rows if headers else rows
    if not table:
        return ""
    ncol = max(len(r) for r in table)
    widths = [0] * ncol
    for r in table:
        for i, c in enumerate(r[:-1] if len(r) == ncol else r):
            widths[i] = max(widths[i], len(c))
    lines = []
    for r in table:
        cells = []
        for i, c in enumerate(r):
            if i == len(r) - 1:
                cells.append(c)
            else:
                cells.append(c.ljust(max(widths[i] + 3, 10)))
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], out=None) -> None:
    text = format_table(headers, rows)
    if text:
        print(text, file=out or sys.stdout)


def _lookup(obj: Any, path: str) -> Any:
    cur = obj
    for part in [p for p in path.split(".") if p]:
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            cur = getattr(cur, part, None)
    return cur


def _to_text(v: Any) -> str:
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_to_text(x)}" for k, x in sorted(v.items())) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_to_text(x) for x in v) + "]"
    return str(v)


def _eval(expr: str, obj: Any) -> str:
    words = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', expr)
    if not words:
        return ""

    def arg(w: str) -> Any:
        if w.startswith('"'):
            return json.loads(w)
        if w == ".":
            return obj
        if w.startswith("."):
            return _lookup(obj, w)
        raise InvalidArgument(f"template: unsupported expression {{{{{expr}}}}}")

    fn = words[0]
    if fn == "json":
        return json.dumps(arg(words[1]) if len(words) > 1 else obj, separators=(",", ":"))
    if fn == "index" and len(words) == 3:
        base = arg(words[1])
        key = arg(words[2])
        return _to_text(base.get(key) if isinstance(base, dict) else None)
    if fn in ("upper", "lower", "title") and len(words) == 2:
        s = _to_text(arg(words[1]))
        return s.upper() if fn == "upper" else s.lower() if fn == "lower" else s.title()
    if fn == "join" and len(words) == 3:
        return str(arg(words[2])).join(str(x) for x in (arg(words[1]) or []))
    if len(words) == 1:
        return _to_text(arg(fn))
    raise InvalidArgument(f"template: unsupported expression {{{{{expr}}}}}")


def render_template(fmt: str, obj: Any) -> str:
    """Render the Go-template subset docker users put in ``--format``."""
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    return _TEMPLATE_RE.sub(lambda m: _eval(m.group(1), obj), fmt)


def _header(cell: str, names: dict[str, str]) -> str:
    """Column title for one ``table`` template cell: docker's name for the field when known."""
    fields = re.findall(r"\.([A-Za-z_][\w.]*)", cell)
    if len(fields) == 1 and fields[0] in names:
        return names[fields[0]]
    if len(fields) == 1:
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", fields[0].split(".")[-1]).upper()
    return re.sub(r"[{}.\s]|json|index", "", cell).upper()


def print_formatted(items: Sequence[dict], fmt: str | None, headers: Sequence[str],
                    row: Callable[[dict], Sequence[Any]], quiet: Callable[[dict], str] | None = None,
                    *, header_names: dict[str, str] | None = None) -> None:
    """The output of an ``ls`` command: ``quiet`` ids, ``--format json``, a template, or the table.

    ``items`` are the objects as the template sees them (docker's field names, e.g. ``.ID``).
    ``header_names`` maps a field to docker's column title for ``--format 'table {{.ID}}...'``
    (e.g. ``{"ID": "IMAGE ID", "CreatedSince": "CREATED"}``); other fields get their name upper-cased.
    """
    if quiet is not None:
        for it in items:
            print(quiet(it))
        return
    if fmt == "json":
        for it in items:
            print(json.dumps(it, separators=(",", ":")))
        return
    if fmt and fmt != "table":
        if fmt.startswith("table"):
            body = fmt[len("table"):].strip()
            cells = [render_template(body, it).split("\t") for it in items]
            head = [_header(h, header_names or {}) for h in body.replace("\\t", "\t").split("\t")]
            print_table(head, cells)
            return
        for it in items:
            print(render_template(fmt, it))
        return
    print_table(headers, [row(it) for it in items])


def print_inspect(objects: Sequence[dict], fmt: str | None) -> None:
    """``inspect`` output: a 4-space indented JSON array, or the template once per object."""
    if fmt and fmt != "json":
        for o in objects:
            print(render_template(fmt, o))
        return
    print(json.dumps(list(objects), indent=4))


def print_inspected(refs: Iterable[str], inspect: Callable[[str], dict], fmt: str | None) -> list[NotFound]:
    """``inspect`` each ref and print what was found (as docker does, even when some are missing);
    returns the NotFound errors, which each verb words its own way."""
    found, missing = [], []
    for ref in refs:
        try:
            found.append(inspect(ref))
        except NotFound as e:
            missing.append(e)
    if found or not fmt:
        print_inspect(found, fmt)
    return missing


def print_prune_report(report: dict, key: str, title: str) -> int:
    """docker's prune output: what ``report[key]`` lists under ``title:``, then the space reclaimed."""
    deleted = report.get(key) or []
    if deleted:
        print(f"{title}:")
        for item in deleted:
            print(item)
        print()
    print(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed') or 0)}")
    return 0


def add_inspect(sub, what: str):
    """docker's ``<what> inspect NAME...`` verb (``-f`` a Go template) on subparsers ``sub``; the
    names go to ``args.<what>s``."""
    p = sub.add_parser("inspect", help=f"Display detailed information on one or more {what}s")
    p.add_argument(f"{what}s", nargs="+", metavar=what.upper())
    p.add_argument("-f", "--format", help="Format output using a custom template")
    return p


def add_rm(sub, what: str, force_help: str) -> list:
    """docker's ``<what> rm|remove [-f] NAME...`` verb (names in ``args.<what>s``): the two parsers,
    for more flags."""
    parsers = []
    for name in ("rm", "remove"):
        p = sub.add_parser(name, help=f"Remove one or more {what}s")
        p.add_argument(f"{what}s", nargs="+", metavar=what.upper())
        p.add_argument("-f", "--force", action="store_true", help=force_help)
        parsers.append(p)
    return parsers


class RemoveError(EngineError):
    """Some of the objects given to an ``rm`` could not be removed (the others were)."""


def remove_each(names: Iterable[str], remove: Callable[[str], None]) -> int:
    """docker's ``rm`` of several objects: ``remove(name)`` (which prints what went) for each in turn;
    the ones that could not be found or removed are reported together once the others are gone."""
    errors = []
    for name in names:
        try:
            remove(name)
        except (NotFound, Conflict, InvalidArgument) as e:
            errors.append(str(e))
    if errors:
        raise RemoveError("Error response from daemon: " + "; ".join(errors))
    return 0


def key_values(items: Iterable[str], what: str, expected: str = "expected key=value") -> dict[str, str]:
    """``--label k=v`` / ``--opt k=v`` flags as a dict; an item without a key is refused."""
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid {what} {item!r}: {expected}")
        out[k] = v
    return out


def confirm(question: str) -> bool:
    """Ask docker's ``Are you sure you want to continue? [y/N]``; False without a yes."""
    sys.stdout.write(f"{question}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")
