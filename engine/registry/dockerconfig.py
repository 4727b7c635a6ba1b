"""Docker's client config file: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``.

Credentials are read as the docker CLI reads them: a ``credHelpers`` entry for the
registry first, then the ``credsStore`` helper, then ``auths`` (``auth`` = base64 of
``user:password``, or an ``identitytoken``). ``login`` writes the same places, keeping
every other key of the file as it was.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidArgument
from engine.registry import credhelper, names
from engine.state import atomic_write

TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""


def config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def load() -> dict:
    path = config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InvalidArgument(f"loading config file {path}: {e}") from None
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"loading config file {path}: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"loading config file {path}: expected a JSON object")
    return doc


def _write(doc: dict) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(doc, indent="\t") + "\n", mode=0o600)


def _helper_for(doc: dict, domain: str) -> str | None:
    helpers = doc.get("credHelpers") or {}
    for key in (domain, names.config_key(domain)):
        if helpers.get(key):
            return helpers[key]
    return doc.get("credsStore") or None


def _auths_entry(doc: dict, domain: str) -> tuple[str | None, dict | None]:
    for key, entry in (doc.get("auths") or {}).items():
        if names.server_host(key) == domain and isinstance(entry, dict):
            return key, entry
    return None, None


def decode_auth(value: str, where: str = "config.json") -> tuple[str, str]:
    """``auth`` field -> (username, password)."""
    try:
        user, sep, pw = base64.b64decode(value, validate=False).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(f"{where}: invalid auth configuration: not base64") from None
    if not sep:
        raise InvalidArgument(f"{where}: invalid auth configuration: expected user:password")
    return user, pw


def lookup(domain: str) -> Credentials | None:
    """Credentials stored for the registry ``domain`` (``docker.io`` or ``host:port``)."""
    doc = load()
    helper = _helper_for(doc, domain)
    if helper:
        got = credhelper.get(helper, names.config_key(domain))
        if got:
            user, secret = got
            if user == TOKEN_USER:
                return Credentials(identity_token=secret)
            return Credentials(user, secret)
    _key, entry = _auths_entry(doc, domain)
    if not entry:
        return None
    user, pw = entry.get("username", ""), entry.get("password", "")
    if entry.get("auth"):
        user, pw = decode_auth(entry["auth"], str(config_path()))
    if entry.get("identitytoken"):
        return Credentials(user, "", entry["identitytoken"])
    if not user and not pw:
        return None
    return Credentials(user, pw)


def save(domain: str, creds: Credentials) -> None:
    """Store ``creds`` for ``domain`` where docker would (a helper, else ``auths``)."""
    doc = load()
    key = names.config_key(domain)
    helper = _helper_for(doc, domain)
    old_key, _ = _auths_entry(doc, domain)
    auths = doc.setdefault("auths", {})
    if old_key and old_key != key:
        del auths[old_key]
    if helper:
        user = TOKEN_USER if creds.identity_token else creds.username
        credhelper.store(helper, key, user, creds.identity_token or creds.password)
        auths[key] = {}
    else:
        if creds.identity_token:
            entry = {"auth": base64.b64encode(f"{creds.username}:".encode()).decode(),
                     "identitytoken": creds.identity_token}
        else:
            entry = {"auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
        auths[key] = entry
    _write(doc)


def erase(domain: str) -> bool:
    """Forget the credentials of ``domain``; False when none were stored."""
    doc = load()
    key = names.config_key(domain)
    found = False
    helper = _helper_for(doc, domain)
    if helper:
        found = credhelper.erase(helper, key)
    old_key, _ = _auths_entry(doc, domain)
    if old_key is not None:
        del doc["auths"][old_key]
        found = True
        _write(doc)
    return found
