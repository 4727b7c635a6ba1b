"""Registry client for the OCI distribution protocol: pull, push, login, search.

No compose knowledge; ``engine.api.Images.pull/push/search`` and ``Engine.login/logout``
are its callers. Modules, one job each: ``names`` (references and hosts with Docker's
defaults), ``settings`` (pycompose's config file: insecure registries, mirrors),
``dockerconfig`` + ``credhelper`` (Docker's config.json and credential helpers),
``challenge`` (WWW-Authenticate parsing), ``auth`` (Basic and Bearer tokens, cached per
scope), ``retry`` (back-off policy), ``tls`` (system CAs + /etc/docker/certs.d),
``session`` (one registry host: scheme, auth, retries, errors in Docker's words),
``endpoints`` (docker.io mirrors, sessions shared within a process), ``platforms`` and
``manifests`` (media types, index platform selection, digests), ``download`` (verified,
resumable blob fetches, once per blob), ``pull``, ``upload`` + ``push``, ``search``, ``login``.
"""
import sys


def _import_http_stack() -> None:
    """Import httpx without the parts the engine never uses.

    httpx imports its command-line client (click, rich, pygments) and httpcore imports trio
    (for async code under trio) whenever they are installed: together a few hundred ms of
    every pull's start-up. Both are hidden for the duration of the import only."""
    if "httpcore" in sys.modules or "httpx" in sys.modules:
        return
    hidden = [m for m in ("httpx._main", "trio") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes "import m" raise ImportError
    try:
        import httpcore  # noqa: F401
        import httpx  # noqa: F401
    finally:
        for m in hidden:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]


_import_http_stack()
