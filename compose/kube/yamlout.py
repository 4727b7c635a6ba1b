"""The YAML writer: Kubernetes objects to text, the same bytes for the same input.

WHY its own module: determinism is a promise of the command (keys sorted, block style,
literal blocks for multi-line strings, strings that look like numbers or booleans quoted
for YAML 1.1 readers such as kubectl's), and Helm templates need raw ``{{ }}`` inserted
where a value goes, which no YAML library writes.
"""
from __future__ import annotations

import yaml


class Raw(str):
    """Text written verbatim as a scalar (a Helm template expression)."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # the same dict twice is written twice, never as &anchor
        return True


def _str(dumper, value: str):
    style = "|" if "\n" in value and _literal_ok(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _literal_ok(value: str) -> bool:
    # PyYAML falls back to quoting anyway for these; keep the choice explicit
    return not any(line.endswith((" ", "\t")) for line in value.split("\n")) and "\r" not in value


_RAW_MARK = "@@raw@@"


def _raw(dumper, value: Raw):
    return dumper.represent_scalar("tag:yaml.org,2002:str", _RAW_MARK + str(value) + _RAW_MARK, style="'")


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Raw, _raw)


def dump(obj) -> str:
    """One document, keys sorted."""
    text = yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                     allow_unicode=True, width=4096, indent=2)
    if _RAW_MARK in text:
        text = text.replace("'" + _RAW_MARK, "").replace(_RAW_MARK + "'", "")
    return text


def dump_file(header: list[str], docs: list) -> str:
    """A file: ``# header`` lines, then the documents separated by ``---``."""
    head = "".join(f"# {line}\n" for line in header)
    return head + "---\n".join(dump(d) for d in docs)
