"""The service dependency graph: what must start before what, and cycles.

Compose derives dependencies from ``depends_on`` and, implicitly, from
``links``, ``volumes_from`` and ``service:x`` in ``network_mode``/``ipc``/
``pid``/``uts``/``cgroup`` (compose-go adds those to ``depends_on`` while
normalising, with ``condition: service_started``, ``required: true``,
``restart: true`` except for volumes_from). We add them here too, so the graph
is right even for a model built with ``--no-normalize``.

Edges point from a service to what it depends on and carry ``condition``,
``required`` and ``restart``. Orders are deterministic (names sorted), and the
cycle reported is the one Compose reports (depth-first from the sorted names).
"""
from __future__ import annotations

from typing import Iterable


from compose.errors import ComposeError, DependencyCycleError, LoadError

SERVICE_PREFIX = "service:"
CONTAINER_PREFIX = "container:"
SHARED_NAMESPACES = ("network_mode", "ipc", "pid", "uts", "cgroup")


def implicit_dependencies(service: dict) -> dict[str, dict]:
    """``depends_on`` entries Compose infers from links, volumes_from and ``service:`` modes."""
    deps: dict[str, dict] = {}
    started = {"condition": "service_started", "required": True}
    for link in service.get("links") or []:
        parts = str(link).split(":")
        deps.setdefault(parts[0] if len(parts) == 2 else str(link), dict(started, restart=True))
    for key in SHARED_NAMESPACES:
        ref = service.get(key)
        if isinstance(ref, str) and ref.startswith(SERVICE_PREFIX):
            deps.setdefault(ref[len(SERVICE_PREFIX):], dict(started, restart=True))
    for ref in service.get("volumes_from") or []:
        ref = str(ref)
        if not ref.startswith(CONTAINER_PREFIX):
            deps.setdefault(ref.split(":")[0], dict(started, restart=False))
    return deps


def service_dependencies(service: dict) -> dict[str, dict]:
    """All dependencies of one service: explicit ``depends_on`` (long or short form) plus implicit ones."""
    explicit = service.get("depends_on") or {}
    if isinstance(explicit, list):
        explicit = {name: {} for name in explicit}
    deps: dict[str, dict] = {}
    for name, cfg in explicit.items():
        cfg = cfg or {}
        deps[name] = {"condition": cfg.get("condition", "service_started"),
                      "required": cfg.get("required", True), "restart": cfg.get("restart", False)}
    for name, cfg in implicit_dependencies(service).items():
        deps.setdefault(name, cfg)
    return deps


class ServiceGraph:
    """Dependency graph of a project's services (``services``: the model's ``services`` mapping)."""

    def __init__(self, services: dict):
        self.services = services
        # Plain adjacency first: checking for cycles (every `config`) needs no networkx,
        # which costs ~70 ms to import; the networkx graph is built on first query.
        self.edges: dict[str, dict[str, dict]] = {name: {} for name in services}
        self.missing: list[tuple[str, str, dict]] = []  # (service, undefined dependency, edge data)
        for name, service in services.items():
            for dep, data in service_dependencies(service or {}).items():
                if dep in services:
                    self.edges[name][dep] = data
                elif data["required"]:
                    self.missing.append((name, dep, data))
        self._graph = None

    @property
    def graph(self):
        """The networkx DiGraph (service -> dependency edges with their data), built lazily."""
        if self._graph is None:
            g = _nx().DiGraph()
            g.add_nodes_from(self.edges)
            for name, deps in self.edges.items():
                for dep, data in deps.items():
                    g.add_edge(name, dep, **data)
            self._graph = g
        return self._graph

    # ------------------------------------------------------------------ closures (plain edges, no networkx)

    def closure(self, names: Iterable[str], edges: dict | None = None) -> set[str]:
        """``names`` (those the project defines) and everything they need, transitively (or,
        given ``dependents_map()`` as ``edges``, everything that needs them)."""
        edges = self.edges if edges is None else edges
        want: set[str] = set()
        stack = [n for n in names if n in edges]
        while stack:
            name = stack.pop()
            if name not in want:
                want.add(name)
                stack.extend(edges[name])
        return want

    def in_model_order(self, names: Iterable[str]) -> list[str]:
        """``names`` and their dependencies, in the order the model lists services (``up SERVICE``)."""
        want = self.closure(names)
        return [n for n in self.services if n in want]

    def dependencies_first(self) -> list[str]:
        """Every service after its dependencies, else in model order; a cycle does not stop it
        (the plan needs this order before ``check`` reports cycles)."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str, path: tuple) -> None:
            if name in seen or name in path:
                return
            for dep in self.edges[name]:
                visit(dep, path + (name,))
            seen.add(name)
            order.append(name)

        for name in self.services:
            visit(name, ())
        return order

    def dependents_map(self) -> dict[str, set[str]]:
        """service -> the services that depend on it directly (stopping runs them first)."""
        out: dict[str, set[str]] = {name: set() for name in self.edges}
        for name, deps in self.edges.items():
            for dep in deps:
                out[dep].add(name)
        return out

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        """Raise when a required dependency is undefined or the dependencies form a cycle."""
        for name, dep, _ in self.missing:
            raise LoadError(f'service "{name}" depends on undefined service "{dep}": invalid compose project')
        cycle = self.find_cycle()
        if cycle:
            raise DependencyCycleError("dependency cycle: " + " -> ".join(cycle))

    def find_cycle(self) -> list[str] | None:
        """The cycle Compose would report, closed (``[a, b, a]``), or None.

        Depth-first from each service in name order, children in name order, like
        compose-go's graph.CheckCycle; nodes already fully explored are skipped,
        which finds the same first cycle without exponential walks.
        """
        done: set[str] = set()

        for start in sorted(self.edges):
            if start in done:
                continue
            path, on_path = [start], {start}
            stack = [iter(sorted(self.edges[start]))]
            while stack:
                child = next(stack[-1], None)
                if child is None:
                    stack.pop()
                    finished = path.pop()
                    on_path.discard(finished)
                    done.add(finished)
                    continue
                if child in on_path:
                    return path[path.index(child):] + [child]
                if child in done:
                    continue
                path.append(child)
                on_path.add(child)
                stack.append(iter(sorted(self.edges[child])))
        return None

    # ------------------------------------------------------------------ queries

    def _known(self, names: Iterable[str]) -> list[str]:
        names = list(names)
        for name in names:
            if name not in self.graph:
                raise ComposeError(f"no such service: {name}")
        return names

    def dependencies(self, name: str) -> dict[str, dict]:
        """Direct dependencies of ``name``: ``{service: {condition, required, restart}}``."""
        self._known([name])
        return {dep: dict(self.graph.edges[name, dep]) for dep in sorted(self.graph.successors(name))}

    def dependents(self, name: str) -> dict[str, dict]:
        """Services that depend directly on ``name``, with the same edge data."""
        self._known([name])
        return {dep: dict(self.graph.edges[dep, name]) for dep in sorted(self.graph.predecessors(name))}

    def with_dependencies(self, names: Iterable[str]) -> list[str]:
        """``names`` plus everything they need, transitively, in start order (``up SERVICE``)."""
        return self.start_order(self.closure(self._known(names)))

    def with_dependents(self, names: Iterable[str]) -> list[str]:
        """``names`` plus every service that needs them, transitively, in stop order (``stop SERVICE``)."""
        return self.stop_order(self.closure(self._known(names), self.dependents_map()))

    def start_order(self, subset: Iterable[str] | None = None) -> list[str]:
        """Dependencies before dependents; ties by name. ``subset`` restricts the result to those services."""
        self.check()
        nodes = set(self.graph.nodes) if subset is None else set(self._known(subset))
        order = _nx().lexicographical_topological_sort(self.graph.reverse(copy=False))
        return [n for n in order if n in nodes]

    def stop_order(self, subset: Iterable[str] | None = None) -> list[str]:
        """Dependents before their dependencies: the start order reversed."""
        return list(reversed(self.start_order(subset)))

    def levels(self, subset: Iterable[str] | None = None) -> list[list[str]]:
        """Start order as waves: each wave only needs services of earlier waves."""
        self.check()
        nodes = set(self.graph.nodes) if subset is None else set(self._known(subset))
        sub = self.graph.subgraph(nodes)
        return [sorted(gen) for gen in _nx().topological_generations(sub.reverse(copy=False))]


def _nx():
    """networkx, imported on first use (it costs ~70 ms at start-up)."""
    import networkx

    return networkx
