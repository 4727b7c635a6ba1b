"""The stage graph: which stages a target needs, in an order that lets independent ones run together.

A stage depends on another through ``FROM <stage>``, ``COPY --from=<stage>``
(name or index) and ``RUN --mount=...,from=<stage>``. Everything else named
there (``FROM debian``, ``COPY --from=nginx:latest``, a named build context)
is external. Only the stages the target reaches are built, like BuildKit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from engine.build.dockerfile import ast
from engine.build.dockerfile.args import global_scope
from engine.build.dockerfile.expand import expand_from
from engine.errors import DockerfileError, InvalidArgument


@dataclass
class StageNode:
    """One stage and what it needs."""

    index: int
    stage: ast.Stage
    base: str  # FROM after substitution (a stage name, "scratch" or an image reference)
    platform: str | None
    base_stage: int | None = None  # FROM names an earlier stage
    deps: set[int] = field(default_factory=set)  # every stage this one needs (base, --from, mount from=)
    external: list[str] = field(default_factory=list)  # images / named contexts named by --from or mount from=


def _mount_froms(instr: ast.RunInstr) -> list[str]:
    """``from=`` of each mount, also when other fields have variables (from= never has)."""
    if instr.mounts:
        return [m.from_ for m in instr.mounts if m.from_]
    out = []
    for spec in instr.mount_specs:
        for f in spec.split(","):
            key, eq, value = f.partition("=")
            if eq and key.strip().lower() == "from" and value:
                out.append(value.strip().strip('"'))
    return out


def _find_stage(df: ast.Dockerfile, ref: str, before: int | None = None) -> int | None:
    """Index of the stage ``ref`` names (name or number); ``before`` limits to earlier stages."""
    st = df.stage(ref)
    if st is None:
        return None
    if before is not None and st.index >= before:
        return None
    return st.index


def stage_graph(df: ast.Dockerfile, global_args: Mapping[str, str]) -> list[StageNode]:
    """Every stage of ``df`` with its dependencies resolved."""
    nodes: list[StageNode] = []
    for st in df.stages:
        base, platform = expand_from(st.from_instr, global_args, df.escape, df.filename)
        node = StageNode(st.index, st, base, platform)
        node.base_stage = _find_stage(df, base, before=st.index)
        if node.base_stage is not None:
            node.deps.add(node.base_stage)
        for instr in st.instructions:
            refs = []
            if isinstance(instr, ast.CopyInstr) and not isinstance(instr, ast.AddInstr) and instr.from_:
                refs.append(instr.from_)
            elif isinstance(instr, ast.RunInstr):
                refs.extend(_mount_froms(instr))
            for ref in refs:
                idx = _find_stage(df, ref)
                if idx == st.index:
                    raise DockerfileError(f"{instr.keyword}: circular dependency detected on stage: "
                                          f"{st.name or st.index}", instr.line, df.filename)
                if idx is None and ref.isdigit():
                    raise DockerfileError(f"{instr.keyword}: invalid stage index {ref}", instr.line, df.filename)
                if idx is None:
                    node.external.append(ref)
                else:
                    node.deps.add(idx)
        nodes.append(node)
    return nodes


def target_stage(df: ast.Dockerfile, target: str | None) -> ast.Stage:
    """The stage ``--target`` names (the last one when None)."""
    if not target:
        return df.stages[-1]
    st = df.stage(target) if not target.isdigit() else None
    if st is None:
        raise InvalidArgument(f'target stage "{target}" could not be found')
    return st


def stages_needed(df: ast.Dockerfile, target: str | None = None,
                  global_args: Mapping[str, str] | None = None) -> list[StageNode]:
    """The stages the target needs, dependencies first (ties by Dockerfile order); the target is last.

    ``global_args`` defaults to the global scope without build args on this host's platform.
    """
    if global_args is None:
        global_args = global_scope(df, {})
    nodes = stage_graph(df, global_args)
    goal = target_stage(df, target).index
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(i: int, path: list[int]) -> None:
        if state.get(i) == "done":
            return
        if state.get(i) == "active":
            names = " -> ".join(str(df.stages[j].name or j) for j in path + [i])
            raise DockerfileError(f"circular dependency detected on stage: {names}", df.stages[i].from_instr.line,
                                  df.filename)
        state[i] = "active"
        for d in sorted(nodes[i].deps):
            visit(d, path + [i])
        state[i] = "done"
        order.append(i)

    visit(goal, [])
    return [nodes[i] for i in order]


def build_levels(needed: list[StageNode]) -> list[list[int]]:
    """Group the needed stages into waves: each wave's stages only need earlier waves (run them together)."""
    level: dict[int, int] = {}
    for n in needed:  # dependencies come first in ``needed``
        level[n.index] = 1 + max((level[d] for d in n.deps), default=-1)
    waves: list[list[int]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for n in needed:
        waves[level[n.index]].append(n.index)
    return waves
