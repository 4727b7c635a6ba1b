"""Builds on ``Engine.images`` (``docker build``, ``builder prune``, ``builder du``) and the
renderer of their progress, so engine/cli and compose reach engine.build only through here."""
from __future__ import annotations

import os
from typing import Any, BinaryIO, Callable

__all__ = ["BuildVerbs", "BuildError", "build_progress_renderer"]


def __getattr__(name: str):
    """``BuildError`` without importing the builder for callers that never build."""
    if name == "BuildError":
        from engine.build.errors import BuildError

        return BuildError
    raise AttributeError(f"module 'engine.api.builds' has no attribute {name!r}")


class BuildVerbs:
    """The build verbs of ``Images`` (``self._store``: the image store, ``self._engine``: the Engine)."""

    def build(self, context: str | os.PathLike | BinaryIO, dockerfile: str | None = None,
              dockerfile_inline: str | None = None, tags: list[str] = (), target: str | None = None,
              build_args: dict[str, str | None] | None = None, labels: dict | None = None, no_cache: bool = False,
              no_cache_filter: list[str] = (), pull: bool = False, network: str | None = None,
              extra_hosts: list[str] = (), shm_size: int | None = None,
              additional_contexts: dict[str, str] | None = None, secrets: dict[str, dict] | None = None,
              cache_from: list[str] = (), cache_to: list[str] = (), platform: str | None = None,
              progress: Callable[[dict], None] | None = None) -> str:
        """``docker build``: a Dockerfile and a context (a directory or a tar stream) -> the image id.

        ``progress`` receives BuildKit-like vertex events (see ``engine.build.progress``)."""
        from engine.build.executor import BuildOptions, build

        opts = BuildOptions(context=context, dockerfile=dockerfile, dockerfile_inline=dockerfile_inline,
                            tags=list(tags or []), target=target, build_args=dict(build_args or {}),
                            labels=dict(labels or {}), no_cache=no_cache, no_cache_filter=list(no_cache_filter or []),
                            pull=pull, network=network, extra_hosts=list(extra_hosts or []), shm_size=shm_size,
                            additional_contexts=dict(additional_contexts or {}), secrets=dict(secrets or {}),
                            cache_from=list(cache_from or []), cache_to=list(cache_to or []), platform=platform)
        return build(self._store, self, opts, progress)

    def prune_build_cache(self, all: bool = False, filters: dict[str, list[str]] | None = None,
                          keep_storage: int | None = None) -> dict:
        """``docker builder prune``: {"CachesDeleted": [...], "SpaceReclaimed": N}."""
        from engine.build.prune import prune

        return prune(self._engine.root, self._store, all=all, filters=filters, keep_storage=keep_storage)

    def build_cache_usage(self) -> list[dict]:
        """``docker builder du``: one dict per cache record (ID, Type, Size, Shared, InUse, LastUsedAt, ...)."""
        from engine.build.prune import usage

        return usage(self._engine.root, self._store)


def build_progress_renderer(mode: str | None = "auto", out: Any = None) -> Callable[[dict], None]:
    """A renderer for ``Images.build(progress=...)`` events (``auto|plain|tty|quiet``), with a
    ``close()``: compose's ``build`` and ``up --build`` print builds as ``image build`` does."""
    from engine.build.progress import renderer

    return renderer(mode, out)
