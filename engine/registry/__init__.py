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
