"""Hypothesis strategies for compose documents, built from schemas/compose-spec.json.

``Gen(rng).document()`` draws a document that follows the schema (keys, types, enums, required keys,
$refs, oneOf), with values picked from pools of what compose files hold (durations, sizes,
ports, paths, interpolations) so the later stages see plausible input, not only the schema
check. ``near_valid(rng)`` takes such a document and breaks one thing: a value of the wrong type,
an unknown key, a bad interpolation, a reference to a missing service or network, or the YAML
text itself (cut short, a tab, a duplicate key, an unclosed quote).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _schema() -> dict:
    for p in (REPO / "compose" / "loader" / "compose-spec.json", REPO / "schemas" / "compose-spec.json"):
        if p.exists():
            return json.loads(p.read_text())
    import importlib.resources

    return json.loads(importlib.resources.files("compose").joinpath("schemas/compose-spec.json").read_text())


SCHEMA = _schema()
NAMES = ["web", "db", "cache", "a", "x-1", "a.b", "svc_2", "Web", "front", "back", "data", "-bad", "é", ""]
KEY_POOL = ["k", "FOO", "a.b", "x-y", "with space", "PATH", "1", "net.core.somaxconn", "nofile"]
STRINGS = {
    "duration": ["1s", "1m30s", "10ms", "0s", "2h", "1.5s", "-1s", "1x", "", "1d"],
    "size": ["1g", "512m", "100k", "1024", "1.5gb", "0", "-1", "lots", "1e3"],
    "port": ["80", "8080:80", "127.0.0.1::80", "127.0.0.1:8080:80/udp", "8000-8010:80-90", "[::1]:80:80",
             "80/sctp", "99999:80", "a:b", "::", "8080:80:70"],
    "volume": ["/data", "data:/data", "./src:/src:ro", "~/x:/x:rw,z", "/a:/b:bad", "c:\\x:/y", "data:rel",
               ":/x", "data:/data:nocopy"],
    "generic": ["", "a", "busybox", "busybox:latest", "${VAR}", "${VAR:-def}", "${VAR:?needs VAR}", "$$x",
                "$", "${", "${VAR", "/abs/path", "./rel", "1.5", "x:y:z", "true", "no", "on", "null", "~",
                "a\nb", "é", "0x1F", "sh -c 'echo hi'", "*", "{}", "[]", "- x"],
}
WELL_FORMED = {
    "duration": ["1s", "1m30s", "10ms", "2h"], "size": ["1g", "512m", "100k", "1024"],
    "port": ["80", "8080:80", "127.0.0.1::80", "127.0.0.1:8080:80/udp"],
    "volume": ["/data", "data:/data", "./src:/src:ro"],
    "generic": ["a", "busybox", "${VAR}", "${VAR:-def}", "$$x", "/abs/path", "./rel", "web", "1"],
}
_FIELD_KIND = {
    "interval": "duration", "timeout": "duration", "start_period": "duration", "start_interval": "duration",
    "stop_grace_period": "duration", "delay": "duration", "window": "duration", "monitor": "duration",
    "mem_limit": "size", "memswap_limit": "size", "mem_reservation": "size", "shm_size": "size",
    "memory": "size", "size": "size", "ports": "port", "expose": "port", "published": "port",
    "volumes": "volume", "source": "volume",
}


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _keys_for(pattern: str) -> list[str]:
    pool = NAMES + KEY_POOL + ["x-ext", "x-"]
    return [k for k in pool if re.search(pattern, k)] or ["k"]


class Gen:
    """Draws from ``rng`` (a ``random.Random`` that hypothesis controls): plain Python is a
    hundred times faster than composed strategies, which is what makes 10,000 cases affordable."""

    def __init__(self, rng, strict: bool = False):
        self.r = rng
        self.strict = strict  # well-formed strings only: more documents get past validation

    def value(self, node: dict, field: str | None = None, depth: int = 0):
        """A value that ``node`` (a schema node) accepts."""
        r = self.r
        node = _resolve(node)
        if "enum" in node:
            return r.choice(node["enum"])
        alts = node.get("oneOf") or node.get("anyOf")
        if alts:
            return self.value(r.choice(alts), field, depth + 1)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = r.choice(kind)
        if kind == "object" or (kind is None and ("properties" in node or "patternProperties" in node)):
            return self.obj(node, depth)
        if kind == "array":
            items = node.get("items") or {"type": "string"}
            n = r.randint(0, 3 if depth < 5 else 0)
            out = [self.value(items, field, depth + 1) for _ in range(n)]
            if node.get("uniqueItems"):
                seen, uniq = set(), []
                for v in out:
                    k = json.dumps(v, sort_keys=True, default=str)
                    if k not in seen:
                        seen.add(k)
                        uniq.append(v)
                out = uniq
            return out
        if kind == "string":
            return self.string(field)
        if kind == "integer":
            return r.randint(node.get("minimum", -5), node.get("maximum", 70000))
        if kind == "number":
            return r.choice([r.randint(-5, 1 << 31), round(r.uniform(-10, 1e6), 3)])
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "null":
            return None
        return r.choice([None, self.string(field), r.randint(-5, 100)])

    def string(self, field: str | None) -> str:
        r = self.r
        kind = _FIELD_KIND.get(field or "", "generic")
        if self.strict:
            return r.choice(WELL_FORMED[kind])
        pool = STRINGS[kind]
        roll = r.random()
        if roll < 0.6:
            return r.choice(pool)
        if roll < 0.9:
            return r.choice(STRINGS["generic"])
        return "".join(r.choice("aZ09 -_./:${}\"'\té\u2603") for _ in range(r.randint(0, 6)))

    def obj(self, node: dict, depth: int) -> dict:
        r = self.r
        props = node.get("properties") or {}
        required = list(node.get("required") or [])
        optional = [k for k in props if k not in required]
        budget = 0 if depth > 5 else (4 if depth < 3 else 2)
        keys = required + r.sample(optional, min(len(optional), r.randint(0, budget)))
        out = {}
        for pattern, sub in (node.get("patternProperties") or {}).items():
            if pattern == "^x-" or not budget:
                continue
            for _ in range(r.randint(0, 2)):
                out[r.choice(_keys_for(pattern))] = self.value(sub, None, depth + 1)
        for k in keys:
            out[k] = self.value(props[k], k, depth + 1)
        return out

    def document(self) -> dict:
        """1-3 services, maybe networks, volumes, secrets, configs, a name."""
        r = self.r
        top = SCHEMA["properties"]
        service = {"$ref": "#/definitions/service"}
        doc: dict = {}
        if r.random() < 0.3:
            doc["name"] = r.choice(["proj", "Bad Name", "${NAME}", "x" * 70, ""])
        doc["services"] = {r.choice(NAMES[:7]): {"image": r.choice(["busybox", "busybox:latest", "${IMG:-busybox}"]),
                                                 **self.value(service, None, 1)}
                           for _ in range(r.randint(1, 3))}
        for k in ("networks", "volumes", "secrets", "configs"):
            if r.random() < 0.4:
                sub = next(iter(top[k]["patternProperties"].values()))
                doc[k] = {r.choice(NAMES[:9]): self.value(sub, None, 1) for _ in range(r.randint(0, 2))}
        return doc


def _paths(doc, prefix=()):
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    if not path:
        return value
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return doc


WRONG = [0, -1, 1.5, True, None, "", "x", [], ["x"], {}, {"k": "v"}, [{"a": 1}], "${", "${X:?gone}"]


def _break_value(doc, r):
    path, _ = r.choice(list(_paths(doc)))
    return _set(doc, path, r.choice(WRONG))


def _unknown_key(doc, r):
    objs = [v for _, v in _paths(doc) if isinstance(v, dict)]
    r.choice(objs)[r.choice(["unknown", "imagee", "x-ok", "services", "1", ""])] = "x"
    return doc


def _dangling(doc, r):
    s = doc["services"][r.choice(sorted(doc["services"]))]
    kind = r.choice(["depends_on", "networks", "volumes_from", "links", "extends", "secrets"])
    s[kind] = {"service": "missing"} if kind == "extends" else ["missing"]
    return doc


def _text_break(text: str, r) -> str:
    how = r.choice(["cut", "tab", "dup", "quote", "indent", "anchor", "merge", "bom", "nul", "deep"])
    at = r.randint(0, max(0, len(text) - 1))
    if how == "cut":
        return text[:at]
    if how == "tab":
        return text[:at] + "\t" + text[at:]
    if how == "dup":
        lines = text.splitlines(keepends=True)
        i = at % max(1, len(lines))
        return "".join(lines[:i + 1] + lines[i:i + 1] + lines[i + 1:])
    if how == "quote":
        return text[:at] + '"' + text[at:]
    if how == "indent":
        return text[:at] + "\n   x: [" + text[at:]
    if how == "anchor":
        return text + "\nx-a: &a [*a]\n"
    if how == "merge":
        return text + "\nx-m: &m {<<: *m}\n"
    if how == "bom":
        return "\ufeff" + text
    if how == "deep":
        return text + "\nx-deep: " + "[" * 1500 + "]" * 1500 + "\n"
    return text[:at] + "\0" + text[at:]


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: 10x faster than the Python one
KINDS = ["valid", "value", "key", "dangling", "text"]


def near_valid(rng) -> tuple[str, str]:
    """(yaml text, kind of breakage) of a drawn document with one thing broken (or none)."""
    kind = rng.choice(KINDS)
    doc = Gen(rng, strict=kind == "valid").document()
    if kind == "value":
        doc = _break_value(doc, rng)
    elif kind == "key":
        doc = _unknown_key(doc, rng)
    elif kind == "dangling":
        doc = _dangling(doc, rng)
    text = yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    if kind == "text":
        text = _text_break(text, rng)
    return text, kind
