"""``docker run`` / ``docker create`` flags -> a Docker ContainerCreate body.

Why pure and separate: this is where a user's muscle memory meets the
engine (``-p 127.0.0.1:8080:80/udp``, ``--memory 512m``, ``--restart
on-failure:3``, ``--health-interval 1m30s``); every rule is the docker CLI's,
with its messages, and unit-tested without root or a container.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
from typing import Any

from engine import values
from engine.errors import InvalidArgument

# --------------------------------------------------------------------------- value parsers

def ram_bytes(text: str, what: str = "memory") -> int:
    """go-units RAMInBytes: ``512m``, ``1.5g``, ``1024``, ``64MB``, ``2GiB`` (binary units)."""
    try:
        return values.parse_size(str(text))
    except ValueError as e:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--{what}\" flag: {e}") from None


def memory_swap(text: str) -> int:
    return -1 if str(text).strip() == "-1" else ram_bytes(text, "memory-swap")


def duration_ns(text: str, flag: str) -> int:
    """Go ``time.ParseDuration``: ``30s``, ``1m30s``, ``500ms``, ``0``; nanoseconds."""
    s = str(text).strip()
    if s == "":
        return 0
    try:
        return values.parse_duration(s)
    except ValueError as e:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--{flag}\" flag: {e}") from None


def nano_cpus(text: str) -> int:
    try:
        v = float(text)
    except ValueError:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--cpus\" flag: failed to parse {text} as a "
                              "rational number") from None
    if v < 0:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--cpus\" flag: value must be positive")
    return int(round(v * 1e9))


def ulimit(text: str) -> dict:
    """``nofile=1024:2048`` -> {"Name", "Soft", "Hard"} (hard defaults to soft)."""
    name, eq, val = str(text).partition("=")
    if not eq or not name:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--ulimit\" flag: invalid ulimit argument: {text}")
    soft, _, hard = val.partition(":")
    try:
        s = int(soft)
        h = int(hard) if hard else s
    except ValueError:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--ulimit\" flag: invalid ulimit value: {val}") \
            from None
    if s > h and h != -1:
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--ulimit\" flag: ulimit soft limit must be less "
                              f"than or equal to hard limit: {s} > {h}")
    return {"Name": name, "Soft": s, "Hard": h}


def restart_policy(text: str) -> dict:
    """``no`` | ``always`` | ``unless-stopped`` | ``on-failure[:N]``."""
    name, _, count = str(text).partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure", ""):
        raise InvalidArgument(f"invalid restart policy format: unknown policy '{name}'; use one of 'no', 'always', "
                              "'on-failure', or 'unless-stopped'")
    if count:
        if name != "on-failure":
            raise InvalidArgument(f"invalid restart policy format: maximum retry count can only be used with "
                                  f"'on-failure'")
        if not count.isdigit():
            raise InvalidArgument(f"invalid restart policy format: maximum retry count must be an integer")
    return {"Name": name or "no", "MaximumRetryCount": int(count or 0)}


def _pairs(items: list[str], empty_key: str) -> dict[str, str]:
    """``KEY=VALUE`` items (a bare ``KEY`` has an empty value); ``empty_key`` words a missing key
    (``{}`` stands for the item)."""
    pairs = [it.partition("=") for it in items or []]
    for it, (k, _, _) in zip(items or [], pairs):
        if not k:
            raise InvalidArgument(empty_key.format(it))
    return {k: v for k, _, v in pairs}


def key_values(items: list[str], flag: str) -> dict[str, str]:
    return _pairs(items, f'invalid argument "{{}}" for "--{flag}" flag: invalid key-value')


def labels(items: list[str], files: list[str] | None = None) -> dict[str, str]:
    """``--label-file`` lines, then ``--label`` items over them."""
    out = {k: v for k, _, v in (line.partition("=") for path in files or [] for line in _read_lines(path))}
    out.update(_pairs(items, "invalid label '{}': empty name"))
    return out


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def env_list(items: list[str], files: list[str] | None = None, environ: dict | None = None) -> list[str]:
    """``--env-file`` lines then ``-e`` values; ``KEY`` alone takes the caller's value (dropped if unset)."""
    environ = os.environ if environ is None else environ
    out: list[str] = []

    def add(item: str, where: str) -> None:
        k, eq, v = item.partition("=")
        if not k or k.strip() != k and not k.strip():
            raise InvalidArgument(f"invalid environment variable: {item}")
        if " " in k.strip() or not k.strip():
            raise InvalidArgument(f"{where}: variable '{k}' contains whitespaces")
        if eq:
            out.append(item)
        elif k in environ:
            out.append(f"{k}={environ[k]}")

    for path in files or []:
        for line in _read_lines(path):
            add(line.lstrip(), f"env file {path}")
    for it in items or []:
        add(it, "-e")
    return out


def _split_port_spec(raw: str) -> tuple[str, str, str, str]:
    """-> (host ip, host port(s), container port(s), proto)."""
    spec, _, proto = raw.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    ip = ""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise InvalidArgument(f"invalid IP address: {spec}")
        ip, spec = spec[1:end], spec[end + 2:] if spec[end + 1:end + 2] == ":" else spec[end + 1:]
        parts = spec.split(":")
        if len(parts) != 2:
            raise InvalidArgument(f"invalid port format for --publish: {raw}")
        return ip, parts[0], parts[1], proto
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0], proto
    if len(parts) == 2:
        return "", parts[0], parts[1], proto
    if len(parts) == 3:
        return parts[0], parts[1], parts[2], proto
    raise InvalidArgument(f"invalid port format for --publish: {raw}")


def _port_range(text: str, raw: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    if not m:
        raise InvalidArgument(f"invalid containerPort: {text}" if text else f"no port specified: {raw}<empty>")
    a, b = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (0 < a <= 65535 and 0 < b <= 65535) or b < a:
        raise InvalidArgument(f"invalid port range: {text}")
    return a, b


def ports(specs: list[str]) -> tuple[dict, dict]:
    """``-p`` values -> (ExposedPorts, PortBindings), Docker's nat.ParsePortSpecs."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict]] = {}
    for raw in specs or []:
        ip, host, cont, proto = _split_port_spec(raw)
        if ip:
            import ipaddress

            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise InvalidArgument(f"invalid IP address: {ip}") from None
        c0, c1 = _port_range(cont, raw)
        h0 = h1 = 0
        if host:
            h0, h1 = _port_range(host, raw)
            if (h1 - h0) != (c1 - c0) and c0 != c1:
                raise InvalidArgument(f"invalid ranges specified for container and host Ports: {cont} and {host}")
        for i, cp in enumerate(range(c0, c1 + 1)):
            key = f"{cp}/{proto}"
            exposed[key] = {}
            if not host:
                hp = ""
            elif h1 - h0 == c1 - c0:
                hp = str(h0 + i)
            else:
                hp = f"{h0}-{h1}"  # one container port, a host range: the engine picks a free one
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": hp})
    return exposed, bindings


def expose(specs: list[str]) -> dict:
    out = {}
    for raw in specs or []:
        port, _, proto = raw.partition("/")
        a, b = _port_range(port, raw)
        for p in range(a, b + 1):
            out[f"{p}/{(proto or 'tcp').lower()}"] = {}
    return out


_TRUE = ("", "1", "true", "yes")


def mount(text: str) -> dict:
    """``--mount type=bind,source=/a,target=/b,readonly`` -> an API Mount."""
    m: dict[str, Any] = {"Type": "volume"}
    for field in next(iter(__import__("csv").reader([text]))):
        k, eq, v = field.partition("=")
        k = k.strip().lower()
        if k == "type":
            if v not in ("bind", "volume", "tmpfs"):
                raise InvalidArgument(f"invalid argument \"{text}\" for \"--mount\" flag: invalid mount type: {v}")
            m["Type"] = v
        elif k in ("source", "src"):
            m["Source"] = v
        elif k in ("target", "destination", "dst"):
            m["Target"] = v
        elif k in ("readonly", "ro"):
            if v.lower() not in _TRUE + ("0", "false", "no"):
                raise InvalidArgument(f"invalid value for readonly: {v}")
            m["ReadOnly"] = v.lower() in _TRUE
        elif k == "bind-propagation":
            m.setdefault("BindOptions", {})["Propagation"] = v
        elif k in ("bind-create-host-path", "bind-create-mountpoint"):
            m.setdefault("BindOptions", {})["CreateMountpoint"] = v.lower() in _TRUE
        elif k == "bind-recursive":
            continue
        elif k == "volume-nocopy":
            m.setdefault("VolumeOptions", {})["NoCopy"] = v.lower() in _TRUE
        elif k == "volume-label":
            lk, _, lv = v.partition("=")
            m.setdefault("VolumeOptions", {}).setdefault("Labels", {})[lk] = lv
        elif k == "volume-driver":
            m.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {})["Name"] = v
        elif k == "volume-opt":
            ok, _, ov = v.partition("=")
            m.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {}).setdefault("Options", {})[ok] = ov
        elif k == "tmpfs-size":
            m.setdefault("TmpfsOptions", {})["SizeBytes"] = ram_bytes(v, "mount")
        elif k == "tmpfs-mode":
            try:
                m.setdefault("TmpfsOptions", {})["Mode"] = int(v, 8)
            except ValueError:
                raise InvalidArgument(f"invalid value for tmpfs-mode: {v}") from None
        elif k == "consistency":
            m["Consistency"] = v
        else:
            raise InvalidArgument(f"invalid argument \"{text}\" for \"--mount\" flag: unexpected key '{k}' in '{field}'")
    if not m.get("Target"):
        raise InvalidArgument(f"invalid argument \"{text}\" for \"--mount\" flag: target is required")
    return m


def tmpfs(items: list[str]) -> dict[str, str]:
    out = {}
    for it in items or []:
        path, _, opts = it.partition(":")
        if not path.startswith("/"):
            raise InvalidArgument(f"invalid argument \"{it}\" for \"--tmpfs\" flag: tmpfs path must be absolute")
        out[path] = opts
    return out


def add_hosts(items: list[str]) -> list[str]:
    """``--add-host name:ip`` (or ``name=ip``); ``host-gateway`` kept for the network layer."""
    out = []
    for it in items or []:
        if "=" in it:
            name, _, ip = it.partition("=")
        else:
            name, _, ip = it.partition(":")
        if not name or not ip:
            raise InvalidArgument(f"invalid argument \"{it}\" for \"--add-host\" flag: bad format for add-host: "
                                  f"\"{it}\"")
        out.append(f"{name}:{ip.strip('[]')}")
    return out


# --------------------------------------------------------------------------- argparse


def add_create_flags(p: argparse.ArgumentParser, run: bool) -> None:
    """Every flag of ``docker create`` (and ``docker run``'s own with ``run``)."""
    A = p.add_argument
    if run:
        A("-d", "--detach", action="store_true", help="Run container in background and print container ID")
        A("--sig-proxy", default="true", help="Proxy received signals to the process (default true)")
    A("--rm", action="store_true", help="Automatically remove the container and its associated anonymous "
                                          "volumes when it exits")
    A("--name", help="Assign a name to the container")
    A("-e", "--env", action="append", default=[], help="Set environment variables")
    A("--env-file", action="append", default=[], help="Read in a file of environment variables")
    A("-l", "--label", action="append", default=[], help="Set meta data on a container")
    A("--label-file", action="append", default=[], help="Read in a line delimited file of labels")
    A("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    A("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    A("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    A("-w", "--workdir", help="Working directory inside the container")
    A("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    A("--entrypoint", help="Overwrite the default ENTRYPOINT of the image")
    A("-h", "--hostname", help="Container host name")
    A("--domainname", help="Container NIS domain name")
    A("--read-only", action="store_true", help="Mount the container's root filesystem as read only")
    A("--cap-add", action="append", default=[], help="Add Linux capabilities")
    A("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    A("--privileged", action="store_true", help="Give extended privileges to this container")
    A("--init", action="store_true", help="Run an init inside the container that forwards signals and reaps "
                                            "processes")
    A("--restart", default="no", help="Restart policy to apply when a container exits (default \"no\")")
    A("-m", "--memory", help="Memory limit")
    A("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    A("--memory-reservation", help="Memory soft limit")
    A("--cpus", help="Number of CPUs")
    A("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
    A("--cpu-quota", type=int, help="Limit CPU CFS (Completely Fair Scheduler) quota")
    A("--cpu-period", type=int, help="Limit CPU CFS (Completely Fair Scheduler) period")
    A("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    A("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    A("--blkio-weight", type=int, help="Block IO (relative weight), between 10 and 1000, or 0 to disable")
    A("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
    A("--ulimit", action="append", default=[], help="Ulimit options")
    A("--sysctl", action="append", default=[], help="Sysctl options")
    A("--shm-size", help="Size of /dev/shm")
    A("--health-cmd", help="Command to run to check health")
    A("--health-interval", help="Time between running the check (ms|s|m|h) (default 0s)")
    A("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
    A("--health-retries", type=int, help="Consecutive failures needed to report unhealthy")
    A("--health-start-period", help="Start period for the container to initialize before starting "
                                    "health-retries countdown (ms|s|m|h) (default 0s)")
    A("--health-start-interval", help="Time between running the check during the start period (ms|s|m|h)")
    A("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK")
    A("--stop-signal", help="Signal to stop the container")
    A("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container")
    A("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    A("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    A("-a", "--attach", action="append", default=[], help="Attach to STDIN, STDOUT or STDERR")
    A("--group-add", action="append", default=[], help="Add additional groups to join")
    A("--security-opt", action="append", default=[], help="Security Options")
    A("--log-driver", help="Logging driver for the container")
    A("--log-opt", action="append", default=[], help="Log driver options")
    A("--network", "--net", dest="network", help="Connect a container to a network")
    A("--network-alias", "--net-alias", dest="network_alias", action="append", default=[],
      help="Add network-scoped alias for the container")
    A("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    A("--mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    A("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    A("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    A("--expose", action="append", default=[], help="Expose a port or a range of ports")
    A("--dns", action="append", default=[], help="Set custom DNS servers")
    A("--dns-search", action="append", default=[], help="Set custom DNS search domains")
    A("--dns-option", "--dns-opt", dest="dns_option", action="append", default=[], help="Set DNS options")
    A("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    A("--link", action="append", default=[], help="Add link to another container")
    A("--pid", help="PID namespace to use")
    A("--ipc", help="IPC mode to use")
    A("--uts", help="UTS namespace to use")
    A("--cgroupns", help="Cgroup namespace to use (host|private)")
    A("--pull", default="missing", help="Pull image before running (\"always\", \"missing\", \"never\")")
    A("--platform", help="Set platform if server is multi-platform capable")
    A("-q", "--quiet", action="store_true", help="Suppress the pull output")
    A("image", metavar="IMAGE")
    A("cmd", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")  # not "command": the CLI entry sets that


def body_from_args(a: argparse.Namespace, environ: dict | None = None) -> dict:
    """The ContainerCreate body the flags describe (the name and --rm/-d are read by the caller)."""
    body = _container_config(a, environ)
    hc = _host_config(a, body)
    _networking(a, body, hc)
    body["HostConfig"] = hc
    return body


def _container_config(a: argparse.Namespace, environ: dict | None) -> dict:
    """The Config half: command, environment, labels, user, streams, stop and health settings."""
    body: dict[str, Any] = {"Image": a.image}
    if a.cmd:
        body["Cmd"] = list(a.cmd)
    if a.entrypoint is not None:
        body["Entrypoint"] = shlex.split(a.entrypoint) if a.entrypoint.strip() else [""]
    env = env_list(a.env, a.env_file, environ)
    if env:
        body["Env"] = env
    lbl = labels(a.label, a.label_file)
    if lbl:
        body["Labels"] = lbl
    if a.workdir is not None:
        if a.workdir and not a.workdir.startswith("/"):
            raise InvalidArgument(f"the working directory '{a.workdir}' is invalid, it needs to be an absolute path")
        body["WorkingDir"] = a.workdir
    if a.user is not None:
        body["User"] = a.user
    if a.hostname:
        if len(a.hostname) > 64:
            raise InvalidArgument(f"invalid hostname format: {a.hostname}")
        body["Hostname"] = a.hostname
    if a.domainname:
        body["Domainname"] = a.domainname
    if a.interactive:
        body.update(OpenStdin=True, AttachStdin=True, StdinOnce=True)
    if a.tty:
        body["Tty"] = True
    detach = getattr(a, "detach", True)
    body["AttachStdout"] = body["AttachStderr"] = not detach
    if a.attach:
        for s in a.attach:
            if s.lower() not in ("stdin", "stdout", "stderr"):
                raise InvalidArgument(f"invalid argument \"{s}\" for \"-a, --attach\" flag: valid streams are "
                                      "STDIN, STDOUT and STDERR")
        body["AttachStdin"] = "stdin" in [s.lower() for s in a.attach]
        body["AttachStdout"] = "stdout" in [s.lower() for s in a.attach]
        body["AttachStderr"] = "stderr" in [s.lower() for s in a.attach]
    if a.stop_signal:
        body["StopSignal"] = a.stop_signal
    if a.stop_timeout is not None:
        body["StopTimeout"] = a.stop_timeout
    health = _healthcheck(a)
    if health is not None:
        body["Healthcheck"] = health
    return body


def _host_config(a: argparse.Namespace, body: dict) -> dict:
    """HostConfig: ports (ExposedPorts go into ``body``), mounts, privileges, restart, limits, DNS."""
    hc: dict[str, Any] = {}
    exposed, bindings = ports(a.publish)
    exposed.update(expose(a.expose))
    if exposed:
        body["ExposedPorts"] = exposed
    if bindings:
        hc["PortBindings"] = bindings
    if a.publish_all:
        hc["PublishAllPorts"] = True
    if a.volume:
        hc["Binds"] = list(a.volume)
    if a.mount:
        hc["Mounts"] = [mount(m) for m in a.mount]
    if a.tmpfs:
        hc["Tmpfs"] = tmpfs(a.tmpfs)
    if a.read_only:
        hc["ReadonlyRootfs"] = True
    if a.cap_add:
        hc["CapAdd"] = list(a.cap_add)
    if a.cap_drop:
        hc["CapDrop"] = list(a.cap_drop)
    if a.privileged:
        hc["Privileged"] = True
    if a.init:
        hc["Init"] = True
    hc["RestartPolicy"] = restart_policy(a.restart)
    if a.rm:
        hc["AutoRemove"] = True
        if hc["RestartPolicy"]["Name"] not in ("no", ""):
            raise InvalidArgument("Conflicting options: --restart and --rm")
    _resources(a, hc)
    if a.group_add:
        hc["GroupAdd"] = list(a.group_add)
    if a.security_opt:
        hc["SecurityOpt"] = list(a.security_opt)
    if a.log_driver or a.log_opt:
        hc["LogConfig"] = {"Type": a.log_driver or "json-file", "Config": key_values(a.log_opt, "log-opt")}
    if a.dns:
        hc["Dns"] = list(a.dns)
    if a.dns_search:
        hc["DnsSearch"] = list(a.dns_search)
    if a.dns_option:
        hc["DnsOptions"] = list(a.dns_option)
    if a.add_host:
        hc["ExtraHosts"] = add_hosts(a.add_host)
    if a.link:
        hc["Links"] = list(a.link)
    for flag, key in (("pid", "PidMode"), ("ipc", "IpcMode"), ("uts", "UTSMode"), ("cgroupns", "CgroupnsMode")):
        v = getattr(a, flag)
        if v:
            hc[key] = v
    return hc


def _resources(a: argparse.Namespace, hc: dict) -> None:
    """Memory, CPU, block I/O, pids, ulimits, sysctls and /dev/shm."""
    if a.memory is not None:
        hc["Memory"] = ram_bytes(a.memory, "memory")
    if a.memory_swap is not None:
        hc["MemorySwap"] = memory_swap(a.memory_swap)
    if a.memory_reservation is not None:
        hc["MemoryReservation"] = ram_bytes(a.memory_reservation, "memory-reservation")
    if a.cpus is not None:
        hc["NanoCpus"] = nano_cpus(a.cpus)
        if a.cpu_quota or a.cpu_period:
            raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if a.cpu_shares is not None:
        hc["CpuShares"] = a.cpu_shares
    if a.cpu_quota is not None:
        hc["CpuQuota"] = a.cpu_quota
    if a.cpu_period is not None:
        hc["CpuPeriod"] = a.cpu_period
    if a.cpuset_cpus:
        hc["CpusetCpus"] = a.cpuset_cpus
    if a.cpuset_mems:
        hc["CpusetMems"] = a.cpuset_mems
    if a.blkio_weight is not None:
        hc["BlkioWeight"] = a.blkio_weight
    if a.pids_limit is not None:
        hc["PidsLimit"] = a.pids_limit
    if a.ulimit:
        hc["Ulimits"] = [ulimit(u) for u in a.ulimit]
    if a.sysctl:
        hc["Sysctls"] = key_values(a.sysctl, "sysctl")
    if a.shm_size is not None:
        hc["ShmSize"] = ram_bytes(a.shm_size, "shm-size")


def _networking(a: argparse.Namespace, body: dict, hc: dict) -> None:
    """NetworkMode and the endpoint settings (aliases, --ip, --mac-address) Docker allows with it."""
    network = a.network or "default"
    hc["NetworkMode"] = network
    endpoint: dict[str, Any] = {}
    if a.network_alias:
        endpoint["Aliases"] = list(a.network_alias)
    if a.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": a.ip}
    if a.mac_address:
        endpoint["MacAddress"] = a.mac_address
    if endpoint:
        if network in ("host", "none") or network.startswith("container:"):
            raise InvalidArgument(f"conflicting options: network-scoped aliases, static addresses and MAC "
                                  f"addresses are only supported for user-defined networks")
        if network in ("default", "bridge") and (a.network_alias or a.ip):
            raise InvalidArgument("network-scoped aliases and user specified IP addresses are only supported "
                                  "for user-defined networks")
    if network not in ("default",) or endpoint:
        name = "bridge" if network == "default" else network
        if not (network in ("host", "none") or network.startswith("container:")):
            body["NetworkingConfig"] = {"EndpointsConfig": {name: endpoint}}


def _healthcheck(a: argparse.Namespace) -> dict | None:
    given = any(x is not None for x in (a.health_cmd, a.health_interval, a.health_timeout, a.health_retries,
                                         a.health_start_period, a.health_start_interval))
    if a.no_healthcheck:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    h: dict[str, Any] = {}
    if a.health_cmd:
        h["Test"] = ["CMD-SHELL", a.health_cmd]
    for flag, key in (("health_interval", "Interval"), ("health_timeout", "Timeout"),
                      ("health_start_period", "StartPeriod"), ("health_start_interval", "StartInterval")):
        v = getattr(a, flag)
        if v is not None:
            ns = duration_ns(v, flag.replace("_", "-"))
            if ns < 0:
                raise InvalidArgument(f"--{flag.replace('_', '-')} cannot be negative")
            h[key] = ns
    if a.health_retries is not None:
        if a.health_retries < 0:
            raise InvalidArgument("--health-retries cannot be negative")
        h["Retries"] = a.health_retries
    return h
