"""Which endpoints serve a registry's images: docker.io's mirrors first (pycompose's
config), then the registry itself. Sessions are cached per process (and per state of
Docker's config.json), so the images of one ``pull`` of several services share
connections and tokens."""
from __future__ import annotations

import threading

from engine.registry import dockerconfig, names, settings as settings_mod, tls
from engine.registry.session import Session

_CACHE: dict[tuple, Session] = {}
_LOCK = threading.Lock()


def sessions(domain: str) -> list[Session]:
    """Sessions to try in order for pulling from ``domain``."""
    conf = settings_mod.load()
    cfg = dockerconfig.config_path()
    try:
        stamp = (str(cfg), cfg.stat().st_mtime_ns)
    except OSError:
        stamp = (str(cfg), 0)
    try:   # a CA or client certificate added to certs.d takes effect at once
        stamp += (tls.certs_dir(names.api_host(domain)).stat().st_mtime_ns,)
    except OSError:
        pass
    keys: list[tuple] = []
    if domain == names.DOCKER_HUB:
        keys += [(domain, m.host, m.scheme) for m in conf.mirrors]
    keys.append((domain, None, None))
    out = []
    with _LOCK:
        for key in keys:
            full = key + (conf, stamp)
            s = _CACHE.get(full)
            if s is None:
                s = _CACHE[full] = Session(key[0], endpoint=key[1], scheme=key[2], conf=conf)
            out.append(s)
    return out


def primary(domain: str) -> Session:
    """The registry itself (push, login and search never go to a mirror)."""
    return sessions(domain)[-1]


def forget() -> None:
    """Drop cached sessions (after login/logout: credentials changed)."""
    with _LOCK:
        for s in _CACHE.values():
            s.close()
        _CACHE.clear()
