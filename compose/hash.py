"""The service config hash, bit for bit the one Docker Compose v2.40.3 computes.

Compose stores ``sha256(json.Marshal(ServiceConfig))`` in the
``com.docker.compose.config-hash`` label and compares it to decide whether a
container must be recreated; ``config --hash`` prints it. Matching it exactly
lets pycompose and Compose agree on "this container is up to date", so the
hash is rebuilt here from the canonical model (the dict ``config --format json``
prints, with sizes, durations and file modes as numbers: bytes, nanoseconds, mode
bits) with Go's encoding rules:

* fields in the order of compose-go v2.9.1's Go structs (``types/types.go``),
  map keys sorted, ``omitempty`` honoured (zero scalars, empty lists/maps and
  nil pointers dropped; struct values such as ``deploy.resources`` never);
* Compose drops ``build``, ``pull_policy``, ``scale``, ``deploy.replicas``,
  ``depends_on`` and ``profiles`` first (``pkg/compose/hash.go``); ``x-*`` keys
  are never marshalled;
* custom marshalers: sizes as decimal strings, durations as Go's
  ``time.Duration.String()``, file modes as ``"0444"``, ulimits as a bare int
  or ``{soft, hard}``, ``env_file`` entries as a path when required,
  ``extra_hosts`` as a sorted ``host=ip`` list, float32 fields in Go's
  shortest form;
* Go's string escaping (``<``, ``>``, ``&``, U+2028/9 as ``\\u`` escapes).

Which model to hash (checked against labels of containers Compose created):

* ``config --hash``: the service without env_file resolution (``env_file`` kept,
  bare ``environment`` keys null) -> ``service_hash``;
* the label ``up``/``create`` writes and compares: env_file resolved into
  ``environment`` (as ``config --format json`` prints it) and references to
  other services replaced by container ids -> ``label_hash``.
"""
from __future__ import annotations

import hashlib
import re
import struct
from decimal import Decimal
from typing import Any

from engine.values import format_duration

__all__ = ["service_hash", "label_hash", "resolve_service_references", "service_json"]

# --------------------------------------------------------------------------- Go type descriptions
# A type is a string (scalar kinds below) or a tuple: ("list", T), ("map", T), ("ptr", T),
# ("struct", ((json_name, T, omitempty), ...)).
STR, INT, F32, BOOL, BYTES, DUR, MODE = "str", "int", "float32", "bool", "bytes", "duration", "filemode"
CMD, ULIMIT, ENVFILE, HOSTS = "command", "ulimit", "envfile", "hosts"


def _s(*fields: tuple) -> tuple:
    return ("struct", fields)


def _l(t) -> tuple:
    return ("list", t)


def _m(t) -> tuple:
    return ("map", t)


def _p(t) -> tuple:
    return ("ptr", t)


O, K = True, False  # omitempty / kept when empty
STRS = _l(STR)

HOOK = _s(("command", CMD, K), ("user", STR, O), ("privileged", BOOL, O), ("working_dir", STR, O),
          ("environment", _m(_p(STR)), O))
TRIGGER = _s(("path", STR, K), ("action", STR, K), ("target", STR, O), ("exec", HOOK, O),
             ("include", STRS, O), ("ignore", STRS, O), ("initial_sync", BOOL, O))
DEVELOP = _s(("watch", _l(TRIGGER), O))
WEIGHT_DEVICE = _s(("Path", STR, K), ("Weight", INT, K))
THROTTLE_DEVICE = _s(("Path", STR, K), ("Rate", BYTES, K))
BLKIO = _s(("weight", INT, O), ("weight_device", _l(WEIGHT_DEVICE), O),
           ("device_read_bps", _l(THROTTLE_DEVICE), O), ("device_read_iops", _l(THROTTLE_DEVICE), O),
           ("device_write_bps", _l(THROTTLE_DEVICE), O), ("device_write_iops", _l(THROTTLE_DEVICE), O))
FILE_REF = _s(("source", STR, O), ("target", STR, O), ("uid", STR, O), ("gid", STR, O), ("mode", _p(MODE), O))
CRED_SPEC = _s(("config", STR, O), ("file", STR, O), ("registry", STR, O))
DEVICE_REQUEST = _s(("capabilities", STRS, O), ("driver", STR, O), ("count", "devcount", O),
                    ("device_ids", STRS, O), ("options", _m(STR), O))
GENERIC_RESOURCE = _s(("discrete_resource_spec", _p(_s(("kind", STR, K), ("value", INT, K))), O))
RESOURCE = _s(("cpus", F32, O), ("memory", BYTES, O), ("pids", INT, O), ("devices", _l(DEVICE_REQUEST), O),
              ("generic_resources", _l(GENERIC_RESOURCE), O))
UPDATE = _s(("parallelism", _p(INT), O), ("delay", DUR, O), ("failure_action", STR, O), ("monitor", DUR, O),
            ("max_failure_ratio", F32, O), ("order", STR, O))
DEPLOY = _s(("mode", STR, O), ("replicas", _p(INT), O), ("labels", _m(STR), O), ("update_config", _p(UPDATE), O),
            ("rollback_config", _p(UPDATE), O),
            ("resources", _s(("limits", _p(RESOURCE), O), ("reservations", _p(RESOURCE), O)), O),
            ("restart_policy", _p(_s(("condition", STR, O), ("delay", _p(DUR), O), ("max_attempts", _p(INT), O),
                                     ("window", _p(DUR), O))), O),
            ("placement", _s(("constraints", STRS, O), ("preferences", _l(_s(("spread", STR, O))), O),
                             ("max_replicas_per_node", INT, O)), O),
            ("endpoint_mode", STR, O))
HEALTHCHECK = _s(("test", STRS, O), ("timeout", _p(DUR), O), ("interval", _p(DUR), O), ("retries", _p(INT), O),
                 ("start_period", _p(DUR), O), ("start_interval", _p(DUR), O), ("disable", BOOL, O))
NETWORK = _s(("aliases", STRS, O), ("driver_opts", _m(STR), O), ("gw_priority", INT, O),
             ("interface_name", STR, O), ("ipv4_address", STR, O), ("ipv6_address", STR, O),
             ("link_local_ips", STRS, O), ("mac_address", STR, O), ("priority", INT, O))
PORT = _s(("name", STR, O), ("mode", STR, O), ("host_ip", STR, O), ("target", INT, O), ("published", STR, O),
          ("protocol", STR, O), ("app_protocol", STR, O))
VOLUME = _s(("type", STR, O), ("source", STR, O), ("target", STR, O), ("read_only", BOOL, O),
            ("consistency", STR, O),
            ("bind", _p(_s(("selinux", STR, O), ("propagation", STR, O), ("create_host_path", BOOL, O),
                           ("recursive", STR, O))), O),
            ("volume", _p(_s(("labels", _m(STR), O), ("nocopy", BOOL, O), ("subpath", STR, O))), O),
            ("tmpfs", _p(_s(("size", BYTES, O), ("mode", INT, O))), O),
            ("image", _p(_s(("subpath", STR, O))), O))

SERVICE = _s(
    ("profiles", STRS, O), ("annotations", _m(STR), O), ("attach", _p(BOOL), O), ("build", _p("any"), O),
    ("develop", _p(DEVELOP), O), ("blkio_config", _p(BLKIO), O), ("cap_add", STRS, O), ("cap_drop", STRS, O),
    ("cgroup_parent", STR, O), ("cgroup", STR, O), ("cpu_count", INT, O), ("cpu_percent", F32, O),
    ("cpu_period", INT, O), ("cpu_quota", INT, O), ("cpu_rt_period", INT, O), ("cpu_rt_runtime", INT, O),
    ("cpus", F32, O), ("cpuset", STR, O), ("cpu_shares", INT, O),
    ("command", CMD, K), ("configs", _l(FILE_REF), O), ("container_name", STR, O),
    ("credential_spec", _p(CRED_SPEC), O), ("depends_on", _m("any"), O), ("deploy", _p(DEPLOY), O),
    ("device_cgroup_rules", STRS, O), ("devices", _l(_s(("source", STR, O), ("target", STR, O),
                                                       ("permissions", STR, O))), O),
    ("dns", STRS, O), ("dns_opt", STRS, O), ("dns_search", STRS, O), ("dockerfile", STR, O),
    ("domainname", STR, O), ("entrypoint", CMD, K),
    ("provider", _p(_s(("type", STR, O), ("options", _m(STRS), O))), O),
    ("environment", _m(_p(STR)), O), ("env_file", _l(ENVFILE), O), ("expose", STRS, O),
    ("extends", _p(_s(("file", STR, O), ("service", STR, O))), O), ("external_links", STRS, O),
    ("extra_hosts", HOSTS, O), ("group_add", STRS, O), ("gpus", _l(DEVICE_REQUEST), O), ("hostname", STR, O),
    ("healthcheck", _p(HEALTHCHECK), O), ("image", STR, O), ("init", _p(BOOL), O), ("ipc", STR, O),
    ("isolation", STR, O), ("labels", _m(STR), O), ("label_file", STRS, O), ("links", STRS, O),
    ("logging", _p(_s(("driver", STR, O), ("options", _m(STR), O))), O), ("log_driver", STR, O),
    ("log_opt", _m(STR), O), ("mem_limit", BYTES, O), ("mem_reservation", BYTES, O),
    ("memswap_limit", BYTES, O), ("mem_swappiness", BYTES, O), ("mac_address", STR, O),
    ("models", _m(_p(_s(("endpoint_var", STR, O), ("model_var", STR, O)))), O), ("net", STR, O),
    ("network_mode", STR, O), ("networks", _m(_p(NETWORK)), O), ("oom_kill_disable", BOOL, O),
    ("oom_score_adj", INT, O), ("pid", STR, O), ("pids_limit", INT, O), ("platform", STR, O),
    ("ports", _l(PORT), O), ("privileged", BOOL, O), ("pull_policy", STR, O), ("read_only", BOOL, O),
    ("restart", STR, O), ("runtime", STR, O), ("scale", _p(INT), O), ("secrets", _l(FILE_REF), O),
    ("security_opt", STRS, O), ("shm_size", BYTES, O), ("stdin_open", BOOL, O),
    ("stop_grace_period", _p(DUR), O), ("stop_signal", STR, O), ("storage_opt", _m(STR), O),
    ("sysctls", _m(STR), O), ("tmpfs", STRS, O), ("tty", BOOL, O), ("ulimits", _m(_p(ULIMIT)), O),
    ("use_api_socket", BOOL, O), ("user", STR, O), ("userns_mode", STR, O), ("uts", STR, O),
    ("volume_driver", STR, O), ("volumes", _l(VOLUME), O), ("volumes_from", STRS, O),
    ("working_dir", STR, O), ("post_start", _l(HOOK), O), ("pre_stop", _l(HOOK), O),
)

# Fields Compose clears before hashing (pkg/compose/hash.go).
DROPPED = ("build", "pull_policy", "scale", "depends_on", "profiles")

# --------------------------------------------------------------------------- Go value encodings

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')


def _esc(m: re.Match) -> str:
    c = m.group(0)
    if c in _ESCAPES:
        return _ESCAPES[c]
    if "\ud800" <= c <= "\udfff":  # not valid UTF-8: Go writes the replacement character
        return "\ufffd"
    return "\\u%04x" % ord(c)


def go_string(s: str) -> str:
    """A JSON string exactly as Go's encoding/json (HTML-escaping on) writes it."""
    return '"' + _NEEDS_ESCAPE.sub(_esc, s) + '"'


def _as_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def go_float32(v: float) -> str:
    """Go's encoding of a float32: shortest digits that read back as the same float32."""
    f = struct.unpack("f", struct.pack("f", float(v)))[0]
    if f == 0:
        return "0"
    for digits in range(1, 10):
        text = "%.*g" % (digits, f)
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f:
            break
    dec = Decimal(text)
    absf = abs(f)
    if absf < 1e-6 or absf >= 1e21:
        mant, _, exp = ("%.*e" % (digits - 1, f)).partition("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        sign, num = exp[0], exp[1:].lstrip("0")
        # strconv writes at least two exponent digits; encoding/json trims "e-07" to "e-7"
        return f"{mant}e{sign}{num if sign == '-' else num.zfill(2)}"
    out = format(dec, "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return out


def _hosts(v: Any) -> list[str]:
    """extra_hosts as compose-go's HostsList marshals it: sorted ``host=ip`` entries."""
    pairs: list[tuple[str, str]] = []
    if isinstance(v, dict):
        for host, ips in v.items():
            ips = ips if isinstance(ips, list) else ["" if ips is None else ips]
            pairs += [(host, _as_str(ip)) for ip in ips]
    else:
        for entry in v:
            entry = _as_str(entry)
            for sep in ("=", ":"):
                host, found, ip = entry.partition(sep)
                if found:
                    pairs += [(host, one) for one in ip.split(",")]
                    break
    out = []
    for host, ip in pairs:
        if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
            ip = ip[1:-1]
        out.append(f"{host}={ip}")
    return sorted(out, key=lambda s: s.encode())


def _is_empty(t, v: Any) -> bool:
    """Go's omitempty test for a value of type ``t`` (None is Go's zero/nil)."""
    if isinstance(t, tuple) and t[0] == "struct":
        return False  # a struct value is never "empty" to encoding/json, even all zero
    if v is None:
        return True
    if isinstance(t, tuple):
        return t[0] != "ptr" and len(v) == 0  # a non-nil pointer is kept even if it points to zero
    if t == STR:
        return _as_str(v) == ""
    if t in (INT, "devcount"):
        return v in (0, "0")
    if t == F32:
        return float(v) == 0
    if t == BOOL:
        return not v
    if t in (BYTES, DUR):
        return v == 0
    if t in (CMD, HOSTS):
        return len(v) == 0
    return False


def _encode(t, v: Any) -> str:
    if isinstance(t, tuple):
        kind = t[0]
        if kind == "struct":
            return _encode_struct(t[1], v or {})
        if v is None:
            return "null"
        if kind == "ptr":
            return _encode(t[1], v)
        if kind == "list":
            return "[" + ",".join(_encode(t[1], e) for e in v) + "]"
        if kind == "map":
            keys = sorted(v, key=lambda k: str(k).encode())
            return "{" + ",".join(go_string(str(k)) + ":" + _encode(t[1], v[k]) for k in keys) + "}"
        raise TypeError(kind)
    if t == STR:
        return go_string("" if v is None else _as_str(v))
    if t == INT:
        return str(int(v or 0))
    if t == "devcount":
        return "-1" if str(v).lower() == "all" else str(int(v or 0))
    if t == F32:
        return go_float32(v or 0)
    if t == BOOL:
        return "true" if v else "false"
    if t == BYTES:
        return '"%d"' % v
    if t == DUR:
        return go_string(format_duration(v))
    if t == MODE:
        return '"0%o"' % v
    if t == CMD:
        if v is None:
            return "null"
        if isinstance(v, str):
            import shlex

            v = shlex.split(v)
        return "[" + ",".join(go_string(_as_str(e)) for e in v) + "]"
    if t == ULIMIT:
        if isinstance(v, dict):
            if v.get("single"):
                return str(int(v["single"]))
            return _encode_struct((("soft", INT, O), ("hard", INT, O)), v)
        return str(int(v))
    if t == ENVFILE:
        if isinstance(v, str):
            return go_string(v)
        if v.get("required", True):
            return go_string(_as_str(v.get("path", "")))
        return _encode_struct((("path", STR, O), ("required", BOOL, K), ("format", STR, O)), v)
    if t == HOSTS:
        return "null" if v is None else "[" + ",".join(go_string(h) for h in _hosts(v)) + "]"
    raise TypeError(f"no Go encoding for a {t} field")  # "any": build and depends_on, dropped before


def _encode_struct(fields: tuple, v: dict) -> str:
    parts = []
    for name, ftype, omitempty in fields:
        value = v.get(name)
        if omitempty and _is_empty(ftype, value):
            continue
        parts.append(go_string(name) + ":" + _encode(ftype, value))
    return "{" + ",".join(parts) + "}"


# --------------------------------------------------------------------------- public API


def service_json(service: dict) -> str:
    """The exact bytes (as text) Compose hashes for ``service``: Go's JSON of it minus dropped fields."""
    doc = {k: v for k, v in service.items() if k not in DROPPED}
    deploy = doc.get("deploy")
    if isinstance(deploy, dict) and "replicas" in deploy:
        doc["deploy"] = {k: v for k, v in deploy.items() if k != "replicas"}
    return _encode_struct(SERVICE[1], doc)


def service_hash(service_name: str, service: dict) -> str:
    """``com.docker.compose.config-hash`` of one service of the canonical model.

    ``service_name`` is not part of the hash (Go's ``Name`` field is ``json:"-"``);
    it is taken for the callers' convenience and error messages. For the label
    pass the model with env_file resolved into ``environment`` (what ``up`` uses);
    for ``config --hash`` the unresolved one (Compose skips env resolution there).
    """
    try:
        text = service_json(service)
    except (TypeError, ValueError, AttributeError) as e:
        from compose.errors import LoadError

        raise LoadError(f"cannot compute the config hash: {e}", path=f"services.{service_name}") from e
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- the label of a created container

_NAMESPACE_WORDS = {"network_mode": "network", "ipc": "IPC", "pid": "PID"}


def resolve_service_references(service: dict, first_container_id) -> dict:
    """A copy of ``service`` with references to other services replaced as ``up`` does before hashing.

    Compose's convergence (``resolveServiceReferences``) rewrites ``volumes_from: [svc[:ro]]``
    to the bare id of svc's first container (the access mode is dropped), ``container:x`` to
    ``x``, and ``service:x`` in network_mode/ipc/pid to ``container:<id>``; the label hash is
    computed after that. ``first_container_id(name)`` returns the id of the first container
    of a service (by container name), or None when it has none.
    """
    from compose.errors import ComposeError

    out = dict(service)
    if out.get("volumes_from"):
        resolved = []
        for ref in out["volumes_from"]:
            spec = str(ref).split(":")
            if spec[0] == "container":
                resolved.append(spec[1] if len(spec) > 1 else "")
                continue
            cid = first_container_id(spec[0])
            if not cid:
                raise ComposeError(f"cannot share volume with service {spec[0]}: container missing")
            resolved.append(cid)
        out["volumes_from"] = resolved
    for key, word in _NAMESPACE_WORDS.items():
        mode = out.get(key)
        if isinstance(mode, str) and mode.startswith("service:"):
            name = mode[len("service:"):]
            cid = first_container_id(name)
            if not cid:
                raise ComposeError(f"cannot share {word} namespace with service {name}: container missing")
            out[key] = "container:" + cid
    return out


def label_hash(service_name: str, service: dict, first_container_id) -> str:
    """The ``com.docker.compose.config-hash`` label ``up`` puts on (and compares with) a container.

    ``service``: the canonical model's service with env_file resolved into ``environment``
    (what ``config --format json`` prints); references to other services are resolved with
    ``first_container_id`` as in ``resolve_service_references``.
    """
    return service_hash(service_name, resolve_service_references(service, first_container_id))
