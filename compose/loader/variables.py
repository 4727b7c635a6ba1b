"""``config --variables``: the variables a model uses, with their defaults.

WHY: users want to know which variables a compose file expects before running it;
Compose lists name, whether it is required, its default and its alternate value.
"""
from __future__ import annotations

import json
import re

from compose.loader.interpolate import _PATTERN, _closing_brace

_NAME_END = re.compile(r"[^A-Za-z0-9_]")


def _extract(value: str, out: dict) -> None:
    for m in _PATTERN.finditer(value):
        if m.group("escaped"):
            continue
        val = m.group("named")
        if not val:
            val = m.group("braced") or ""
            s = m.group(0)
            i = _closing_brace(s)
            if i > 0:
                val = s[2:i]
                if len(s) > i:
                    _extract(s[i + 1:], out)
        if not val:
            continue
        name, default, presence, required = val, "", "", False
        e = _NAME_END.search(val)
        if e and e.start() > 0:
            name, rest = val[: e.start()], val[e.start():]
            if rest.startswith(":?") or rest.startswith("?"):
                required = True
            elif rest.startswith(":-"):
                default = rest[2:]
            elif rest.startswith("-"):
                default = rest[1:]
            elif rest.startswith(":+"):
                presence = rest[2:]
            elif rest.startswith("+"):
                presence = rest[1:]
        out[name] = {"Name": name, "DefaultValue": default, "PresenceValue": presence, "Required": required}
        if default:
            _extract(default, out)
        if presence:
            _extract(presence, out)


def extract_variables(model) -> dict[str, dict]:
    out: dict[str, dict] = {}

    def walk(v):
        if isinstance(v, str):
            _extract(v, out)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(model)
    return {k: out[k] for k in sorted(out)}


def render_variables(variables: dict[str, dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(variables, indent=2) + "\n"
    if fmt == "yaml":
        from compose.loader.output import to_yaml

        return to_yaml({k: {"name": v["Name"], "defaultvalue": v["DefaultValue"],
                            "presencevalue": v["PresenceValue"], "required": v["Required"]}
                        for k, v in variables.items()})
    rows = [("NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE")]
    rows += [(v["Name"], "true" if v["Required"] else "false", v["DefaultValue"], v["PresenceValue"])
             for v in variables.values()]
    # docker's table writer: tabwriter(minwidth 20, padding 3), last column unpadded
    widths = [max(20, max(len(r[i]) for r in rows) + 3) for i in range(3)]
    return "".join("".join(c.ljust(widths[i]) for i, c in enumerate(r[:3])) + r[3] + "\n" for r in rows)
