"""The registry fixtures hold what they promise (the other registry tests rely on it)."""
from __future__ import annotations

import base64
import json

import httpx
import pytest

pytestmark = pytest.mark.root


def test_registry_holds_every_form(registry):
    ctype, raw = registry.manifest("busybox", "latest")
    assert ctype == "application/vnd.docker.distribution.manifest.v2+json"
    assert json.loads(raw)["layers"][0]["mediaType"].endswith("tar.gzip")
    ctype, _ = registry.manifest("oci/busybox", "latest")
    assert ctype == "application/vnd.oci.image.manifest.v1+json"
    _, raw = registry.manifest("zstd/busybox", "latest")
    assert json.loads(raw)["layers"][0]["mediaType"].endswith("+zstd")
    ctype, raw = registry.manifest("multi/busybox", "latest")
    assert ctype == "application/vnd.oci.image.index.v1+json"
    archs = sorted(m["platform"]["architecture"] for m in json.loads(raw)["manifests"])
    assert len(archs) == 2 and archs[0] != archs[1]
    assert registry.images["multi/busybox:latest"] == registry.platforms["index"]


def test_htpasswd_registry_wants_credentials(make_registry):
    reg = make_registry(auth="htpasswd", fill_images=False)
    r = httpx.get(f"{reg.url}/v2/")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert httpx.get(f"{reg.url}/v2/", auth=reg.creds).status_code == 200


def test_token_registry_accepts_our_jwts(make_registry):
    reg = make_registry(auth="token")
    r = httpx.get(f"{reg.url}/v2/busybox/manifests/latest")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer realm=")
    tok = httpx.get(reg.token_server.realm, params={"service": reg.token_server.service,
                                                   "scope": "repository:busybox:pull"}).json()["token"]
    r = httpx.get(f"{reg.url}/v2/busybox/manifests/latest", headers={
        "Authorization": f"Bearer {tok}", "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert r.status_code == 200
    claims = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))
    assert claims["access"] == [{"type": "repository", "name": "busybox", "actions": ["pull"]}]


def test_cutting_proxy_cuts_once(registry, cutting_proxy):
    _, raw = registry.manifest("busybox", "latest")
    layer = json.loads(raw)["layers"][0]
    proxy = cutting_proxy(registry.port, cut_after=100_000)
    url = f"http://{proxy.host}/v2/busybox/blobs/{layer['digest']}"
    with pytest.raises(httpx.HTTPError):
        with httpx.stream("GET", url) as r:
            for _ in r.iter_bytes():
                pass
    assert proxy.cuts == 1
    assert len(httpx.get(url).content) == layer["size"]
