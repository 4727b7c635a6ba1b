"""``pycompose login`` / ``pycompose logout``: docker's top-level verbs, same flags and messages.

The credentials land in the file docker itself uses (``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``), written by ``Engine.login`` once the registry accepted them,
so docker, skopeo and pycompose share one login.
"""
from __future__ import annotations

import os
import sys

from engine.errors import EngineError, NotFound

HELP = "Authenticate to a registry"
DEFAULT_SERVER = "https://index.docker.io/v1/"


class LoginError(EngineError):
    """Login refused before asking the registry (flags, no terminal to prompt on)."""


def add_arguments(parser, command) -> None:
    if command == "logout":
        parser.description = "Log out from a registry"
        parser.add_argument("server", nargs="?", metavar="SERVER")
        return
    parser.description = "Authenticate to a registry. Defaults to Docker Hub if no server is specified."
    parser.add_argument("-u", "--username", help="Username")
    parser.add_argument("-p", "--password", help="Password or Personal Access Token (PAT)")
    parser.add_argument("--password-stdin", action="store_true", help="Take the Password or PAT from stdin")
    parser.add_argument("server", nargs="?", metavar="SERVER")


def _engine():
    from engine.api import Engine

    return Engine()


def config_path() -> str:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def hostname(server: str | None) -> str:
    """What docker names in its messages: the default index URL, or ``host[:port]``."""
    if not server or server.rstrip("/") in ("docker.io", "index.docker.io", "registry-1.docker.io",
                                           DEFAULT_SERVER.rstrip("/"), "https://index.docker.io"):
        return DEFAULT_SERVER
    s = server
    for scheme in ("http://", "https://"):
        if s.startswith(scheme):
            s = s[len(scheme):]
    return s.split("/", 1)[0]


def read_credentials(args) -> tuple[str | None, str | None]:
    """(username, password) from the flags, stdin or a terminal prompt, checked as docker does."""
    if args.password and args.password_stdin:
        raise LoginError("--password and --password-stdin are mutually exclusive")
    password = args.password
    if args.password_stdin:
        if not args.username:
            raise LoginError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    username = args.username
    if username and password:
        return username, password
    if not sys.stdin.isatty():
        if not username and not password:
            return None, None  # the stored credentials, when there are some
        raise LoginError("Error: Cannot perform an interactive login from a non TTY device")
    import getpass

    if not username:
        username = input("Username: ").strip()
        if not username:
            raise LoginError("Username cannot be empty")
    if not password:
        password = getpass.getpass("Password: ")
        if not password:
            raise LoginError("Password is required")
    return username, password


def run(args, gopts) -> int:
    if args.command == "logout":
        return logout(args)
    username, password = read_credentials(args)
    if username is None:
        if not _stored(args.server):
            raise LoginError("Error: Cannot perform an interactive login from a non TTY device")
        print("Authenticating with existing credentials...")
    answer = _engine().login(args.server, username, password)
    status = (answer or {}).get("Status") or "Login Succeeded"
    if _plain_text_store():
        sys.stderr.write(f"WARNING! Your credentials are stored unencrypted in '{config_path()}'.\n"
                         "Configure a credential helper to remove this warning. See\n"
                         "https://docs.docker.com/go/credential-store/\n\n")
    print(status)
    return 0


def _read_config() -> dict:
    import json

    try:
        with open(config_path()) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _stored(server: str | None) -> bool:
    """True when docker's config (auths, credsStore or credHelpers) has credentials for ``server``."""
    from engine.api.registry import has_credentials

    return has_credentials(server)


def _plain_text_store() -> bool:
    cfg = _read_config()
    return not cfg.get("credsStore") and not cfg.get("credHelpers")


def logout(args) -> int:
    host = hostname(args.server)
    try:
        server = _engine().logout(args.server)
    except NotFound:
        print(f"Not logged in to {host}")
        return 0
    print(f"Removing login credentials for {hostname(server) if server else host}")
    return 0
