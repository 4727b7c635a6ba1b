"""Which words of which instruction get variables substituted, as BuildKit does it at dispatch.

Substituted: ADD COPY (sources, dest, --chown, --chmod, ADD --checksum, unquoted
heredoc bodies with quotes kept literal), ENV and LABEL (keys and values),
ARG (names and defaults), EXPOSE, STOPSIGNAL, USER, VOLUME, WORKDIR, and the
values of ``RUN --mount``. Not substituted: RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK
commands (the shell does it at run time), ONBUILD triggers (substituted when
they run in the child build), MAINTAINER. ``COPY --from`` and ``--mount from=``
refuse variables. FROM is substituted by ``expand_from`` with the global ARGs only.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

from engine.build.dockerfile import ast
from engine.build.dockerfile.flags import FlagError, check_network, parse_mount
from engine.build.dockerfile.shell import ShellError, expand
from engine.errors import DockerfileError

Env = Mapping[str, str] | Callable[[str], str | None]


def _fail(instr: ast.Instruction, detail: str, filename: str) -> DockerfileError:
    return DockerfileError(f"{instr.keyword}: {detail}", instr.line, filename)


def expand_instruction(instr: ast.Instruction, env: Env, escape: str = "\\",
                       filename: str = "Dockerfile") -> ast.Instruction:
    """A copy of ``instr`` with variables from ``env`` substituted where Docker substitutes them."""
    def word(w: str) -> str:
        return expand(w, env, escape)

    try:
        return _expand(instr, word, env)
    except ShellError as e:
        raise _fail(instr, str(e), filename) from None
    except FlagError as e:
        raise _fail(instr, str(e), filename) from None
    except ValueError as e:
        raise _fail(instr, str(e), filename) from None


def _expand(instr: ast.Instruction, word: Callable[[str], str], env: Env) -> ast.Instruction:
    rep = dataclasses.replace
    if isinstance(instr, (ast.EnvInstr, ast.LabelInstr)):
        return rep(instr, pairs=[(word(k), word(v)) for k, v in instr.pairs])
    if isinstance(instr, ast.CopyInstr):
        return _expand_copy(instr, word, env)
    if isinstance(instr, ast.ArgInstr):
        return rep(instr, args=[(word(k), None if v is None else word(v)) for k, v in instr.args])
    if isinstance(instr, ast.WordInstr):
        return rep(instr, word=word(instr.word))
    if isinstance(instr, ast.VolumeInstr):
        return rep(instr, paths=[word(p) for p in instr.paths])
    if isinstance(instr, ast.ExposeInstr):
        ports: list[str] = []
        for p in instr.ports:
            ports.extend(x for x in word(p).split() if x)
        return rep(instr, ports=ports)
    if isinstance(instr, ast.RunInstr):
        return _expand_run(instr, word)
    return instr


def _expand_copy(instr: ast.CopyInstr, word: Callable[[str], str], env: Env) -> ast.CopyInstr:
    if instr.from_ is not None and expand(instr.from_, {}) != instr.from_:
        raise ValueError("variable expansion is not supported for --from, define a new stage with FROM using "
                         "ARG from global scope as a workaround")
    docs = [dataclasses.replace(h, content=expand(h.content, env, "\\", skip_quotes=True)) if h.expand else h
            for h in instr.heredocs]
    changes = dict(sources=[word(s) for s in instr.sources], dest=word(instr.dest), heredocs=docs,
                   chown=word(instr.chown) if instr.chown else instr.chown,
                   chmod=word(instr.chmod) if instr.chmod else instr.chmod)
    if isinstance(instr, ast.AddInstr) and instr.checksum:
        changes["checksum"] = word(instr.checksum)
    return dataclasses.replace(instr, **changes)


def _expand_run(instr: ast.RunInstr, word: Callable[[str], str]) -> ast.RunInstr:
    """Mount values are substituted field by field (``from=`` must stay literal)."""
    mounts = []
    for spec in instr.mount_specs:
        fields = []
        for f in _split_fields(spec):
            key, eq, value = f.partition("=")
            fields.append(f"{key}={_csv_quote(word(value))}" if eq and key.lower() != "from" else f)
        mounts.append(parse_mount(",".join(fields)))
    net = instr.network
    if net is not None and "$" in net:
        net = check_network(word(net))
    return dataclasses.replace(instr, mounts=mounts, network=net)


def _split_fields(spec: str) -> list[str]:
    import csv

    rows = list(csv.reader([spec]))
    return rows[0] if rows else []


def _csv_quote(value: str) -> str:
    if any(c in value for c in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def expand_from(instr: ast.FromInstr, global_args: Mapping[str, str], escape: str = "\\",
                filename: str = "Dockerfile") -> tuple[str, str | None]:
    """(base image/stage, platform) of a FROM, substituted with the global scope (ARGs before FROM)."""
    try:
        base = expand(instr.base, global_args, escape)
        platform = expand(instr.platform, global_args, escape) if instr.platform else None
    except ShellError as e:
        raise _fail(instr, str(e), filename) from None
    if not base:
        raise _fail(instr, f"base name ({instr.base}) should not be blank", filename)
    if instr.platform and not platform:
        raise _fail(instr, f"empty platform value from expression {instr.platform}", filename)
    return base, platform


def display_name(text: str, env: Env, escape: str = "\\") -> str:
    """A step's name for progress output: variables shown with their values, quotes kept."""
    try:
        return expand(text, env, escape, raw_quotes=True, skip_unset=True)
    except ShellError:
        return text
