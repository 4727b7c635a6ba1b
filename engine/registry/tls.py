"""TLS for registries: the system's CAs plus Docker's per-registry directory
``/etc/docker/certs.d/<host:port>/`` (``*.crt`` extra CAs, ``*.cert`` + ``*.key`` client pairs)."""
from __future__ import annotations

import ssl
from pathlib import Path

from engine.errors import RegistryTLSError

CERTS_D = Path("/etc/docker/certs.d")
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def certs_dir(host: str) -> Path:
    return CERTS_D / host


def _load_dir(ctx: ssl.SSLContext, host: str, verify: bool) -> None:
    d = certs_dir(host)
    if not d.is_dir():
        return
    try:
        if verify:
            for ca in sorted(d.glob("*.crt")):
                ctx.load_verify_locations(cafile=str(ca))
        for cert in sorted(d.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise RegistryTLSError(f"missing key {key.name} for client certificate {cert} "
                                       f"(registry {host}: {d}/)")
            ctx.load_cert_chain(str(cert), str(key))
        for key in sorted(d.glob("*.key")):
            if not key.with_suffix(".cert").is_file():
                raise RegistryTLSError(f"missing client certificate {key.with_suffix('.cert').name} for key {key} "
                                       f"(registry {host}: {d}/)")
    except (ssl.SSLError, OSError) as e:
        raise RegistryTLSError(f"registry {host}: cannot use the certificates in {d}/: {e}") from None


def context(host: str, verify: bool = True) -> ssl.SSLContext:
    """The SSL context for ``host`` (``verify=False`` only for insecure registries)."""
    ctx = ssl.create_default_context()
    if verify and not ctx.cert_store_stats().get("x509_ca"):
        for bundle in _SYSTEM_BUNDLES:
            if Path(bundle).is_file():
                ctx.load_verify_locations(cafile=bundle)
                break
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    _load_dir(ctx, host, verify)
    return ctx
