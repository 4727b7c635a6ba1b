"""Registry verbs on ``Engine.images`` (pull, push, search, digests), Docker's progress display of
them and the credential check ``login`` makes, so engine/cli reaches engine.registry only here."""
from __future__ import annotations

from typing import Callable

__all__ = ["RegistryVerbs", "MessageDisplay", "has_credentials"]


def __getattr__(name: str):
    """``MessageDisplay`` (docker's pull/push progress lines) on first use."""
    if name == "MessageDisplay":
        from engine.jsonmessage import MessageDisplay

        return MessageDisplay
    raise AttributeError(f"module 'engine.api.registry' has no attribute {name!r}")


def has_credentials(server: str | None) -> bool:
    """True when Docker's config (auths, credsStore or credHelpers) has credentials for ``server``."""
    from engine.registry import dockerconfig, names

    return dockerconfig.lookup(names.server_host(server)) is not None


class RegistryVerbs:
    """The registry verbs of ``Images`` (``self._store``: the image store; ``self._tagged_now``)."""

    def pull(self, ref: str, platform: str | None = None, all_tags: bool = False,
             progress: Callable[[dict], None] | None = None) -> dict:
        """``docker pull``: {"ref", "id", "digest", "status"}; progress gets Docker's JSON messages."""
        result = None
        if not all_tags:   # nothing to fetch: one HEAD request, httpx never imported (engine.registry.quick)
            from engine.registry import quick

            result = quick.up_to_date(self._store, ref, platform, progress)
        if result is None:
            from engine.registry import pull as pull_mod

            if all_tags:
                result = pull_mod.pull_all_tags(self._store, ref, platform, progress)
            else:
                result = pull_mod.pull(self._store, ref, platform, progress)
        self._tagged_now((result or {}).get("id"))
        return result

    def push(self, ref: str, all_tags: bool = False, progress: Callable[[dict], None] | None = None) -> list[dict]:
        """``docker push``: one {"ref", "tag", "digest", "size"} per tag pushed."""
        from engine.registry import push as push_mod

        return push_mod.push(self._store, ref, all_tags, progress)

    def search(self, term: str, limit: int = 25, filters: dict[str, list[str]] | None = None) -> list[dict]:
        """``docker search``: {"name", "description", "star_count", "is_official", "is_automated"}."""
        from engine.registry import search as search_mod

        return search_mod.search(term, limit, filters)

    def resolve_digest(self, ref: str, platform: str | None = None) -> str:
        """The registry's manifest digest for ``ref`` (``config --resolve-image-digests``)."""
        from engine.registry import pull as pull_mod

        return pull_mod.resolve_digest(ref, platform)
