"""Registry authentication: Basic, and the Bearer token flow of ``WWW-Authenticate``.

The first 401 tells which scheme and token realm a registry wants; tokens are then
fetched per scope (``repository:library/busybox:pull``) and reused until they expire,
so concurrent layer downloads share one token. Credentials come from Docker's
config.json (or are given explicitly, for ``login``); without any, the token
server is asked anonymously, as Docker does for public images.
"""
from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from typing import Callable


from engine.registry.httpstack import httpx
from engine.errors import RegistryUnreachable, Unauthorized
from engine.registry import challenge, dockerconfig
from engine.registry.dockerconfig import Credentials

DEFAULT_TOKEN_LIFETIME = 60   # seconds, when the token server does not say (distribution's spec)
EXPIRY_MARGIN = 10
CLIENT_ID = "pycompose"


@dataclass
class _Token:
    header: str
    expires: float
    refresh_token: str = ""


def _error_text(resp: httpx.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        return resp.text.strip()[:200]
    if isinstance(doc, dict):
        errs = doc.get("errors") or []
        if errs and isinstance(errs[0], dict):
            return (errs[0].get("message") or errs[0].get("code") or "").strip()
        return str(doc.get("error_description") or doc.get("error") or doc.get("details") or "")
    return ""


class Authenticator:
    """Authorization headers for one registry (``domain``), learnt from its challenges."""

    def __init__(self, domain: str, client: Callable[[], httpx.Client], credentials: Credentials | None = None,
                 use_config: bool = True):
        self.domain = domain
        self._client = client
        self._creds = credentials
        self._creds_loaded = credentials is not None or not use_config
        self._scheme: str | None = None
        self._params: dict[str, str] = {}
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self.refresh_token = ""   # an identity token the token server issued (login keeps it)

    @property
    def credentials(self) -> Credentials | None:
        if not self._creds_loaded:
            self._creds = dockerconfig.lookup(self.domain)
            self._creds_loaded = True
        return self._creds

    def header(self, scope: str) -> str | None:
        """The Authorization header for a request needing ``scope`` (None: send none yet)."""
        if self._scheme == "basic":
            return self._basic_header()
        if self._scheme != "bearer":
            return None
        with self._lock:
            tok = self._tokens.get(scope)
            if tok is None or tok.expires <= time.monotonic():
                tok = self._tokens[scope] = self._fetch_token(scope)
            return tok.header

    def on_unauthorized(self, resp: httpx.Response, scope: str) -> bool:
        """Learn from a 401; True when a retry with new credentials makes sense."""
        found = challenge.parse(resp.headers.get("www-authenticate", ""))
        chosen = next((c for c in found if c[0] == "bearer"), None) or next((c for c in found if c[0] == "basic"), None)
        if chosen is None:
            return False
        first = self._scheme is None
        scheme, params = chosen
        with self._lock:
            known = self._tokens.pop(scope, None)
            self._scheme, self._params = scheme, params
        if scheme == "basic":
            if not self.credentials or not self.credentials.username:
                raise Unauthorized("no basic auth credentials")
            return first
        return first or known is not None and params.get("error") != "insufficient_scope"

    def _basic_header(self) -> str:
        c = self.credentials
        if not c or not c.username:
            raise Unauthorized("no basic auth credentials")
        return "Basic " + base64.b64encode(f"{c.username}:{c.password}".encode()).decode()

    def _fetch_token(self, scope: str) -> _Token:
        realm = self._params.get("realm")
        if not realm:
            raise Unauthorized(f"{self.domain}: the registry's Bearer challenge names no token realm")
        creds = self.credentials
        scopes = [s for s in scope.split(" ") if s]
        try:
            if creds and creds.identity_token:
                resp = self._oauth_token(realm, scopes, creds)
            else:
                resp = self._get_token(realm, scopes, creds)
        except httpx.TransportError as e:
            raise RegistryUnreachable(f'Get "{realm}": {e}') from None
        if resp.status_code in (401, 403):
            msg = _error_text(resp)
            raise Unauthorized(f"unauthorized: {msg or 'incorrect username or password'}")
        if resp.status_code != 200:
            raise Unauthorized(f"getting a token from {realm}: {resp.status_code} {_error_text(resp)}".rstrip())
        try:
            doc = resp.json()
        except ValueError:
            raise Unauthorized(f"getting a token from {realm}: the answer is not JSON") from None
        token = doc.get("token") or doc.get("access_token")
        if not token:
            raise Unauthorized(f"getting a token from {realm}: the answer holds no token")
        if doc.get("refresh_token"):
            self.refresh_token = doc["refresh_token"]
        life = doc.get("expires_in") or DEFAULT_TOKEN_LIFETIME
        try:
            life = max(int(life), EXPIRY_MARGIN + 1)
        except (TypeError, ValueError):
            life = DEFAULT_TOKEN_LIFETIME
        return _Token("Bearer " + token, time.monotonic() + life - EXPIRY_MARGIN)

    def _get_token(self, realm: str, scopes: list[str], creds: Credentials | None) -> httpx.Response:
        params: list[tuple[str, str]] = []
        if self._params.get("service"):
            params.append(("service", self._params["service"]))
        params += [("scope", s) for s in scopes]
        auth = None
        if creds and creds.username:
            params += [("account", creds.username), ("offline_token", "true"), ("client_id", CLIENT_ID)]
            auth = (creds.username, creds.password)
        return self._client().get(realm, params=params, auth=auth)

    def _oauth_token(self, realm: str, scopes: list[str], creds: Credentials) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                "client_id": CLIENT_ID, "scope": " ".join(scopes)}
        if self._params.get("service"):
            form["service"] = self._params["service"]
        return self._client().post(realm, data=form)
