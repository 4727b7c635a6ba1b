"""One registry endpoint: scheme, TLS, authentication, retries, and errors in Docker's words.

``Session(domain)`` talks to ``docker.io`` (at registry-1.docker.io or a configured
mirror) or to ``host[:port]``. HTTPS is always tried first; plain HTTP only for
loopback registries and those listed as insecure in pycompose's config file
(Docker's rule). Every request carries the token for its scope, is retried on 429/5xx
and dropped connections with back-off, and transport failures become typed errors.
"""
from __future__ import annotations

import ssl
import time
from typing import Callable, Iterable


from engine.registry.httpstack import httpx
from engine.errors import RegistryError, RegistryTLSError, RegistryUnreachable
from engine.registry import names, probe, settings as settings_mod, tls
from engine.registry.auth import Authenticator
from engine.registry.dockerconfig import Credentials
from engine.registry.retry import RetryPolicy

USER_AGENT = "pycompose/0.1 (registry client; like docker/27)"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

Content = bytes | Callable[[], Iterable[bytes]] | None


def registry_error(resp: httpx.Response) -> tuple[str, str]:
    """(code, message) of a registry's error body (``{"errors": [{"code", "message"}]}``)."""
    try:
        doc = resp.json()
        err = (doc.get("errors") or [{}])[0]
        return str(err.get("code") or ""), str(err.get("message") or "")
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", ""


def code_text(code: str) -> str:
    """Docker's rendering of an error code: ``MANIFEST_UNKNOWN`` -> ``manifest unknown``."""
    return code.replace("_", " ").lower()


def _dial_error(e: Exception, hostport: str) -> str:
    text = str(e) or type(e).__name__
    low = text.lower()
    if "refused" in low:
        return f"dial tcp {hostport}: connect: connection refused"
    if "name or service not known" in low or "nodename nor servname" in low or "temporary failure in name" in low:
        return f"dial tcp: lookup {names.hostname(hostport)}: no such host"
    if isinstance(e, httpx.TimeoutException):
        return f"dial tcp {hostport}: i/o timeout"
    return text


class Session:
    """Requests to one registry endpoint, with auth and retries."""

    def __init__(self, domain: str, endpoint: str | None = None, scheme: str | None = None,
                 credentials: Credentials | None = None, use_config: bool = True,
                 conf: settings_mod.RegistrySettings | None = None, policy: RetryPolicy | None = None):
        self.domain = domain
        self.host = endpoint or names.api_host(domain)
        self.settings = conf if conf is not None else settings_mod.load()
        self.insecure = self.settings.is_insecure(self.host)
        self.policy = policy or RetryPolicy()
        self._scheme = scheme
        self._clients: dict[str, httpx.Client] = {}
        self.auth = Authenticator(domain, lambda: self._client("https"), credentials, use_config)

    # --- clients ----------------------------------------------------------------------------
    def _client(self, scheme: str) -> httpx.Client:
        c = self._clients.get(scheme)
        if c is None:
            kw: dict = {"verify": False}   # plain HTTP: no TLS context to build (this client never sees https)
            if scheme == "https":
                kw["verify"] = tls.context(self.host, verify=not self.insecure)
                kw["http2"] = True
            limits = httpx.Limits(max_connections=16, max_keepalive_connections=8)
            c = self._clients[scheme] = httpx.Client(timeout=TIMEOUT, limits=limits, trust_env=False,
                                                     headers={"User-Agent": USER_AGENT}, **kw)
        return c

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def scheme(self) -> str:
        if self._scheme is None:
            self._scheme = self._probe_scheme()
        return self._scheme

    def _probe_scheme(self) -> str:
        """https, or http when an insecure registry does not complete a TLS handshake."""
        if not self.insecure:
            return "https"
        try:
            return probe.scheme(self.host)
        except OSError as e:
            raise RegistryUnreachable(f'Get "https://{self.host}/v2/": {_dial_error(e, self.host)}') from None

    def _scheme_changed(self) -> bool:
        """Probe again (a session kept for a while may outlive the server it first met)."""
        before = self._scheme
        try:
            self._scheme = self._probe_scheme()
        except RegistryError:
            self._scheme = before
            return False
        return self._scheme != before

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}{path}"

    # --- requests -----------------------------------------------------------------------------
    def request(self, method: str, path: str, scope: str, *, headers: dict | None = None,
                content: Content = None, stream: bool = False, follow: bool = False,
                params: dict | None = None, retry: bool = True) -> httpx.Response:
        """Send with auth and retries; returns the last response (any status but 401 retried once)."""
        url = path if path.startswith(("http://", "https://")) else self.url(path)
        client = self._client(url.split(":", 1)[0])
        target = httpx.URL(url)
        own = target.netloc == httpx.URL(f"{target.scheme}://{self.host}/").netloc
        auth_retried = reprobed = False
        attempt = 0
        while True:
            attempt += 1
            h = dict(headers or {})
            a = self.auth.header(scope) if own else None   # never hand a token to another host
            if a and "Authorization" not in h:
                h["Authorization"] = a
            body = content() if callable(content) else content
            req = client.build_request(method, url, headers=h, content=body, params=params)
            try:
                resp = client.send(req, stream=stream, follow_redirects=follow)
            except (httpx.TransportError, ssl.SSLError) as e:
                if retry and self._transient(e) and self.policy.should_retry(attempt, None):
                    time.sleep(self.policy.delay(attempt))
                    continue
                if own and self.insecure and not reprobed and self._scheme_changed():
                    reprobed = True           # the server behind host:port changed (http <-> https)
                    url = self.url(path) if not path.startswith(("http://", "https://")) else url
                    client = self._client(url.split(":", 1)[0])
                    continue
                raise self.transport_error(method, url, e) from None
            if (resp.status_code == 400 and self._scheme == "http" and own and self.insecure and not reprobed
                    and self._scheme_changed()):   # "Client sent an HTTP request to an HTTPS server"
                resp.close()
                reprobed = True
                url = self.url(path) if not path.startswith(("http://", "https://")) else url
                client = self._client(url.split(":", 1)[0])
                continue
            if resp.status_code == 401 and not auth_retried:
                resp.close()
                if self.auth.on_unauthorized(resp, scope):
                    auth_retried = True
                    attempt -= 1
                    continue
                return resp
            if retry and self.policy.should_retry(attempt, resp.status_code) and resp.status_code >= 408:
                delay = self.policy.delay(attempt, resp.headers.get("retry-after"))
                resp.close()
                time.sleep(delay)
                continue
            return resp

    @staticmethod
    def _transient(e: Exception) -> bool:
        """Worth another try: dropped connections and timeouts, not refused ones or TLS failures."""
        if isinstance(e, (httpx.ConnectError, ssl.SSLError)):
            return False
        return isinstance(e, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))

    def transport_error(self, method: str, url: str, e: Exception) -> RegistryError:
        verb = method[:1] + method[1:].lower()
        hostport = self.host if ":" in self.host else f"{self.host}:{443 if url.startswith('https') else 80}"
        text = str(e)
        causes, c = [], e
        while c is not None and len(causes) < 8:     # httpx -> httpcore -> ssl
            causes.append(c)
            c = c.__cause__ or c.__context__
        if any(isinstance(c, ssl.SSLError) for c in causes) or "[SSL" in text:
            cause = next((c for c in causes if isinstance(c, ssl.SSLError)), e)
            if "VERIFY_FAILED" in text or "VERIFY_FAILED" in str(cause):
                what = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                hint = f"put its CA in {tls.certs_dir(self.host)}/ca.crt"
            else:
                what = f"tls: {text or cause}"
                hint = f"client certificates go in {tls.certs_dir(self.host)}/ (*.cert + *.key), CAs as *.crt"
            return RegistryTLSError(f'{verb} "{url}": {what} (registry {self.host}: {hint}, or list it in '
                                    f"insecure-registries of {settings_mod.config_path()})")
        return RegistryUnreachable(f'{verb} "{url}": {_dial_error(e, hostport)}')
