"""Pure functions between container records and Docker's JSON shapes.

Why separate from ``engine.api``: the create-body merge (Docker's daemon
``merge`` of image config into container config), the ``Status`` strings
("Up 5 seconds (healthy)"), list filters and the inspect document are rules a
Docker user relies on; kept pure they are unit-tested without root.
"""
from __future__ import annotations

import copy
import os
import re
import shlex
import signal as _signal
import time
from pathlib import Path
from typing import Any

from engine import values
from engine.errors import InvalidArgument

ZERO_TIME = "0001-01-01T00:00:00Z"

CONFIG_KEYS = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts",
               "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes",
               "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal",
               "StopTimeout", "Shell")

HOST_CONFIG_DEFAULTS: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "bridge", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [0, 0], "CapAdd": None,
    "CapDrop": None, "CgroupnsMode": "private", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
    "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
    "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "",
    "UsernsMode": "", "ShmSize": 67108864, "Runtime": "pycompose", "Isolation": "", "CpuShares": 0, "Memory": 0,
    "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [],
    "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0,
    "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
    "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0,
    "MemorySwappiness": None, "OomKillDisable": None, "PidsLimit": None, "Ulimits": None, "CpuCount": 0,
    "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "Mounts": None, "Tmpfs": None,
    "Sysctls": None, "Init": None, "MaskedPaths": None, "ReadonlyPaths": None,
}

RESTART_POLICIES = ("", "no", "always", "on-failure", "unless-stopped")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")
FILTER_KEYS = ("label", "name", "id", "status", "ancestor", "exited", "health", "network", "volume",
               "before", "since", "is-task", "publish", "expose")


# ----------------------------------------------------------------------------- create


def _strlist(v) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def command_line(cfg: dict, image: dict) -> list[str]:
    """Entrypoint + Cmd exactly as Docker merges them (daemon ``merge`` + getEntrypointAndArgs).

    A container Entrypoint, even an empty one, drops the image's Cmd unless the
    container gives a Cmd; no Entrypoint in the container keeps the image's. Pure, so a create
    checks it without importing the runtime (engine.runtime.build uses it for the spec).
    """
    entry = _strlist(cfg.get("Entrypoint"))
    cmd = _strlist(cfg.get("Cmd")) or []
    if not entry:  # nil or [] in the container config
        if not cmd:
            cmd = _strlist(image.get("Cmd")) or []
        if entry is None:
            entry = _strlist(image.get("Entrypoint")) or []
    if entry == [""]:  # `--entrypoint ""`: reset, and no image Cmd either
        entry = []
    args = list(entry) + list(cmd)
    if not args or args[0] == "":
        raise InvalidArgument("No command specified")
    return args


def merge_image_config(config: dict, image: dict) -> dict:
    """Docker daemon's ``merge``: fill the container config from the image config, as inspect shows it."""
    c = copy.deepcopy(config)
    if not c.get("User") and image.get("User"):
        c["User"] = image["User"]
    if image.get("ExposedPorts"):
        c["ExposedPorts"] = {**image["ExposedPorts"], **(c.get("ExposedPorts") or {})}
    env = [str(e) for e in c.get("Env") or []]
    keys = {e.partition("=")[0] for e in env}
    env += [str(e) for e in image.get("Env") or [] if str(e).partition("=")[0] not in keys]
    c["Env"] = env
    if image.get("Labels"):
        c["Labels"] = {**image["Labels"], **(c.get("Labels") or {})}
    entry = _strlist(c.get("Entrypoint"))
    if not entry:
        if not _strlist(c.get("Cmd")):
            c["Cmd"] = _strlist(image.get("Cmd"))
        if entry is None:
            entry = _strlist(image.get("Entrypoint"))
    c["Entrypoint"] = entry
    c["Cmd"] = _strlist(c.get("Cmd"))
    ih = image.get("Healthcheck")
    if ih:
        h = c.get("Healthcheck")
        if h is None:
            c["Healthcheck"] = copy.deepcopy(ih)
        else:
            h = dict(h)
            if not h.get("Test"):
                h["Test"] = ih.get("Test")
            for k in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
                if not h.get(k) and ih.get(k):
                    h[k] = ih[k]
            c["Healthcheck"] = h
    if not c.get("WorkingDir") and image.get("WorkingDir"):
        c["WorkingDir"] = image["WorkingDir"]
    if image.get("Volumes"):
        c["Volumes"] = {**image["Volumes"], **(c.get("Volumes") or {})}
    if not c.get("StopSignal") and image.get("StopSignal"):
        c["StopSignal"] = image["StopSignal"]
    if image.get("OnBuild") and not c.get("OnBuild"):
        c["OnBuild"] = image["OnBuild"]
    return c


def split_create_body(body: dict, image_config: dict) -> tuple[dict, dict, dict]:
    """A ContainerCreate body -> (Config merged with the image, HostConfig with defaults, NetworkingConfig)."""
    config = {k: copy.deepcopy(body[k]) for k in CONFIG_KEYS if k in body}
    for k in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"):
        config.setdefault(k, False)
    config.setdefault("Hostname", "")
    config.setdefault("Domainname", "")
    config.setdefault("User", "")
    config.setdefault("WorkingDir", "")
    config["Image"] = body["Image"]
    config = merge_image_config(config, image_config or {})
    config.setdefault("Labels", {})
    if config.get("Labels") is None:
        config["Labels"] = {}
    hc = copy.deepcopy(HOST_CONFIG_DEFAULTS)
    user_hc = body.get("HostConfig") or {}
    for k, v in user_hc.items():
        hc[k] = copy.deepcopy(v)
    if not hc.get("LogConfig") or not hc["LogConfig"].get("Type"):
        hc["LogConfig"] = {"Type": "json-file", "Config": dict((hc.get("LogConfig") or {}).get("Config") or {})}
    hc["LogConfig"].setdefault("Config", {})
    if not hc.get("NetworkMode") or hc["NetworkMode"] == "default":
        hc["NetworkMode"] = "bridge"
    rp = hc.get("RestartPolicy") or {}
    hc["RestartPolicy"] = {"Name": rp.get("Name") or "no", "MaximumRetryCount": int(rp.get("MaximumRetryCount") or 0)}
    if hc.get("PortBindings") is None:
        hc["PortBindings"] = {}
    net = copy.deepcopy(body.get("NetworkingConfig") or {})
    net.setdefault("EndpointsConfig", {})
    if net["EndpointsConfig"] is None:
        net["EndpointsConfig"] = {}
    return config, hc, net


def validate_create(config: dict, hc: dict, net: dict, image_config: dict) -> None:
    """What Docker refuses at create time, with its messages (the rest is checked at start)."""
    command_line(config, {})  # "No command specified"
    rp = hc["RestartPolicy"]
    if rp["Name"] not in RESTART_POLICIES:
        raise InvalidArgument(f"invalid restart policy: unknown policy '{rp['Name']}'; use one of 'no', "
                              "'always', 'on-failure', or 'unless-stopped'")
    if rp["MaximumRetryCount"] < 0:
        raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if rp["MaximumRetryCount"] and rp["Name"] != "on-failure":
        raise InvalidArgument(f"invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if hc.get("AutoRemove") and rp["Name"] not in ("", "no"):
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if hc["LogConfig"]["Type"] not in ("json-file", "local", "none"):
        raise InvalidArgument(f"logging driver \"{hc['LogConfig']['Type']}\" is not supported by this engine "
                              "(json-file, local, none)")
    for k in hc["LogConfig"]["Config"]:
        if k not in ("max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", "mode",
                     "max-buffer-size"):
            raise InvalidArgument(f"unknown log opt '{k}' for json-file log driver")
    if hc.get("Ulimits"):  # the runtime's parser; importing engine.runtime would cost every create ~30 ms
        from engine.runtime.limits import parse_ulimits

        parse_ulimits(hc.get("Ulimits"))
    from engine.cgroups import limits_from_hostconfig

    limits_from_hostconfig(hc)
    if config.get("StopSignal"):
        parse_signal(config["StopSignal"])
    hcheck = config.get("Healthcheck") or {}
    for k in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        v = int(hcheck.get(k) or 0)
        if v < 0 or 0 < v < 1_000_000:
            raise InvalidArgument(f"{k} in Healthcheck cannot be less than 1ms")
    if int(hcheck.get("Retries") or 0) < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")
    check_port_bindings(hc.get("PortBindings"), config.get("ExposedPorts"))
    mode = hc.get("NetworkMode") or "bridge"
    eps = net.get("EndpointsConfig") or {}
    if mode in ("host", "none") and eps and set(eps) - {mode}:
        raise InvalidArgument(f"conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    check_network_mode_conflicts(config, hc)


def check_network_mode_conflicts(config: dict, hc: dict) -> None:
    """Docker's validateNetContainerMode: a container that joins another one's network namespace
    (``container:x``, compose ``network_mode: service:x``) gets that container's hostname, DNS
    config, /etc/hosts and ports, so asking for its own is refused at create with Docker's messages.
    (Docker also refuses ExposedPorts there; ours are already merged with the image's EXPOSE,
    which Docker does not count, so that one is left out rather than refusing EXPOSE images.)"""
    mode = str(hc.get("NetworkMode") or "")
    joins = mode.startswith("container:")
    if joins and not mode.split(":", 1)[1]:
        raise InvalidArgument("Invalid network mode: invalid container format container:<name|id>")
    if joins and config.get("Hostname"):
        raise InvalidArgument("conflicting options: hostname and the network mode")
    if joins and hc.get("Links"):
        raise InvalidArgument("conflicting options: container type network can't be used with links. "
                              "This would result in undefined behavior")
    if joins and hc.get("Dns"):
        raise InvalidArgument("conflicting options: dns and the network mode")
    if joins and hc.get("ExtraHosts"):
        raise InvalidArgument("conflicting options: custom host-to-IP mapping and the network mode")
    if (joins or mode == "host") and config.get("MacAddress"):
        raise InvalidArgument("conflicting options: mac-address and the network mode")
    if joins and (hc.get("PortBindings") or hc.get("PublishAllPorts")):
        raise InvalidArgument("conflicting options: port publishing and the container type network mode")


_PORT_KEY = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?(?:/(tcp|udp|sctp))?$")


def check_port_bindings(bindings: dict | None, exposed: dict | None) -> None:
    """Port keys ``80/tcp`` and host ports ``8080``/``8000-8010``/"" as Docker accepts them.

    (Checked here, without the network package: importing it costs pyroute2's half second.)
    """
    for key in list((bindings or {}).keys()) + list((exposed or {}).keys()):
        m = _PORT_KEY.match(str(key))
        if not m or not (0 < int(m.group(1)) <= 65535) or (m.group(2) and not 0 < int(m.group(2)) <= 65535):
            raise InvalidArgument(f"invalid port specification: \"{key}\"")
    for key, binds in (bindings or {}).items():
        for b in binds or []:
            hp = str((b or {}).get("HostPort") or "")
            if hp and not re.fullmatch(r"\d{1,5}(-\d{1,5})?", hp):
                raise InvalidArgument(f"invalid port specification: \"{hp}\"")
            for part in hp.split("-") if hp else []:
                if not 0 < int(part) <= 65535:
                    raise InvalidArgument(f"invalid port specification: \"{hp}\"")


def anonymous_volume_name(cid: str, target: str) -> str:
    """The name the runtime gives the anonymous volume at ``target`` (its own helper, so the two
    can never disagree; imported here on first use, as listing containers needs no runtime)."""
    from engine.runtime.build import anonymous_volume_name as runtime_name

    return runtime_name(cid, target)


def anonymous_volumes(rec: dict, image_config: dict | None = None) -> list[str]:
    """Names of the anonymous volumes of a container: ``-v /path``, volume mounts without a source,
    and image/config ``Volumes`` no other mount covers."""
    cid = rec["Id"]
    cfg = rec.get("Config") or {}
    hc = rec.get("HostConfig") or {}
    targets: list[str] = []
    covered: set[str] = set()
    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        if len(parts) == 1:
            targets.append(parts[0])
        elif len(parts) >= 2:
            covered.add(os.path.normpath(parts[1]))
    for m in hc.get("Mounts") or []:
        t = m.get("Target") or m.get("Destination") or ""
        if (m.get("Type") or "volume") == "volume" and not m.get("Source"):
            targets.append(t)
        else:
            covered.add(os.path.normpath(t))
    covered.update(os.path.normpath(t) for t in (hc.get("Tmpfs") or {}))
    for v in list(((image_config or {}).get("Volumes") or {}).keys()) + list((cfg.get("Volumes") or {}).keys()):
        t = os.path.normpath(v)
        if t not in covered and t not in [os.path.normpath(x) for x in targets]:
            targets.append(t)
    out = []
    for t in targets:
        if t.startswith("/"):
            n = anonymous_volume_name(cid, t)
            if n not in out:
                out.append(n)
    return out


def named_volumes(rec: dict) -> list[tuple[str, str, bool]]:
    """(name, target, read-only) of the named volumes a container mounts."""
    hc = rec.get("HostConfig") or {}
    out = []
    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        if len(parts) >= 2 and not parts[0].startswith("/"):
            ro = len(parts) == 3 and "ro" in parts[2].split(",")
            out.append((parts[0], parts[1], ro))
    for m in hc.get("Mounts") or []:
        if (m.get("Type") or "volume") == "volume" and m.get("Source"):
            out.append((m["Source"], m.get("Target") or "", bool(m.get("ReadOnly"))))
    return out


def volume_names(rec: dict, image_config: dict | None = None) -> set[str]:
    return {n for n, _, _ in named_volumes(rec)} | set(anonymous_volumes(rec, image_config))


def mounts(rec: dict, volume_root: Path) -> list[dict]:
    """Docker's ``Mounts`` (inspect and list) for binds, volumes and anonymous volumes."""
    cfg = rec.get("Config") or {}
    hc = rec.get("HostConfig") or {}
    out: list[dict] = []

    def vol(name: str, target: str, ro: bool) -> dict:
        return {"Type": "volume", "Name": name, "Source": str(volume_root / name / "_data"),
                "Destination": target, "Driver": "local", "Mode": "", "RW": not ro,
                "Propagation": ""}

    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        if len(parts) < 2:
            continue
        opts = parts[2].split(",") if len(parts) == 3 else []
        ro = "ro" in opts
        if parts[0].startswith("/"):
            prop = next((o for o in opts if o in ("shared", "rshared", "slave", "rslave", "private", "rprivate")),
                        "rprivate")
            out.append({"Type": "bind", "Source": os.path.normpath(parts[0]), "Destination": parts[1],
                        "Mode": parts[2] if len(parts) == 3 else "", "RW": not ro, "Propagation": prop})
        else:
            m = vol(parts[0], parts[1], ro)
            m["Mode"] = parts[2] if len(parts) == 3 else "z"
            out.append(m)
    for m in hc.get("Mounts") or []:
        typ = (m.get("Type") or "volume").lower()
        t = m.get("Target") or ""
        ro = bool(m.get("ReadOnly"))
        if typ == "bind":
            out.append({"Type": "bind", "Source": m.get("Source") or "", "Destination": t, "Mode": "",
                        "RW": not ro, "Propagation": (m.get("BindOptions") or {}).get("Propagation") or "rprivate"})
        elif typ == "volume" and m.get("Source"):
            out.append(vol(m["Source"], t, ro))
        elif typ == "tmpfs":
            out.append({"Type": "tmpfs", "Source": "", "Destination": t, "Mode": "", "RW": not ro,
                        "Propagation": ""})
    cid = rec["Id"]
    covered = {os.path.normpath(m["Destination"]) for m in out}
    for b in hc.get("Binds") or []:
        if ":" not in str(b):
            t = os.path.normpath(str(b))
            out.append(vol(anonymous_volume_name(cid, t), t, False))
            covered.add(t)
    for m in hc.get("Mounts") or []:
        if (m.get("Type") or "volume") == "volume" and not m.get("Source"):
            t = os.path.normpath(m.get("Target") or "")
            out.append(vol(anonymous_volume_name(cid, t), t, bool(m.get("ReadOnly"))))
            covered.add(t)
    covered.update(os.path.normpath(t) for t in (hc.get("Tmpfs") or {}))
    for v in (cfg.get("Volumes") or {}):
        t = os.path.normpath(v)
        if t not in covered:
            out.append(vol(anonymous_volume_name(cid, t), t, False))
            covered.add(t)
    return out


# ----------------------------------------------------------------------------- time & status


def since_until_seconds(value: Any, now: float | None = None) -> float:
    """Docker's --since/--until: RFC 3339 (with or without zone), unix seconds[.nanos], or a
    duration relative to now (``10m``, ``1h30m``, ``45s``) -> unix seconds."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return values.parse_timestamp(str(value), None if now is None else int(now * 1e9)) / 1e9
    except ValueError:
        raise InvalidArgument(f"invalid time value \"{value}\": use RFC 3339, a unix timestamp or a duration "
                              "like 10m") from None


def _ts(s: str | None) -> float:
    """Unix seconds of a recorded RFC 3339 time; 0 for Go's zero time or none."""
    if not s or s.startswith("0001-"):
        return 0.0
    try:
        return values.parse_rfc3339(s) / 1e9
    except ValueError:
        return 0.0


def state_name(st: dict) -> str:
    """Docker's State.Status word."""
    if st.get("Status") in STATUSES:
        if st.get("Running") and st.get("Paused"):
            return "paused"
        if st.get("Restarting"):
            return "restarting"
        return st["Status"]
    if st.get("Running"):
        return "paused" if st.get("Paused") else "running"
    return "exited" if _ts(st.get("StartedAt")) else "created"


def status_string(st: dict, now: float | None = None) -> str:
    """Docker's human STATUS: "Up 5 seconds (healthy)", "Exited (0) 3 minutes ago", "Created"..."""
    now = time.time() if now is None else now
    name = state_name(st)
    if name == "restarting" or st.get("Restarting"):
        fin = _ts(st.get("FinishedAt"))
        return f"Restarting ({int(st.get('ExitCode') or 0)}) {values.human_duration(now - fin)} ago"
    if name in ("running", "paused"):
        up = "Up " + values.human_duration(now - _ts(st.get("StartedAt")))
        if name == "paused":
            return up + " (Paused)"
        h = (st.get("Health") or {}).get("Status")
        if h == "starting":
            return up + " (health: starting)"
        if h in ("healthy", "unhealthy"):
            return f"{up} ({h})"
        return up
    if name == "removing":
        return "Removal In Progress"
    if name == "dead":
        return "Dead"
    if name == "created" or not _ts(st.get("StartedAt")):
        return "Created"
    fin = _ts(st.get("FinishedAt"))
    if not fin:
        return ""
    return f"Exited ({int(st.get('ExitCode') or 0)}) {values.human_duration(now - fin)} ago"


# ----------------------------------------------------------------------------- list & inspect


def image_name(rec: dict) -> str:
    return (rec.get("Config") or {}).get("Image") or rec.get("ImageRef") or rec.get("Image") or ""


def command_string(rec: dict) -> str:
    """The COMMAND column: entrypoint + cmd, shell-quoted like docker."""
    return " ".join(_quote(a) for a in process_args(rec))


def _quote(a: str) -> str:
    if a and re.fullmatch(r"[\w@%+=:,./-]+", a):
        return a
    return shlex.quote(a)


def process_args(rec: dict) -> list[str]:
    cfg = rec.get("Config") or {}
    entry = _strlist(cfg.get("Entrypoint")) or []
    if entry == [""]:
        entry = []
    return entry + (_strlist(cfg.get("Cmd")) or [])


def ports_list(network_settings: dict | None) -> list[dict]:
    """/containers/json ``Ports``: one entry per binding, and exposed ports without one."""
    out = []
    for key, binds in ((network_settings or {}).get("Ports") or {}).items():
        port, _, proto = key.partition("/")
        if not binds:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
            continue
        for b in binds:
            out.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": int(port),
                        "PublicPort": int(b.get("HostPort") or 0), "Type": proto or "tcp"})
    return out


def summary(rec: dict, network_settings: dict | None, volume_root: Path | None = None,
            now: float | None = None) -> dict:
    """One /containers/json entry."""
    st = rec.get("State") or {}
    hc = rec.get("HostConfig") or {}
    nets = (network_settings or {}).get("Networks") or {}
    return {
        "Id": rec["Id"],
        "Names": [rec["Name"]],
        "Image": image_name(rec),
        "ImageID": rec.get("Image") or "",
        "Command": command_string(rec),
        "Created": int(_ts(rec.get("Created"))),
        "Ports": ports_list(network_settings) if st.get("Running") else [],
        "Labels": (rec.get("Config") or {}).get("Labels") or {},
        "State": state_name(st),
        "Status": status_string(st, now),
        "HostConfig": {"NetworkMode": hc.get("NetworkMode") or "bridge"},
        "NetworkSettings": {"Networks": nets},
        "Mounts": mounts(rec, volume_root or Path("/")) if volume_root else [],
    }


def empty_network_settings() -> dict:
    return {"Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "IPAddress": "", "IPPrefixLen": 0,
            "Gateway": "", "MacAddress": "", "EndpointID": "", "Networks": {}}


def inspect(rec: dict, image_config: dict, log_path: Path, network_settings: dict, container_dir: Path) -> dict:
    """Docker's ContainerInspect document."""
    st = dict(rec.get("State") or {})
    restart_count = int(st.pop("RestartCount", 0) or 0)
    state = {
        "Status": state_name(st), "Running": bool(st.get("Running")), "Paused": bool(st.get("Paused")),
        "Restarting": bool(st.get("Restarting")), "OOMKilled": bool(st.get("OOMKilled")),
        "Dead": bool(st.get("Dead")), "Pid": int(st.get("Pid") or 0), "ExitCode": int(st.get("ExitCode") or 0),
        "Error": st.get("Error") or "", "StartedAt": st.get("StartedAt") or ZERO_TIME,
        "FinishedAt": st.get("FinishedAt") or ZERO_TIME,
    }
    if st.get("Health"):
        h = st["Health"]
        state["Health"] = {"Status": h.get("Status") or "starting", "FailingStreak": int(h.get("FailingStreak") or 0),
                           "Log": list(h.get("Log") or [])}
    args = process_args(rec)
    cid = rec["Id"]
    volume_root = container_dir.parent.parent / "volumes"
    cfg = copy.deepcopy(rec.get("Config") or {})
    if not cfg.get("Hostname"):
        cfg["Hostname"] = cid[:12]
    return {
        "Id": cid,
        "Created": rec.get("Created") or ZERO_TIME,
        "Path": args[0] if args else "",
        "Args": args[1:],
        "State": state,
        "Image": rec.get("Image") or "",
        "ResolvConfPath": str(container_dir / "resolv.conf"),
        "HostnamePath": str(container_dir / "hostname"),
        "HostsPath": str(container_dir / "hosts"),
        "LogPath": str(log_path),
        "Name": rec["Name"],
        "RestartCount": restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": copy.deepcopy(rec.get("HostConfig") or {}),
        "GraphDriver": {"Name": "overlay", "Data": {"UpperDir": str(container_dir / "upper"),
                                                    "WorkDir": str(container_dir / "work"),
                                                    "MergedDir": str(container_dir / "merged")}},
        "Mounts": mounts(rec, volume_root),
        "Config": cfg,
        "NetworkSettings": network_settings,
    }


# ----------------------------------------------------------------------------- misc


def parse_signal(sig: str | int) -> int:
    """``SIGTERM``, ``TERM``, ``15`` or ``SIGRTMIN+3`` -> number; Docker's message otherwise."""
    if isinstance(sig, int):
        return sig
    s = str(sig).strip().upper()
    if s.isdigit():
        n = int(s)
        if 0 < n < 65:
            return n
        raise InvalidArgument(f"Invalid signal: {sig}")
    if not s.startswith("SIG"):
        s = "SIG" + s
    m = re.fullmatch(r"SIGRTM(IN|AX)([+-]\d+)?", s)
    if m:
        base = _signal.SIGRTMIN if m.group(1) == "IN" else _signal.SIGRTMAX
        return int(base) + int(m.group(2) or 0)
    try:
        return int(getattr(_signal.Signals, s))
    except AttributeError:
        raise InvalidArgument(f"Invalid signal: {sig}") from None


def dir_size(path: Path) -> int:
    """Bytes used by the files under ``path`` (not following links)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for f in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


from engine.containerfilters import check_filters, label_match, matches  # noqa: E402,F401 (filters live there)
