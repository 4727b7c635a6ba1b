"""Registry authentication against real registries: htpasswd Basic auth, the Bearer token
flow with a token server of the test suite, credentials from config.json and from a
credential helper, and login/logout at the engine level."""
from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from engine.errors import ImageNotFoundRemote, NotFound, Unauthorized

pytestmark = pytest.mark.root


def write_config(docker_config_dir, doc: dict) -> None:
    (docker_config_dir / "config.json").write_text(json.dumps(doc))


def auth_entry(user: str, pw: str) -> dict:
    return {"auth": base64.b64encode(f"{user}:{pw}".encode()).decode()}


def test_basic_auth_needs_credentials(make_registry, engine):
    reg = make_registry(auth="htpasswd", fill_images="busybox")
    with pytest.raises(Unauthorized) as e:
        engine.images.pull(f"{reg.host}/busybox:latest")
    assert str(e.value) == "no basic auth credentials"
    assert not engine.images.exists(f"{reg.host}/busybox:latest")


def test_basic_auth_from_config_json(make_registry, engine, docker_config_dir):
    reg = make_registry(auth="htpasswd", fill_images="busybox")
    write_config(docker_config_dir, {"auths": {reg.host: auth_entry(*reg.creds)}})
    res = engine.images.pull(f"{reg.host}/busybox:latest")
    assert res["digest"] == reg.images["busybox:latest"]


def test_basic_auth_wrong_password(make_registry, engine, docker_config_dir):
    reg = make_registry(auth="htpasswd", fill_images=False)
    write_config(docker_config_dir, {"auths": {f"http://{reg.host}": auth_entry("alice", "wrong")}})
    with pytest.raises(Unauthorized):
        engine.images.pull(f"{reg.host}/busybox:latest")


def test_login_logout_round_trip_basic(make_registry, engine, docker_config_dir):
    reg = make_registry(auth="htpasswd", fill_images="busybox")
    with pytest.raises(Unauthorized) as e:
        engine.login(reg.host, "alice", "wrong")
    assert "401 Unauthorized" in str(e.value)
    assert not (docker_config_dir / "config.json").exists()
    assert engine.login(reg.host, *reg.creds)["Status"] == "Login Succeeded"
    doc = json.loads((docker_config_dir / "config.json").read_text())
    assert doc["auths"][reg.host] == auth_entry(*reg.creds)
    assert stat.S_IMODE(os.stat(docker_config_dir / "config.json").st_mode) == 0o600
    assert engine.images.pull(f"{reg.host}/busybox:latest")["status"].startswith("Downloaded newer image")
    assert engine.logout(reg.host) == reg.host
    assert json.loads((docker_config_dir / "config.json").read_text())["auths"] == {}
    with pytest.raises(NotFound) as e:
        engine.logout(reg.host)
    assert str(e.value) == f"Not logged in to {reg.host}"


def test_login_keeps_other_config_keys(make_registry, engine, docker_config_dir):
    reg = make_registry(auth="htpasswd", fill_images=False)
    write_config(docker_config_dir, {"auths": {"other:5000": auth_entry("bob", "x")}, "psFormat": "table {{.ID}}"})
    engine.login(f"http://{reg.host}/", *reg.creds)
    doc = json.loads((docker_config_dir / "config.json").read_text())
    assert doc["psFormat"] == "table {{.ID}}" and doc["auths"]["other:5000"] == auth_entry("bob", "x")
    assert reg.host in doc["auths"]


def test_bearer_token_anonymous_pull_and_token_reuse(make_registry, engine):
    reg = make_registry(auth="token")
    srv = reg.token_server
    srv.requests.clear()
    res = engine.images.pull(f"{reg.host}/busybox:latest")
    assert res["digest"] == reg.images["busybox:latest"]
    scopes = [r["scope"] for r in srv.requests]
    assert scopes == [["repository:busybox:pull"]]        # one token for manifest, config and layer
    assert srv.requests[0]["user"] is None and srv.requests[0]["service"] == srv.service
    engine.images.pull(f"{reg.host}/oci/busybox:latest")
    assert [r["scope"] for r in srv.requests][-1] == ["repository:oci/busybox:pull"]
    n = len(srv.requests)
    engine.images.pull(f"{reg.host}/busybox:latest")        # cached for its lifetime: no new token
    assert len(srv.requests) == n


def test_bearer_denied_without_credentials(make_registry, engine):
    reg = make_registry(auth="token", fill_images="busybox")
    reg.token_server.anonymous_pull = False
    with pytest.raises(ImageNotFoundRemote) as e:
        engine.images.pull(f"{reg.host}/busybox:latest")
    assert str(e.value) == ("pull access denied for " + f"{reg.host}/busybox" + ", repository does not exist or "
                            "may require 'docker login': denied: requested access to the resource is denied")


def test_bearer_login_push_and_identity_token(make_registry, engine, docker_config_dir, busybox_archive):
    reg = make_registry(auth="token", fill_images=False)
    srv = reg.token_server
    with pytest.raises(Unauthorized):
        engine.login(reg.host, "alice", "wrong")
    assert engine.login(reg.host, "alice", "s3cret")["Status"] == "Login Succeeded"
    entry = json.loads((docker_config_dir / "config.json").read_text())["auths"][reg.host]
    assert entry["identitytoken"] in srv.refresh_tokens        # the token server's refresh token, no password
    assert base64.b64decode(entry["auth"]).decode() == "alice:"
    engine.images.load(busybox_archive)
    engine.images.tag("busybox:latest", f"{reg.host}/team/app:1")
    srv.requests.clear()
    pushed = engine.images.push(f"{reg.host}/team/app:1")
    assert pushed[0]["tag"] == "1"
    assert any(r["method"] == "POST" and r.get("grant_type") == "refresh_token" and r["user"] == "alice"
               for r in srv.requests)
    assert engine.logout(reg.host) == reg.host
    with pytest.raises(Unauthorized):
        engine.images.push(f"{reg.host}/team/app:1")


HELPER = r"""#!/bin/sh
# docker-credential-test: keeps credentials in $CRED_STORE (one JSON object per server)
store="$CRED_STORE"
[ -f "$store" ] || echo '{}' > "$store"
case "$1" in
get) read -r server
     exec python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=sys.argv[2]
if s not in d: print("credentials not found in native keychain"); sys.exit(1)
print(json.dumps({"ServerURL": s, "Username": d[s][0], "Secret": d[s][1]}))' "$store" "$server" ;;
store) exec python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=json.load(sys.stdin)
d[c["ServerURL"]]=[c["Username"], c["Secret"]]; json.dump(d, open(sys.argv[1], "w"))' "$store" ;;
erase) read -r server
     exec python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=sys.argv[2]
if s not in d: print("credentials not found in native keychain"); sys.exit(1)
del d[s]; json.dump(d, open(sys.argv[1], "w"))' "$store" "$server" ;;
list) cat "$store" ;;
esac
"""


@pytest.fixture
def cred_helper(tmp_path, monkeypatch):
    """A ``docker-credential-test`` helper on PATH, storing into a file; yields that file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "docker-credential-test"
    script.write_text(HELPER)
    script.chmod(0o755)
    store = tmp_path / "helper-store.json"
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("CRED_STORE", str(store))
    return store


def test_credentials_from_helper(make_registry, engine, docker_config_dir, cred_helper):
    reg = make_registry(auth="htpasswd", fill_images="busybox")
    cred_helper.write_text(json.dumps({reg.host: list(reg.creds)}))
    write_config(docker_config_dir, {"credHelpers": {reg.host: "test"}})
    res = engine.images.pull(f"{reg.host}/busybox:latest")
    assert res["digest"] == reg.images["busybox:latest"]


def test_login_logout_through_creds_store(make_registry, engine, docker_config_dir, cred_helper):
    reg = make_registry(auth="htpasswd", fill_images="busybox")
    write_config(docker_config_dir, {"credsStore": "test"})
    engine.login(reg.host, *reg.creds)
    assert json.loads(cred_helper.read_text()) == {reg.host: list(reg.creds)}
    doc = json.loads((docker_config_dir / "config.json").read_text())
    assert doc["auths"] == {reg.host: {}} and doc["credsStore"] == "test"   # no secret in the file
    assert engine.images.pull(f"{reg.host}/busybox:latest")["digest"] == reg.images["busybox:latest"]
    engine.logout(reg.host)
    assert json.loads(cred_helper.read_text()) == {}


def test_expired_token_is_renewed(make_registry, engine):
    import time

    reg = make_registry(auth="token", fill_images="busybox")
    srv = reg.token_server
    srv.lifetime = 11          # the client keeps a 10 s margin: usable for about 1 s
    srv.requests.clear()
    engine.images.pull(f"{reg.host}/busybox:latest")
    before = len(srv.requests)          # 1, or more if this pull outlived its token on a loaded machine
    time.sleep(1.5)
    assert engine.images.pull(f"{reg.host}/busybox:latest")["status"].startswith("Image is up to date")
    assert len(srv.requests) > before   # the cached token had expired: a new one was asked for
    assert {tuple(r["scope"]) for r in srv.requests} == {("repository:busybox:pull",)}
