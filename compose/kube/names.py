"""Kubernetes names and labels from compose names.

WHY: compose names allow ``[a-zA-Z0-9._-]`` of any length; Kubernetes wants DNS-1123/1035
labels (lower case, ``-``, 63 characters) for object names and stricter forms for label keys
and values. Every conversion goes through here so a name is changed the same way everywhere,
and deterministically (a short hash keeps truncated or folded names distinct).
"""
from __future__ import annotations

import hashlib
import re

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _digest(text: str, n: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def dns_label(name: str, limit: int = 63, letter_first: bool = False) -> str:
    """A DNS label for ``name``: lower case, other characters folded to ``-``; a short hash
    replaces the tail of a name too long (collisions are NameTable's job)."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    out = re.sub(r"-{2,}", "-", out)
    if letter_first and (not out or not out[0].isalpha()):
        out = f"s-{out}" if out else "s"
    if len(out) > limit:
        out = out[: limit - 7].rstrip("-") + "-" + _digest(name)
    return out or f"x-{_digest(name)}"


def is_dns_label(name: str, limit: int = 63) -> bool:
    return len(name) <= limit and bool(_LABEL.match(name))


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(_SUBDOMAIN.match(name))


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def is_qualified_key(key: str) -> bool:
    """A label or annotation key: ``[prefix/]name`` (prefix a DNS subdomain, name <= 63)."""
    prefix, _, name = key.rpartition("/")
    if prefix and not is_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def label_value(text: str) -> str:
    """A label value standing for ``text`` (kept when already valid)."""
    if is_label_value(text):
        return text
    out = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")
    if len(out) > 56 or out != text:
        out = out[:56].strip("-_.") + ("-" if out[:56].strip("-_.") else "") + _digest(text)
    return out


def port_name(protocol: str, port: int) -> str:
    """An IANA-style port name (<= 15 characters, DNS-1123 label)."""
    return f"{protocol.lower()}-{port}"


class NameTable:
    """Assigns each compose name one Kubernetes name, never the same twice in a scope."""

    def __init__(self, letter_first: bool = False):
        self._by_source: dict = {}
        self._used: set[str] = set()
        self._letter_first = letter_first

    def assign(self, source: str) -> str:
        return self._take(source, source, source)

    def derived(self, key: tuple, wanted: str) -> str:
        """``wanted`` (e.g. ``web-ready``) for ``key``, or a hashed variant when another name has it."""
        return self._take(key, wanted, repr(key))

    def _take(self, key, wanted: str, salt: str) -> str:
        """The name ``key`` got before, else ``wanted`` as a DNS label, suffixed with a digest of
        ``salt`` when another key has that name already."""
        if key in self._by_source:
            return self._by_source[key]
        name = dns_label(wanted, letter_first=self._letter_first)
        if name in self._used:
            name = dns_label(f"{name[:55]}-{_digest(salt)}", letter_first=self._letter_first)
        self._used.add(name)
        self._by_source[key] = name
        return name

    def reserve(self, name: str) -> bool:
        """Take ``name`` as is; False when it is already used."""
        if name in self._used:
            return False
        self._used.add(name)
        return True

    def get(self, source: str) -> str | None:
        return self._by_source.get(source)
