"""Blob uploads: existence check, cross-repository mount, monolithic or chunked upload.

Small blobs go up in one PUT; large ones in PATCH chunks (``Content-Range``) closed by
a PUT with the digest, as the distribution spec describes. Each request is retried
(session) with its body re-read from the file, so a 5xx never corrupts an upload; a chunk
that fails (5xx, 429, a dropped connection) is sent again from where the registry says the
upload stands (``GET`` of the upload URL), with the session's back-off.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator


from engine.registry.httpstack import httpx
from engine.errors import DigestMismatch, RegistryError, RegistryUnreachable, Unauthorized
from engine.registry.session import Session, code_text, registry_error

CHUNK = 16 << 20               # PATCH size for chunked uploads
MONOLITHIC_MAX = 32 << 20      # blobs up to this size go up in one PUT
READ = 1 << 20


def push_scope(repo: str, mount_from: str | None = None) -> str:
    s = f"repository:{repo}:pull,push"
    return s + (f" repository:{mount_from}:pull" if mount_from else "")


def error_for(what: str, resp: httpx.Response) -> RegistryError:
    code, message = registry_error(resp)
    if resp.status_code in (401, 403):
        return Unauthorized(f"{code_text(code) or 'denied'}: {message or 'requested access to the resource is denied'}")
    return RegistryError(f"{what}: {resp.status_code} {code_text(code) or resp.reason_phrase}: {message}".rstrip(": "))


def exists(session: Session, repo: str, digest: str) -> bool:
    resp = session.request("HEAD", f"/v2/{repo}/blobs/{digest}", push_scope(repo))
    if resp.status_code == 200:
        return True
    if resp.status_code == 404:
        return False
    raise error_for(f"checking blob {digest}", resp)


def _location(session: Session, resp: httpx.Response) -> httpx.URL:
    loc = resp.headers.get("location")
    if not loc:
        raise RegistryError("the registry started an upload without a Location")
    return httpx.URL(session.url("/")).join(loc)


def start(session: Session, repo: str, digest: str, mount_from: str | None) -> httpx.URL | None:
    """Begin an upload; None when the registry mounted the blob from ``mount_from`` instead."""
    params = {"mount": digest, "from": mount_from} if mount_from else None
    resp = session.request("POST", f"/v2/{repo}/blobs/uploads/", push_scope(repo, mount_from),
                           params=params, headers={"Content-Length": "0"})
    if resp.status_code == 201 and mount_from:
        return None
    if resp.status_code != 202:
        raise error_for(f"starting the upload of {digest}", resp)
    return _location(session, resp)


def _reader(path: Path, offset: int, length: int, on_bytes: Callable[[int], None]) -> Callable[[], Iterator[bytes]]:
    def gen() -> Iterator[bytes]:
        with open(path, "rb") as f:
            f.seek(offset)
            left = length
            while left > 0:
                b = f.read(min(READ, left))
                if not b:
                    break
                left -= len(b)
                on_bytes(len(b))
                yield b
    return gen


def upload(session: Session, repo: str, url: httpx.URL, path: Path, digest: str, size: int,
           on_progress: Callable[[int], None] | None = None) -> None:
    """Send the blob at ``path`` to the upload ``url``; monolithic when small, chunked otherwise."""
    done = [0]
    base = 0

    def count(n: int) -> None:
        done[0] += n
        if on_progress:
            on_progress(min(base + done[0], size))

    scope = push_scope(repo)
    if size <= MONOLITHIC_MAX:
        resp = session.request("PUT", str(url.copy_merge_params({"digest": digest})), scope,
                               headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                               content=_reader(path, 0, size, count), retry=False)
        return _finish(resp, digest)
    offset, failures = 0, 0
    while offset < size:
        n = min(CHUNK, size - offset)
        done[0], base = 0, offset
        try:
            resp = session.request("PATCH", str(url), scope, retry=False,
                                   headers={"Content-Type": "application/octet-stream", "Content-Length": str(n),
                                            "Content-Range": f"{offset}-{offset + n - 1}"},
                                   content=_reader(path, offset, n, count))
        except RegistryUnreachable:
            resp = None                     # the connection dropped mid-chunk: ask where the upload is
            failures += 1
            if not session.policy.should_retry(failures, None):
                raise
        if resp is not None and resp.status_code == 202:
            url, offset, failures = _location(session, resp), offset + n, 0
            continue
        if resp is not None:
            failures += 1
            if not session.policy.should_retry(failures, resp.status_code) or resp.status_code < 408:
                raise error_for(f"uploading {digest}", resp)
        time.sleep(session.policy.delay(failures, resp.headers.get("retry-after") if resp is not None else None))
        url, offset = upload_status(session, repo, url)
    resp = session.request("PUT", str(url.copy_merge_params({"digest": digest})), scope,
                           headers={"Content-Length": "0"})
    _finish(resp, digest)


def upload_status(session: Session, repo: str, url: httpx.URL) -> tuple[httpx.URL, int]:
    """Where an upload stands after a failed chunk: (its URL now, the offset to send next).

    The registry answers ``204`` with ``Range: 0-<last byte received>`` (``0--1``: nothing yet)."""
    resp = session.request("GET", str(url), push_scope(repo))
    if resp.status_code != 204:
        raise error_for("asking where an interrupted upload stands", resp)
    last = resp.headers.get("range", "").partition("-")[2]
    try:
        offset = int(last) + 1 if last else 0
    except ValueError:
        raise RegistryError(f"the registry answered an upload status with Range {resp.headers['range']!r}") from None
    return (_location(session, resp) if resp.headers.get("location") else url), max(offset, 0)


def _finish(resp: httpx.Response, digest: str) -> None:
    if resp.status_code not in (201, 204):
        code, _ = registry_error(resp)
        if code == "DIGEST_INVALID":
            raise DigestMismatch(f"the registry computed another digest than {digest} for the upload")
        raise error_for(f"uploading {digest}", resp)
