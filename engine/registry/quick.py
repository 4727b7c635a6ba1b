"""The up-to-date check of ``docker pull`` over the standard library.

A pull of an image that is here already asks the registry one thing: the digest its
reference names now (a ``HEAD`` of the manifest). Importing httpx for that one request
costs a new ``pycompose image pull`` process more than everything else it does (about
0.1 s of CPU of 0.2), so this module asks with ``http.client``, the same scheme, TLS
settings and credentials as ``session`` (Basic, or a Bearer token fetched for the pull
scope). It only ever answers "up to date": anything else (no local image under that
name, another digest, a mirror to try, an error, an unusual answer) returns None and the
full pull (``engine.registry.pull``, with retries and errors in Docker's words) runs.
"""
from __future__ import annotations

import base64
import http.client
import json
import sys
import urllib.parse

from engine.images import reference
from engine.images.store import ImageStore
from engine.registry import challenge, dockerconfig, names, platforms, probe, settings as settings_mod, tls
from engine.registry.mediatypes import ACCEPT
from engine.state import read_json

TIMEOUT = 10


def _local_candidates(store: ImageStore, name: str) -> dict[str, list[str]]:
    """Image id -> its repository digests under ``name`` (``host/repo@sha256:...``)."""
    out = {}
    for iid in store._ids():
        rec = read_json(store.records_dir / f"{iid.split(':', 1)[1]}.json") or {}
        mine = [d for d in rec.get("repo_digests") or [] if d.split("@", 1)[0] == name]
        if mine:
            out[iid] = mine
    return out


def _request(host: str, scheme: str, insecure: bool, method: str, path: str, headers: dict) -> http.client.HTTPResponse:
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, timeout=TIMEOUT, context=tls.context(host, verify=not insecure))
    else:
        conn = http.client.HTTPConnection(host, timeout=TIMEOUT)
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def _basic(creds) -> str:
    return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()


def head_digest(ref: reference.Reference) -> str | None:
    """The digest ``ref``'s tag (or digest) names on its registry now; None when unsure."""
    conf = settings_mod.load()
    if ref.domain == names.DOCKER_HUB and conf.mirrors:
        return None
    host = names.api_host(ref.domain)
    insecure = conf.is_insecure(host)
    scheme = probe.scheme(host) if insecure else "https"
    path = f"/v2/{ref.path}/manifests/{ref.digest or ref.tag}"
    headers = {"Accept": ACCEPT, "User-Agent": "pycompose"}
    resp = _request(host, scheme, insecure, "HEAD", path, headers)
    if resp.status == 401:
        found = dict(challenge.parse(resp.getheader("www-authenticate") or ""))
        creds = dockerconfig.lookup(ref.domain)
        if "bearer" in found:
            token = _fetch_token(found["bearer"], f"repository:{ref.path}:pull", creds)
            if not token:
                return None
            headers["Authorization"] = "Bearer " + token
        elif "basic" in found and creds and creds.username:
            headers["Authorization"] = _basic(creds)
        else:
            return None
        resp = _request(host, scheme, insecure, "HEAD", path, headers)
    digest = resp.getheader("docker-content-digest") or ""
    return digest if resp.status == 200 and digest.startswith("sha256:") else None


def _fetch_token(params: dict, scope: str, creds) -> str | None:
    realm = urllib.parse.urlsplit(params.get("realm") or "")
    if realm.scheme not in ("http", "https") or not realm.netloc or (creds and creds.identity_token):
        return None
    query = [("service", params["service"])] if params.get("service") else []
    headers = {"User-Agent": "pycompose"}
    if creds and creds.username:
        query.append(("account", creds.username))
        headers["Authorization"] = _basic(creds)
    query.append(("scope", scope))
    conn_cls = http.client.HTTPSConnection if realm.scheme == "https" else http.client.HTTPConnection
    kw = {"context": tls.context(realm.netloc)} if realm.scheme == "https" else {}
    conn = conn_cls(realm.netloc, timeout=TIMEOUT, **kw)
    try:
        conn.request("GET", (realm.path or "/") + "?" + urllib.parse.urlencode(query), headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        return None
    doc = json.loads(body)
    token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
    return token if isinstance(token, str) and token else None


def up_to_date(store: ImageStore, ref_str: str, platform: str | None, progress=None) -> dict | None:
    """The result of a pull that has nothing to do, or None when the full pull must run.

    A process that has the HTTP stack loaded already (a second pull of ``compose up``) uses it:
    its sessions keep connections and tokens, which this check would ask for again."""
    if "engine.registry.session" in sys.modules:
        return None
    ref = reference.parse(ref_str)
    candidates = _local_candidates(store, ref.name)
    if not candidates:
        return None
    tag_ref = str(ref) if ref.tag and not ref.digest else None
    tagged = store._tags().get(tag_ref) if tag_ref else None
    if tag_ref and tagged not in candidates:
        return None
    try:
        digest = head_digest(ref)
    except (OSError, http.client.HTTPException, ValueError, UnicodeError):
        return None
    except Exception:  # noqa: BLE001 - an unreadable config file, a credential helper failing: the full pull says it
        return None
    if not digest or (ref.digest and digest != ref.digest):
        return None
    want = platforms.parse(platform) if platform else platforms.host()
    name_digest = f"{ref.name}@{digest}"
    for iid, digests in candidates.items():
        if name_digest not in digests or (tag_ref and iid != tagged):
            continue
        if not _complete(store, iid, want):
            continue
        shown = ref.familiar()
        status = f"Image is up to date for {shown}"
        for msg in ({"status": f"Pulling from {ref.path}", "id": ref.digest or ref.tag},
                    {"status": f"Digest: {digest}"}, {"status": f"Status: {status}"}):
            if progress is not None:
                progress(msg)
        return {"ref": str(ref), "id": iid, "digest": digest, "status": status}
    return None


def _complete(store: ImageStore, iid: str, want: platforms.Platform) -> bool:
    """The image is for the platform asked for and has all its blobs."""
    try:
        cfg = json.loads(store.blobs.read(iid))
        rec = read_json(store.records_dir / f"{iid.split(':', 1)[1]}.json") or {}
    except (OSError, ValueError):
        return False
    have = platforms.normalize(cfg.get("os") or "linux", cfg.get("architecture") or "", cfg.get("variant") or "")
    layers = rec.get("layers") or []
    return platforms.matches(want, have) and all(store.blobs.exists(l["digest"]) for l in layers)
