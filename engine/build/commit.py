"""``docker commit`` and ``docker diff`` for our containers: their overlay upper dir as a layer / change list.

Why from the upper dir: it holds exactly what the container changed on top of its
image (see ``engine.build.layerdiff``). What the runtime itself put there (the
/etc/hosts, /etc/hostname, /etc/resolv.conf bind targets, /proc, /sys, /dev mount
points) lives in Docker's separate "init" layer, so it is left out of both.

The committed image: the image's layers + the container's layer, the container's
config (Docker's: the one it was created with, image config merged in) with the
``-c`` instructions applied, ``author``/``comment``, and a history entry like the
one Docker writes (``created_by`` is the container's command).
"""
from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import os
import tempfile
from pathlib import Path

from engine.build.layerdiff import INIT_PATHS, changes_from_upper, layer_from_upper
from engine.errors import Conflict, InvalidArgument
from engine.images import reference
from engine.images.changes import apply_changes

KINDS = {"C": 0, "A": 1, "D": 2}
PLAIN_TAR = "application/vnd.oci.image.layer.v1.tar"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lowers(img) -> list[Path]:
    return list(reversed(img.layer_dirs())) if img is not None else []


def diff(upper: Path, img) -> list[dict]:
    """Docker's ContainerChanges of a container's ``upper`` dir over its image record ``img`` (None once
    removed): ``[{"Kind": 0|1|2, "Path": "/x"}]`` (0 changed, 1 added, 2 deleted)."""
    if not upper.is_dir():
        return []
    changes = changes_from_upper(upper, _lowers(img), skip=INIT_PATHS)
    return [{"Kind": KINDS[k], "Path": p} for k, p in changes]


def _commit_config(rec: dict, changes: list[str] | None) -> dict:
    """The container's config with ``changes`` applied, merged like Docker's commit."""
    cfg = copy.deepcopy(rec.get("Config") or {})
    if not cfg.get("Hostname"):
        cfg["Hostname"] = rec["Id"][:12]
    new = apply_changes(cfg, changes)
    instrs = {c.strip().split(None, 1)[0].upper() for c in changes or [] if c.strip()}
    if "ENTRYPOINT" in instrs and "CMD" not in instrs:
        new["Cmd"] = None  # a new entrypoint does not inherit the container's command (Docker's merge)
    return new


def _store_layer(store, upper: Path) -> dict:
    """The container's layer as a blob in the store and unpacked in the layer cache."""
    fd, tmp = tempfile.mkstemp(dir=store.blobs.dir, prefix=".in-commit-")
    os.close(fd)
    try:
        diff_id, size = layer_from_upper(upper, tmp, skip=INIT_PATHS)
        final = store.blobs.path(diff_id)
        existed = final.exists()
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    try:
        store.layers.ensure(diff_id, final)  # e.g. refused: a device node the container made
    except BaseException:
        if not existed:
            with contextlib.suppress(FileNotFoundError):
                final.unlink()
        raise
    return {"digest": diff_id, "diff_id": diff_id, "size": size, "blob_size": size, "mediaType": PLAIN_TAR}


def _image_doc(img, cfg: dict, layer: dict, rec: dict, message: str | None, author: str | None) -> dict:
    parent = copy.deepcopy(img.image_config) if img is not None else {}
    now = _now()
    entry = {"created": now, "created_by": " ".join((rec.get("Config") or {}).get("Cmd") or [])}
    if author:
        entry["author"] = author
    if message:
        entry["comment"] = message
    doc = {"architecture": parent.get("architecture") or "amd64", "os": parent.get("os") or "linux"}
    for k in ("variant", "os.version", "os.features"):
        if parent.get(k):
            doc[k] = parent[k]
    doc.update({"author": author or "", "created": now, "config": cfg,
                "rootfs": {"type": "layers", "diff_ids": list(img.diff_ids if img else []) + [layer["diff_id"]]},
                "history": list(parent.get("history") or []) + [entry]})
    if message:
        doc["comment"] = message
    if not author:
        doc.pop("author")
    return doc


@contextlib.contextmanager
def paused(containers, rec: dict, pause: bool):
    """The container ``rec`` paused (through ``containers``, engine.api's) while the block runs, when
    ``pause`` and it runs unpaused: a consistent layer, like Docker's commit."""
    st = rec.get("State") or {}
    do = pause and st.get("Running") and not st.get("Paused")
    if do:
        containers.pause(rec["Id"])
    try:
        yield
    finally:
        if do:
            containers.unpause(rec["Id"])


def commit(store, rec: dict, img, upper: Path, repo_tag: str | None = None, message: str | None = None,
           author: str | None = None, changes: list[str] | None = None,
           holding: contextlib.AbstractContextManager = contextlib.nullcontext()) -> str:
    """``docker commit``: a new image in ``store`` (the ImageStore) of the changes in ``upper`` of the
    container ``rec`` made from ``img`` (None once removed), written while ``holding`` (``paused``);
    returns ``sha256:<id>``."""
    from engine.build.output import write_image

    tags = []
    if repo_tag:
        parsed = reference.parse(repo_tag)
        if parsed.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        tags = [str(parsed)]
    if (rec.get("State") or {}).get("Restarting"):
        raise Conflict(f"cannot commit container {rec['Id'][:12]}: it is restarting")
    cfg = _commit_config(rec, changes)  # bad -c instructions fail before anything is written
    upper.mkdir(exist_ok=True)
    with holding:
        layer = _store_layer(store, upper)
    layers = (list(img.layers) if img is not None else []) + [layer]
    return write_image(store, _image_doc(img, cfg, layer, rec, message, author), layers, tags)
