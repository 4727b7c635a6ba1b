"""What the options of compose's commands start with: the services named on the command line.

WHY a base: up, build, pull and push each take the services the user named (none: every
service) before their own flags; one definition keeps that field the same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ServiceOptions:
    services: list[str] = field(default_factory=list)  # named on the command line; empty: all of them
