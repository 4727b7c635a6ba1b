"""The image store of one data root: an OCI image layout under ``$ROOT/images``.

* ``blobs/sha256/<hex>``: configs, manifests and layer blobs as loaded (compressed or not);
* ``index.json``: an OCI index with one manifest entry per tag (the reference in the
  ``io.containerd.image.name`` annotation, the tag in ``org.opencontainers.image.ref.name``)
  and one unannotated entry per untagged image; every entry also carries the image id;
* ``records/<id hex>.json``: what the store needs to answer quickly (layer blobs, diff ids,
  uncompressed sizes), written once when an image is ingested.

The image id is the digest of its config, as Docker's. Writers hold the
``images`` lock; layers are unpacked lazily by ``engine.images.layers``.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from engine.errors import Conflict, InvalidArgument, NotFound
from engine.images import mediatypes, reference
from engine.images.blobs import BlobStore, atomic_file
from engine.images.layers import LayerCache
from engine.images.record import ImageRecord
from engine.state import DataRoot, read_json, write_json

if TYPE_CHECKING:  # pragma: no cover; tarfile, compressors, archive code: imported where used (not by lookups)
    from engine.images import archive
IMAGE_ID_ANNOTATION = "io.pycompose.image.id"
InUse = Callable[[str], object]


def _media_type(kind: str) -> str:
    """The OCI layer media type of a blob compressed as ``kind`` (compression.PLAIN, .GZIP, .ZSTD, ...)."""
    return mediatypes.LAYER_TAR + ("" if kind == "plain" else "+" + kind)


def _now_rfc3339() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _users(result) -> str:
    """Render an in_use callback's answer (True, an id, or a list of ids) for a message."""
    if isinstance(result, str):
        return f"container {result[:12]}"
    if isinstance(result, (list, tuple, set)):
        return "container " + ", ".join(str(x)[:12] for x in result)
    return "a container"


class ImageStore:
    """Images of one data root (see the module docstring for the layout)."""

    def __init__(self, root: DataRoot | str | os.PathLike | None = None):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.dir = self.root.dir("images")
        self.blobs = BlobStore(self.dir)
        self.layers = LayerCache(self.root)
        self.records_dir = self.dir / "records"
        self.records_dir.mkdir(exist_ok=True)
        layout = self.dir / "oci-layout"
        if not layout.exists():
            write_json(layout, {"imageLayoutVersion": "1.0.0"})

    # --- index and records -----------------------------------------------------------------
    def _lock(self):
        return self.root.lock("images")

    def _entries(self) -> list[dict]:
        doc = read_json(self.dir / "index.json", None) or {}
        return list(doc.get("manifests") or [])

    def _write_entries(self, entries: list[dict]) -> None:
        write_json(self.dir / "index.json",
                   {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries})

    def _tags(self) -> dict[str, str]:
        """Normalised reference -> image id."""
        out = {}
        for e in self._entries():
            ann = e.get("annotations") or {}
            ref = ann.get(mediatypes.CONTAINERD_NAME)
            iid = ann.get(IMAGE_ID_ANNOTATION)
            if ref and iid:
                out[ref] = iid
        return out

    def _ids(self) -> list[str]:
        return ["sha256:" + p.stem for p in self.records_dir.glob("*.json")]

    def _record(self, image_id: str, tags: dict[str, str] | None = None) -> ImageRecord:
        rec = read_json(self.records_dir / f"{image_id.split(':', 1)[1]}.json")
        if rec is None:
            raise NotFound(f"No such image: {image_id}")
        cfg = json.loads(self.blobs.read(image_id))
        tags = self._tags() if tags is None else tags
        refs = sorted(r for r, i in tags.items() if i == image_id)
        digests = [reference.familiar(d) for d in rec.get("repo_digests") or []]  # pulled / pushed
        if rec.get("repo_digest"):
            for r in refs:
                d = f"{reference.parse(r).familiar_name}@{rec['repo_digest']}"
                if d not in digests:
                    digests.append(d)
        return ImageRecord(image_id, refs, cfg, rec["layers"], digests, self)

    # --- lookups ------------------------------------------------------------------------------
    def _resolve(self, ref_or_id: str) -> tuple[str, str | None]:
        """(image id, normalised ref if ``ref_or_id`` named a tag)."""
        s = ref_or_id.strip() if isinstance(ref_or_id, str) else ""
        if not s:
            raise NotFound("No such image: (empty)")
        ids = self._ids()
        if reference.is_id(s):
            iid = s if s.startswith("sha256:") else "sha256:" + s
            if iid in ids:
                return iid, None
            raise NotFound(f"No such image: {ref_or_id}")
        err = None
        try:
            ref = reference.parse(s)
        except InvalidArgument as e:
            ref, err = None, e
        if ref is not None:
            tags = self._tags()
            if ref.digest:
                for iid in ids:
                    rec = read_json(self.records_dir / f"{iid.split(':', 1)[1]}.json") or {}
                    if rec.get("repo_digest") == ref.digest and any(
                            reference.parse(r).name == ref.name for r, i in tags.items() if i == iid):
                        return iid, None
                    if f"{ref.name}@{ref.digest}" in (rec.get("repo_digests") or []):
                        return iid, None
                if ref.digest in ids:
                    return ref.digest, None
            else:
                iid = tags.get(str(ref))
                if iid:
                    return iid, str(ref)
        if reference.is_id_prefix(s):
            hexp = s.split(":", 1)[-1]
            found = [i for i in ids if i[7:].startswith(hexp)]
            if len(found) == 1:
                return found[0], None
            if len(found) > 1:
                raise Conflict(f"image id prefix {s!r} is ambiguous: it matches {len(found)} images")
        if err is not None:
            raise NotFound(f"No such image: {ref_or_id}: {err}")
        raise NotFound(f"No such image: {ref_or_id}")

    def get(self, ref_or_id: str) -> ImageRecord:
        """The image named by a reference, a full id or a unique id prefix."""
        iid, _ = self._resolve(ref_or_id)
        return self._record(iid)

    def exists(self, ref_or_id: str) -> bool:
        try:
            self._resolve(ref_or_id)
            return True
        except (NotFound, Conflict):
            return False

    def list(self, filters: dict[str, list[str]] | None = None) -> list[ImageRecord]:
        """Every image, newest first; docker's filters dangling=, reference=, label=, before=, since=."""
        from engine.images.filters import LIST_FILTERS, matches
        for key in filters or {}:
            if key not in LIST_FILTERS:
                raise InvalidArgument(f"invalid filter '{key}'")
        tags = self._tags()
        recs = []
        for iid in self._ids():
            try:
                recs.append(self._record(iid, tags))
            except (NotFound, FileNotFoundError):
                continue  # removed meanwhile
        recs = [r for r in recs if matches(r, filters or {}, self.get)]
        recs.sort(key=lambda r: (r.created_unix, r.id), reverse=True)
        return recs

    def inspect(self, ref_or_id: str) -> dict:
        """Docker's ImageInspect document."""
        rec = self.get(ref_or_id)
        cfg = {
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
            "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False,
            "Env": None, "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "",
            "Entrypoint": None, "OnBuild": None, "Labels": None,
        }
        cfg.update(rec.config)
        ic = rec.image_config
        lower = ":".join(str(self.layers.path(d)) for d in reversed(rec.diff_ids))
        return {
            "Id": rec.id,
            "RepoTags": rec.tags,
            "RepoDigests": rec.repo_digests,
            "Parent": "",
            "Comment": ic.get("comment", ""),
            "Created": rec.created,
            "DockerVersion": ic.get("docker_version", ""),
            "Author": ic.get("author", ""),
            "Config": cfg,
            "Architecture": rec.architecture,
            "Variant": ic.get("variant") or None,
            "Os": rec.os,
            "Size": rec.size,
            "VirtualSize": rec.size,
            "GraphDriver": {"Name": "overlay2", "Data": {"LowerDir": lower}},
            "RootFS": {"Type": (ic.get("rootfs") or {}).get("type", "layers"), "Layers": rec.diff_ids},
            "Metadata": {"LastTagTime": ""},
        }

    # --- tags ----------------------------------------------------------------------------------
    def _set_tag(self, entries: list[dict], ref: str, iid: str, manifest: dict) -> list[dict]:
        """Entries with ``ref`` pointing at ``iid``; an image losing its last tag stays, untagged."""
        old = None
        kept = []
        for e in entries:
            ann = e.get("annotations") or {}
            if ann.get(mediatypes.CONTAINERD_NAME) == ref:
                old = ann.get(IMAGE_ID_ANNOTATION)
                continue
            if ann.get(IMAGE_ID_ANNOTATION) == iid and not ann.get(mediatypes.CONTAINERD_NAME):
                continue  # no longer untagged
            kept.append(e)
        tag = reference.parse(ref).tag or "latest"
        kept.append(dict(manifest, annotations={mediatypes.CONTAINERD_NAME: ref, mediatypes.REF_NAME: tag,
                                                IMAGE_ID_ANNOTATION: iid}))
        if old and old != iid and not _has_entry(kept, old):
            kept.append(self._untagged_entry(old))
        return kept

    def _manifest_desc(self, iid: str) -> dict:
        rec = read_json(self.records_dir / f"{iid.split(':', 1)[1]}.json") or {}
        m = rec.get("manifest") or {}
        return {"mediaType": m.get("mediaType", mediatypes.OCI_MANIFEST), "digest": m.get("digest", iid),
                "size": m.get("size", 0)}

    def _untagged_entry(self, iid: str) -> dict:
        return dict(self._manifest_desc(iid), annotations={IMAGE_ID_ANNOTATION: iid})

    def tag(self, src: str, dst: str) -> None:
        """Point the reference ``dst`` at the image ``src`` names (``docker tag``)."""
        ref = reference.parse(dst)
        if ref.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        with self._lock():
            iid, _ = self._resolve(src)
            self._write_entries(self._set_tag(self._entries(), str(ref), iid, self._manifest_desc(iid)))

    # --- ingest -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _plain_archive(self, path: str | os.PathLike):
        """A path to the uncompressed archive (a temp copy when ``path`` is compressed)."""
        from engine.images import compression
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"open {path}: no such file or directory")
        if compression.detect(path) == compression.PLAIN:
            yield path
            return
        import tempfile  # here: lookups (every `container run`) never make a temp file

        tmpdir = self.root.dir("images", "tmp")
        fd, tmp = tempfile.mkstemp(dir=tmpdir, prefix="archive-", suffix=".tar")
        try:
            with os.fdopen(fd, "wb") as out, compression.open_plain(path) as src:
                while True:
                    b = src.read(1 << 20)
                    if not b:
                        break
                    out.write(b)
            yield Path(tmp)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def load(self, path: str | os.PathLike, on_retag: Callable[[str, str], None] | None = None) -> list[str]:
        """Load a docker-save or OCI archive (plain, gzip or zstd); returns what was loaded.

        Each entry is a tag as docker prints it (``busybox:latest``) or, for an untagged
        image, its id. ``on_retag(tag, old_id)`` is told when a tag moves off another image.
        """
        import tarfile
        from engine.images import archive

        loaded: list[str] = []
        with self._plain_archive(path) as plain:
            try:
                tf = tarfile.open(plain, mode="r:")
            except tarfile.TarError as e:
                raise InvalidArgument(f"{path} is not an image archive: {e}") from None
            with tf:
                try:
                    ar = archive.ArchiveReader(tf)
                except tarfile.TarError as e:
                    raise InvalidArgument(f"{path} is not a valid image archive: {e}") from None
                images = archive.read_images(ar)
                if not images:
                    raise InvalidArgument(f"{path}: no image found in the archive")
                for img in images:
                    with self._lock():
                        iid = self._ingest(ar, img)
                        entries = self._entries()
                        desc = self._manifest_desc(iid)
                        old = self._tags()
                        for ref in img.refs:
                            if on_retag and old.get(ref) not in (None, iid):
                                on_retag(reference.familiar(ref), old[ref])
                            entries = self._set_tag(entries, ref, iid, desc)
                        if not _has_entry(entries, iid):
                            entries.append(self._untagged_entry(iid))
                        self._write_entries(entries)
                    loaded += [reference.familiar(r) for r in img.refs] or [iid]
        return loaded

    def _ingest(self, ar: archive.ArchiveReader, img: archive.ArchivedImage) -> str:
        try:
            cfg = json.loads(img.config)
            diff_ids = list((cfg.get("rootfs") or {}).get("diff_ids") or [])
        except (ValueError, AttributeError):
            raise InvalidArgument("invalid image archive: the image config is not valid JSON") from None
        if len(diff_ids) != len(img.layers):
            raise InvalidArgument(
                f"invalid image archive: config lists {len(diff_ids)} layers, manifest {len(img.layers)}")
        existed = set(p.name for p in self.blobs.dir.iterdir())
        iid = self.blobs.put_bytes(img.config)
        record_path = self.records_dir / f"{iid.split(':', 1)[1]}.json"
        if record_path.exists():
            return iid
        try:
            layers = []
            for member, expected, diff_id in zip(img.layers, img.layer_digests, diff_ids):
                with ar.open(member) as f:
                    digest, size = self.blobs.put_stream(f, expected)
                layers.append(self._layer_entry(digest, size, diff_id, member))
            manifest = img.manifest or _make_manifest(iid, len(img.config), layers)
            mdigest = self.blobs.put_bytes(manifest)
            write_json(record_path, {
                "id": iid,
                "manifest": {"digest": mdigest, "size": len(manifest)},
                "repo_digest": mdigest if img.manifest else None,
                "layers": layers,
                "loaded": _now_rfc3339(),
            })
        except BaseException:
            self._drop_new_blobs(existed)
            raise
        return iid

    def _layer_entry(self, digest: str, size: int, diff_id: str, what: str) -> dict:
        from engine.images import compression
        blob = self.blobs.path(digest)
        kind = compression.detect(blob)
        if kind == compression.PLAIN:
            got, usize = digest, size
        else:
            try:
                got, usize = compression.digest_of_plain(blob)
            except (OSError, EOFError, ValueError, Exception) as e:  # corrupt compressed stream
                raise InvalidArgument(f"layer {what} cannot be decompressed ({kind}): {e}") from None
        if diff_id and got != diff_id:
            raise InvalidArgument(f"layer {what} does not match the image config: diff id {diff_id}, content {got}")
        return {"digest": digest, "diff_id": got, "size": usize, "blob_size": size, "mediaType": _media_type(kind)}

    def _drop_new_blobs(self, existed: set[str]) -> None:
        used = self._used_blobs()
        for p in self.blobs.dir.iterdir():
            if p.name not in existed and "sha256:" + p.name not in used and not p.name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    def _used_blobs(self) -> set[str]:
        used = set()
        for iid in self._ids():
            rec = read_json(self.records_dir / f"{iid.split(':', 1)[1]}.json") or {}
            used.add(iid)
            if rec.get("manifest"):
                used.add(rec["manifest"]["digest"])
            used.update(l["digest"] for l in rec.get("layers") or [])
            used.update(rec.get("extra_blobs") or [])  # compressed copies made for push
        return used

    def import_tarball(self, path: str | os.PathLike, ref: str | None = None,
                       changes: list[str] | None = None, message: str | None = None) -> str:
        """Make a one-layer image of a plain rootfs tarball (``docker import``); returns its id."""
        from engine.images import archive
        from engine.images.changes import apply_changes
        nref = None
        if ref:
            pref = reference.parse(ref)
            if pref.digest:
                raise InvalidArgument("refusing to create a tag with a digest reference")
            nref = str(pref)
        container_config = apply_changes({}, changes)
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"open {path}: no such file or directory")
        with self._lock():
            existed = set(p.name for p in self.blobs.dir.iterdir())
            try:
                with open(path, "rb") as f:
                    digest, size = self.blobs.put_stream(f)
                _check_tar(self.blobs.path(digest), path)
                layer = self._layer_entry(digest, size, "", str(path))
                now = _now_rfc3339()
                cfg = {
                    "architecture": archive.host_arch(),
                    "os": "linux",
                    "created": now,
                    "config": container_config,
                    "rootfs": {"type": "layers", "diff_ids": [layer["diff_id"]]},
                    "history": [{"created": now, "created_by": "",
                                 "comment": message or f"Imported from {path.name}"}],
                }
                if message:
                    cfg["comment"] = message
                raw = json.dumps(cfg, separators=(",", ":")).encode()
                iid = self.blobs.put_bytes(raw)
                record_path = self.records_dir / f"{iid.split(':', 1)[1]}.json"
                if not record_path.exists():
                    manifest = _make_manifest(iid, len(raw), [layer])
                    mdigest = self.blobs.put_bytes(manifest)
                    write_json(record_path, {"id": iid, "manifest": {"digest": mdigest, "size": len(manifest)},
                                             "repo_digest": None, "layers": [layer], "loaded": now})
            except BaseException:
                self._drop_new_blobs(existed)
                raise
            entries = self._entries()
            if nref:
                entries = self._set_tag(entries, nref, iid, self._manifest_desc(iid))
            elif not _has_entry(entries, iid):
                entries.append(self._untagged_entry(iid))
            self._write_entries(entries)
        return iid

    # --- save ---------------------------------------------------------------------------------------
    def save(self, refs: list[str], out_path: str | os.PathLike) -> None:
        """Write the images ``refs`` name to a docker-save archive at ``out_path`` (``docker save -o``)."""
        from engine.images import archive
        if not refs:
            raise InvalidArgument("requires at least 1 argument")
        items: dict[str, archive.SaveItem] = {}
        order: list[str] = []
        for r in refs:
            iid, tagref = self._resolve(r)
            rec = self._record(iid)
            names = [tagref] if tagref else []  # saved by id: no names, as docker does
            if iid not in items:
                items[iid] = archive.SaveItem(
                    config=self.blobs.read(iid), image_id=iid, diff_ids=rec.diff_ids,
                    layer_sizes=[int(l["size"]) for l in rec.layers],
                    open_layer=self._layer_opener(rec), refs=[])
                order.append(iid)
            for n in names:
                if n not in items[iid].refs:
                    items[iid].refs.append(n)
        out_path = Path(out_path)
        with atomic_file(out_path, prefix=f".{out_path.name}.", suffix=".tmp") as f:
            archive.write_archive(f, [items[i] for i in order])

    def _layer_opener(self, rec: ImageRecord):
        from engine.images import compression
        by_diff = {l["diff_id"]: l["digest"] for l in rec.layers}
        return lambda diff_id: compression.open_plain(self.blobs.path(by_diff[diff_id]))

    # --- remove -------------------------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False, in_use: InUse | None = None) -> list[dict]:
        """Untag ``ref``; delete the image when no tag is left (``docker rmi``).

        Returns Docker's answer: ``[{"Untagged": "busybox:latest"}, {"Deleted": "sha256:..."}]``.
        Refused (Conflict) while a container uses the image, unless ``force``.
        """
        with self._lock():
            iid, tagref = self._resolve(ref)
            rec = self._record(iid)
            users = in_use(iid) if in_use else None
            out: list[dict] = []
            entries = self._entries()
            if tagref and len(rec.refs) > 1:
                return self._untag(entries, [tagref])
            if tagref:
                if users and not force:
                    raise Conflict(f'conflict: unable to remove repository reference "{ref}" (must force) - '
                                   f"{_users(users)} is using its referenced image {_short(iid)}")
            else:
                if len(rec.refs) > 1 and not force:
                    raise Conflict(f"conflict: unable to delete {_short(iid)} (must be forced) - "
                                   "image is referenced in multiple repositories")
                if users and not force:
                    raise Conflict(f"conflict: unable to delete {_short(iid)} (must be forced) - "
                                   f"image is being used by {_users(users)}")
            out += self._untag(entries, rec.refs)
            out += self._delete(rec, keep_layers=bool(users))
            return out

    def _untag(self, entries: list[dict], refs: list[str]) -> list[dict]:
        kept = [e for e in entries if (e.get("annotations") or {}).get(mediatypes.CONTAINERD_NAME) not in refs]
        self._write_entries(kept)
        return [{"Untagged": reference.familiar(r)} for r in refs]

    def _delete(self, rec: ImageRecord, keep_layers: bool) -> list[dict]:
        entries = [e for e in self._entries()
                   if (e.get("annotations") or {}).get(IMAGE_ID_ANNOTATION) != rec.id]
        self._write_entries(entries)
        rec_file = self.records_dir / f"{rec.id.split(':', 1)[1]}.json"
        rec_doc = read_json(rec_file) or {}
        manifest = rec_doc.get("manifest") or {}
        with contextlib.suppress(FileNotFoundError):
            rec_file.unlink()
        used = self._used_blobs()
        still_unpacked = set()
        for iid in self._ids():
            r = read_json(self.records_dir / f"{iid.split(':', 1)[1]}.json") or {}
            still_unpacked.update(l["diff_id"] for l in r.get("layers") or [])
        for d in [rec.id, manifest.get("digest")] + [l["digest"] for l in rec.layers] + rec_doc.get("extra_blobs", []):
            if d and d not in used:
                self.blobs.delete(d)
        out = []
        for l in rec.layers:
            if l["diff_id"] not in still_unpacked and not keep_layers:
                self.layers.remove(l["diff_id"])
        out.append({"Deleted": rec.id})
        return out

    def prune(self, all: bool = False, filters: dict[str, list[str]] | None = None,
              in_use: InUse | None = None) -> dict:
        """Remove dangling images (every unused image with ``all``); Docker's prune report.

        Filters: ``until=`` (a timestamp or a duration such as ``24h``: only images created
        before it), ``label=`` / ``label!=``.
        """
        from engine.images.filters import is_dangling, parse_until
        filters = dict(filters or {})
        until = [parse_until(v) for v in filters.pop("until", [])]
        unlabel = filters.pop("label!", [])
        deleted: list[dict] = []
        reclaimed = 0
        for rec in self.list(filters):
            if not all and not is_dangling(rec):  # pulled by digest: not dangling
                continue
            if until and not rec.created_unix < min(until):
                continue
            labels = rec.config.get("Labels") or {}
            if any(k in labels and (not eq or labels[k] == v)
                   for k, eq, v in (u.partition("=") for u in unlabel)):
                continue
            if in_use and in_use(rec.id):
                continue
            with self._lock():
                try:
                    current = self._record(rec.id)
                except NotFound:
                    continue
                deleted += self._untag(self._entries(), current.refs)
                deleted += self._delete(current, keep_layers=False)
            reclaimed += rec.size
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _has_entry(entries: list[dict], iid: str) -> bool:
    return any((e.get("annotations") or {}).get(IMAGE_ID_ANNOTATION) == iid for e in entries)


def _make_manifest(iid: str, cfg_size: int, layers: list[dict]) -> bytes:
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": iid, "size": cfg_size},
        "layers": [{"mediaType": l["mediaType"], "digest": l["digest"],
                    "size": l["blob_size"]} for l in layers],
    }, separators=(",", ":")).encode()


def _check_tar(blob: Path, shown: Path) -> None:
    """Refuse what is not a tar archive before it becomes an image."""
    import tarfile

    from engine.images import compression
    try:
        with compression.open_plain(blob) as s, tarfile.open(fileobj=s, mode="r|") as tf:
            tf.next()
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise InvalidArgument(f"{shown} is not a tar archive: {e}") from None
    except Exception as e:  # zstandard raises its own error type for corrupt frames
        raise InvalidArgument(f"{shown} is not a tar archive: {e}") from None
