"""Schema validation and consistency checks, with errors a user can act on.

Two stages of the loader call in here:

* ``validate_schema(doc, positions)`` on the merged, interpolated document
  before canonicalisation: the compose-spec JSON schema (compose-go v2.9.1's,
  what Compose v2.40.3 accepts) plus the value formats the schema leaves to
  the loader (short port syntax). A failure names the file, line and column,
  the key path and what was expected, e.g.
  ``compose.yaml:12:9: services.web.ports[1]: "80:80:80:80" is not a valid port mapping``.
* ``check_consistency(project, positions)`` on the canonical model: references
  to undefined services, networks, volumes, secrets, configs and models,
  conflicting settings and dependency cycles, worded like Compose's own
  messages (compose-go ``loader/validate.go``), plus the source position.

Speed: jsonschema walks 500 services in about 0.1 s, so a small compiled
checker (``_compile``: closures over the same schema, a boolean answer only)
decides first whether the document is valid (a few ms); jsonschema runs only
to explain a failure.
"""
from __future__ import annotations

import difflib
import ipaddress
import json
import re
from functools import lru_cache
from typing import Any, Callable, Iterable

from compose.errors import LoadError

try:
    from compose.loader.yamlread import Positions
except ImportError:  # the loader's module is built in parallel; the alias is the agreed contract
    Positions = dict[tuple, tuple[str, int, int]]  # type: ignore[misc]

__all__ = ["validate_schema", "check_consistency", "format_path", "Positions"]

# The schema ships inside the package (compose/loader/compose-spec.json, a link to the repository's
# schemas/compose-spec.json that wheels and sdists store as a file), so an installed pycompose finds it.
SCHEMA_RESOURCE = "compose-spec.json"
INVALID = "invalid compose project"

# --------------------------------------------------------------------------- paths and positions


def format_path(path: Iterable) -> str:
    """``("services", "web", "ports", 1)`` -> ``services.web.ports[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _where(positions: Positions | None, path: tuple) -> tuple[str | None, int | None, int | None]:
    """Position of ``path``, else of its nearest ancestor that has one."""
    if positions:
        p = tuple(path)
        while True:
            hit = positions.get(p)
            if hit:
                return hit
            if not p:
                break
            p = p[:-1]
    return None, None, None


def _error(message: str, path: tuple, positions: Positions | None, *, show_path: bool = True) -> LoadError:
    file, line, column = _where(positions, path)
    return LoadError(message, file=file, line=line, column=column,
                     path=format_path(path) if (show_path and path) else None)


# --------------------------------------------------------------------------- schema


@lru_cache(maxsize=1)
def _schema() -> dict:
    from importlib import resources

    res = resources.files(__package__) / SCHEMA_RESOURCE
    try:
        return json.loads(res.read_bytes())
    except OSError as e:  # a broken install: the package lost its data file
        raise LoadError(f"cannot read the compose-spec schema {res}: {e.strerror}; "
                        "reinstall pycompose (pip install --force-reinstall pycompose)") from None


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = _schema()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


# ---- a small compiled checker: same answers as jsonschema for this schema, much faster

_ANNOTATIONS = {"description", "deprecated", "default", "title", "$schema", "$id", "$comment", "examples", "definitions",
                "format"}


class _Unsupported(Exception):
    """The schema uses a keyword the fast checker does not know: always use jsonschema."""


def _is_type(value: Any, t: str) -> bool:
    if t == "string":
        return isinstance(value, str)
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if t == "number":
        return isinstance(value, (int, float))
    if t == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise _Unsupported(t)


def _uniq_key(value: Any):
    """Equality key with jsonschema's semantics (True != 1, 1 == 1.0, dicts unordered)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, list):
        return ("l", tuple(_uniq_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", frozenset((k, _uniq_key(v)) for k, v in value.items()))
    return ("s", value)


def _compile(schema: Any, root: dict, refs: dict) -> Callable[[Any], bool]:
    if schema is True or schema == {}:
        return lambda v: True
    if schema is False:
        return lambda v: False
    checks: list[Callable[[Any], bool]] = []
    unknown = set(schema) - _ANNOTATIONS - {"type", "properties", "patternProperties", "additionalProperties",
                                             "items", "oneOf", "anyOf", "allOf", "enum", "required", "minimum",
                                             "maximum", "uniqueItems", "pattern", "$ref", "not", "const",
                                             "minItems", "maxItems", "minLength", "minProperties"}
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/definitions/"):
            raise _Unsupported(ref)
        name = ref.rsplit("/", 1)[1]
        if name not in refs:
            refs[name] = None  # placeholder breaks recursion
            refs[name] = _compile(root["definitions"][name], root, refs)
        checks.append(lambda v, _n=name: refs[_n](v))
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for t in types:
            _is_type(None, t)  # raises on unknown type names
        checks.append(_type_check(tuple(types)))
    if "enum" in schema:
        keys = {_uniq_key(e) for e in schema["enum"]}
        checks.append(lambda v, _k=keys: _uniq_key(v) in _k)
    if "const" in schema:
        key = _uniq_key(schema["const"])
        checks.append(lambda v, _k=key: _uniq_key(v) == _k)
    if any(k in schema for k in ("properties", "patternProperties", "additionalProperties", "required",
                                 "minProperties")):
        props = {k: _compile(s, root, refs) for k, s in (schema.get("properties") or {}).items()}
        patterns = [(re.compile(p), _compile(s, root, refs))
                    for p, s in (schema.get("patternProperties") or {}).items()]
        additional = schema.get("additionalProperties", True)
        add_check = None if additional is True else _compile(additional, root, refs)
        required = tuple(schema.get("required") or ())
        min_props = schema.get("minProperties", 0)

        def check_object(v, props=props, patterns=patterns, add_check=add_check, required=required,
                         min_props=min_props):
            if not isinstance(v, dict):
                return True
            if len(v) < min_props:
                return False
            for r in required:
                if r not in v:
                    return False
            for k, item in v.items():
                matched = False
                c = props.get(k)
                if c is not None:
                    matched = True
                    if not c(item):
                        return False
                for rx, pc in patterns:
                    if rx.search(k if isinstance(k, str) else str(k)):
                        matched = True
                        if not pc(item):
                            return False
                if not matched and add_check is not None and not add_check(item):
                    return False
            return True

        checks.append(check_object)
    if any(k in schema for k in ("items", "uniqueItems", "minItems", "maxItems")):
        items = schema.get("items", True)
        if isinstance(items, list):
            raise _Unsupported("items as a list")
        item_check = _compile(items, root, refs)
        unique = schema.get("uniqueItems", False)
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")

        def check_array(v, item_check=item_check, unique=unique, lo=lo, hi=hi):
            if not isinstance(v, list):
                return True
            if len(v) < lo or (hi is not None and len(v) > hi):
                return False
            if not all(item_check(e) for e in v):
                return False
            if unique:
                keys = [_uniq_key(e) for e in v]
                return len(set(keys)) == len(keys)
            return True

        checks.append(check_array)
    if "oneOf" in schema:
        subs = [_compile(s, root, refs) for s in schema["oneOf"]]
        checks.append(lambda v, _s=subs: sum(1 for s in _s if s(v)) == 1)
    if "anyOf" in schema:
        subs = [_compile(s, root, refs) for s in schema["anyOf"]]
        checks.append(lambda v, _s=subs: any(s(v) for s in _s))
    if "allOf" in schema:
        subs = [_compile(s, root, refs) for s in schema["allOf"]]
        checks.append(lambda v, _s=subs: all(s(v) for s in _s))
    if "not" in schema:
        sub = _compile(schema["not"], root, refs)
        checks.append(lambda v, _s=sub: not _s(v))
    for kw, op in (("minimum", lambda v, m: v >= m), ("maximum", lambda v, m: v <= m)):
        if kw in schema:
            checks.append(lambda v, _m=schema[kw], _op=op: not _is_type(v, "number") or _op(v, _m))
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        checks.append(lambda v, _r=rx: not isinstance(v, str) or bool(_r.search(v)))
    if "minLength" in schema:
        checks.append(lambda v, _m=schema["minLength"]: not isinstance(v, str) or len(v) >= _m)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v, _c=tuple(checks): all(c(v) for c in _c)


_CLASSES = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}


def _type_check(types: tuple) -> Callable[[Any], bool]:
    """A type test for a ``type`` keyword; plain isinstance when no number kinds are involved."""
    if all(t in _CLASSES for t in types):
        classes = tuple(_CLASSES[t] for t in types)
        return lambda v: isinstance(v, classes)
    return lambda v: any(_is_type(v, t) for t in types)


@lru_cache(maxsize=1)
def _fast_checker() -> Callable[[Any], bool] | None:
    root = _schema()
    try:
        return _compile(root, root, {})
    except _Unsupported:
        return None


def schema_is_valid(doc: Any) -> bool:
    """True when ``doc`` satisfies the compose-spec schema (fast path, same answer as jsonschema)."""
    fast = _fast_checker()
    if fast is not None:
        return fast(doc)
    return _validator().is_valid(doc)


# ---- turning jsonschema errors into sentences

_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
               "integer": "an integer", "boolean": "a boolean", "null": "null"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _deref(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = _schema()["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _schema_types(schema: Any) -> list[str]:
    """The JSON types a (sub)schema can accept at its top level."""
    schema = _deref(schema)
    if not isinstance(schema, dict):
        return []
    if "type" in schema:
        return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            out: list[str] = []
            for sub in schema[key]:
                out += [t for t in _schema_types(sub) if t not in out]
            return out
    if "enum" in schema:
        return sorted({_json_type(e) for e in schema["enum"]})
    return []


def _accepts_type(schema: Any, value: Any) -> bool:
    types = _schema_types(schema)
    if not types:
        return True
    return any(_is_type(value, t) for t in types)


def _words(types: list[str]) -> str:
    names = [_TYPE_WORDS.get(t, t) for t in types]
    if "a number" in names and "an integer" in names:
        names.remove("an integer")
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return json.dumps(value, default=str)


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, [c for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _rank(err) -> tuple:
    """Sort key to pick the most useful error among several: deepest path first, then not a oneOf."""
    return (-len(err.absolute_path), err.validator in ("oneOf", "anyOf"))


def _explain(err) -> tuple[tuple, str, tuple]:
    """(position path, sentence, shown path) for one jsonschema error.

    oneOf/anyOf descend to the relevant branch. An unknown key is located at the key
    itself but shown with its parent's path, as the sentence already names it.
    """
    path, message = _sentence(err)
    if message.startswith(("additional propert", "invalid ")) and path and not isinstance(path[-1], int):
        return path, message, path[:-1]
    return path, message, path


def _sentence(err) -> tuple[tuple, str]:
    path = tuple(err.absolute_path)
    value = err.instance
    v = err.validator
    if v in ("oneOf", "anyOf"):
        branches: dict[int, list] = {}
        for sub in err.context or []:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        options = err.validator_value
        matching = [i for i, s in enumerate(options) if _accepts_type(s, value)]
        if not matching:
            types: list[str] = []
            for s in options:
                types += [t for t in _schema_types(s) if t not in types]
            return path, f"must be {_words(types)}" if types else "does not match any allowed form"
        failing = [i for i in matching if branches.get(i)]
        if not failing:
            return path, "is ambiguous: it matches more than one allowed form"
        # the branch whose errors go deepest is the one the user was writing
        best_branch = min(failing, key=lambda i: min(_rank(e) for e in branches[i]))
        best = min(branches[best_branch], key=_rank)
        return _sentence(best)
    if v == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return path, f"must be {_words(expected)}"
    if v == "additionalProperties":
        schema = err.schema
        allowed = list((schema.get("properties") or {}))
        patterns = [re.compile(p) for p in (schema.get("patternProperties") or {})]
        extra = [k for k in value if k not in allowed and not any(p.search(k) for p in patterns)]
        if not extra:
            return path, "has an additional property that is not allowed"
        key = extra[0]
        if not allowed and patterns:  # a name map: services, volumes, ...
            what = {"services": "service", "volumes": "volume", "networks": "network", "secrets": "secret",
                    "configs": "config", "models": "model"}.get(str(path[-1]) if path else "", "key")
            return path + (key,), (f'invalid {what} name "{key}": only letters, digits, ".", "_" and "-" '
                                   "are allowed")
        if len(extra) == 1:
            return path + (key,), f'additional property "{key}" is not allowed{_did_you_mean(key, allowed)}'
        names = ", ".join(f'"{k}"' for k in extra)
        return path + (key,), f"additional properties {names} are not allowed{_did_you_mean(key, allowed)}"
    if v == "enum":
        opts = ", ".join(json.dumps(o) for o in err.validator_value)
        return path, f"must be one of: {opts} (got {_show(value)})"
    if v == "const":
        return path, f"must be {json.dumps(err.validator_value)}"
    if v == "required":
        missing = [r for r in err.validator_value if isinstance(value, dict) and r not in value]
        name = missing[0] if missing else err.validator_value[0]
        return path, f'missing required property "{name}"'
    if v == "minimum":
        return path, f"must be greater than or equal to {err.validator_value} (got {_show(value)})"
    if v == "maximum":
        return path, f"must be less than or equal to {err.validator_value} (got {_show(value)})"
    if v == "uniqueItems":
        seen: dict = {}
        for i, item in enumerate(value):
            k = _uniq_key(item)
            if k in seen:
                return path + (i,), f"duplicate entry {_show(item)} (already at {format_path(path + (seen[k],))})"
            seen[k] = i
        return path, "must not contain duplicate entries"
    if v == "pattern":
        if path and path[-1] == "pull_policy":
            return path, (f'{_show(value)} is not a valid pull policy: use always, never, missing, build, '
                          "if_not_present, refresh, daily, weekly or every_<duration>")
        if path and path[-1] == "container_name":
            return path, (f"{_show(value)} is not a valid container name: it must start with a letter or "
                          'digit and contain only letters, digits, "_", "." and "-"')
        return path, f"{_show(value)} does not match the pattern {err.validator_value}"
    if v in ("minItems", "maxItems", "minLength", "minProperties"):
        return path, f"{v} {err.validator_value} not satisfied"
    if v == "not":
        return path, f"{_show(value)} is not allowed here"
    return path, err.message


def _first_by_position(errors: list, positions: Positions | None):
    """The error appearing first in the files (then the deepest one): what a reader meets first."""
    def key(item):
        path, _msg, _shown, err = item
        file, line, col = _where(positions, path)
        return (file or "", line or 0, col or 0, _rank(err))

    return min(errors, key=key)


def _string_keys(value: Any) -> Any:
    """YAML allows ``1: x`` as a key; Compose reads every key as a string, and so does jsonschema here."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def validate_schema(doc: dict, positions: Positions) -> None:
    """Check the merged, interpolated document against the compose-spec schema.

    Raises ``LoadError`` naming file:line:col, the key path and what was expected.
    """
    if not isinstance(doc, dict):
        raise _error("top-level object must be a mapping", (), positions)
    if not schema_is_valid(doc):
        errors = list(_validator().iter_errors(_string_keys(doc)))
        if errors:
            explained = [(*_explain(e), e) for e in errors]
            path, message, shown, _ = _first_by_position(explained, positions)
            file, line, column = _where(positions, path)
            raise LoadError(message, file=file, line=line, column=column, path=format_path(shown) or None)
    _check_formats(doc, positions)


# --------------------------------------------------------------------------- value formats the schema leaves open

_PROTOCOLS = ("tcp", "udp", "sctp")


def _port_number(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f'"{text}" is not a number')
    n = int(text)
    if not 0 <= n <= 65535:
        raise ValueError(f"port {n} is out of range (0-65535)")
    return n


def _port_range(text: str) -> tuple[int, int]:
    if text == "":
        raise ValueError("empty port")
    start, dash, end = text.partition("-")
    lo = _port_number(start)
    if not dash or start == end:
        return lo, lo
    hi = _port_number(end)
    if hi < lo:
        raise ValueError(f"port range {text} ends before it starts")
    return lo, hi


def parse_port_spec(spec: str) -> None:
    """Raise ValueError (a reason, or "" for nonsense) when ``spec`` is not a valid short port mapping.

    Accepts what docker/go-connections' ``nat.ParsePortSpec`` accepts:
    ``[[IP:]HOST:]CONTAINER[/PROTO]`` with ranges ``a-b``.
    """
    parts = spec.split(":")
    if len(parts) == 1:
        ip, host, container = "", "", parts[0]
    elif len(parts) == 2:
        ip, host, container = "", parts[0], parts[1]
    else:
        ip, host, container = ":".join(parts[:-2]), parts[-2], parts[-1]
    container, _, proto = container.partition("/")
    if container == "":
        raise ValueError("no container port")
    proto = (proto or "tcp").lower()
    if proto not in _PROTOCOLS:
        raise ValueError(f'unknown protocol "{proto}" (use tcp, udp or sctp)')
    if ip:
        raw = ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
        try:
            ipaddress.ip_address(raw)
        except ValueError:
            if re.fullmatch(r"[\d:]+", ip):  # "80:80:80:80": too many fields, not an address attempt
                raise ValueError("") from None
            raise ValueError(f'invalid host IP "{ip}"') from None
    lo, hi = _port_range(container)
    if host:
        hlo, hhi = _port_range(host)
        if (hi - lo) != (hhi - hlo) and hi != lo:
            raise ValueError(f"host range {host} and container range {container} differ in size")


_DURATION_UNITS = ("ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h", "d", "w")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")


def parse_duration(text: str) -> None:
    """Raise ValueError unless ``text`` is a duration Compose reads (Go's time.ParseDuration plus d, w)."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return
    if not body:
        raise ValueError("empty duration")
    pos = 0
    for m in _DURATION_PART.finditer(body):
        if m.start() != pos:
            break
        if not m.group(2):
            raise ValueError("a unit is missing (ns, us, ms, s, m, h, d or w)")
        if m.group(2) not in _DURATION_UNITS:
            raise ValueError(f'unknown unit "{m.group(2)}" (use ns, us, ms, s, m, h, d or w)')
        pos = m.end()
    if pos != len(body):
        raise ValueError("use a number with a unit, like 1m30s, 500ms or 2h")


def parse_size(text: str) -> None:
    """Raise ValueError unless ``text`` is a size Compose reads (docker/go-units RAMInBytes)."""
    if text == "-1":
        return
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise ValueError("a size needs a number, like 512m or 1.5g")
    num, sfx = (text[:sep + 1], text[sep + 1:]) if text[sep] != " " else (text[:sep], text[sep + 1:])
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f'"{num}" is not a number') from None
    if value < 0:
        raise ValueError("a size cannot be negative")
    low = sfx.lower()
    if not low or low == "b":
        return
    if len(low) > 3 or low[0] not in "kmgtp" or (len(low) == 2 and low[1] != "b") \
            or (len(low) == 3 and low[1:] != "ib"):
        raise ValueError(f'unknown unit "{sfx}" (use b, k, m, g, t or p, optionally followed by b or ib)')


_SIZE_KEYS = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")
_DURATION_KEYS = (("healthcheck", "interval"), ("healthcheck", "timeout"), ("healthcheck", "start_period"),
                  ("healthcheck", "start_interval"), ("stop_grace_period",),
                  ("deploy", "restart_policy", "delay"), ("deploy", "restart_policy", "window"),
                  ("deploy", "update_config", "delay"), ("deploy", "update_config", "monitor"),
                  ("deploy", "rollback_config", "delay"), ("deploy", "rollback_config", "monitor"))


def _dig(obj: Any, keys: tuple) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _judge(value: Any, parse: Callable[[str], None], what: str, path: tuple, positions) -> None:
    """Check a string value with ``parse``; numbers and uninterpolated ``$`` text are left alone."""
    if not isinstance(value, str) or "$" in value:
        return
    try:
        parse(value)
    except ValueError as e:
        raise _error(f"{_show(value)} is not a valid {what}: {e}", path, positions) from None


def _check_service_values(name: str, service: dict, positions) -> None:
    at = ("services", name)
    for keys in _DURATION_KEYS:
        _judge(_dig(service, keys), parse_duration, "duration", at + keys, positions)
    for key in _SIZE_KEYS:
        _judge(service.get(key), parse_size, "size", at + (key,), positions)
    _judge(_dig(service, ("build", "shm_size")), parse_size, "size", at + ("build", "shm_size"), positions)
    for section in ("limits", "reservations"):
        keys = ("deploy", "resources", section, "memory")
        _judge(_dig(service, keys), parse_size, "size", at + keys, positions)
    blkio = service.get("blkio_config")
    if isinstance(blkio, dict):
        for key in ("device_read_bps", "device_write_bps"):
            for i, dev in enumerate(blkio.get(key) or []):
                if isinstance(dev, dict):
                    _judge(dev.get("rate"), parse_size, "size", at + ("blkio_config", key, i, "rate"), positions)
    for i, vol in enumerate(service.get("volumes") or []):
        if isinstance(vol, dict):
            size = _dig(vol, ("tmpfs", "size"))
            _judge(size, parse_size, "size", at + ("volumes", i, "tmpfs", "size"), positions)
    _check_short_syntax(service, at, positions)
    hosts = service.get("extra_hosts")
    if isinstance(hosts, list):
        for i, entry in enumerate(hosts):
            if isinstance(entry, str) and "$" not in entry and "=" not in entry and ":" not in entry:
                raise _error(f'{_show(entry)} is not a valid extra host: use "name=ip" or "name:ip"',
                             at + ("extra_hosts", i), positions)


def _check_short_syntax(service: dict, at: tuple, positions) -> None:
    """Short volume/device strings, parsed by the loader's own parsers, so a refusal names its line.

    The parsers live in compose.loader.shortsyntax (the canonical stage); without them this
    is skipped and the canonical stage reports the same refusal without a position.
    """
    try:
        from compose.loader.shortsyntax import parse_device, parse_volume
    except ImportError:
        return
    for key, parse in (("volumes", parse_volume), ("devices", parse_device)):
        entries = service.get(key)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if isinstance(entry, str) and "$" not in entry:
                try:
                    parse(entry)
                except LoadError as e:
                    raise _error(e.bare_message, at + (key, i), positions) from None


def _check_formats(doc: dict, positions: Positions | None) -> None:
    services = doc.get("services")
    if not isinstance(services, dict):
        return
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        _check_service_values(name, service, positions)
        for i, port in enumerate(service.get("ports") or []):
            if isinstance(port, (str, int, float)) and not isinstance(port, bool):
                text = str(port) if not isinstance(port, float) else repr(port)
                if "$" in text:  # not interpolated (--no-interpolate): nothing to judge yet
                    continue
                try:
                    parse_port_spec(text)
                except ValueError as e:
                    reason = f": {e}" if str(e) else ""
                    raise _error(f"{_show(text)} is not a valid port mapping{reason}",
                                 ("services", name, "ports", i), positions) from None
            elif isinstance(port, dict):
                _check_long_port(port, ("services", name, "ports", i), positions)


def _check_long_port(port: dict, path: tuple, positions: Positions | None) -> None:
    target, published = port.get("target"), port.get("published")
    for key, value in (("target", target), ("published", published)):
        if not isinstance(value, (int, str)) or isinstance(value, bool) \
                or (isinstance(value, str) and ("$" in value or value == "")):
            continue
        try:
            if key == "target":  # one container port per long-syntax entry; published may be a range
                _port_number(str(value))
            else:
                _port_range(str(value))
        except ValueError as e:
            raise _error(f"{_show(value)} is not a valid port: {e}", path + (key,), positions) from None
    proto = port.get("protocol")
    if isinstance(proto, str) and proto and "$" not in proto and proto.lower() not in _PROTOCOLS:
        raise _error(f'unknown protocol "{proto}" (use tcp, udp or sctp)', path + ("protocol",), positions)


# --------------------------------------------------------------------------- consistency of the canonical model


def _float32(v: Any) -> float:
    import struct

    return struct.unpack("f", struct.pack("f", float(v)))[0]


def _num(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        from compose.hash import _bytes

        return _bytes(v)


def check_consistency(project: dict, positions: Positions | None = None, *,
                      disabled: dict | None = None) -> None:
    """Check the canonical model's cross references and conflicting settings (compose-go's order).

    ``disabled``: services switched off by profiles (name -> service), so a dependency on one
    is told apart from a dependency on a service that does not exist.
    """
    try:
        _check_consistency(project, positions, disabled)
    except LoadError:
        raise
    except (TypeError, AttributeError, ValueError, KeyError) as e:
        # the canonical model is typed by construction; a value of the wrong shape still
        # deserves a sentence rather than a traceback
        raise LoadError(f"invalid compose model: {e.__class__.__name__}: {e}") from e


def _check_consistency(project: dict, positions: Positions | None, disabled: dict | None) -> None:
    from compose.graph import ServiceGraph, service_dependencies

    services = project.get("services") or {}
    networks = project.get("networks") or {}
    volumes = project.get("volumes") or {}
    secrets = project.get("secrets") or {}
    configs = project.get("configs") or {}
    models = project.get("models") or {}
    know_disabled = disabled is not None
    disabled = disabled or {}

    def fail(message: str, path: tuple) -> LoadError:
        return _error(message, path, positions, show_path=False)

    for name, s in services.items():
        s = s or {}
        at = ("services", name)
        build = s.get("build")
        if not build and not s.get("image") and not s.get("provider"):
            raise fail(f'service "{name}" has neither an image nor a build context specified: {INVALID}', at)
        if isinstance(build, dict):
            if build.get("dockerfile_inline") and build.get("dockerfile"):
                raise fail(f'service "{name}" declares mutualy exclusive dockerfile and dockerfile_inline: '
                           f"{INVALID}", at + ("build",))
            for ctx_name, ctx in (build.get("additional_contexts") or {}).items():
                if isinstance(ctx, str) and ctx.startswith("service:"):
                    target = ctx[len("service:"):]
                    if target not in services:
                        raise fail(f'service "{name}" declares unknown service "{target}" as additional '
                                   f"contexts {ctx_name}", at + ("build", "additional_contexts", ctx_name))
                    if not (services[target] or {}).get("build"):
                        raise fail(f'service "{name}" declares non-buildable service "{target}" as additional '
                                   f"contexts {ctx_name}", at + ("build", "additional_contexts", ctx_name))
            platforms = build.get("platforms") or []
            if platforms and s.get("platform") and s["platform"] not in platforms:
                raise fail(f'service.build.platforms MUST include service.platform "{s["platform"]}": {INVALID}',
                           at + ("platform",))
        if s.get("network_mode") and s.get("networks"):
            raise fail(f"service {name} declares mutually exclusive `network_mode` and `networks`: {INVALID}",
                       at + ("network_mode",))
        for net in s.get("networks") or {}:
            if net not in networks:
                raise fail(f'service "{name}" refers to undefined network {net}: {INVALID}', at + ("networks", net))
        test = (s.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise fail('healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"',
                       at + ("healthcheck", "test"))
        for dep, cfg in service_dependencies(s).items():
            if dep in services:
                continue
            if dep in disabled:
                if cfg.get("required", True):
                    profiles = (disabled[dep] or {}).get("profiles") or []
                    raise fail(f'service "{dep}" is required by "{name}" but is disabled. Can be enabled by '
                               f"profiles [{' '.join(profiles)}]", at + ("depends_on", dep))
                continue
            if not cfg.get("required", True) and not know_disabled:
                continue  # maybe switched off by a profile: without the list, give it the benefit of the doubt
            raise fail(f'service "{name}" depends on undefined service "{dep}": {INVALID}', at + ("depends_on", dep))
        for key in ("network_mode", "ipc", "pid", "uts", "cgroup"):
            ref = s.get(key)
            if isinstance(ref, str) and ref.startswith("service:") and ref[8:] not in services:
                raise fail(f"service \"{ref[8:]}\" not found for {key} '{ref}'", at + (key,))
        for i, vol in enumerate(s.get("volumes") or []):
            if isinstance(vol, dict) and vol.get("type") == "volume" and vol.get("source") \
                    and vol["source"] not in volumes:
                raise fail(f'service "{name}" refers to undefined volume {vol["source"]}: {INVALID}',
                           at + ("volumes", i))
        if isinstance(build, dict):
            for i, sec in enumerate(build.get("secrets") or []):
                src = sec.get("source") if isinstance(sec, dict) else sec
                if src not in secrets:
                    raise fail(f'service "{name}" refers to undefined build secret {src}: {INVALID}',
                               at + ("build", "secrets", i))
        for i, cfg in enumerate(s.get("configs") or []):
            src = cfg.get("source") if isinstance(cfg, dict) else cfg
            if src not in configs:
                raise fail(f'service "{name}" refers to undefined config {src}: {INVALID}', at + ("configs", i))
        for model in s.get("models") or {}:
            # `config` never prints top-level models, so a model without the section cannot be judged
            if "models" in project and model not in models:
                raise fail(f'service "{name}" refers to undefined model {model}: {INVALID}', at + ("models", model))
        for i, sec in enumerate(s.get("secrets") or []):
            src = sec.get("source") if isinstance(sec, dict) else sec
            if src not in secrets:
                raise fail(f'service "{name}" refers to undefined secret {src}: {INVALID}', at + ("secrets", i))
        _check_scale(name, s, at, fail)
        _check_limits(name, s, at, fail)
        for i, watch in enumerate(((s.get("develop") or {}).get("watch")) or []):
            if not watch.get("target") and watch.get("action") not in ("rebuild", "restart"):
                raise fail(f"services.{name}.develop.watch: target is required for non-rebuild actions: {INVALID}",
                           at + ("develop", "watch", i))
        _check_mounts(name, s, at, fail)
        _check_ports(name, s, at, fail)

    for name, secret in secrets.items():
        secret = secret or {}
        if secret.get("external"):
            continue
        if not secret.get("file") and not secret.get("environment"):
            raise fail(f'secret "{name}" must declare either `file` or `environment`: {INVALID}', ("secrets", name))

    owners: dict[str, str] = {}
    for name, s in services.items():
        cname = (s or {}).get("container_name")
        if cname:
            if cname in owners:
                raise fail(f'services.{name}: container name "{cname}" is already in use by service '
                           f'"{owners[cname]}"', ("services", name, "container_name"))
            owners[cname] = name

    graph = ServiceGraph(services)
    cycle = graph.find_cycle()
    if cycle:
        from compose.errors import DependencyCycleError

        file, line, column = _where(positions, ("services", cycle[0], "depends_on"))
        raise DependencyCycleError("dependency cycle: " + " -> ".join(cycle), file=file, line=line, column=column)


def _check_scale(name: str, s: dict, at: tuple, fail) -> None:
    scale = s.get("scale")
    replicas = (s.get("deploy") or {}).get("replicas")
    if scale is not None and replicas is not None and scale != replicas:
        raise fail(f"services.{name}: can't set distinct values on 'scale' and 'deploy.replicas': {INVALID}",
                   at + ("deploy", "replicas"))
    if scale is not None and scale < 0:
        raise fail(f"services.{name}.scale: must be greater than or equal to 0", at + ("scale",))
    if replicas is not None and replicas < 0:
        raise fail(f"services.{name}.deploy.replicas: must be greater than or equal to 0", at + ("deploy", "replicas"))
    effective = scale if scale is not None else replicas if replicas is not None else 1
    if effective > 1 and s.get("container_name"):
        attr = "scale" if scale is not None else "deploy.replicas"
        raise fail(f"services.{name}: can't set container_name and {attr} as container name must be unique: "
                   f"{INVALID}", at + ("container_name",))


def _check_limits(name: str, s: dict, at: tuple, fail) -> None:
    resources = ((s.get("deploy") or {}).get("resources")) or {}
    limits, reservations = resources.get("limits"), resources.get("reservations")
    pairs = [
        ("cpus", "deploy.resources.limits.cpus", limits, "cpus", _float32),
        ("mem_limit", "deploy.resources.limits.memory", limits, "memory", _num),
        ("mem_reservation", "deploy.resources.reservations.memory", reservations, "memory", _num),
        ("pids_limit", "deploy.resources.limits.pids", limits, "pids", _num),
    ]
    if s.get("deploy") is None:
        return
    for key, other, section, sub, conv in pairs:
        value = s.get(key)
        if not value or section is None:
            continue
        mine = conv(value)
        theirs = conv(section.get(sub) or 0)
        if mine != 0 and mine != theirs:
            raise fail(f"services.{name}: can't set distinct values on '{key}' and '{other}': {INVALID}",
                       at + (key,))


def _check_mounts(name: str, s: dict, at: tuple, fail) -> None:
    mounts: dict[str, str] = {}
    for i, tmpfs in enumerate(s.get("tmpfs") or []):
        loc = f"services.{name}.tmpfs[{i}]"
        target = str(tmpfs).split(":", 1)[0]
        if target in mounts:
            raise fail(f"{loc}: target {target} already mounted as {mounts[target]}", at + ("tmpfs", i))
        mounts[target] = loc
    for i, vol in enumerate(s.get("volumes") or []):
        if not isinstance(vol, dict):
            continue
        loc = f"services.{name}.volumes[{i}]"
        target = vol.get("target")
        if target in mounts:
            raise fail(f"{loc}: target {target} already mounted as {mounts[target]}", at + ("volumes", i))
        mounts[target] = loc


def _check_ports(name: str, s: dict, at: tuple, fail) -> None:
    for i, port in enumerate(s.get("ports") or []):
        if not isinstance(port, dict):
            continue
        where = f"services.{name}.ports[{i}]"
        target, published = port.get("target"), port.get("published")
        try:
            if target is not None:
                lo, hi = _port_range(str(target))
                if lo == 0:
                    raise ValueError("container port must be between 1 and 65535")
            if published not in (None, ""):
                _port_range(str(published))
        except ValueError as e:
            raise fail(f"{where}: invalid port: {e}", at + ("ports", i))
