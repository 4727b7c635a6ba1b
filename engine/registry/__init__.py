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
resumable blob fetches, once per blob), ``pull``, ``upload`` + ``push``, ``search``, ``login``,
``quick`` (the up-to-date check of a pull over the standard library: a warm ``pull`` never
imports httpx), ``probe`` (http or https for an insecure registry), ``httpstack`` (httpx, lean).
"""

__all__: list[str] = []  # a package of modules: callers reach it through engine.api (Images.pull/push/search, Engine.login)
