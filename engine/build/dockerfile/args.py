"""Build arguments and the variables a step sees, with Docker's scoping rules.

* ``--build-arg`` values override ARG defaults; an ARG with neither value nor
  default is unset (it is still "declared").
* ARGs before the first FROM form the global scope, usable in FROM lines only;
  inside a stage ``ARG NAME`` (no default) brings a global value in.
* The platform args (BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT,
  TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, TARGETSTAGE) are in the
  global scope without being declared; a stage declares them to use them.
* The proxy args (HTTP_PROXY, https_proxy, NO_PROXY, ...) reach RUN steps
  without being declared, and are not written to the image history then.
* ENV wins over ARG of the same name; ARG values are in the environment of RUN
  steps but not in the image config.
"""
from __future__ import annotations

import os
import platform as _platform
from dataclasses import dataclass, field
from typing import Mapping

from engine.build.dockerfile import ast
from engine.build.dockerfile.shell import ShellError, expand
from engine.errors import DockerfileError, InvalidArgument

PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
PLATFORM_ARGS = ("BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM",
                 "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "armv6l": "arm", "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x",
         "riscv64": "riscv64", "mips64": "mips64le", "loongarch64": "loong64"}


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    """The platform of this machine, normalized like containerd (x86_64 -> amd64, arm64 without v8)."""
    machine = _platform.machine().lower()
    arch = _ARCH.get(machine, machine)
    variant = ""
    if machine.startswith("armv"):
        variant = "v" + machine[4]
    return Platform("linux", arch, variant)


def parse_platform(text: str) -> Platform:
    """``linux/amd64``, ``linux/arm64/v8``, ``amd64`` -> Platform (normalized like containerd)."""
    parts = [p.strip().lower() for p in text.split("/")]
    if not all(parts) or len(parts) > 3:
        raise InvalidArgument(f'"{text}": unknown operating system or architecture: invalid argument')
    if len(parts) == 1:
        os_, arch, variant = "linux", parts[0], ""
        if arch not in _ARCH.values() and arch not in _ARCH:
            os_, arch = parts[0], host_platform().architecture
    else:
        os_, arch = parts[0], parts[1]
        variant = parts[2] if len(parts) == 3 else ""
    arch = _ARCH.get(arch, arch)
    if arch == "arm64" and variant == "v8":
        variant = ""
    if arch == "arm" and not variant:
        variant = "v7"
    return Platform(os_, arch, variant)


def platform_args(build: Platform, target: Platform, target_stage: str | None = None) -> dict[str, str]:
    """The automatic platform args of BuildKit's global scope."""
    return {
        "BUILDPLATFORM": str(build), "BUILDOS": build.os, "BUILDOSVERSION": "", "BUILDARCH": build.architecture,
        "BUILDVARIANT": build.variant, "TARGETPLATFORM": str(target), "TARGETOS": target.os,
        "TARGETOSVERSION": "", "TARGETARCH": target.architecture, "TARGETVARIANT": target.variant,
        "TARGETSTAGE": target_stage or "default",
    }


def resolve_build_args(build_args: Mapping[str, str | None] | None,
                       environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``--build-arg K=V`` as given; ``--build-arg K`` (None) takes K from the client environment, if set."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for k, v in (build_args or {}).items():
        if v is None:
            if k in env:
                out[k] = env[k]
        else:
            out[k] = v
    return out


def global_scope(df: ast.Dockerfile, build_args: Mapping[str, str], build: Platform | None = None,
                 target: Platform | None = None, target_stage: str | None = None) -> dict[str, str]:
    """The variables FROM lines see: platform args (overridable), then the ARGs before FROM."""
    build = build or host_platform()
    target = target or build
    scope = platform_args(build, target, target_stage)
    for k in PLATFORM_ARGS:
        if k in build_args:
            scope[k] = build_args[k]
    for instr in df.meta_args:
        for name, default in instr.args:
            if name in build_args:
                scope[name] = build_args[name]
            elif default is not None:
                try:
                    scope[name] = expand(default, scope, df.escape)
                except ShellError as e:
                    raise DockerfileError(f"ARG: {e}", instr.line, df.filename) from None
    return scope


@dataclass
class StageScope:
    """The variables of one stage while it is dispatched (ENV, declared ARGs), for expand and RUN."""

    build_args: Mapping[str, str]
    global_args: Mapping[str, str]
    env: dict[str, str] = field(default_factory=dict)  # image config Env, in order (persisted)
    args: dict[str, str] = field(default_factory=dict)  # declared ARGs with a value (not persisted)
    declared: list[str] = field(default_factory=list)  # ARG names in declaration order (history |N)
    used_build_args: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, build_args: Mapping[str, str], global_args: Mapping[str, str],
              image_env: list[str] | None = None) -> StageScope:
        """A stage starting from an image whose config has ``image_env`` ("K=V" strings)."""
        env = {}
        for e in image_env or []:
            k, _, v = e.partition("=")
            env[k] = v
        return cls(build_args=build_args, global_args=global_args, env=env)

    def lookup(self, name: str) -> str | None:
        """What ``$name`` is at this step: ENV first (ENV wins over ARG), then ARG."""
        if name in self.env:
            return self.env[name]
        return self.args.get(name)

    def apply_arg(self, instr: ast.ArgInstr, escape: str = "\\", filename: str = "Dockerfile") -> list[str]:
        """Declare the ARGs of ``instr``; returns the "K=V"/"K" words of its history entry."""
        words = []
        for raw_name, default in instr.args:
            try:
                name = expand(raw_name, self.lookup, escape)
                if name in self.build_args:
                    value: str | None = self.build_args[name]
                    self.used_build_args.add(name)
                elif default is not None:
                    value = expand(default, self.lookup, escape)
                else:
                    value = self.global_args.get(name)
            except ShellError as e:
                raise DockerfileError(f"ARG: {e}", instr.line, filename) from None
            if name not in self.declared:
                self.declared.append(name)
            if value is not None:
                self.args[name] = value
            else:
                self.args.pop(name, None)
            words.append(name if value is None else f"{name}={value}")
        return words

    def apply_env(self, expanded: ast.EnvInstr) -> None:
        """Record ENV pairs (already substituted by expand_instruction)."""
        for k, v in expanded.pairs:
            self.env.pop(k, None)
            self.env[k] = v

    def image_env(self) -> list[str]:
        """The image config's Env ("K=V", in order)."""
        return [f"{k}={v}" for k, v in self.env.items()]

    def run_env(self) -> list[str]:
        """The environment of a RUN step: ENV, declared ARGs ENV does not shadow, undeclared proxy args."""
        out = self.image_env()
        for k, v in self.args.items():
            if k not in self.env:
                out.append(f"{k}={v}")
        for k in PROXY_ARGS:
            if k in self.build_args and k not in self.args and k not in self.env:
                out.append(f"{k}={self.build_args[k]}")
        return out

    def history_args(self) -> list[str]:
        """``K=V`` of the declared ARGs, for ``RUN |N K=V ... cmd`` history entries and the cache key."""
        out = []
        for k in self.declared:
            v = self.lookup(k)
            out.append(f"{k}={'' if v is None else v}")
        return out


def run_command_string(argv: list[str], scope: StageScope) -> str:
    """Docker's history text for a RUN: ``|2 A=1 B=2 /bin/sh -c make`` (no prefix without ARGs)."""
    args = scope.history_args()
    prefix = [f"|{len(args)}", *args] if args else []
    return " ".join(prefix + list(argv))


def unused_build_args(build_args: Mapping[str, str], df: ast.Dockerfile) -> list[str]:
    """Build args no ARG declares: Docker warns "[Warning] One or more build-args [..] were not consumed"."""
    declared = {name for instr in df.meta_args for name, _ in instr.args}
    for st in df.stages:
        for instr in st.instructions:
            if isinstance(instr, ast.ArgInstr):
                declared.update(name for name, _ in instr.args)
    return sorted(k for k in build_args if k not in declared and k not in PROXY_ARGS and k not in PLATFORM_ARGS)
