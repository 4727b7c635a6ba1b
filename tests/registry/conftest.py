"""Registry fixtures: a real Debian docker-registry (distribution 2.8) on 127.0.0.1.

* ``registry`` (session): an open registry holding the busybox test image as
  ``busybox:latest`` (Docker schema2, gzip), ``oci/busybox:latest`` (OCI),
  ``zstd/busybox:latest`` (OCI, zstd layer), ``plain/busybox:latest`` (OCI, uncompressed
  layer), ``multi/busybox:latest`` (an OCI index: the host's platform + one other) and
  ``dlist/busybox:latest`` (the same as a Docker manifest list). ``registry.images`` maps "repo:tag" to
  the manifest digest pushed, ``registry.platforms`` the index's per-platform digests.
* ``make_registry(auth=None|"htpasswd"|"token", fill=True)``: a fresh registry for one
  test (its storage may be damaged); ``token_server`` for ``auth="token"``.
* ``cutting_proxy(port, cut_after)``: a loopback proxy dropping one connection mid-layer;
  ``flaky_front(port, fail)``: an HTTP front answering some requests with 429/5xx first.
* ``engine_root`` / ``engine``: an Engine on a fresh, empty temporary data root.
* autouse: ``DOCKER_CONFIG`` and ``PYCOMPOSE_CONFIG`` point into the test's tmp dir, so no
  test reads or writes the user's ~/.docker or /etc/pycompose.

Everything started here is stopped here, by PID, and its temp dirs removed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import servers  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEST_ARCHIVE = Path("/tmp/pycompose-busybox.tar")


def _needs_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in (servers.REGISTRY_BIN, "skopeo", "htpasswd"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (scripts/install.sh installs it)")


def _host_arch() -> str:
    from engine.images.archive import host_arch

    return host_arch()


@pytest.fixture(scope="session")
def busybox_archive() -> Path:
    """The busybox test image as a docker-save archive (scripts/make-test-image --no-load)."""
    _needs_tools()
    subprocess.run([str(REPO / "scripts" / "make-test-image"), "--no-load", "--output", str(TEST_ARCHIVE)],
                   check=True, stdout=subprocess.DEVNULL)
    return TEST_ARCHIVE


def fill(reg: servers.Registry, archive: Path, only: str | None = None) -> None:
    """Push the busybox test image in every form the tests pull (``only="busybox"``: schema2 only)."""
    src = f"docker-archive:{archive}"
    reg.skopeo_copy(src, "busybox:latest", "--format", "v2s2")
    if only == "busybox":
        return
    reg.skopeo_copy(src, "oci/busybox:latest", "--format", "oci")
    servers.push_zstd(reg, archive, "zstd/busybox:latest")
    servers.push_zstd(reg, archive, "plain/busybox:latest", compress="plain")
    reg.platforms = servers.push_multi_platform(reg, archive, "multi/busybox:latest", _host_arch())
    reg.images["multi/busybox:latest"] = reg.platforms["index"]
    reg.images["dlist/busybox:latest"] = servers.push_multi_platform(
        reg, archive, "dlist/busybox:latest", _host_arch(), docker_list=True)["index"]


@pytest.fixture(scope="session")
def registry(busybox_archive):
    """An open docker-registry on 127.0.0.1 with the busybox test image (see the module docstring)."""
    reg = servers.start_registry()
    try:
        fill(reg, busybox_archive)
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def token_server(tmp_path):
    srv = servers.TokenServer(tmp_path)
    yield srv
    srv.close()


@pytest.fixture
def make_registry(busybox_archive, tmp_path):
    """Factory: ``make_registry(auth=None, fill_images=True|"busybox"|False, token_server=None)``
    -> a fresh Registry (``"busybox"``: only ``busybox:latest`` pushed, quicker)."""
    started: list[servers.Registry] = []

    def make(auth: str | None = None, fill_images: bool | str = True, token_server=None,
             creds: tuple[str, str] = ("alice", "s3cret")) -> servers.Registry:
        if auth == "token" and token_server is None:
            token_server = servers.TokenServer(Path(tempfile.mkdtemp(dir=tmp_path)))
        reg = servers.start_registry(auth=auth, creds=creds, token_server=token_server)
        started.append(reg)
        if fill_images:
            fill(reg, busybox_archive, fill_images if isinstance(fill_images, str) else None)
        return reg

    yield make
    for reg in started:
        reg.stop()


def _closing_factory(server_class):
    """A fixture body: a factory making ``server_class(...)`` servers, every one closed after the test."""
    made = []

    def make(*args, **kw):
        made.append(server_class(*args, **kw))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def cutting_proxy():
    """Factory: ``cutting_proxy(target_port, cut_after=200_000, times=1)`` -> CuttingProxy."""
    yield from _closing_factory(servers.CuttingProxy)


@pytest.fixture
def flaky_front():
    """Factory: ``flaky_front(target_port, [(path pattern, status, headers, times)], drop=())`` -> FlakyFront."""
    yield from _closing_factory(servers.FlakyFront)


@pytest.fixture(autouse=True)
def _client_config(tmp_path, monkeypatch):
    """Isolate docker's and pycompose's client config files in the test's tmp dir."""
    docker_dir = tmp_path / "docker-config"
    docker_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    monkeypatch.setenv("PYCOMPOSE_CONFIG", str(tmp_path / "pycompose-config.json"))
    return docker_dir


@pytest.fixture
def docker_config_dir(_client_config) -> Path:
    """The test's $DOCKER_CONFIG directory (config.json goes here)."""
    return _client_config


@pytest.fixture
def engine_root(monkeypatch) -> Path:
    """A fresh, empty data root for this test (PYCOMPOSE_ROOT points at it)."""
    root = Path(tempfile.mkdtemp(prefix="pyc-regtest-", dir="/tmp"))
    monkeypatch.setenv("PYCOMPOSE_ROOT", str(root))
    yield root
    try:
        from engine.api import Engine

        Engine(str(root)).shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def engine(engine_root):
    """An Engine on the fresh data root of ``engine_root``."""
    from engine.api import Engine

    return Engine(str(engine_root))
