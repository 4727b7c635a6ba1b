"""Platforms (``linux/arm64/v8``): parsing, the host's, and choosing one from an index.

Pure rules, as containerd applies them for Docker: architecture names are normalised
(``x86_64`` -> ``amd64``, ``aarch64`` -> ``arm64``), arm64's default variant is v8 and
arm's v7, and an empty variant asked for accepts any variant of the architecture.
"""
from __future__ import annotations

import platform as _platform
from dataclasses import dataclass

from engine.errors import InvalidArgument

_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armhf": "arm", "armel": "arm", "armv7l": "arm", "armv6l": "arm", "arm": "arm",
         "i386": "386", "i686": "386", "386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
         "riscv64": "riscv64", "mips64le": "mips64le", "loong64": "loong64"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def normalize(os_: str, arch: str, variant: str = "") -> Platform:
    """Canonical names; arm64's v8 and amd64's v1 are their defaults and so dropped."""
    os_ = (os_ or "linux").lower()
    arch = _ARCH.get((arch or "").lower(), (arch or "").lower())
    variant = (variant or "").lower()
    if arch == "arm64" and variant in ("8", "v8"):
        variant = ""
    elif arch == "amd64" and variant in ("1", "v1"):
        variant = ""
    elif arch == "arm" and variant in ("5", "6", "7", "8"):
        variant = "v" + variant
    elif arch == "arm" and not variant:
        variant = "v7"
    return Platform(os_, arch, variant)


def parse(spec: str) -> Platform:
    """``os[/arch[/variant]]`` as ``--platform`` takes it (``linux/arm64``, ``linux/arm/v6``)."""
    parts = [p.strip() for p in (spec or "").split("/")]
    if not spec or len(parts) > 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {spec!r}: expected os/arch[/variant], e.g. linux/amd64")
    if len(parts) == 1:
        if parts[0].lower() in _ARCH:  # "arm64" alone means linux/arm64
            return normalize("linux", parts[0])
        return normalize(parts[0], host().architecture, host().variant)
    return normalize(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def host() -> Platform:
    """The platform of this machine."""
    machine = _platform.machine().lower()
    variant = {"armv6l": "v6", "armv7l": "v7"}.get(machine, "")
    return normalize("linux", machine, variant)


def of_descriptor(desc: dict) -> Platform | None:
    """The platform of an index entry, None when it has none (or is an attestation)."""
    p = desc.get("platform") or {}
    if not p.get("architecture") or p.get("architecture") == "unknown":
        return None
    return normalize(p.get("os") or "linux", p["architecture"], p.get("variant") or "")


def matches(want: Platform, have: Platform) -> bool:
    """True when an image built for ``have`` is what ``want`` asks for."""
    if want.os != have.os or want.architecture != have.architecture:
        return False
    if want.architecture == "arm" and want.variant and have.variant:
        return have.variant <= want.variant  # an armv7 host runs v6 and v5 images
    return not want.variant or want.variant == have.variant


def select(manifests: list[dict], want: Platform) -> dict | None:
    """The best entry of an index for ``want``: an exact variant first, then the closest."""
    found = [(p, d) for d in manifests if (p := of_descriptor(d)) is not None and matches(want, p)]
    if not found:
        return None
    found.sort(key=lambda pd: (pd[0].variant != want.variant, [-ord(c) for c in pd[0].variant]))
    return found[0][1]


def offered(manifests: list[dict]) -> list[str]:
    """The platforms an index offers, as ``os/arch[/variant]`` strings (attestations left out)."""
    out = []
    for d in manifests:
        p = (d.get("platform") or {})
        if not p.get("architecture") or p.get("architecture") == "unknown":
            continue
        s = "/".join(x for x in (p.get("os") or "linux", p["architecture"], p.get("variant") or "") if x)
        if s not in out:
            out.append(s)
    return out
