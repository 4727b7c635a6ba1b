"""The compose-spec JSON schema, and a compiled checker that answers "valid?" quickly.

Speed: jsonschema walks 500 services in about 0.1 s, so a small compiled checker (closures
over the same schema, a boolean answer only) decides first whether a document is valid (a
few ms); jsonschema runs only to explain a failure (compose.loader.schema_errors).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Callable

from compose.errors import LoadError

# The schema ships inside the package (compose/loader/compose-spec.json, a link to the repository's
# schemas/compose-spec.json that wheels and sdists store as a file), so an installed pycompose finds it.
SCHEMA_RESOURCE = "compose-spec.json"

@lru_cache(maxsize=1)
def load_schema() -> dict:
    from importlib import resources

    res = resources.files(__package__) / SCHEMA_RESOURCE
    try:
        return json.loads(res.read_bytes())
    except OSError as e:  # a broken install: the package lost its data file
        raise LoadError(f"cannot read the compose-spec schema {res}: {e.strerror}; "
                        "reinstall pycompose (pip install --force-reinstall pycompose)") from None


@lru_cache(maxsize=1)
def validator():
    import jsonschema

    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


# ---- a small compiled checker: same answers as jsonschema for this schema, much faster

_ANNOTATIONS = {"description", "deprecated", "default", "title", "$schema", "$id", "$comment", "examples", "definitions",
                "format"}


class _Unsupported(Exception):
    """The schema uses a keyword the fast checker does not know: always use jsonschema."""


def is_type(value: Any, t: str) -> bool:
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


def uniq_key(value: Any):
    """Equality key with jsonschema's semantics (True != 1, 1 == 1.0, dicts unordered)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, list):
        return ("l", tuple(uniq_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", frozenset((k, uniq_key(v)) for k, v in value.items()))
    return ("s", value)


_KNOWN = {"type", "properties", "patternProperties", "additionalProperties", "items", "oneOf", "anyOf", "allOf",
          "enum", "required", "minimum", "maximum", "uniqueItems", "pattern", "$ref", "not", "const", "minItems",
          "maxItems", "minLength", "minProperties"}
Check = Callable[[Any], bool]


def _compile(schema: Any, root: dict, refs: dict) -> Check:
    """One closure answering whether a value satisfies ``schema`` (``refs``: compiled definitions)."""
    if schema is True or schema == {}:
        return lambda v: True
    if schema is False:
        return lambda v: False
    unknown = set(schema) - _ANNOTATIONS - _KNOWN
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    checks = [c for part in (_ref_check, _value_checks, _object_check, _array_check, _combinator_checks,
                             _scalar_checks) for c in part(schema, root, refs)]
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v, _c=tuple(checks): all(c(v) for c in _c)


def _ref_check(schema: dict, root: dict, refs: dict) -> list[Check]:
    if "$ref" not in schema:
        return []
    ref = schema["$ref"]
    if not ref.startswith("#/definitions/"):
        raise _Unsupported(ref)
    name = ref.rsplit("/", 1)[1]
    if name not in refs:
        refs[name] = None  # placeholder breaks recursion
        refs[name] = _compile(root["definitions"][name], root, refs)
    return [lambda v, _n=name: refs[_n](v)]


def _value_checks(schema: dict, root: dict, refs: dict) -> list[Check]:
    """``type``, ``enum`` and ``const``."""
    checks: list[Check] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for t in types:
            is_type(None, t)  # raises on unknown type names
        checks.append(_type_check(tuple(types)))
    if "enum" in schema:
        keys = {uniq_key(e) for e in schema["enum"]}
        checks.append(lambda v, _k=keys: uniq_key(v) in _k)
    if "const" in schema:
        key = uniq_key(schema["const"])
        checks.append(lambda v, _k=key: uniq_key(v) == _k)
    return checks


def _object_check(schema: dict, root: dict, refs: dict) -> list[Check]:
    if not any(k in schema for k in ("properties", "patternProperties", "additionalProperties", "required",
                                     "minProperties")):
        return []
    props = {k: _compile(s, root, refs) for k, s in (schema.get("properties") or {}).items()}
    patterns = [(re.compile(p), _compile(s, root, refs)) for p, s in (schema.get("patternProperties") or {}).items()]
    additional = schema.get("additionalProperties", True)
    add_check = None if additional is True else _compile(additional, root, refs)
    required = tuple(schema.get("required") or ())
    min_props = schema.get("minProperties", 0)

    def check_object(v, props=props, patterns=patterns, add_check=add_check, required=required,
                     min_props=min_props):
        if not isinstance(v, dict):
            return True
        if len(v) < min_props or any(r not in v for r in required):
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

    return [check_object]


def _array_check(schema: dict, root: dict, refs: dict) -> list[Check]:
    if not any(k in schema for k in ("items", "uniqueItems", "minItems", "maxItems")):
        return []
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
            keys = [uniq_key(e) for e in v]
            return len(set(keys)) == len(keys)
        return True

    return [check_array]


def _combinator_checks(schema: dict, root: dict, refs: dict) -> list[Check]:
    """``oneOf``, ``anyOf``, ``allOf`` and ``not``."""
    checks: list[Check] = []
    subs = {k: [_compile(s, root, refs) for s in schema[k]] for k in ("oneOf", "anyOf", "allOf") if k in schema}
    if "oneOf" in subs:
        checks.append(lambda v, _s=subs["oneOf"]: sum(1 for s in _s if s(v)) == 1)
    if "anyOf" in subs:
        checks.append(lambda v, _s=subs["anyOf"]: any(s(v) for s in _s))
    if "allOf" in subs:
        checks.append(lambda v, _s=subs["allOf"]: all(s(v) for s in _s))
    if "not" in schema:
        sub = _compile(schema["not"], root, refs)
        checks.append(lambda v, _s=sub: not _s(v))
    return checks


def _scalar_checks(schema: dict, root: dict, refs: dict) -> list[Check]:
    """``minimum``, ``maximum``, ``pattern`` and ``minLength``."""
    checks: list[Check] = []
    for kw, op in (("minimum", lambda v, m: v >= m), ("maximum", lambda v, m: v <= m)):
        if kw in schema:
            checks.append(lambda v, _m=schema[kw], _op=op: not is_type(v, "number") or _op(v, _m))
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        checks.append(lambda v, _r=rx: not isinstance(v, str) or bool(_r.search(v)))
    if "minLength" in schema:
        checks.append(lambda v, _m=schema["minLength"]: not isinstance(v, str) or len(v) >= _m)
    return checks


_CLASSES = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}


def _type_check(types: tuple) -> Callable[[Any], bool]:
    """A type test for a ``type`` keyword; plain isinstance when no number kinds are involved."""
    if all(t in _CLASSES for t in types):
        classes = tuple(_CLASSES[t] for t in types)
        return lambda v: isinstance(v, classes)
    return lambda v: any(is_type(v, t) for t in types)


@lru_cache(maxsize=1)
def _fast_checker() -> Callable[[Any], bool] | None:
    root = load_schema()
    try:
        return _compile(root, root, {})
    except _Unsupported:
        return None


def schema_is_valid(doc: Any) -> bool:
    """True when ``doc`` satisfies the compose-spec schema (fast path, same answer as jsonschema)."""
    fast = _fast_checker()
    if fast is not None:
        return fast(doc)
    return validator().is_valid(doc)
