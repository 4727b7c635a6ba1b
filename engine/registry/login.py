"""``docker login`` / ``docker logout``: check credentials against the registry, then keep
them (or forget them) where Docker does, in its config.json or its credential helper."""
from __future__ import annotations

from engine.errors import InvalidArgument, NotFound, RegistryError, Unauthorized
from engine.registry import dockerconfig, endpoints, names
from engine.registry.dockerconfig import Credentials
from engine.registry.session import Session


def verify(domain: str, creds: Credentials) -> str:
    """Log in to ``domain`` with ``creds``; returns an identity token when the registry issues one."""
    with Session(domain, credentials=creds, use_config=False) as s:
        resp = s.request("GET", "/v2/", "")
        if resp.status_code == 200:
            return s.auth.refresh_token
        if resp.status_code == 401:
            if s.auth._scheme == "basic":
                raise Unauthorized(f"login attempt to {s.url('/v2/')} failed with status: 401 Unauthorized")
            raise Unauthorized("unauthorized: incorrect username or password")
        raise RegistryError(f"login attempt to {s.url('/v2/')} failed with status: {resp.status_code} "
                            f"{resp.reason_phrase}")


def login(server: str | None, username: str | None, password: str | None) -> dict:
    """Verify and store; ``{"Status": "Login Succeeded"}``. Without a username, the stored ones are checked."""
    domain = names.server_host(server)
    if not username:
        stored = dockerconfig.lookup(domain)
        if stored is None:
            raise InvalidArgument(f"a username is required to log in to {domain} (no credentials are stored for it)")
        verify(domain, stored)
        return {"Status": "Login Succeeded", "IdentityToken": ""}
    if password is None or password == "":
        raise InvalidArgument("Error: Password Required")
    token = verify(domain, Credentials(username, password))
    dockerconfig.save(domain, Credentials(username, "" if token else password, token))
    endpoints.forget()
    return {"Status": "Login Succeeded", "IdentityToken": token}


def logout(server: str | None) -> str:
    """Forget the credentials of ``server``; returns the name they were stored under."""
    domain = names.server_host(server)
    if not dockerconfig.erase(domain):
        raise NotFound(f"Not logged in to {server or names.config_key(domain)}")
    endpoints.forget()
    return names.config_key(domain)
