"""Registry client for the OCI distribution protocol: pull, push, login, search.

No compose knowledge; ``engine.api.Images.pull/push/search`` and ``Engine.login/logout``
are its callers. Modules, one job each: ``names`` (references and hosts with Docker's
defaults), ``settings`` (pycompose's config file: insecure registries, mirrors),
``dockerconfig`` + ``credhelper`` (Docker's config.json and credential helpers),
``challenge`` (WWW-Authenticate parsing), ``auth`` (Basic and Bearer tokens, cached per
scope), ``retry`` (back-off policy), ``tls`` (system CAs + /etc/docker/certs.d),
``session`` (one registry host: scheme, auth, retries, errors in Docker's words),
``platforms`` and ``manifests`` (media types, index platform selection, digests),
``download`` (concurrent, verified, resumable blob fetches), ``pull``, ``push``,
``search``, ``login``.
"""
import sys

# httpx imports its command-line client (click, rich, pygments) at import time when they are
# installed; the engine never uses it, and blocking it takes ~0.2 s off every pull's start-up.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)
