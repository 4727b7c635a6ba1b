"""Manifests: fetch one, check its digest, pick a platform from an index, refuse schema1.

Docker schema2 and OCI image manifests are pulled as they are; Docker manifest lists
and OCI indexes lead to the entry for the platform asked for. A manifest fetched by
digest must hash to that digest; one fetched by tag must match the digest the registry
announces (``Docker-Content-Digest``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from engine.errors import (DigestMismatch, ImageNotFoundRemote, NoMatchingPlatform, RegistryError,
                           Unauthorized)
from engine.images.reference import Reference
from engine.registry import platforms
from engine.registry.mediatypes import (  # noqa: F401 (part of this module's names)
    ACCEPT, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_LIST, DOCKER_V2, FOREIGN_LAYERS, IMAGES, INDEXES, OCI_CONFIG,
    OCI_INDEX, OCI_MANIFEST, SCHEMA1)
from engine.registry.session import Session, code_text, registry_error


@dataclass
class Manifest:
    digest: str
    media_type: str
    raw: bytes
    doc: dict

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEXES


def pull_scope(repo: str) -> str:
    return f"repository:{repo}:pull"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def not_found(resp_code: str, message: str, ref: Reference, status: int, anonymous: bool) -> Exception:
    """The error Docker prints for a manifest the registry will not give."""
    cause = f"{code_text(resp_code) or 'denied'}: {message or 'requested access to the resource is denied'}"
    if resp_code == "NAME_UNKNOWN":
        return ImageNotFoundRemote(f"repository {ref.familiar_name} not found: {cause}")
    if status == 404 or resp_code == "MANIFEST_UNKNOWN":
        cause = f"{code_text(resp_code) or 'manifest unknown'}: {message or 'manifest unknown'}"
        return ImageNotFoundRemote(f"manifest for {ref.familiar()} not found: {cause}")
    if status == 403 or resp_code == "DENIED" or anonymous:
        return ImageNotFoundRemote(f"pull access denied for {ref.familiar_name}, repository does not exist "
                                   f"or may require 'docker login': denied: requested access to the resource is denied")
    return Unauthorized(f"unauthorized: {message or 'authentication required'}")


def unexpected(method: str, url: str, resp, code: str = "", message: str = "") -> str:
    """Docker's words for a status it did not expect (with the registry's error when it sent one)."""
    if code or message:
        return f"{method} {url}: {code_text(code) or resp.status_code}: {message}".rstrip(": ")
    return f"{method} {url}: received unexpected HTTP status: {resp.status_code} {resp.reason_phrase}".rstrip()


def _media_type(resp_type: str, doc: dict) -> str:
    mt = doc.get("mediaType") or resp_type.split(";", 1)[0].strip()
    if doc.get("schemaVersion") == 1 or mt in SCHEMA1:
        return SCHEMA1[0]
    if mt not in INDEXES + IMAGES:
        if "manifests" in doc:
            return OCI_INDEX
        if "config" in doc and "layers" in doc:
            return OCI_MANIFEST
    return mt


def schema1_error(ref: Reference) -> RegistryError:
    return RegistryError(
        f"Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. "
        f"Suggest the author of {ref.familiar()} to upgrade the image to the OCI Format or Docker Image "
        f"manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/")


def fetch(session: Session, ref: Reference, reference: str, method: str = "GET") -> Manifest | str:
    """The manifest ``reference`` (a tag or digest) of ``ref``'s repository.

    With ``method="HEAD"`` only its digest is asked for (a string, "" when the registry does not say).
    """
    path = f"/v2/{ref.path}/manifests/{reference}"
    resp = session.request(method, path, pull_scope(ref.path), headers={"Accept": ACCEPT})
    if resp.status_code != 200:
        code, message = registry_error(resp) if method == "GET" else ("", "")
        if resp.status_code in (401, 403, 404):
            creds = session.auth.credentials
            raise not_found(code, message, ref, resp.status_code, not creds)
        raise RegistryError(unexpected(method, session.url(path), resp, code, message))
    if method == "HEAD":
        return resp.headers.get("docker-content-digest", "")
    raw = resp.content
    digest = sha256(raw)
    want = reference if reference.startswith("sha256:") else resp.headers.get("docker-content-digest")
    if want and want.startswith("sha256:") and want != digest:
        raise DigestMismatch(f"manifest verification failed for digest {want}")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise RegistryError(f"{ref.familiar()}: the registry sent a manifest that is not JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{ref.familiar()}: the registry sent a manifest that is not a JSON object")
    mt = _media_type(resp.headers.get("content-type", ""), doc)
    if mt == SCHEMA1[0]:
        raise schema1_error(ref)
    if mt not in INDEXES + IMAGES:
        raise RegistryError(f"{ref.familiar()}: unsupported manifest media type {mt!r}")
    return Manifest(digest, mt, raw, doc)


def choose(session: Session, ref: Reference, top: Manifest, want: platforms.Platform) -> Manifest:
    """The image manifest for ``want``: ``top`` itself, or the index entry for that platform."""
    if not top.is_index:
        return top
    entries = [d for d in top.doc.get("manifests") or [] if isinstance(d, dict)]
    desc = platforms.select(entries, want)
    if desc is None:
        offered = platforms.offered(entries)
        raise NoMatchingPlatform(
            f"no matching manifest for {want} in the manifest list entries"
            + (f" (the image offers: {', '.join(offered)})" if offered else " (the list is empty)"))
    child = fetch(session, ref, desc["digest"])
    if child.digest != desc["digest"]:
        raise DigestMismatch(f"manifest verification failed for digest {desc['digest']}")
    if child.is_index:
        raise RegistryError(f"{ref.familiar()}: nested manifest lists are not supported")
    return child
