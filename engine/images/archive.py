"""Image archives: read ``docker save`` and OCI archives, write ``docker save`` archives.

Reading only finds the pieces (config, layer members, names); the store checks
digests and ingests them. Archive member names are only ever used to look
members up inside the archive, never as paths on disk.

The archives written carry both forms at once, as Docker 25+ writes them: an OCI
image layout (``oci-layout``, ``index.json``, ``blobs/sha256/...``) and the
classic ``manifest.json`` + ``repositories`` pointing at the same blobs, so every
``docker load`` (old and new), podman and our own ``load`` accept them.
"""
from __future__ import annotations

import hashlib
import io
import json
import platform
import posixpath
import tarfile
from dataclasses import dataclass, field

from engine.errors import InvalidArgument
from engine.images import reference

from engine.images.mediatypes import (  # noqa: F401 (archive.X is how callers name them)
    CONTAINERD_NAME, DOCKER_LIST, DOCKER_MANIFEST, LAYER_TAR, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, REF_NAME)


def host_arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "i386": "386"}.get(m, m)


@dataclass
class ArchivedImage:
    """One image found in an archive: what the store needs to ingest it."""

    config: bytes
    layers: list[str]                       # archive member names, lowest first
    layer_digests: list[str | None]         # blob digests the archive claims (OCI), to verify
    refs: list[str] = field(default_factory=list)   # normalised references to tag
    manifest: bytes | None = None           # the OCI manifest as archived (for RepoDigests)


class ArchiveReader:
    """Random access to the members of an (uncompressed) image archive."""

    def __init__(self, tf: tarfile.TarFile):
        self.tf = tf
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in tf.getmembers():
            name = posixpath.normpath(m.name.lstrip("/"))
            self.members.setdefault(name, m)

    def has(self, name: str) -> bool:
        return _norm(name) in self.members

    def open(self, name: str):
        m = self.members.get(_norm(name))
        if m is None:
            raise InvalidArgument(f"invalid image archive: member {name!r} is missing")
        f = self.tf.extractfile(m)
        if f is None:
            raise InvalidArgument(f"invalid image archive: member {name!r} is not a file")
        return f

    def read(self, name: str) -> bytes:
        return self.open(name).read()

    def json(self, name: str):
        try:
            return json.loads(self.read(name))
        except ValueError as e:
            raise InvalidArgument(f"invalid image archive: {name} is not JSON: {e}") from None


def _norm(name: str) -> str:
    n = posixpath.normpath(name.lstrip("/"))
    if n.startswith("../") or n == "..":
        raise InvalidArgument(f"invalid image archive: member path {name!r} leaves the archive")
    return n


def _blob_name(digest: str) -> str:
    algo, _, hexd = digest.partition(":")
    if not algo or not hexd or "/" in algo or "/" in hexd:
        raise InvalidArgument(f"invalid image archive: bad digest {digest!r}")
    return f"blobs/{algo}/{hexd}"


def read_images(ar: ArchiveReader) -> list[ArchivedImage]:
    """Every image of a docker-save (manifest.json) or OCI (index.json) archive."""
    if ar.has("manifest.json"):
        return _read_docker(ar)
    if ar.has("index.json"):
        return _read_oci(ar)
    raise InvalidArgument("invalid image archive: neither manifest.json (docker save) nor index.json (OCI) found")


def _read_docker(ar: ArchiveReader) -> list[ArchivedImage]:
    manifest = ar.json("manifest.json")
    if not isinstance(manifest, list):
        raise InvalidArgument("invalid image archive: manifest.json is not a list")
    out = []
    for entry in manifest:
        try:
            config = ar.read(entry["Config"])
            layers = list(entry.get("Layers") or [])
        except (KeyError, TypeError):
            raise InvalidArgument("invalid image archive: manifest.json entry without Config") from None
        refs = [reference.normalize(t) for t in (entry.get("RepoTags") or [])]
        out.append(ArchivedImage(config, layers, [None] * len(layers), refs))
    return out


def _pick_manifest(ar: ArchiveReader, desc: dict, depth: int = 0) -> tuple[dict, bytes] | None:
    if depth > 4:
        raise InvalidArgument("invalid image archive: nested indexes too deep")
    data = ar.read(_blob_name(desc["digest"]))
    doc = json.loads(data)
    mt = desc.get("mediaType") or doc.get("mediaType")
    if mt in (OCI_INDEX, DOCKER_LIST) or "manifests" in doc:
        cands = doc.get("manifests") or []
        arch = host_arch()
        best = [d for d in cands if (d.get("platform") or {}).get("architecture") == arch
                and (d.get("platform") or {}).get("os", "linux") == "linux"]
        for d in best + [d for d in cands if d not in best]:
            if (d.get("platform") or {}).get("architecture") == "unknown":
                continue  # attestation manifests
            if not ar.has(_blob_name(d["digest"])):
                continue
            got = _pick_manifest(ar, d, depth + 1)
            if got:
                return got
        return None
    return doc, data


def _read_oci(ar: ArchiveReader) -> list[ArchivedImage]:
    index = ar.json("index.json")
    out: dict[str, ArchivedImage] = {}
    for desc in index.get("manifests") or []:
        try:
            got = _pick_manifest(ar, desc)
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidArgument(f"invalid OCI archive: bad manifest: {e}") from None
        if got is None:
            continue
        man, raw = got
        try:
            cfg_digest = man["config"]["digest"]
            layers = man.get("layers") or []
        except (KeyError, TypeError):
            raise InvalidArgument("invalid OCI archive: manifest without config") from None
        img = out.get(cfg_digest)
        if img is None:
            img = ArchivedImage(
                ar.read(_blob_name(cfg_digest)),
                [_blob_name(l["digest"]) for l in layers],
                [l["digest"] for l in layers],
                [],
                raw,
            )
            out[cfg_digest] = img
        ann = desc.get("annotations") or {}
        name = ann.get(CONTAINERD_NAME)
        if not name and any(c in (ann.get(REF_NAME) or "") for c in ":/"):
            name = ann.get(REF_NAME)  # a bare ref.name ("latest") is only a tag: it names no repository
        if name:
            try:
                ref = reference.normalize(name)
            except InvalidArgument:
                ref = None  # a bare tag name ("latest") names no repository
            if ref and ref not in img.refs:
                img.refs.append(ref)
    return list(out.values())


# --- writing ----------------------------------------------------------------------------------

def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes, mtime: float = 0) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = mtime
    tf.addfile(ti, io.BytesIO(data))


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    tf.addfile(ti)


@dataclass
class SaveItem:
    """One image to save: its config, its uncompressed layers and the tags asked for."""

    config: bytes
    image_id: str
    diff_ids: list[str]
    layer_sizes: list[int]
    open_layer: "callable"              # diff_id -> readable stream of the uncompressed layer tar
    refs: list[str]                     # normalised refs to name in the archive


def write_archive(out, items: list[SaveItem]) -> None:
    """Write a docker-save archive (with an OCI layout inside) of ``items`` to the file object ``out``."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _add_dir(tf, "blobs")
        _add_dir(tf, "blobs/sha256")
        written: set[str] = set()
        docker_manifest, index_manifests, repositories = [], [], {}
        for it in items:
            cfg_hex = it.image_id.split(":", 1)[1]
            if cfg_hex not in written:
                _add_bytes(tf, f"blobs/sha256/{cfg_hex}", it.config)
                written.add(cfg_hex)
            for diff_id, size in zip(it.diff_ids, it.layer_sizes):
                hexd = diff_id.split(":", 1)[1]
                if hexd in written:
                    continue
                ti = tarfile.TarInfo(f"blobs/sha256/{hexd}")
                ti.size = size
                ti.mode = 0o644
                with it.open_layer(diff_id) as stream:
                    tf.addfile(ti, stream)
                written.add(hexd)
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": it.image_id, "size": len(it.config)},
                "layers": [{"mediaType": LAYER_TAR, "digest": d, "size": s}
                           for d, s in zip(it.diff_ids, it.layer_sizes)],
            }
            mraw = json.dumps(manifest, separators=(",", ":")).encode()
            mhex = hashlib.sha256(mraw).hexdigest()
            if mhex not in written:
                _add_bytes(tf, f"blobs/sha256/{mhex}", mraw)
                written.add(mhex)
            desc = {"mediaType": OCI_MANIFEST, "digest": f"sha256:{mhex}", "size": len(mraw)}
            fam = [reference.familiar(r) for r in it.refs]
            if it.refs:
                for r in it.refs:
                    ref = reference.parse(r)
                    index_manifests.append(dict(desc, annotations={CONTAINERD_NAME: r, REF_NAME: ref.tag or "latest"}))
                    if it.diff_ids:
                        repositories.setdefault(ref.familiar_name, {})[ref.tag or "latest"] = \
                            it.diff_ids[-1].split(":", 1)[1]
            else:
                index_manifests.append(desc)
            docker_manifest.append({
                "Config": f"blobs/sha256/{cfg_hex}",
                "RepoTags": fam or None,
                "Layers": [f"blobs/sha256/{d.split(':', 1)[1]}" for d in it.diff_ids],
            })
        _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tf, "index.json", json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_manifests},
            separators=(",", ":")).encode())
        _add_bytes(tf, "manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode())
        if repositories:
            _add_bytes(tf, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
