"""Variable substitution of one instruction at dispatch time, where BuildKit does it.

Why at dispatch: the values (ARGs with their build-arg overrides, ENV set by earlier
steps) are known only when the stage reaches the instruction. The front end's
``instr.expand(env)`` is used when it exists; otherwise the same words are substituted
here with its shell lexer (ENV, LABEL, ARG defaults, COPY/ADD words and flags, WORKDIR,
USER, STOPSIGNAL, EXPOSE, VOLUME, ``RUN --mount``/``--network``; never a command).
"""
from __future__ import annotations

import dataclasses

from engine.build.dockerfile import ast
from engine.build.dockerfile.shell import ShellError, expand, expand_words
from engine.build.errors import BuildError


def expand_instr(instr, env: dict[str, str], escape: str = "\\", filename: str = "Dockerfile"):
    """A copy of ``instr`` with its words substituted from ``env``."""
    try:
        from engine.build.dockerfile.expand import expand_instruction
    except ImportError:  # the front end's expander not installed yet: the same rules, here
        expand_instruction = None
    try:
        if expand_instruction is not None:
            return expand_instruction(instr, env, escape, filename)
        return _fallback(instr, env, escape)
    except ShellError as e:
        raise BuildError(f"{filename}:{instr.line}: {instr.keyword}: {e}") from None
    except ValueError as e:
        raise BuildError(f"{filename}:{instr.line}: {instr.keyword}: {e}") from None


def _fallback(instr, env: dict[str, str], esc: str):
    x = lambda w: expand(w, env, esc) if w is not None else None  # noqa: E731
    rep = dataclasses.replace
    if isinstance(instr, (ast.EnvInstr, ast.LabelInstr)):
        return rep(instr, pairs=[(x(k), x(v)) for k, v in instr.pairs])
    if isinstance(instr, ast.ArgInstr):
        return rep(instr, args=[(k, x(v)) for k, v in instr.args])
    if isinstance(instr, ast.CopyInstr):
        docs = [rep(h, content=expand(h.content, env, esc, raw_quotes=True)) if h.expand else h
                for h in instr.heredocs]
        kw = dict(sources=[x(s) for s in instr.sources], dest=x(instr.dest), heredocs=docs, chown=x(instr.chown),
                  chmod=x(instr.chmod), excludes=[x(e) for e in instr.excludes])
        if isinstance(instr, ast.AddInstr):
            kw["checksum"] = x(instr.checksum)
        else:
            kw["from_"] = x(instr.from_)
        return rep(instr, **kw)
    if isinstance(instr, ast.WorkdirInstr):
        return rep(instr, path=x(instr.path))
    if isinstance(instr, ast.UserInstr):
        return rep(instr, user=x(instr.user))
    if isinstance(instr, ast.StopsignalInstr):
        return rep(instr, signal=x(instr.signal))
    if isinstance(instr, ast.ExposeInstr):
        return rep(instr, ports=[w for p in instr.ports for w in expand_words(p, env, esc)])
    if isinstance(instr, ast.VolumeInstr):
        return rep(instr, paths=[x(p) for p in instr.paths])
    if isinstance(instr, ast.RunInstr):
        return _run(instr, env, esc)
    return instr


def _run(instr, env: dict[str, str], esc: str):
    from engine.build.dockerfile.flags import FlagError, check_network, parse_mount

    mounts = list(instr.mounts)
    specs = getattr(instr, "mount_specs", None) or []
    if specs and any("$" in s for s in specs):
        try:
            mounts = [parse_mount(expand(s, env, esc)) for s in specs]
        except FlagError as e:
            raise ValueError(str(e)) from None
    net = instr.network
    if net is not None and "$" in net:
        net = check_network(expand(net, env, esc))
    return dataclasses.replace(instr, mounts=mounts, network=net)
