"""Raw instruction lines -> typed ``ast`` instructions, with BuildKit's argument rules and messages.

Argument shapes: JSON array or shell string (RUN CMD ENTRYPOINT SHELL), JSON
array or blank-separated list (COPY ADD VOLUME), ``k=v ...`` or legacy
``k v`` (ENV LABEL), words with quotes kept for later substitution (ARG),
blank-separated (FROM EXPOSE), one string (USER WORKDIR STOPSIGNAL MAINTAINER).
Errors raise ``InstructionError`` with BuildKit's wording; the parser adds the line.
"""
from __future__ import annotations

import re

from engine.build.dockerfile import ast
from engine.build.dockerfile.flags import (BOOL, STRING, STRINGS, FlagError, check_network, check_security,
                                           parse_flags, parse_mount)
from engine.build.dockerfile.lines import RawLine, heredoc_word, json_array, split_instruction
from engine.values import parse_duration

STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9-_.]*$")
WS_RE = re.compile(r"[\t\v\f\r ]+")


class InstructionError(ValueError):
    """What is wrong with one instruction (BuildKit's message, no location)."""


class _NotStrings(InstructionError):
    pass


def parse_json(rest: str) -> list[str] | None:
    """The JSON array form, or None when ``rest`` is not a JSON array (shell form)."""
    v = json_array(rest)
    if v is None:
        return None
    if not all(isinstance(x, str) for x in v):
        raise _NotStrings("when using JSON array syntax, arrays must be comprised of strings only")
    return v


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on blanks outside quotes; quotes and escapes are kept (substitution removes them)."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    blank_ok = False
    in_word = False
    i, n = 0, len(rest)
    while i < n:
        ch = rest[i]
        if not quote and ch.isspace():
            if in_word and (buf or blank_ok):
                words.append("".join(buf))
            buf, blank_ok, in_word = [], False, False
            i += 1
            continue
        in_word = True
        escaped = False
        if quote and ch == quote:
            quote = ""
        elif quote:
            escaped = ch == escape and quote != "'"  # nothing escapes inside single quotes
        elif ch in "'\"":
            quote, blank_ok = ch, True
        else:
            escaped = ch == escape
        if escaped:  # the escape and the character it escapes, kept; a trailing escape dropped
            if i + 1 == n:
                i += 1
                continue
            buf.append(ch)
            i += 1
            ch = rest[i]
        buf.append(ch)
        i += 1
    if in_word and (buf or blank_ok):
        words.append("".join(buf))
    return words


def parse_kvps(rest: str, what: str, escape: str) -> list[tuple[str, str]]:
    """ENV/LABEL: ``k=v k2="v 2"`` or the legacy ``k some value`` form (one pair)."""
    words = parse_words(rest, escape)
    if not words:
        raise InstructionError(f"{what} requires at least one argument")
    if "=" not in words[0]:
        parts = WS_RE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise InstructionError(f"{what} must have two arguments")
        pairs = [(parts[0], parts[1])]
    else:
        pairs = []
        for w in words:
            if "=" not in w:
                raise InstructionError(f'Syntax error - can\'t find = in "{w}". Must be of the form: name=value')
            k, v = w.split("=", 1)
            pairs.append((k, v))
    for k, _ in pairs:
        if not k:
            raise InstructionError(f"{what} names can not be blank")
    return pairs


def _command_form(rest: str) -> tuple[list[str], bool]:
    """(argv, prepend_shell): exec form as is, shell form as one string."""
    argv = parse_json(rest)
    if argv is not None:
        return argv, False
    return ([rest] if rest else []), True


def _list_form(rest: str) -> tuple[list[str], bool]:
    """(items, is_json) for COPY/ADD/VOLUME."""
    v = parse_json(rest)
    if v is not None:
        return v, True
    return ([w for w in WS_RE.split(rest) if w] if rest else []), False


def _common(raw: RawLine) -> dict:
    return {"line": raw.line, "end_line": raw.end_line, "original": raw.original}


def _no_flags(raw: RawLine) -> None:
    parse_flags(raw.flags, {})


def _from(raw: RawLine, escape: str) -> ast.FromInstr:
    args = [w for w in WS_RE.split(raw.rest) if w] if raw.rest else []
    name = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not STAGE_NAME_RE.match(name):
            raise InstructionError(f'invalid name for build stage: "{args[2]}", name can\'t start with a number or '
                                   "contain symbols")
    elif len(args) != 1:
        raise InstructionError("FROM requires either one or three arguments")
    fl = parse_flags(raw.flags, {"platform": STRING})
    return ast.FromInstr(**_common(raw), base=args[0], name=name, platform=fl.get("platform"))  # type: ignore


def _run(raw: RawLine, escape: str) -> ast.RunInstr:
    fl = parse_flags(raw.flags, {"mount": STRINGS, "network": STRING, "security": STRING})
    specs = list(fl.get("mount", []))  # type: ignore[arg-type]
    mounts = []
    for spec in specs:
        if "$" in spec:
            for f in spec.split(","):
                if f.lower().startswith("from=") and "$" in f[5:-1]:
                    raise InstructionError("'from' doesn't support variable expansion, define alias stage instead")
            continue
        mounts.append(parse_mount(spec))
    if len(mounts) != len(specs):
        mounts = []  # filled by expand once variables are known
    argv, shell = _command_form(raw.rest)
    if not argv:
        raise InstructionError("RUN requires at least one argument")
    net = fl.get("network")
    sec = fl.get("security")
    return ast.RunInstr(**_common(raw), command=argv, prepend_shell=shell, heredocs=list(raw.heredocs),
                        mounts=mounts, mount_specs=specs,
                        network=check_network(net) if net is not None and "$" not in net else net,  # type: ignore
                        security=check_security(sec) if sec is not None else None)  # type: ignore


def _copy(raw: RawLine, escape: str, add: bool) -> ast.CopyInstr:
    what = "ADD" if add else "COPY"
    spec = {"chown": STRING, "chmod": STRING, "link": BOOL, "exclude": STRINGS}
    spec.update({"checksum": STRING, "keep-git-dir": BOOL, "unpack": BOOL} if add else
                {"from": STRING, "parents": BOOL})
    fl = parse_flags(raw.flags, spec)
    args, is_json = _list_form(raw.rest)
    if len(args) < 2:
        raise InstructionError(f"{what} requires at least two arguments, but only one was provided. "
                               "Destination could not be determined")
    dest = args[-1]
    if not is_json and heredoc_word(dest):
        raise InstructionError(f"{what} cannot accept a heredoc as a destination")
    docs = {h.name: h for h in raw.heredocs}
    sources, heredocs = [], []
    for src in args[:-1]:
        h = heredoc_word(src) if not is_json else None
        if h and h[0] in docs:
            heredocs.append(docs[h[0]])
        else:
            sources.append(src)
    kw = dict(_common(raw), sources=sources, dest=dest, heredocs=heredocs, chown=fl.get("chown"),
              chmod=fl.get("chmod"), link=bool(fl.get("link", False)), excludes=list(fl.get("exclude", [])))
    if add:
        return ast.AddInstr(**kw, checksum=fl.get("checksum"), keep_git_dir=bool(fl.get("keep-git-dir", False)),
                            unpack=fl.get("unpack"))  # type: ignore[arg-type]
    return ast.CopyInstr(**kw, from_=fl.get("from"), parents=bool(fl.get("parents", False)))  # type: ignore


def _env(raw: RawLine, escape: str) -> ast.EnvInstr:
    _no_flags(raw)
    return ast.EnvInstr(**_common(raw), pairs=parse_kvps(raw.rest, "ENV", escape))


def _label(raw: RawLine, escape: str) -> ast.LabelInstr:
    _no_flags(raw)
    return ast.LabelInstr(**_common(raw), pairs=parse_kvps(raw.rest, "LABEL", escape))


def _arg(raw: RawLine, escape: str) -> ast.ArgInstr:
    words = parse_words(raw.rest, escape)
    if not words:
        raise InstructionError("ARG requires at least one argument")
    _no_flags(raw)
    args: list[tuple[str, str | None]] = []
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            if not k:
                raise InstructionError("ARG names can not be blank")
            args.append((k, v))
        else:
            args.append((w, None))
    return ast.ArgInstr(**_common(raw), args=args)


def _one(raw: RawLine, what: str) -> str:
    if not raw.rest:
        raise InstructionError(f"{what} requires exactly one argument")
    _no_flags(raw)
    return raw.rest


def _one_word(cls: type[ast.WordInstr]):
    """The builder of a one-word instruction ``cls`` (WORKDIR, USER, STOPSIGNAL)."""
    return lambda raw, escape: cls(**_common(raw), word=_one(raw, cls.KEYWORD))


def _maintainer(raw: RawLine, escape: str) -> ast.MaintainerInstr:
    return ast.MaintainerInstr(**_common(raw), maintainer=_one(raw, "MAINTAINER"))


def _expose(raw: RawLine, escape: str) -> ast.ExposeInstr:
    ports = [w for w in WS_RE.split(raw.rest) if w] if raw.rest else []
    if not ports:
        raise InstructionError("EXPOSE requires at least one argument")
    _no_flags(raw)
    return ast.ExposeInstr(**_common(raw), ports=sorted(ports))


def _volume(raw: RawLine, escape: str) -> ast.VolumeInstr:
    paths, _ = _list_form(raw.rest)
    if not paths:
        raise InstructionError("VOLUME requires at least one argument")
    _no_flags(raw)
    paths = [p.strip() for p in paths]
    if any(not p for p in paths):
        raise InstructionError("VOLUME specified can not be an empty string")
    return ast.VolumeInstr(**_common(raw), paths=paths)


def _cmd(raw: RawLine, escape: str, entrypoint: bool) -> ast.CmdInstr:
    _no_flags(raw)
    argv, shell = _command_form(raw.rest)
    cls = ast.EntrypointInstr if entrypoint else ast.CmdInstr
    return cls(**_common(raw), command=argv, prepend_shell=shell and bool(argv))


def _shell(raw: RawLine, escape: str) -> ast.ShellInstr:
    _no_flags(raw)
    argv, shell = _command_form(raw.rest)
    if not argv:
        raise InstructionError("SHELL requires at least one argument")
    if shell:
        raise InstructionError("SHELL requires the arguments to be in JSON form")
    return ast.ShellInstr(**_common(raw), shell=argv)


def _healthcheck(raw: RawLine, escape: str) -> ast.HealthcheckInstr:
    parts = raw.rest.split(None, 1)
    if not parts:
        raise InstructionError("HEALTHCHECK requires at least one argument")
    typ = parts[0].upper()
    rest = parts[1].strip() if len(parts) > 1 else ""
    if typ == "NONE":
        if rest:
            raise InstructionError("HEALTHCHECK NONE takes no arguments")
        _no_flags(raw)
        return ast.HealthcheckInstr(**_common(raw), test=["NONE"])
    fl = parse_flags(raw.flags, {k: STRING for k in ("interval", "timeout", "start-period", "start-interval",
                                                     "retries")})
    if typ != "CMD":
        raise InstructionError(f'Unknown type "{parts[0].upper()}" in HEALTHCHECK (try CMD)')
    argv, shell = _command_form(rest)
    if not argv:
        raise InstructionError("Missing command after HEALTHCHECK CMD")
    test = ["CMD-SHELL", argv[0]] if shell else ["CMD", *argv]
    durations = {k: _interval(k, fl.get(k)) for k in ("interval", "timeout", "start-period", "start-interval")}
    retries = None
    if fl.get("retries"):
        try:
            retries = int(fl["retries"])  # type: ignore[arg-type]
        except ValueError:
            raise InstructionError(f'strconv.ParseInt: parsing "{fl["retries"]}": invalid syntax') from None
        if retries < 0:
            raise InstructionError(f"--retries cannot be negative ({retries})")
    return ast.HealthcheckInstr(**_common(raw), test=test, interval=durations["interval"],
                                timeout=durations["timeout"], start_period=durations["start-period"],
                                start_interval=durations["start-interval"], retries=retries)


def _interval(name: str, value) -> int | None:
    if not value:
        return None
    try:
        ns = parse_duration(value)
    except ValueError as e:
        raise InstructionError(str(e)) from None
    if 0 < ns < 1_000_000:
        raise InstructionError(f'Interval "{name}" cannot be less than 1ms')
    return ns


def _onbuild(raw: RawLine, escape: str) -> ast.OnbuildInstr:
    if not raw.rest.strip():
        raise InstructionError("ONBUILD requires at least one argument")
    _no_flags(raw)
    trigger_kw = raw.rest.split(None, 1)[0].upper()
    if trigger_kw == "ONBUILD":
        raise InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_kw in ("MAINTAINER", "FROM"):
        raise InstructionError(f"{trigger_kw} isn't allowed as an ONBUILD trigger")
    expression = re.sub(r"(?i)^\s*ONBUILD\s*", "", raw.original, count=1)
    for h in raw.heredocs:
        expression += "\n" + h.content + h.name
    kw, flags, rest = split_instruction(raw.rest, escape)
    inner = RawLine(kw, flags, rest, raw.rest.strip(), raw.line, raw.end_line, list(raw.heredocs))
    trigger = build_instruction(inner, escape)
    return ast.OnbuildInstr(**_common(raw), expression=expression, trigger=trigger)


BUILDERS = {
    "FROM": _from, "RUN": _run, "ENV": _env, "LABEL": _label, "ARG": _arg, "WORKDIR": _one_word(ast.WorkdirInstr),
    "USER": _one_word(ast.UserInstr), "STOPSIGNAL": _one_word(ast.StopsignalInstr), "MAINTAINER": _maintainer, "EXPOSE": _expose, "VOLUME": _volume, "SHELL": _shell,
    "HEALTHCHECK": _healthcheck, "ONBUILD": _onbuild,
    "COPY": lambda r, e: _copy(r, e, add=False), "ADD": lambda r, e: _copy(r, e, add=True),
    "CMD": lambda r, e: _cmd(r, e, entrypoint=False), "ENTRYPOINT": lambda r, e: _cmd(r, e, entrypoint=True),
}


def build_instruction(raw: RawLine, escape: str) -> ast.Instruction:
    """The typed instruction for one raw line; raises InstructionError (or FlagError) when wrong."""
    builder = BUILDERS.get(raw.keyword.upper())
    if builder is None:
        raise UnknownInstruction(raw.keyword)
    try:
        return builder(raw, escape)
    except FlagError as e:
        raise InstructionError(str(e)) from None


class UnknownInstruction(InstructionError):
    def __init__(self, keyword: str):
        import difflib

        close = difflib.get_close_matches(keyword.upper(), list(BUILDERS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0].lower() if keyword.islower() else close[0]}?)" if close else ""
        super().__init__(f"unknown instruction: {keyword}{hint}")
