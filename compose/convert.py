"""Compose service (canonical model) -> Docker Engine "container create" body.

Pure functions, no engine calls: everything the engine needs to know about a
container comes from here, and everything compose needs to find it again
(project, service, number, config hash) travels in its labels, exactly as
Docker Compose v2 writes them (pkg/compose/create.go), so `docker compose`
users see the same labels and the same names.
"""
from __future__ import annotations

import copy
import os
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from compose import __version__
from compose.errors import ComposeError, UsageError

if TYPE_CHECKING:
    from compose.project import Project

# Label keys, as Docker Compose v2 names them (pkg/api/labels.go).
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
IMAGE = "com.docker.compose.image"
DEPENDS_ON = "com.docker.compose.depends_on"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
ENV_FILE = "com.docker.compose.project.environment_file"
VERSION = "com.docker.compose.version"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
SLUG = "com.docker.compose.slug"
REPLACE = "com.docker.compose.replace"

COMPOSE_VERSION = __version__


class ConvertError(ComposeError):
    """A service value that cannot become a container (a bad port, restart policy, volume type)."""


# ---------------------------------------------------------------- values

def stop_timeout_seconds(service: dict) -> int | None:
    """``stop_grace_period`` (nanoseconds in the model) as whole seconds (Docker's StopTimeout),
    None when unset."""
    grace = service.get("stop_grace_period")
    return None if grace is None else grace // 1_000_000_000


# ---------------------------------------------------------------- names

def container_name(project: str, service_name: str, service: dict, number: int) -> str:
    """``container_name`` when set, else ``<project>-<service>-<n>`` (Compose v2's separator)."""
    return service.get("container_name") or f"{project}-{service_name}-{number}"


def oneoff_name(project: str, service_name: str, slug: str | None = None) -> str:
    """A ``run`` container's default name: ``<project>-<service>-run-<12 hex>``."""
    return f"{project}-{service_name}-run-{(slug or os.urandom(32).hex())[:12]}"


def depends_on_label(service: dict) -> str:
    """``svc:condition:restart`` joined with commas, as Compose v2 records dependencies."""
    parts = []
    for dep, spec in sorted((service.get("depends_on") or {}).items()):
        spec = spec or {}
        parts.append(f"{dep}:{spec.get('condition', 'service_started')}:{str(bool(spec.get('restart'))).lower()}")
    return ",".join(parts)


# ---------------------------------------------------------------- the body

@dataclass
class Extra:
    """Per-container facts decided outside convert (by plan/backend)."""

    number: int = 1
    config_hash: str = ""
    image_id: str = ""
    oneoff: bool = False
    name: str | None = None
    # service name -> container id, for network_mode/pid/ipc "service:x" and volumes_from
    service_containers: dict[str, str] = field(default_factory=dict)
    replace: str | None = None
    use_aliases: bool = False   # run --use-aliases: a one-off container answers to the service name too


def labels_for(project: Project, service_name: str, service: dict, extra: Extra) -> dict[str, str]:
    """The service's own labels plus Compose's identity labels (these win)."""
    labels = {k: "" if v is None else str(v) for k, v in (service.get("labels") or {}).items()}
    labels.update({
        PROJECT: project.name,
        SERVICE: service_name,
        NUMBER: str(extra.number),
        ONEOFF: "True" if extra.oneoff else "False",
        CONFIG_HASH: extra.config_hash,
        DEPENDS_ON: depends_on_label(service),
        WORKING_DIR: project.working_dir,
        CONFIG_FILES: ",".join(project.config_files),
        VERSION: COMPOSE_VERSION,
    })
    if extra.image_id:
        labels[IMAGE] = extra.image_id
    if project.env_files:
        labels[ENV_FILE] = ",".join(project.env_files)
    if extra.oneoff:
        labels[SLUG] = (extra.name or "").rsplit("-", 1)[-1]
    if extra.replace:
        labels[REPLACE] = extra.replace
    return labels


def environment(service: dict) -> list[str]:
    """``K=V`` list; a variable with no value (null) is left out, as Compose does when unresolved."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return [e for e in env if "=" in e]
    return [f"{k}={'' if v is None else v}" for k, v in env.items() if v is not None]


def flag_pairs(items: list[str], source: Mapping[str, str], bad: str) -> dict[str, str]:
    """``KEY=VALUE`` items of a repeated flag (``-e``, ``--build-arg``): a bare ``KEY`` takes its value
    from ``source`` and is left out when unset there, as docker and Compose do; ``bad`` words the
    error for an item without a key (``{!r}`` is the item)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(bad.format(item))
        if sep:
            out[key] = value
        elif key in source:
            out[key] = source[key]
    return out


def _cmd(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def healthcheck(service: dict) -> dict | None:
    """Docker's HealthConfig: the model's durations (nanoseconds) as they are; ``disable`` -> ["NONE"]."""
    hc = service.get("healthcheck")
    if not hc:
        return None
    if hc.get("disable"):
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    test = hc.get("test")
    if test is not None:
        out["Test"] = ["CMD-SHELL", test] if isinstance(test, str) else list(test)
    for key, name in (("interval", "Interval"), ("timeout", "Timeout"),
                      ("start_period", "StartPeriod"), ("start_interval", "StartInterval")):
        if hc.get(key) is not None:
            out[name] = hc[key]
    if hc.get("retries") is not None:
        out["Retries"] = int(hc["retries"])
    return out


def restart_policy(service: dict) -> dict:
    """``restart`` (or ``deploy.restart_policy``) -> Docker's RestartPolicy."""
    value = service.get("restart")
    if value:
        name, _, count = str(value).partition(":")
        if name not in ("no", "always", "unless-stopped", "on-failure"):
            raise ConvertError(f"invalid restart policy {value!r}")
        return {"Name": "" if name == "no" else name, "MaximumRetryCount": int(count or 0)}
    rp = (service.get("deploy") or {}).get("restart_policy")
    if rp:
        cond = rp.get("condition") or "any"
        name = {"any": "always", "on-failure": "on-failure", "none": ""}.get(cond, cond)
        return {"Name": name, "MaximumRetryCount": int(rp.get("max_attempts") or 0)}
    return {"Name": "", "MaximumRetryCount": 0}


def ports(service: dict) -> tuple[dict, dict]:
    """(ExposedPorts, PortBindings) from long-form ``ports`` and ``expose``."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict]] = {}
    for p in service.get("ports") or []:
        if isinstance(p, (str, int)):
            raise ConvertError(f"ports: expected the long form, got {p!r}")
        key = f"{p['target']}/{p.get('protocol') or 'tcp'}"
        exposed[key] = {}
        bindings.setdefault(key, []).append(
            {"HostIp": p.get("host_ip") or "", "HostPort": str(p.get("published") or "")})
    for e in service.get("expose") or []:
        text = str(e)
        port, _, proto = text.partition("/")
        if "-" in port:
            lo, _, hi = port.partition("-")
            for n in range(int(lo), int(hi) + 1):
                exposed[f"{n}/{proto or 'tcp'}"] = {}
        else:
            exposed[f"{port}/{proto or 'tcp'}"] = {}
    return exposed, bindings


def volume_name(project: Project, key: str) -> str:
    """Top-level volume key -> engine volume name (``<project>_<key>`` unless named/external)."""
    v = project.volumes.get(key)
    if v and v.get("name"):
        return v["name"]
    return f"{project.name}_{key}"


def mounts(project: Project, service: dict) -> tuple[list[str], list[dict], dict[str, str]]:
    """(Binds, Mounts, Tmpfs). Binds carry host paths so the engine creates missing ones."""
    binds: list[str] = []
    mts: list[dict] = []
    tmpfs: dict[str, str] = {}
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            raise ConvertError(f"volumes: expected the long form, got {v!r}")
        typ, target, source = v.get("type", "volume"), v["target"], v.get("source") or ""
        ro = bool(v.get("read_only"))
        if typ == "bind":
            bind = v.get("bind") or {}
            opts = ["ro" if ro else "rw"]
            if bind.get("propagation"):
                opts.append(bind["propagation"])
            if bind.get("selinux"):
                opts.append(bind["selinux"])
            if bind.get("create_host_path", True):
                binds.append(f"{source}:{target}:{','.join(opts)}")
            else:
                m = {"Type": "bind", "Source": source, "Target": target, "ReadOnly": ro}
                if bind.get("propagation"):
                    m["BindOptions"] = {"Propagation": bind["propagation"]}
                mts.append(m)
        elif typ == "volume":
            m = {"Type": "volume", "Source": volume_name(project, source) if source else "",
                 "Target": target, "ReadOnly": ro}
            vol = v.get("volume") or {}
            if vol.get("nocopy") or vol.get("subpath"):
                m["VolumeOptions"] = {k2: vol[k1] for k1, k2 in (("nocopy", "NoCopy"), ("subpath", "Subpath"))
                                      if vol.get(k1)}
            mts.append(m)
        elif typ == "tmpfs":
            t = v.get("tmpfs") or {}
            m = {"Type": "tmpfs", "Target": target, "ReadOnly": ro}
            opts = {}
            if t.get("size"):
                opts["SizeBytes"] = t["size"]
            if t.get("mode") is not None:
                opts["Mode"] = int(t["mode"])
            if opts:
                m["TmpfsOptions"] = opts
            mts.append(m)
        else:
            raise ConvertError(f"volumes: type {typ!r} is not available in pycompose's engine (bind, volume, tmpfs are)")
    for t in ([service["tmpfs"]] if isinstance(service.get("tmpfs"), str) else service.get("tmpfs") or []):
        path, _, opts = str(t).partition(":")
        tmpfs[path] = opts
    return binds, mts, tmpfs


def _service_ref(value: str, extra: Extra, what: str) -> str:
    """``service:x`` -> ``container:<id>`` using the container already made for x."""
    if value.startswith("service:"):
        svc = value.split(":", 1)[1]
        cid = extra.service_containers.get(svc)
        if not cid:
            raise ConvertError(f"{what}: service {svc!r} has no container to share with")
        return f"container:{cid}"
    return value


def network_name(project: Project, key: str) -> str:
    n = project.networks.get(key)
    if n and n.get("name"):
        return n["name"]
    return f"{project.name}_{key}"


def network_create(project: Project, key: str) -> dict:
    """Top-level network ``key`` -> the keyword arguments of ``engine.networks.create``
    (Docker's IPAM dict; Compose's identity labels win over the network's own)."""
    net = project.networks.get(key) or {}
    ipam = None
    if net.get("ipam"):
        ip = net["ipam"]
        ipam = {"Driver": ip.get("driver") or "default",
                "Config": [{k2: c[k1] for k1, k2 in (("subnet", "Subnet"), ("gateway", "Gateway"),
                                                      ("ip_range", "IPRange")) if c.get(k1)}
                           for c in ip.get("config") or []],
                "Options": ip.get("options") or {}}
    labels = dict(net.get("labels") or {})
    labels.update({PROJECT: project.name, NETWORK: key, VERSION: COMPOSE_VERSION})
    return {"name": network_name(project, key), "driver": net.get("driver") or "bridge",
            "internal": bool(net.get("internal")), "labels": labels, "ipam": ipam,
            "options": net.get("driver_opts") or None, "attachable": bool(net.get("attachable")),
            "enable_ipv6": bool(net.get("enable_ipv6"))}


def volume_create(project: Project, key: str) -> dict:
    """Top-level volume ``key`` -> the keyword arguments of ``engine.volumes.create``."""
    vol = project.volumes.get(key) or {}
    labels = dict(vol.get("labels") or {})
    labels.update({PROJECT: project.name, VOLUME: key, VERSION: COMPOSE_VERSION})
    return {"name": volume_name(project, key), "driver": vol.get("driver") or "local", "labels": labels,
            "driver_opts": vol.get("driver_opts") or None}


def sorted_networks(service: dict) -> list[tuple[str, dict]]:
    """The service's networks by priority (highest first), then name, like Compose."""
    nets = service.get("networks")
    if nets is None and not service.get("network_mode"):
        nets = {"default": None}
    items = [(k, v or {}) for k, v in (nets or {}).items()]
    items.sort(key=lambda kv: (-(kv[1].get("priority") or 0), kv[0]))
    return items


def networking(project: Project, service_name: str, service: dict, extra: Extra) -> tuple[str, dict]:
    """(NetworkMode, NetworkingConfig). Every network gets the service name as an alias."""
    mode = service.get("network_mode")
    if mode:
        return _service_ref(mode, extra, "network_mode"), {}
    endpoints: dict[str, dict] = {}
    first = ""
    for key, cfg in sorted_networks(service):
        name = network_name(project, key)
        first = first or name
        aliases = [] if extra.oneoff and not extra.use_aliases else [service_name]
        for a in cfg.get("aliases") or []:
            if a not in aliases:
                aliases.append(a)
        ep: dict[str, Any] = {"Aliases": aliases}
        ipam = {}
        if cfg.get("ipv4_address"):
            ipam["IPv4Address"] = cfg["ipv4_address"]
        if cfg.get("ipv6_address"):
            ipam["IPv6Address"] = cfg["ipv6_address"]
        if ipam:
            ep["IPAMConfig"] = ipam
        if cfg.get("mac_address") or (service.get("mac_address") and not endpoints):
            ep["MacAddress"] = cfg.get("mac_address") or service["mac_address"]
        endpoints[name] = ep
    return first or "none", {"EndpointsConfig": endpoints}


def resources(service: dict) -> dict[str, Any]:
    """cgroup limits: ``deploy.resources`` wins over the legacy keys (mem_limit, cpus, ...)."""
    out: dict[str, Any] = {}
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    reservations = ((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    mem = limits.get("memory") or service.get("mem_limit")
    if mem:
        out["Memory"] = mem
    if service.get("memswap_limit"):
        out["MemorySwap"] = service["memswap_limit"]
    res = reservations.get("memory") or service.get("mem_reservation")
    if res:
        out["MemoryReservation"] = res
    cpus = limits.get("cpus") or service.get("cpus")
    if cpus:
        out["NanoCpus"] = int(round(float(cpus) * 1e9))
    for key, name in (("cpu_shares", "CpuShares"), ("cpu_quota", "CpuQuota"), ("cpu_period", "CpuPeriod"),
                      ("cpu_rt_runtime", "CpuRealtimeRuntime"), ("cpu_rt_period", "CpuRealtimePeriod"),
                      ("blkio_weight", "BlkioWeight"), ("oom_score_adj", "OomScoreAdj")):
        if service.get(key) not in (None, ""):
            out[name] = int(service[key])
    if (service.get("blkio_config") or {}).get("weight"):
        out["BlkioWeight"] = int(service["blkio_config"]["weight"])
    if service.get("cpuset"):
        out["CpusetCpus"] = str(service["cpuset"])
    pids = limits.get("pids") or service.get("pids_limit")
    if pids:
        out["PidsLimit"] = int(pids)
    if service.get("oom_kill_disable"):
        out["OomKillDisable"] = True
    if service.get("shm_size"):
        out["ShmSize"] = service["shm_size"]
    return out


def ulimits(service: dict) -> list[dict]:
    out = []
    for name, v in sorted((service.get("ulimits") or {}).items()):
        if isinstance(v, dict):
            out.append({"Name": name, "Soft": int(v.get("soft", 0)), "Hard": int(v.get("hard", 0))})
        else:
            out.append({"Name": name, "Soft": int(v), "Hard": int(v)})
    return out


def extra_hosts(service: dict) -> list[str]:
    """Canonical ``host=ip`` -> Docker's ``host:ip``."""
    eh = service.get("extra_hosts") or []
    if isinstance(eh, dict):
        items = [(k, v) for k, vs in eh.items() for v in (vs if isinstance(vs, list) else [vs])]
    else:
        items = []
        for e in eh:
            sep = "=" if "=" in e else ":"
            host, _, ip = e.partition(sep)
            items.append((host, ip))
    return [f"{h}:{ip}" for h, ip in items]


def _as_list(v) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in (v if isinstance(v, list) else [v])]


def _host_options(service: dict) -> dict:
    """The HostConfig settings a service has only when it sets them: init, namespaces shared with
    other services, volumes_from, logging and devices (``service:x`` references are resolved per
    container, by ``container_body``)."""
    host: dict[str, Any] = {}
    if service.get("init") is not None:
        host["Init"] = bool(service["init"])
    if service.get("pid"):
        host["PidMode"] = service["pid"]
    if service.get("ipc"):
        host["IpcMode"] = service["ipc"]
    if service.get("uts"):
        host["UTSMode"] = service["uts"]
    if service.get("volumes_from"):
        host["VolumesFrom"] = list(service["volumes_from"])
    if service.get("logging"):
        lg = service["logging"]
        host["LogConfig"] = {"Type": lg.get("driver") or "json-file", "Config": dict(lg.get("options") or {})}
    if service.get("devices"):
        host["Devices"] = [{"PathOnHost": d["source"], "PathInContainer": d.get("target") or d["source"],
                            "CgroupPermissions": d.get("permissions") or "rwm"} if isinstance(d, dict)
                           else {"PathOnHost": d, "PathInContainer": d, "CgroupPermissions": "rwm"}
                           for d in service["devices"]]
    return host


@dataclass
class ServiceBody:
    """One service's ContainerCreate body, converted (and so checked) once, before anything is
    created; ``container_body`` fills in what differs per container (labels, ``service:x``
    references, network aliases)."""

    project: Project
    name: str
    service: dict
    body: dict


def create_body(project: Project, service_name: str, service: dict, extra: Extra) -> dict:
    """The ContainerCreate body for one container of ``service``."""
    return container_body(service_body(project, service_name, service), extra)


def container_body(template: ServiceBody, extra: Extra) -> dict:
    """The body for one container: the service's body with this container's identity."""
    body = copy.deepcopy(template.body)
    project, name, service = template.project, template.name, template.service
    body["Labels"] = labels_for(project, name, service, extra)
    host = body["HostConfig"]
    host["NetworkMode"], body["NetworkingConfig"] = networking(project, name, service, extra)
    for key, what in (("PidMode", "pid"), ("IpcMode", "ipc")):
        if key in host:
            host[key] = _service_ref(host[key], extra, what)
    if "VolumesFrom" in host:
        host["VolumesFrom"] = [_service_ref(f"service:{v}" if not v.startswith(("container:", "service:")) else v,
                                            extra, "volumes_from").removeprefix("container:")
                               for v in host["VolumesFrom"]]
    return body


def service_body(project: Project, service_name: str, service: dict) -> ServiceBody:
    """Convert ``service`` once: a bad value (restart policy, port, volume type) fails here."""
    image = service.get("image") or (f"{project.name}-{service_name}" if service.get("build") is not None else "")
    if not image:  # a service with build: and no image: runs Compose's <project>-<service> image
        raise ConvertError(f"service {service_name!r} has neither an image nor a loaded build result; "
                           f"load or import the image first")
    exposed, bindings = ports(service)
    binds, mts, tmpfs = mounts(project, service)
    host: dict[str, Any] = {
        "Binds": binds,
        "Mounts": mts,
        "PortBindings": bindings,
        "NetworkMode": None,  # container_body
        "RestartPolicy": restart_policy(service),
        "CapAdd": _as_list(service.get("cap_add")),
        "CapDrop": _as_list(service.get("cap_drop")),
        "Privileged": bool(service.get("privileged")),
        "ReadonlyRootfs": bool(service.get("read_only")),
        "Dns": _as_list(service.get("dns")),
        "DnsSearch": _as_list(service.get("dns_search")),
        "DnsOptions": _as_list(service.get("dns_opt")),
        "ExtraHosts": extra_hosts(service),
        "GroupAdd": _as_list(service.get("group_add")),
        "SecurityOpt": _as_list(service.get("security_opt")),
        "Ulimits": ulimits(service),
        "Sysctls": {k: str(v) for k, v in (service.get("sysctls") or {}).items()},
    }
    host.update(resources(service))
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host.update(_host_options(service))
    body: dict[str, Any] = {
        "Image": image,
        "Env": environment(service),
        "Labels": None,  # container_body
        "ExposedPorts": exposed,
        "Tty": bool(service.get("tty")),
        "OpenStdin": bool(service.get("stdin_open")),
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "HostConfig": host,
        "NetworkingConfig": None,  # container_body
    }
    cmd, ep = _cmd(service.get("command")), _cmd(service.get("entrypoint"))
    if cmd is not None:
        body["Cmd"] = cmd
    if ep is not None:
        body["Entrypoint"] = ep
    for key, name in (("working_dir", "WorkingDir"), ("user", "User"), ("domainname", "Domainname"),
                      ("stop_signal", "StopSignal"), ("mac_address", "MacAddress")):
        if service.get(key):
            body[name] = str(service[key])
    if service.get("hostname"):
        body["Hostname"] = service["hostname"]
    hc = healthcheck(service)
    if hc is not None:
        body["Healthcheck"] = hc
    st = stop_timeout_seconds(service)
    if st is not None:
        body["StopTimeout"] = st
    return ServiceBody(project, service_name, service, body)
