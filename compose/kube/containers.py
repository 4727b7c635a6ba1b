"""The service's container: image, command, environment, security context, resources, ports.

WHY its own module: this is where Docker's names turn into Kubernetes' (``entrypoint`` ->
``command``, ``command`` -> ``args``) and where values Kubernetes cannot take are refused
with a warning instead of producing an object the API server rejects.
"""
from __future__ import annotations

from compose.kube import quantities
from compose.kube.context import Context
from compose.kube.coverage import APPROXIMATED, REFUSED
from compose.kube.names import port_name

_PULL = {"always": "Always", "never": "Never", "missing": "IfNotPresent", "if_not_present": "IfNotPresent",
         "build": "IfNotPresent", "": "IfNotPresent"}


def escape(text: str) -> str:
    """Kubernetes expands ``$(VAR)`` in command, args and env values; ``$$`` keeps it literal."""
    return text.replace("$(", "$$(")


def main_container(ctx: Context, service: str, svc: dict) -> dict:
    c: dict = {"name": ctx.name(service), "image": ctx.image(service),
               "imagePullPolicy": pull_policy(ctx, service, svc)}
    if svc.get("entrypoint"):
        c["command"] = [escape(str(a)) for a in svc["entrypoint"]]
    if svc.get("command"):
        c["args"] = [escape(str(a)) for a in svc["command"]]
    env = environment(svc)
    if env:
        c["env"] = env
    if svc.get("working_dir"):
        c["workingDir"] = svc["working_dir"]
    if svc.get("tty"):
        c["tty"] = True
    if svc.get("stdin_open"):
        c["stdin"] = True
    for key, part in (("securityContext", security_context), ("resources", resources),
                      ("ports", container_ports), ("lifecycle", lifecycle)):
        value = part(ctx, service, svc)
        if value:
            c[key] = value
    return c


def pull_policy(ctx: Context, service: str, svc: dict) -> str:
    policy = svc.get("pull_policy") or ""
    if policy in _PULL:
        return _PULL[policy]
    if policy in ("daily", "weekly") or policy.startswith("every_") or policy == "refresh":
        ctx.warn_key(service, "pull_policy", APPROXIMATED, f"{policy} -> Always (the kubelet has no pull schedule)")
        return "Always"
    return "IfNotPresent"


def environment(svc: dict) -> list[dict]:
    env = svc.get("environment") or {}
    return [{"name": k, "value": escape(str(v))} for k, v in sorted(env.items()) if v is not None]


def parse_user(ctx: Context, service: str, user: str) -> dict:
    """``uid[:gid]`` -> runAsUser/runAsGroup; names cannot be mapped (Kubernetes needs ids)."""
    out: dict = {}
    uid, _, gid = user.partition(":")
    for value, field, what in ((uid, "runAsUser", "user"), (gid, "runAsGroup", "group")):
        if not value:
            continue
        if value == "root":
            value = "0"
        if value.isdigit():
            out[field] = int(value)
        else:
            ctx.warn_key(service, "user", REFUSED,
                         f"{what} {value!r} is a name; Kubernetes needs a numeric id (runAsUser/runAsGroup)")
    return out


def security_context(ctx: Context, service: str, svc: dict) -> dict:
    sc: dict = {}
    if svc.get("user"):
        sc.update(parse_user(ctx, service, str(svc["user"])))
    if svc.get("read_only"):
        sc["readOnlyRootFilesystem"] = True
    if svc.get("privileged"):
        sc["privileged"] = True
    caps = {}
    if svc.get("cap_add"):
        caps["add"] = sorted({_cap(c) for c in svc["cap_add"]})
    if svc.get("cap_drop"):
        caps["drop"] = sorted({_cap(c) for c in svc["cap_drop"]})
    if caps:
        sc["capabilities"] = caps
    for opt in svc.get("security_opt") or []:
        _security_opt(ctx, service, str(opt), sc)
    return sc


def _cap(name: str) -> str:
    name = name.upper()
    return name[4:] if name.startswith("CAP_") else name


def _security_opt(ctx: Context, service: str, opt: str, sc: dict) -> None:
    key, sep, value = opt.partition("=" if "=" in opt else ":")
    if key == "no-new-privileges":
        no_new_privileges = not sep or value.lower() in ("", "true", "1")
        sc["allowPrivilegeEscalation"] = not no_new_privileges
    elif key == "seccomp" and value == "unconfined":
        sc["seccompProfile"] = {"type": "Unconfined"}
    elif key == "apparmor" and value:
        sc["appArmorProfile"] = ({"type": "Unconfined"} if value == "unconfined"
                                 else {"type": "Localhost", "localhostProfile": value})
    elif key == "label" and value and value != "disable":
        part, _, v = value.partition(":")
        if part in ("user", "role", "type", "level") and v:
            sc.setdefault("seLinuxOptions", {})[part] = v
        else:
            ctx.warn_key(service, "security_opt", REFUSED, f"{opt!r} has no SELinux option equivalent")
    else:
        ctx.warn_key(service, "security_opt", REFUSED, f"{opt!r} has no Kubernetes equivalent")


def resources(ctx: Context, service: str, svc: dict) -> dict:
    res = ((svc.get("deploy") or {}).get("resources") or {})
    lim, resv = res.get("limits") or {}, res.get("reservations") or {}
    limits: dict = {}
    requests: dict = {}
    cpu = quantities.cpu(lim.get("cpus")) or quantities.cpu(svc.get("cpus"))
    if not cpu and svc.get("cpu_quota"):
        period = svc.get("cpu_period") or 100000
        cpu = quantities.cpu(int(svc["cpu_quota"]) / int(period))
    if cpu:
        limits["cpu"] = cpu
    mem = quantities.memory(lim.get("memory")) or quantities.memory(svc.get("mem_limit"))
    if mem:
        limits["memory"] = mem
    rcpu = quantities.cpu(resv.get("cpus"))
    if not rcpu and svc.get("cpu_shares"):
        rcpu = quantities.cpu(int(svc["cpu_shares"]) / 1024)
    if rcpu:
        requests["cpu"] = rcpu
    rmem = quantities.memory(resv.get("memory")) or quantities.memory(svc.get("mem_reservation"))
    if rmem:
        requests["memory"] = rmem
    if lim.get("generic_resources") or resv.get("generic_resources"):
        ctx.warn_key(service, "deploy", REFUSED, "generic_resources: extended resources need a device plugin name")
    if lim.get("pids"):
        ctx.warn_key(service, "deploy", REFUSED, "resources.limits.pids: pid limits are a kubelet setting")
    gpus = _gpu_count(ctx, service, svc)
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    _clamp_requests(ctx, service, requests, limits)
    out = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _clamp_requests(ctx: Context, service: str, requests: dict, limits: dict) -> None:
    """The API server rejects requests above limits; Docker lets reservations exceed limits."""
    if "memory" in requests and "memory" in limits and \
            quantities.quantity_bytes(requests["memory"]) > quantities.quantity_bytes(limits["memory"]):
        ctx.warn_key(service, "mem_reservation", APPROXIMATED, "reservation above the limit: lowered to the limit")
        requests["memory"] = limits["memory"]
    if "cpu" in requests and "cpu" in limits and \
            quantities.cpu_milli(requests["cpu"]) > quantities.cpu_milli(limits["cpu"]):
        ctx.warn_key(service, "deploy", APPROXIMATED, "cpu reservation above the limit: lowered to the limit")
        requests["cpu"] = limits["cpu"]


def _gpu_count(ctx: Context, service: str, svc: dict) -> int:
    devices = list(svc.get("gpus") or [])
    resv = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {})
    for d in resv.get("devices") or []:
        if "gpu" in (d.get("capabilities") or []):
            devices.append(d)
        else:
            ctx.warn_key(service, "deploy", REFUSED,
                         f"device reservation {d.get('capabilities')} needs a device plugin resource name")
    total = 0
    for d in devices:
        count = d.get("count")
        if d.get("device_ids"):
            total += len(d["device_ids"])
        elif isinstance(count, int) and count > 0:
            total += count
        else:
            total += 1
    return total


def _expand(ctx: Context, service: str, spec: str) -> list[tuple[int, str]]:
    text, _, proto = str(spec).partition("/")
    proto = (proto or "tcp").upper()
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        ctx.warn_key(service, "expose", REFUSED, f"{spec!r} is not a port")
        return []
    if last - first >= 100:
        ctx.warn_key(service, "expose", APPROXIMATED, f"{spec}: only the first 100 ports of the range are listed")
        last = first + 99
    return [(p, proto) for p in range(first, last + 1) if 0 < p < 65536]


def service_ports(ctx: Context, service: str, svc: dict) -> list[tuple[int, str]]:
    """The (port, PROTOCOL) pairs other services reach: expose and every port's target."""
    seen: list[tuple[int, str]] = []
    for spec in svc.get("expose") or []:
        for p in _expand(ctx, service, spec):
            if p not in seen:
                seen.append(p)
    for port in svc.get("ports") or []:
        target = port.get("target")
        if not target:
            continue
        p = (int(target), str(port.get("protocol") or "tcp").upper())
        if p not in seen:
            seen.append(p)
    return sorted(seen)


def container_ports(ctx: Context, service: str, svc: dict) -> list[dict]:
    return [{"containerPort": port, "name": port_name(proto, port), "protocol": proto}
            for port, proto in service_ports(ctx, service, svc)]


def lifecycle(ctx: Context, service: str, svc: dict) -> dict:
    out: dict = {}
    for key, field in (("post_start", "postStart"), ("pre_stop", "preStop")):
        hooks = svc.get(key) or []
        if not hooks:
            continue
        hook = hooks[0]
        if len(hooks) > 1:
            ctx.warn_key(service, key, APPROXIMATED, "Kubernetes runs one hook: only the first is kept")
        if any(hook.get(k) for k in ("user", "privileged", "environment", "working_dir")):
            ctx.warn_key(service, key, APPROXIMATED,
                         "the hook runs as the container does (user, privileged, environment, working_dir dropped)")
        if hook.get("command"):
            out[field] = {"exec": {"command": [escape(str(a)) for a in hook["command"]]}}
    signal = svc.get("stop_signal")
    if signal:
        name = str(signal).upper()
        if not name.startswith("SIG") and not name.isdigit():
            name = "SIG" + name
        if name.isdigit():
            ctx.warn_key(service, "stop_signal", REFUSED, "numeric signals have no Kubernetes name")
        else:
            out["stopSignal"] = name
    return out
