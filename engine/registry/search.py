"""``docker search``: Docker Hub's search API for docker.io, the registry's catalog elsewhere.

A term naming a registry (``localhost:5000/web``) lists that registry's repositories
(``/v2/_catalog``) whose name contains the rest of the term. Filters are Docker's:
``stars=N``, ``is-official=true|false``, ``is-automated=true|false``.
"""
from __future__ import annotations

from engine.errors import InvalidArgument, RegistryError
from engine.registry import endpoints, names
from engine.registry.session import Session, code_text, registry_error

HUB_SEARCH = "https://index.docker.io/v1/search"
FILTERS = ("stars", "is-official", "is-automated")


def _split(term: str) -> tuple[str, str]:
    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return names.server_host(first), rest
    return names.DOCKER_HUB, term


def _bool(key: str, v: str) -> bool:
    if v.lower() in ("1", "true"):
        return True
    if v.lower() in ("0", "false"):
        return False
    raise InvalidArgument(f"invalid filter '{key}={v}'")


def _filtered(results: list[dict], filters: dict[str, list[str]]) -> list[dict]:
    for key, values in filters.items():
        if key not in FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
        for v in values:
            if key == "stars":
                try:
                    n = int(v)
                except ValueError:
                    raise InvalidArgument(f"invalid filter 'stars={v}'") from None
                results = [r for r in results if r["star_count"] >= n]
            else:
                want = _bool(key, v)
                field = "is_official" if key == "is-official" else "is_automated"
                results = [r for r in results if r[field] == want]
    return results


def _hub(session: Session, query: str, limit: int) -> list[dict]:
    resp = session.request("GET", HUB_SEARCH, "", params={"q": query, "n": str(limit)})
    if resp.status_code != 200:
        code, message = registry_error(resp)
        raise RegistryError(f"search {query!r} on docker.io: {resp.status_code} {code_text(code)} {message}".strip())
    return [{"name": r.get("name", ""), "description": r.get("description", ""),
             "star_count": int(r.get("star_count") or 0), "is_official": bool(r.get("is_official")),
             "is_automated": bool(r.get("is_automated"))} for r in (resp.json() or {}).get("results") or []]


def _catalog(session: Session, domain: str, query: str) -> list[dict]:
    path: str | None = "/v2/_catalog?n=1000"
    repos: list[str] = []
    while path:
        resp = session.request("GET", path, "registry:catalog:*")
        if resp.status_code != 200:
            code, message = registry_error(resp)
            raise RegistryError(f"listing the repositories of {domain}: {resp.status_code} "
                                f"{code_text(code) or resp.reason_phrase}: {message}".rstrip(": "))
        repos += (resp.json() or {}).get("repositories") or []
        nxt = resp.links.get("next", {}).get("url")
        path = nxt if nxt and nxt.startswith("/") else None
    q = query.lower()
    return [{"name": f"{domain}/{r}", "description": "", "star_count": 0, "is_official": False,
             "is_automated": False} for r in sorted(set(repos)) if q in r.lower()]


def search(term: str, limit: int = 25, filters: dict[str, list[str]] | None = None) -> list[dict]:
    if not term or not term.strip():
        raise InvalidArgument("\"docker search\" requires exactly 1 argument")
    if not 1 <= int(limit) <= 100:
        raise InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
    for key in filters or {}:
        if key not in FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
    domain, query = _split(term.strip())
    session = endpoints.primary(domain)
    results = _hub(session, query, limit) if domain == names.DOCKER_HUB else _catalog(session, domain, query)
    return _filtered(results, filters or {})[: int(limit)]
