"""Docker's credential helper protocol: ``docker-credential-<name> get|store|erase|list``.

The server URL (or a JSON document for ``store``) goes to the helper's stdin; ``get``
answers ``{"ServerURL", "Username", "Secret"}`` (Username ``<token>`` means Secret is an
identity token). "credentials not found" on stdout means none are stored.
"""
from __future__ import annotations

import json
import shutil
import subprocess

from engine.errors import RegistryError

NOT_FOUND = "credentials not found in native keychain"


def _run(helper: str, action: str, data: str) -> str:
    prog = f"docker-credential-{helper}"
    path = shutil.which(prog)
    if not path:
        raise RegistryError(f"error getting credentials - err: exec: \"{prog}\": executable file not found in $PATH")
    try:
        p = subprocess.run([path, action], input=data, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RegistryError(f"{prog} {action}: {e}") from None
    out = (p.stdout or "").strip()
    if p.returncode != 0:
        if NOT_FOUND in out or "credentials not found" in out.lower():
            raise LookupError(out)
        raise RegistryError(f"{prog} {action}: {out or (p.stderr or '').strip() or f'exit status {p.returncode}'}")
    return out


def get(helper: str, server_url: str) -> tuple[str, str] | None:
    """(username, secret) the helper holds for ``server_url``, None when it holds none."""
    try:
        out = _run(helper, "get", server_url)
    except LookupError:
        return None
    try:
        doc = json.loads(out)
    except ValueError:
        raise RegistryError(f"docker-credential-{helper} get: answered something that is not JSON") from None
    if not doc.get("Secret") and not doc.get("Username"):
        return None
    return doc.get("Username") or "", doc.get("Secret") or ""


def store(helper: str, server_url: str, username: str, secret: str) -> None:
    _run(helper, "store", json.dumps({"ServerURL": server_url, "Username": username, "Secret": secret}))


def erase(helper: str, server_url: str) -> bool:
    """Forget ``server_url``; False when the helper held nothing for it."""
    try:
        _run(helper, "erase", server_url)
    except LookupError:
        return False
    return True
