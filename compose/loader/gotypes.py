"""The compose-go v2 model types, as data: field order, JSON/YAML keys, Go type, omitempty.

WHY: `docker compose config` prints Go structs; their field order, the keys they drop
when empty and how each Go type marshals decide the exact output. Generated once from
compose-go v2.9.1 types/*.go (field declarations only) and kept as plain data in
gotypes.json: per struct, its fields in order, each ``yaml_key[/json_key]:GoType[flags]``
(``-`` = no key; flags: ``!`` neither encoding omits it when empty, ``!j`` JSON keeps it,
``!y`` YAML keeps it). ``STRUCTS`` holds them as
(yaml_key, json_key, go_type, json_omitempty, yaml_omitempty) tuples.
"""
from __future__ import annotations

import json
import os

_OMIT = {"": (True, True), "!": (False, False), "!j": (False, True), "!y": (True, False)}


def _field(spec: str) -> tuple:
    keys, _, gotype = spec.partition(":")
    flags = ""
    if "!" in gotype:
        gotype, flags = gotype[:gotype.index("!")], gotype[gotype.index("!"):]
    ykey, renamed, jkey = keys.partition("/")
    ykey = None if ykey == "-" else ykey
    jkey = (None if jkey == "-" else jkey) if renamed else ykey
    return (ykey, jkey, gotype, *_OMIT[flags])


def _load() -> dict[str, list[tuple]]:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gotypes.json"), encoding="utf-8") as fh:
        table = json.load(fh)
    return {name: [_field(spec) for spec in fields.split()] for name, fields in table.items()}


STRUCTS = _load()

# named types that are plain aliases of another type
ALIASES = {
    "ServiceConfigObjConfig": "FileReferenceConfig",
    "ServiceSecretConfig": "FileReferenceConfig",
    "SecretConfig": "FileObjectConfig",
    "ConfigObjConfig": "FileObjectConfig",
    "DependsOnConfig": "map[string]ServiceDependency",
    "Services": "map[string]ServiceConfig",
    "Networks": "map[string]NetworkConfig",
    "Volumes": "map[string]VolumeConfig",
    "Secrets": "map[string]SecretConfig",
    "Configs": "map[string]ConfigObjConfig",
    "Models": "map[string]ModelConfig",
    "WatchAction": "string",
    "MappingWithColon": "map[string]string",
}


# the project's sections and the Go type of each (keys not named here, ``x-*``, are untyped)
PROJECT_TYPES = {"services": "map[string]ServiceConfig", "networks": "map[string]NetworkConfig",
                 "volumes": "map[string]VolumeConfig", "secrets": "map[string]FileObjectConfig",
                 "configs": "map[string]FileObjectConfig", "models": "map[string]ModelConfig"}

_JSON_FIELDS = {name: {jkey: gotype for _y, jkey, gotype, _jo, _yo in fields if jkey}
                for name, fields in STRUCTS.items()}


def map_typed(value, gotype: str, leaves: dict):
    """A decoded ``gotype`` value (JSON keys) with each non-null value of a type named in ``leaves``
    replaced by ``leaves[type](value)``; everything else, ``x-*`` keys included, as it was.

    WHY: the model carries sizes, durations and file modes as numbers, and only ``config``'s
    output turns them back into Compose's strings; this is the one walk that finds them."""
    if value is None:
        return None
    t = ALIASES.get(gotype.lstrip("*"), gotype.lstrip("*"))
    leaf = leaves.get(t)
    if leaf is not None:
        return leaf(value)
    if t.startswith("[]") and isinstance(value, list):
        return [map_typed(x, t[2:], leaves) for x in value]
    if t.startswith("map[string]") and isinstance(value, dict):
        inner = t[len("map[string]"):]
        return {k: map_typed(v, inner, leaves) for k, v in value.items()}
    fields = _JSON_FIELDS.get(t)
    if fields is None or not isinstance(value, dict):
        return value
    return {k: map_typed(v, fields[k], leaves) if k in fields else v for k, v in value.items()}


def map_project(model: dict, leaves: dict) -> dict:
    """``map_typed`` over each section of a project model (``PROJECT_TYPES``)."""
    return {k: map_typed(v, PROJECT_TYPES[k], leaves) if k in PROJECT_TYPES else v for k, v in model.items()}
