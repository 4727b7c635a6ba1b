"""Real servers for the registry tests: Debian's docker-registry, a token server, a cutting proxy.

Why here and not mocks: the registry client must talk to the real distribution
registry (2.8) as a user's would. Everything listens on 127.0.0.1 only, runs as a
process or thread this module started, and is stopped by PID / joined on close.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

REGISTRY_BIN = "/usr/bin/docker-registry"
MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# ----------------------------------------------------------------------------- docker-registry


@dataclass
class Registry:
    """One running docker-registry: ``host`` is ``127.0.0.1:<port>``, ``storage`` its data dir."""

    port: int
    workdir: Path
    proc: subprocess.Popen
    auth: str | None = None
    creds: tuple[str, str] | None = None
    token_server: "TokenServer | None" = None
    images: dict[str, str] = field(default_factory=dict)   # "repo:tag" -> manifest digest
    platforms: dict[str, str] = field(default_factory=dict)  # multi/busybox: "index", "linux/<arch>" -> digest

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def storage(self) -> Path:
        return self.workdir / "storage"

    def blob_data_path(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        hexd = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def skopeo_copy(self, src: str, repo_tag: str, *extra: str) -> str:
        """``skopeo copy src docker://<host>/<repo_tag>``; returns the manifest digest pushed."""
        digest_file = self.workdir / f"digest-{uuid.uuid4().hex}"
        cmd = ["skopeo", "copy", "-q", "--dest-tls-verify=false", "--digestfile", str(digest_file), *extra]
        if self.creds:
            cmd += ["--dest-creds", f"{self.creds[0]}:{self.creds[1]}"]
        cmd += [src, f"docker://{self.host}/{repo_tag}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        digest = digest_file.read_text().strip()
        digest_file.unlink()
        self.images[repo_tag] = digest
        return digest

    def manifest(self, repo: str, ref: str) -> tuple[str, bytes]:
        """(content type, raw body) of a manifest, read without auth (for open registries)."""
        import httpx

        r = httpx.get(f"{self.url}/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_ACCEPT})
        r.raise_for_status()
        return r.headers["content-type"], r.content

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.token_server:
            self.token_server.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _registry_config(port: int, storage: Path, auth: dict | None, tls: dict | None = None) -> str:
    cfg = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True},
                    "cache": {"blobdescriptor": "inmemory"}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
    }
    if auth:
        cfg["auth"] = auth
    if tls:
        cfg["http"]["tls"] = tls
    return json.dumps(cfg)  # YAML is a superset of JSON


def start_registry(auth: str | None = None, creds: tuple[str, str] = ("alice", "s3cret"),
                   token_server: "TokenServer | None" = None, tls: dict | None = None,
                   port: int | None = None) -> Registry:
    """Start docker-registry on a free loopback port (``auth``: None, "htpasswd" or "token";
    ``tls``: distribution's http.tls section, e.g. from ``TestPKI.registry_tls()``)."""
    workdir = Path(tempfile.mkdtemp(prefix="pyc-registry-"))
    try:
        storage = workdir / "storage"
        storage.mkdir()
        auth_cfg = None
        if auth == "htpasswd":
            htfile = workdir / "htpasswd"
            subprocess.run(["htpasswd", "-Bbc", str(htfile), creds[0], creds[1]], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            auth_cfg = {"htpasswd": {"realm": "pycompose-test", "path": str(htfile)}}
        elif auth == "token":
            assert token_server is not None
            auth_cfg = {"token": {"realm": token_server.realm, "service": token_server.service,
                                  "issuer": token_server.issuer, "rootcertbundle": str(token_server.cert_path)}}
        port = port or free_port()
        (workdir / "config.yml").write_text(_registry_config(port, storage, auth_cfg, tls))
        log = open(workdir / "registry.log", "wb")
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(workdir / "config.yml")],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        reg = Registry(port, workdir, proc, auth, creds if auth else None, token_server)
        try:
            wait_port(port, proc=proc)
        except BaseException:
            reg.stop()
            raise
        return reg
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------- images to push


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class OciLayout:
    """An OCI image layout directory written by hand (for the multi-platform index)."""

    def __init__(self, path: Path):
        self.path = path
        (path / "blobs/sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def put(self, data: bytes) -> str:
        d = _sha(data)
        (self.path / "blobs/sha256" / d[7:]).write_bytes(data)
        return d

    def image(self, config: dict, layers: list[bytes], compress: str = "gzip") -> dict:
        """Store an image (plain layer tars, compressed here: gzip or zstd); returns its manifest descriptor."""
        if compress == "zstd":
            import zstandard

            gz = [zstandard.ZstdCompressor(level=3).compress(l) for l in layers]
        elif compress == "plain":
            gz = list(layers)
        else:
            gz = [_gzip(l) for l in layers]
        suffix = "" if compress == "plain" else f"+{compress}"
        config = dict(config, rootfs={"type": "layers", "diff_ids": [_sha(l) for l in layers]})
        raw_cfg = json.dumps(config, separators=(",", ":")).encode()
        manifest = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": self.put(raw_cfg), "size": len(raw_cfg)},
            "layers": [{"mediaType": f"application/vnd.oci.image.layer.v1.tar{suffix}",
                        "digest": self.put(g), "size": len(g)} for g in gz],
        }
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        return {"mediaType": manifest["mediaType"], "digest": self.put(raw), "size": len(raw)}

    def name(self, desc: dict, tag: str) -> None:
        """Make ``desc`` the only entry of index.json, as ``tag``."""
        top = {"schemaVersion": 2, "manifests": [dict(desc, annotations={"org.opencontainers.image.ref.name": tag})]}
        (self.path / "index.json").write_text(json.dumps(top))

    def index(self, entries: list[tuple[dict, dict]], tag: str) -> str:
        """Write an index of (descriptor, platform) and name it ``tag`` in index.json."""
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [dict(d, platform=p) for d, p in entries]}
        raw = json.dumps(idx, separators=(",", ":")).encode()
        top = {"schemaVersion": 2, "manifests": [{
            "mediaType": idx["mediaType"], "digest": self.put(raw), "size": len(raw),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}
        (self.path / "index.json").write_text(json.dumps(top))
        return _sha(raw)


def busybox_parts(archive: Path) -> tuple[dict, bytes]:
    """(image config, plain layer tar) of the busybox test image's docker-save archive."""
    with tarfile.open(archive) as tf:
        man = json.loads(tf.extractfile("manifest.json").read())[0]
        config = json.loads(tf.extractfile(man["Config"]).read())
        layer = tf.extractfile(man["Layers"][0]).read()
    return config, layer


def other_platform(host_arch: str) -> dict:
    return {"os": "linux", "architecture": "arm64", "variant": "v8"} if host_arch != "arm64" \
        else {"os": "linux", "architecture": "amd64"}


def push_multi_platform(reg: Registry, archive: Path, repo_tag: str, host_arch: str,
                        docker_list: bool = False) -> dict[str, str]:
    """Push an index (host platform = busybox, one other platform = a tiny distinct image);
    ``docker_list``: converted by skopeo to a Docker manifest list of schema2 manifests.

    Returns {"index": digest, "<os>/<arch>": manifest digest, ...} (the index digest only
    for a Docker list: skopeo's conversion makes the others)."""
    config, layer = busybox_parts(archive)
    other = other_platform(host_arch)
    layout = OciLayout(reg.workdir / f"layout-{uuid.uuid4().hex[:8]}")
    try:
        host_desc = layout.image(config, [layer])
        other_cfg = {"architecture": other["architecture"], "os": "linux", "created": "2024-01-01T00:00:00Z",
                     "config": {"Cmd": ["/hello"]}}
        if other.get("variant"):
            other_cfg["variant"] = other["variant"]
        other_layer = _tar_of({"hello": f"I am {other['architecture']}\n".encode()})
        other_desc = layout.image(other_cfg, [other_layer])
        host_plat = {"os": "linux", "architecture": host_arch}
        index = layout.index([(host_desc, host_plat), (other_desc, other)], "latest")
        if docker_list:
            return {"index": reg.skopeo_copy(f"oci:{layout.path}:latest", repo_tag, "--all", "--format", "v2s2")}
        got = reg.skopeo_copy(f"oci:{layout.path}:latest", repo_tag, "--all", "--preserve-digests")
        assert got == index, (got, index)
    finally:
        shutil.rmtree(layout.path, ignore_errors=True)
    return {"index": index, f"linux/{host_arch}": host_desc["digest"],
            f"linux/{other['architecture']}": other_desc["digest"]}


def push_zstd(reg: Registry, archive: Path, repo_tag: str, compress: str = "zstd") -> str:
    """Push the busybox test image as OCI with its layer zstd-compressed (or ``compress="plain"``:
    uncompressed); returns the manifest digest."""
    config, layer = busybox_parts(archive)
    layout = OciLayout(reg.workdir / f"layout-{uuid.uuid4().hex[:8]}")
    try:
        desc = layout.image(config, [layer], compress=compress)
        layout.name(desc, "latest")
        got = reg.skopeo_copy(f"oci:{layout.path}:latest", repo_tag, "--preserve-digests")
        assert got == desc["digest"], (got, desc)
    finally:
        shutil.rmtree(layout.path, ignore_errors=True)
    return got


# ----------------------------------------------------------------------------- TLS


class TestPKI:
    """A CA made for one test, a server certificate for 127.0.0.1 and a client certificate."""

    __test__ = False  # not a pytest class

    def __init__(self, workdir: Path):
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        self.dir = workdir
        now = datetime.datetime.now(datetime.timezone.utc)

        def pem_key(k) -> bytes:
            return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption())

        def cert(subject: str, key, issuer_name, issuer_key, ca: bool, sans=None, usage=None):
            b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                 .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
                 .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
            if sans:
                b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            if usage:
                b = b.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
            return b.sign(issuer_key, hashes.SHA256())

        import ipaddress

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pycompose test CA")])
        ca_cert = cert("pycompose test CA", ca_key, ca_name, ca_key, True)
        srv_key = ec.generate_private_key(ec.SECP256R1())
        srv = cert("127.0.0.1", srv_key, ca_name, ca_key, False,
                   [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
                   [ExtendedKeyUsageOID.SERVER_AUTH])
        cli_key = ec.generate_private_key(ec.SECP256R1())
        cli = cert("pycompose test client", cli_key, ca_name, ca_key, False, None, [ExtendedKeyUsageOID.CLIENT_AUTH])
        pem = serialization.Encoding.PEM
        (workdir / "server").mkdir()
        self.client_dir = workdir / "client"      # laid out as a certs.d directory: ca.crt, client.cert/.key
        self.client_dir.mkdir()
        self.ca = self.client_dir / "ca.crt"
        self.ca.write_bytes(ca_cert.public_bytes(pem))
        self.server_cert, self.server_key = workdir / "server" / "server.crt", workdir / "server" / "server.key"
        self.server_cert.write_bytes(srv.public_bytes(pem))
        self.server_key.write_bytes(pem_key(srv_key))
        self.client_cert, self.client_key = self.client_dir / "client.cert", self.client_dir / "client.key"
        self.client_cert.write_bytes(cli.public_bytes(pem))
        self.client_key.write_bytes(pem_key(cli_key))

    def registry_tls(self, client_certs: bool = False) -> dict:
        tls = {"certificate": str(self.server_cert), "key": str(self.server_key)}
        if client_certs:
            tls["clientcas"] = [str(self.ca)]
        return tls


# ----------------------------------------------------------------------------- token server


def libtrust_key_id(public_key) -> str:
    """The ``kid`` distribution expects: base32 of the SPKI's sha256 (30 bytes), in 4-char groups."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class _LoopbackHTTP:
    """Base of the test's own HTTP servers: 127.0.0.1 on a free port, served from a thread until close()."""

    def _serve(self, handler: type[BaseHTTPRequestHandler], **handler_attrs) -> None:
        """Start answering with a subclass of ``handler`` carrying ``handler_attrs`` (its way back to us)."""
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), type(handler.__name__, (handler,), handler_attrs))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class TokenServer(_LoopbackHTTP):
    """A docker token-auth server (``auth: token``): RS256 JWTs signed by a key made here.

    ``users`` maps user -> password; anonymous requests get pull access when
    ``anonymous_pull``. ``requests`` records every token request (for caching tests).
    """

    service = "pycompose-test-registry"
    issuer = "pycompose-test-issuer"

    def __init__(self, workdir: Path, users: dict[str, str] | None = None, anonymous_pull: bool = True,
                 lifetime: int = 300):
        self.users = users if users is not None else {"alice": "s3cret"}
        self.anonymous_pull = anonymous_pull
        self.lifetime = lifetime
        self.requests: list[dict] = []
        self.refresh_tokens: dict[str, str] = {}   # refresh token -> user
        self.cert_path = workdir / "token-cert.pem"
        self._make_key()
        self._serve(_TokenHandler, server_ref=self)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def _make_key(self) -> None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pycompose test token issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.kid = libtrust_key_id(self.key.public_key())

    def sign(self, subject: str, access: list[dict]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + self.lifetime,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def grant(self, user: str | None, scopes: list[str]) -> list[dict]:
        """What ``user`` (None: anonymous) may do: everything when known, pull when anonymous allowed."""
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if user is None:
                actions = [a for a in actions if a == "pull"] if self.anonymous_pull else []
            access.append({"type": kind, "name": name, "actions": actions})
        return access


class _TokenHandler(BaseHTTPRequestHandler):
    server_ref: TokenServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def _reply(self, code: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _basic_user(self) -> tuple[str | None, bool]:
        """(user, ok): ok is False when credentials were sent and are wrong."""
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, True
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, False
        ok = self.server_ref.users.get(user) == pw
        return (user if ok else None), ok

    def do_GET(self) -> None:
        srv = self.server_ref
        q = parse_qs(urlparse(self.path).query)
        user, ok = self._basic_user()
        srv.requests.append({"method": "GET", "user": user, "scope": q.get("scope", []),
                             "service": q.get("service", [None])[0]})
        if not ok:
            return self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]})
        token = srv.sign(user or "", srv.grant(user, q.get("scope", [])))
        doc = {"token": token, "access_token": token, "expires_in": srv.lifetime,
               "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if user and q.get("offline_token", [""])[0] == "true":
            refresh = uuid.uuid4().hex
            srv.refresh_tokens[refresh] = user
            doc["refresh_token"] = refresh
        self._reply(200, doc)

    def do_POST(self) -> None:
        """OAuth2 form: grant_type=password or refresh_token (what clients with identity tokens use)."""
        srv = self.server_ref
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode())
        grant = form.get("grant_type", [""])[0]
        scopes = " ".join(form.get("scope", [])).split()
        user = None
        if grant == "refresh_token":
            user = srv.refresh_tokens.get(form.get("refresh_token", [""])[0])
        elif grant == "password":
            u, p = form.get("username", [""])[0], form.get("password", [""])[0]
            user = u if srv.users.get(u) == p else None
        srv.requests.append({"method": "POST", "user": user, "scope": scopes, "grant_type": grant})
        if user is None:
            return self._reply(401, {"error": "invalid_grant"})
        token = srv.sign(user, srv.grant(user, scopes))
        doc = {"access_token": token, "expires_in": srv.lifetime, "scope": " ".join(scopes)}
        if grant == "password" or form.get("access_type", [""])[0] == "offline":
            refresh = uuid.uuid4().hex
            srv.refresh_tokens[refresh] = user
            doc["refresh_token"] = refresh
        self._reply(200, doc)


# ----------------------------------------------------------------------------- cutting proxy


class CuttingProxy:
    """A loopback TCP proxy to ``target_port`` that drops one connection after ``cut_after``
    bytes of a response carrying more than that (mid-layer), once (``cuts`` counts it)."""

    def __init__(self, target_port: int, cut_after: int = 200_000, times: int = 1):
        self.target_port = target_port
        self.cut_after = cut_after
        self.remaining = times
        self.cuts = 0
        self.connections = 0
        self.ranges: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b, cutting in ((client, upstream, False), (upstream, client, True)):
                t = threading.Thread(target=self._pump, args=(a, b, cutting), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, cutting: bool) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not cutting:
                    self._note_ranges(data)
                if cutting:
                    with self._lock:
                        arm = self.remaining > 0 and sent + len(data) > self.cut_after
                        if arm:
                            self.remaining -= 1
                            self.cuts += 1
                    if arm:
                        dst.sendall(data[: max(0, self.cut_after - sent)])
                        break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _note_ranges(self, data: bytes) -> None:
        """Record the Range headers clients send (the resume test checks one was asked for)."""
        for line in data.split(b"\r\n"):
            if line.lower().startswith(b"range:"):
                self.ranges.append(line.split(b":", 1)[1].strip().decode())

    def close(self) -> None:
        self._closing = True
        self._sock.close()
        with self._lock:
            for s in self._open:
                try:
                    s.close()
                except OSError:
                    pass
        for t in self._threads:
            t.join(2)


# ----------------------------------------------------------------------------- flaky front


class FlakyFront(_LoopbackHTTP):
    """An HTTP front on loopback forwarding to a registry, answering the first requests whose
    ``METHOD path`` contains a pattern with a canned answer instead (``fail``: [(pattern, status,
    headers, times[, body[, skip]]]): ``skip`` matching requests are passed on first).
    ``seen`` lists (method, path, status sent) for every request."""

    def __init__(self, target_port: int, fail: list[tuple[str, int, dict, int]], drop: tuple[str, ...] = ()):
        self.target_port = target_port
        self.drop = {h.lower() for h in drop}      # request headers not passed on (e.g. "range")
        self.fail = [list(f) for f in fail]
        self.seen: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._serve(_FrontHandler, front=self)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def failure_for(self, path: str) -> tuple[int, dict, bytes] | None:
        """The canned answer for ``path`` (status, headers, body: a 5th item of the entry, else empty)."""
        with self._lock:
            for f in self.fail:
                if f[0] in path and f[3] > 0:
                    if len(f) > 5 and f[5] > 0:
                        f[5] -= 1
                        continue
                    f[3] -= 1
                    return f[1], f[2], (f[4] if len(f) > 4 else b"")
        return None


class _FrontHandler(BaseHTTPRequestHandler):
    front: FlakyFront
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _handle(self) -> None:
        import http.client

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        failure = self.front.failure_for(f"{self.command} {self.path}")
        if failure:
            status, headers, canned = failure
            self.front.seen.append((self.command, self.path, status))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(canned)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(canned)
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.front.target_port, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection",) and k.lower() not in self.front.drop}
        # the Host header passed on: the upload Locations the registry makes point at the front
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        data = resp.read()
        self.front.seen.append((self.command, self.path, resp.status))
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
