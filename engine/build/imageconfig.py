"""A stage's image as it is being built, and the metadata instructions applied to it.

Why here and not in the executor: ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, USER, VOLUME,
STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER and ARG only change the image
config and add a history entry, the way BuildKit's Dockerfile front end writes them
(``created_by`` strings, ``empty_layer``, the ``buildkit.dockerfile.v0`` comment), so
an image built here inspects like one ``docker build`` made from the same Dockerfile.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from engine.build.errors import BuildError
from engine.values import format_duration

HISTORY_COMMENT = "buildkit.dockerfile.v0"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ["/bin/sh", "-c"]
# the order Docker's image spec declares the config fields in (json output follows it)
CONFIG_ORDER = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                "StopSignal", "ArgsEscaped", "Healthcheck", "OnBuild", "Shell")


@dataclass
class StageImage:
    """The stage's layers, config, history and cache chain so far."""

    layers: list[dict] = field(default_factory=list)  # store layer entries, lowest first
    config: dict = field(default_factory=dict)  # the image config's "config" object
    history: list[dict] = field(default_factory=list)
    key: str = ""  # cache key of the filesystem so far
    created: str = ""  # time of the last step (history entries of metadata steps use it)
    architecture: str = "amd64"
    os: str = "linux"
    variant: str | None = None
    cmd_set: bool = False
    args: dict[str, str | None] = field(default_factory=dict)  # ARGs declared in the stage -> value

    def clone(self) -> "StageImage":
        return copy.deepcopy(self)

    def env_dict(self) -> dict[str, str]:
        out = {}
        for e in self.config.get("Env") or []:
            k, _, v = e.partition("=")
            out[k] = v
        return out

    def lookup(self) -> dict[str, str]:
        """Variables for substitution: ARG values, overridden by ENV (BuildKit's order)."""
        out = {k: v for k, v in self.args.items() if v is not None}
        out.update(self.env_dict())
        return out

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.config.get("Env") or [] if e.partition("=")[0] != key]
        env.append(f"{key}={value}")
        self.config["Env"] = env

    def add_history(self, created_by: str, empty_layer: bool) -> None:
        h = {"created": self.created, "created_by": created_by, "comment": HISTORY_COMMENT}
        if empty_layer:
            h["empty_layer"] = True
        self.history.append(h)

    def document(self) -> dict:
        """The OCI/Docker image config document (top-level keys sorted, as BuildKit writes them)."""
        cfg = {k: self.config[k] for k in CONFIG_ORDER if self.config.get(k) not in (None, [], {})}
        cfg.update({k: v for k, v in self.config.items() if k not in CONFIG_ORDER and v not in (None, [], {})})
        if self.config.get("ArgsEscaped"):
            cfg["ArgsEscaped"] = True
        doc = {"architecture": self.architecture, "config": cfg, "created": self.created,
               "history": self.history, "os": self.os,
               "rootfs": {"type": "layers", "diff_ids": [l["diff_id"] for l in self.layers]}}
        if self.variant:
            doc["variant"] = self.variant
        return doc


def scratch_image(created: str) -> StageImage:
    """BuildKit's empty image: PATH set and WorkingDir "/"."""
    return StageImage(config={"Env": [DEFAULT_PATH], "WorkingDir": "/"}, created=created, key="scratch")


def from_base(image_config: dict, layers: list[dict], key: str) -> StageImage:
    cfg = dict(image_config.get("config") or {})
    for k in ("Hostname", "Domainname", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
              "StdinOnce", "Image"):
        cfg.pop(k, None)  # container-config leftovers of old images
    return StageImage(layers=list(layers), config=cfg, history=list(image_config.get("history") or []),
                      key=key, created=image_config.get("created") or "",
                      architecture=image_config.get("architecture") or "amd64",
                      os=image_config.get("os") or "linux", variant=image_config.get("variant"))


def go_quote_list(items: list[str]) -> str:
    """Go's ``%q`` of a []string: ``["a" "b"]``."""
    return "[" + " ".join(json.dumps(s, ensure_ascii=False) for s in items) + "]"


def go_duration(ns: int | None) -> str:
    """Go's time.Duration.String()."""
    return format_duration(int(ns or 0))


def with_shell(img: StageImage, command: list[str], prepend_shell: bool) -> list[str]:
    if not prepend_shell:
        return list(command)
    return list(img.config.get("Shell") or DEFAULT_SHELL) + [" ".join(command)]


def apply_meta(img: StageImage, instr, kw: str) -> None:
    """Apply one expanded metadata instruction to ``img`` (config and history)."""
    cfg = img.config
    if kw == "ENV":
        for k, v in instr.pairs:
            img.set_env(k, v)
        img.add_history("ENV " + " ".join(f"{k}={v}" for k, v in instr.pairs), True)
    elif kw == "LABEL":
        labels = dict(cfg.get("Labels") or {})
        labels.update(dict(instr.pairs))
        cfg["Labels"] = labels
        img.add_history("LABEL " + " ".join(f"{k}={v}" for k, v in instr.pairs), True)
    elif kw in ("CMD", "ENTRYPOINT"):
        args = with_shell(img, instr.command, instr.prepend_shell)
        if kw == "CMD":
            cfg["Cmd"] = args
            cfg["ArgsEscaped"] = True  # BuildKit marks CMD only (Docker image spec compatibility)
            img.cmd_set = True
        else:
            cfg["Entrypoint"] = args
            if not img.cmd_set:
                cfg["Cmd"] = None
        img.add_history(f"{kw} {go_quote_list(args)}", True)
    elif kw == "EXPOSE":
        ports = dict(cfg.get("ExposedPorts") or {})
        added = sorted({port for p in instr.ports for port in expand_ports(p)})
        for port in added:
            ports[port] = {}
        cfg["ExposedPorts"] = ports
        # Go's %v of the parsed port map: "EXPOSE map[53/udp:{} 80/tcp:{}]"
        img.add_history("EXPOSE map[" + " ".join(f"{p}:{{}}" for p in added) + "]", True)
    elif kw == "USER":
        cfg["User"] = instr.word
        img.add_history("USER " + instr.word, True)
    elif kw == "VOLUME":
        vols = dict(cfg.get("Volumes") or {})
        for v in instr.paths:
            if not v.strip():
                raise BuildError("VOLUME specified can not be an empty string")
            vols[v] = {}
        cfg["Volumes"] = vols
        img.add_history("VOLUME [" + " ".join(instr.paths) + "]", True)
    elif kw == "STOPSIGNAL":
        cfg["StopSignal"] = instr.word
        img.add_history("STOPSIGNAL " + instr.word, True)
    elif kw == "HEALTHCHECK":
        apply_healthcheck(img, instr)
    elif kw == "SHELL":
        cfg["Shell"] = list(instr.shell)
        img.add_history("SHELL [" + " ".join(instr.shell) + "]", True)
    elif kw == "ONBUILD":
        cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [instr.expression]
        img.add_history("ONBUILD " + instr.expression, True)
    elif kw == "MAINTAINER":
        img.add_history("MAINTAINER " + instr.maintainer, True)
    else:  # pragma: no cover - the executor only sends the kinds above
        raise BuildError(f"unsupported instruction {kw}")


def apply_healthcheck(img: StageImage, instr) -> None:
    hc: dict = {"Test": list(instr.test)}
    for key, attr in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period"),
                      ("StartInterval", "start_interval"), ("Retries", "retries")):
        v = getattr(instr, attr, None)
        if v:
            hc[key] = v
    img.config["Healthcheck"] = hc
    retries = int(instr.retries or 0)
    desc = (f"&{{{go_quote_list(instr.test)} \"{go_duration(instr.interval)}\" \"{go_duration(instr.timeout)}\" "
            f"\"{go_duration(instr.start_period)}\" \"{go_duration(instr.start_interval)}\" '\\x{retries:02x}'}}")
    img.add_history("HEALTHCHECK " + desc, True)


def expand_ports(spec: str) -> list[str]:
    """``8000-8002/tcp`` -> each port; the protocol defaults to tcp."""
    num, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise BuildError(f"invalid proto: {proto}")
    lo, dash, hi = num.partition("-")
    if not lo.isdigit() or (dash and not hi.isdigit()):
        raise BuildError(f"invalid containerPort: {num}")
    if not dash:
        return [f"{int(lo)}/{proto}"]
    if int(hi) < int(lo):
        raise BuildError(f"invalid port range: {num}")
    return [f"{p}/{proto}" for p in range(int(lo), int(hi) + 1)]
