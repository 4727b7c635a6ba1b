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

