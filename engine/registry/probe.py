"""Which scheme an insecure registry speaks: one bare TLS handshake decides (no HTTP client,
no CA loading, so it is cheap on loopback). Standard library only: the quick up-to-date check
of a pull uses it as well as ``session``."""
from __future__ import annotations

import socket
import ssl

from engine.registry import names


def port_of(host: str) -> int:
    return int(host.rsplit(":", 1)[1]) if host.count(":") == 1 or "]:" in host else 443


def scheme(host: str) -> str:
    """``https`` when ``host`` completes a TLS handshake, ``http`` when it does not speak TLS;
    OSError when it cannot be reached."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((names.hostname(host), port_of(host)), timeout=5) as sock:
            with ctx.wrap_socket(sock, server_hostname=names.hostname(host)):
                return "https"
    except ssl.SSLError:
        return "http"
