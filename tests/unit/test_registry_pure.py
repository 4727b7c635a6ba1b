"""Pure rules of the registry client: challenges, platforms, retry policy, settings, config.json."""
from __future__ import annotations

import base64
import json

import pytest

from engine.errors import InvalidArgument
from engine.registry import challenge, dockerconfig, names, platforms, retry, settings
from engine.registry.dockerconfig import Credentials


# --- WWW-Authenticate -----------------------------------------------------------------------

def test_bearer_challenge():
    h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"'
    assert challenge.parse(h) == [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                                              "scope": "repository:library/busybox:pull,push"})]


def test_basic_and_bearer_in_one_header_with_escapes():
    h = 'Basic realm="my \\"realm\\"", Bearer realm="http://127.0.0.1:1/t",error="insufficient_scope"'
    got = challenge.parse(h)
    assert got == [("basic", {"realm": 'my "realm"'}),
                   ("bearer", {"realm": "http://127.0.0.1:1/t", "error": "insufficient_scope"})]


def test_unquoted_params_and_empty():
    assert challenge.parse("Basic realm=x") == [("basic", {"realm": "x"})]
    assert challenge.parse("") == []


# --- platforms -------------------------------------------------------------------------------

INDEX = [
    {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
    {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"digest": "sha256:c", "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
    {"digest": "sha256:d", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
    {"digest": "sha256:e", "platform": {"os": "unknown", "architecture": "unknown"}},
]


def test_parse_and_normalise():
    assert str(platforms.parse("linux/x86_64")) == "linux/amd64"
    assert str(platforms.parse("linux/aarch64")) == "linux/arm64"
    assert platforms.parse("linux/arm64/v8") == platforms.parse("linux/arm64")
    assert str(platforms.parse("linux/arm")) == "linux/arm/v7"
    with pytest.raises(InvalidArgument):
        platforms.parse("linux//")


def test_select():
    assert platforms.select(INDEX, platforms.parse("linux/amd64"))["digest"] == "sha256:a"
    assert platforms.select(INDEX, platforms.parse("linux/arm64"))["digest"] == "sha256:b"
    assert platforms.select(INDEX, platforms.parse("linux/arm/v7"))["digest"] == "sha256:d"
    assert platforms.select(INDEX, platforms.parse("linux/arm/v6"))["digest"] == "sha256:c"
    assert platforms.select(INDEX, platforms.parse("linux/s390x")) is None


def test_offered_leaves_out_attestations():
    assert platforms.offered(INDEX) == ["linux/amd64", "linux/arm64/v8", "linux/arm/v6", "linux/arm/v7"]


# --- retry -----------------------------------------------------------------------------------

def test_retry_policy():
    p = retry.RetryPolicy(attempts=3, base=1.0, cap=5.0)
    assert p.should_retry(1, 503) and p.should_retry(2, 429) and p.should_retry(1, None)
    assert not p.should_retry(3, 503) and not p.should_retry(1, 404) and not p.should_retry(1, 401)
    assert p.delay(1, rand=0.5) == 1.0 and p.delay(2, rand=0.5) == 2.0 and p.delay(9, rand=0.5) == 5.0
    assert p.delay(1, retry_after="3") == 3.0
    assert p.delay(1, retry_after="120") == 5.0          # capped


def test_retry_after_http_date():
    assert retry.retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry.retry_after_seconds("soon") is None


# --- names and settings ------------------------------------------------------------------------

def test_server_names():
    assert names.server_host(None) == "docker.io"
    assert names.server_host("https://index.docker.io/v1/") == "docker.io"
    assert names.server_host("http://Localhost:5000/v2/") == "localhost:5000"
    assert names.api_host("docker.io") == "registry-1.docker.io"
    assert names.config_key("docker.io") == "https://index.docker.io/v1/"
    assert names.is_loopback("127.0.0.5:5000") and names.is_loopback("[::1]:5000") and names.is_loopback("localhost")
    assert not names.is_loopback("10.0.0.1:5000")


def test_settings_file(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    monkeypatch.setenv("PYCOMPOSE_CONFIG", str(path))
    assert settings.load() == settings.RegistrySettings()
    path.write_text(json.dumps({"insecure-registries": ["reg.lan:5000", "10.1.0.0/16"],
                                "registry-mirrors": ["http://127.0.0.1:5001"]}))
    s = settings.load()
    assert s.is_insecure("reg.lan:5000") and s.is_insecure("10.1.2.3:443") and s.is_insecure("127.0.0.1:9")
    assert not s.is_insecure("10.2.0.1:5000") and not s.is_insecure("ghcr.io")
    assert s.mirrors == (settings.Mirror("http", "127.0.0.1:5001"),)
    path.write_text('{"registry-mirrors": ["not a url"]}')
    with pytest.raises(InvalidArgument, match="registry-mirrors"):
        settings.load()
    path.write_text("{")
    with pytest.raises(InvalidArgument, match=str(path)):
        settings.load()


# --- Docker's config.json ---------------------------------------------------------------------

@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    return tmp_path / "config.json"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_lookup_auths_forms(docker_config):
    docker_config.write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": b64("hubuser:pw:with:colons")},
        "http://reg.lan:5000": {"auth": b64("u:p")},
        "tok.example": {"auth": b64("me:"), "identitytoken": "refresh-123"},
    }}))
    assert dockerconfig.lookup("docker.io") == Credentials("hubuser", "pw:with:colons")
    assert dockerconfig.lookup("reg.lan:5000") == Credentials("u", "p")
    assert dockerconfig.lookup("tok.example") == Credentials("me", "", "refresh-123")
    assert dockerconfig.lookup("other:1") is None


def test_save_and_erase_keep_the_rest(docker_config):
    docker_config.write_text(json.dumps({"auths": {"http://reg.lan:5000": {"auth": b64("old:x")}}, "detachKeys": "ctrl-x"}))
    dockerconfig.save("reg.lan:5000", Credentials("new", "pw"))
    doc = json.loads(docker_config.read_text())
    assert doc == {"auths": {"reg.lan:5000": {"auth": b64("new:pw")}}, "detachKeys": "ctrl-x"}
    dockerconfig.save("docker.io", Credentials("hub", "pw"))
    assert "https://index.docker.io/v1/" in json.loads(docker_config.read_text())["auths"]
    assert dockerconfig.erase("reg.lan:5000") and not dockerconfig.erase("reg.lan:5000")
    assert list(json.loads(docker_config.read_text())["auths"]) == ["https://index.docker.io/v1/"]


def test_bad_config_json_named(docker_config):
    docker_config.write_text("{nope")
    with pytest.raises(InvalidArgument, match="config.json"):
        dockerconfig.lookup("docker.io")
    docker_config.write_text(json.dumps({"auths": {"r:1": {"auth": b64("nocolon")}}}))
    with pytest.raises(InvalidArgument, match="user:password"):
        dockerconfig.lookup("r:1")
