"""A loaded compose project: its identity, its canonical model and its dependency graph.

WHY one plain dataclass: everything after loading (the CLI, planning, scheduling,
conversion, printing) takes this same object and reads the same model
``pycompose config --format json`` shows, so what users see with ``config`` is
exactly what ``up`` acts on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass
class Project:
    name: str
    working_dir: str = ""
    config_files: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)  # os.environ + .env (build args, secrets)
    model: dict = field(default_factory=dict)  # exactly what `config --format json` prints
    env_files: list[str] = field(default_factory=list)      # --env-file / .env used
    profiles: list[str] = field(default_factory=list)       # active profiles
    all_services: list[str] = field(default_factory=list)   # incl. services of inactive profiles
    disabled_services: dict[str, dict] = field(default_factory=dict)
    # the model plus service-level `x-*` keys, which `config` prints in YAML only
    model_with_extensions: dict | None = None

    @property
    def services(self) -> dict[str, dict]:
        return self.model.get("services") or {}

    @property
    def service_names(self) -> list[str]:
        return sorted(self.services)

    def service(self, name: str) -> dict:
        from compose.errors import ComposeError

        try:
            return self.services[name]
        except KeyError:
            raise ComposeError(f"no such service: {name}") from None

    @cached_property
    def graph(self):
        """The services' ServiceGraph: every closure and order question goes to it."""
        from compose.graph import ServiceGraph

        return ServiceGraph(self.services)

    @property
    def networks(self) -> dict[str, dict]:
        return self.model.get("networks") or {}

    @property
    def volumes(self) -> dict[str, dict]:
        return self.model.get("volumes") or {}

    def image_name(self, service: str) -> str:
        """The service's image, or Compose's default ``<project>-<service>``."""
        return self.services[service].get("image") or f"{self.name}-{service}"
