"""TLS registries: the CA and client certificates of /etc/docker/certs.d/<host:port>/
(pointed at a temporary directory here), and errors that name that directory."""
from __future__ import annotations

import shutil

import pytest

from engine.errors import RegistryTLSError
from engine.registry import settings as settings_mod, tls

pytestmark = pytest.mark.root


@pytest.fixture
def pki(tmp_path):
    from servers import TestPKI

    d = tmp_path / "pki"
    d.mkdir()
    return TestPKI(d)


@pytest.fixture
def certs_d(tmp_path, monkeypatch):
    d = tmp_path / "certs.d"
    d.mkdir()
    monkeypatch.setattr(tls, "CERTS_D", d)
    return d


@pytest.fixture
def tls_registry(pki, busybox_archive):
    """Factory: a registry serving HTTPS only, its certificate from the test CA (client
    certificates required with ``client_certs=True``), busybox:latest pushed."""
    from servers import start_registry

    made: list = []

    def make(client_certs: bool = False):
        reg = start_registry(tls=pki.registry_tls(client_certs))
        made.append(reg)
        reg.skopeo_copy(f"docker-archive:{busybox_archive}", "busybox:latest", "--format", "v2s2",
                        "--dest-cert-dir", str(pki.client_dir))
        return reg

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def verifying(monkeypatch):
    """Treat loopback registries as secure (HTTPS with verification), as any remote one is."""
    monkeypatch.setattr(settings_mod.RegistrySettings, "is_insecure", lambda self, host: False)


def test_unknown_ca_names_certs_dir_then_ca_crt_works(tls_registry, engine, certs_d, pki, verifying):
    reg = tls_registry()
    with pytest.raises(RegistryTLSError) as e:
        engine.images.pull(f"{reg.host}/busybox:latest")
    msg = str(e.value)
    assert "certificate signed by unknown authority" in msg
    assert f"{certs_d}/{reg.host}/ca.crt" in msg
    (certs_d / reg.host).mkdir()
    shutil.copy(pki.ca, certs_d / reg.host / "ca.crt")
    res = engine.images.pull(f"{reg.host}/busybox:latest")
    assert res["digest"] == reg.images["busybox:latest"]


def test_client_certificate_from_certs_dir(tls_registry, engine, certs_d, pki, verifying):
    reg = tls_registry(client_certs=True)
    d = certs_d / reg.host
    d.mkdir()
    shutil.copy(pki.ca, d / "ca.crt")
    with pytest.raises(RegistryTLSError) as e:
        engine.images.pull(f"{reg.host}/busybox:latest")
    assert str(d) in str(e.value)
    shutil.copy(pki.client_cert, d / "client.cert")
    shutil.copy(pki.client_key, d / "client.key")
    res = engine.images.pull(f"{reg.host}/busybox:latest")
    assert res["digest"] == reg.images["busybox:latest"]


def test_client_cert_without_key_is_refused(engine, certs_d, pki, verifying):
    d = certs_d / "127.0.0.1:1"
    d.mkdir()
    shutil.copy(pki.client_cert, d / "client.cert")
    with pytest.raises(RegistryTLSError) as e:
        engine.images.pull("127.0.0.1:1/busybox:latest")
    assert "missing key client.key" in str(e.value) and str(d) in str(e.value)


def test_loopback_tls_registry_without_certs(tls_registry, engine, certs_d):
    """Loopback registries are insecure-allowed (Docker's rule): HTTPS without verification."""
    reg = tls_registry()
    assert engine.images.pull(f"{reg.host}/busybox:latest")["digest"] == reg.images["busybox:latest"]


def test_same_port_plain_then_tls(pki, engine, busybox_archive):
    """A registry that comes back on the same host:port speaking TLS (or the reverse) is
    reached all the same: the process's kept session probes the scheme again."""
    from servers import start_registry

    first = start_registry()
    try:
        first.skopeo_copy(f"docker-archive:{busybox_archive}", "busybox:latest", "--format", "v2s2")
        assert engine.images.pull(f"{first.host}/busybox:latest")["status"].startswith("Downloaded")
    finally:
        first.stop()
    second = start_registry(tls=pki.registry_tls(), port=first.port)
    try:
        second.skopeo_copy(f"docker-archive:{busybox_archive}", "busybox:latest", "--format", "v2s2",
                           "--dest-cert-dir", str(pki.client_dir))
        engine.images.remove(f"{first.host}/busybox:latest")
        assert engine.images.pull(f"{second.host}/busybox:latest")["status"].startswith("Downloaded")
    finally:
        second.stop()
