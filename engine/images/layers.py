"""The shared cache of unpacked layers: ``$ROOT/layers/<diff id hex>/``.

Each layer is unpacked once and shared read-only (as an overlayfs lower dir) by
every image and container that has it. A directory under that name is always
complete: unpacking happens in a temporary sibling directory under the layer's
lock and is renamed into place only when it succeeded and its diff id matched,
so a crash or a refused layer never leaves a half layer that could be used.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

from engine.errors import InvalidArgument
from engine.state import DataRoot, remove_tree


def _hex(diff_id: str) -> str:
    return diff_id.split(":", 1)[-1]


class LayerCache:
    """Unpacked layer directories of one data root."""

    def __init__(self, root: DataRoot):
        self.root = root

    def path(self, diff_id: str) -> Path:
        return self.root.dir("layers") / _hex(diff_id)

    def _lock(self, diff_id: str):
        return self.root.lock(f"layer-{_hex(diff_id)[:24]}")

    def ensure(self, diff_id: str, blob: Path) -> Path:
        """The unpacked directory of ``diff_id``, unpacking ``blob`` first if needed."""
        return self.unpack(diff_id, blob)[0]

    def unpack(self, diff_id: str, blob: Path, on_read: Callable[[int], None] | None = None) -> tuple[Path, int | None]:
        """Like ``ensure``; also the layer's uncompressed size when this call unpacked it (else None).

        ``on_read(n)``: how many bytes of ``blob`` the unpacker has read (Extracting progress)."""
        final = self.path(diff_id)
        if final.is_dir():
            return final, None
        pending = self.begin(diff_id)
        if pending is None:
            return final, None
        from engine.images.unpack import unpack_layer  # tarfile: only when a layer is unpacked

        try:
            got, size = unpack_layer(blob, pending.dir, on_read)
            pending.commit(got)
        finally:
            pending.close()
        return final, size

    def begin(self, diff_id: str) -> "PendingLayer | None":
        """Start unpacking ``diff_id`` by other means (a stream): its lock held and an empty temp
        dir made; None when the layer is here already. ``commit`` or ``close`` the result."""
        lock = contextlib.ExitStack()
        lock.enter_context(self._lock(diff_id))
        try:
            final = self.path(diff_id)
            if final.is_dir():
                lock.close()
                return None
            prefix = f".tmp-{_hex(diff_id)[:24]}-"
            for stale in final.parent.glob(prefix + "*"):  # left by a crash: we hold the lock
                remove_tree(stale)
            import tempfile  # here, as in remove: the cache is opened by every lookup, which makes no temp dir

            tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=prefix))
            os.chmod(tmp, 0o755)  # the layer's "./" member, if any, sets its own mode
        except BaseException:
            lock.close()
            raise
        return PendingLayer(diff_id, tmp, final, lock)

    def is_unpacked(self, diff_id: str) -> bool:
        return self.path(diff_id).is_dir()

    def remove(self, diff_id: str) -> None:
        """Delete an unpacked layer (the caller knows no image uses it any more)."""
        final = self.path(diff_id)
        with self._lock(diff_id):
            if not final.is_dir():
                return
            import tempfile

            trash = Path(tempfile.mkdtemp(dir=final.parent, prefix=".del-"))
            os.rename(final, trash / "l")
        remove_tree(trash)


class PendingLayer:
    """A layer being unpacked into ``dir`` under its lock: renamed into place by ``commit``
    once its content hashed to the diff id, removed by ``close`` otherwise."""

    def __init__(self, diff_id: str, tmp: Path, final: Path, lock: contextlib.ExitStack):
        self.diff_id, self.dir, self.final, self._lock = diff_id, tmp, final, lock
        self.committed = False

    def commit(self, got: str) -> None:
        if got != self.diff_id:
            raise InvalidArgument(f"layer {self.diff_id} is corrupt: its content hashes to {got}")
        os.rename(self.dir, self.final)
        self.committed = True

    def close(self) -> None:
        """Release the lock; the temp dir goes unless it was committed."""
        try:
            if not self.committed:
                remove_tree(self.dir)
        finally:
            self._lock.close()
