"""The shared cache of unpacked layers: ``$ROOT/layers/<diff id hex>/``.

Each layer is unpacked once and shared read-only (as an overlayfs lower dir) by
every image and container that has it. A directory under that name is always
complete: unpacking happens in a temporary sibling directory under the layer's
lock and is renamed into place only when it succeeded and its diff id matched,
so a crash or a refused layer never leaves a half layer that could be used.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from engine.errors import InvalidArgument
from engine.images.unpack import unpack_layer
from engine.state import DataRoot


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

    def unpack(self, diff_id: str, blob: Path) -> tuple[Path, int | None]:
        """Like ``ensure``; also the layer's uncompressed size when this call unpacked it (else None)."""
        final = self.path(diff_id)
        if final.is_dir():
            return final, None
        with self._lock(diff_id):
            if final.is_dir():
                return final, None
            layers = final.parent
            prefix = f".tmp-{_hex(diff_id)[:24]}-"
            for stale in layers.glob(prefix + "*"):  # left by a crash: we hold the lock
                shutil.rmtree(stale, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(dir=layers, prefix=prefix))
            try:
                os.chmod(tmp, 0o755)  # the layer's "./" member, if any, sets its own mode
                got, size = unpack_layer(blob, tmp)
                if got != diff_id:
                    raise InvalidArgument(f"layer {diff_id} is corrupt: its content hashes to {got}")
                os.rename(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return final, size

    def is_unpacked(self, diff_id: str) -> bool:
        return self.path(diff_id).is_dir()

    def remove(self, diff_id: str) -> None:
        """Delete an unpacked layer (the caller knows no image uses it any more)."""
        final = self.path(diff_id)
        with self._lock(diff_id):
            if not final.is_dir():
                return
            trash = Path(tempfile.mkdtemp(dir=final.parent, prefix=".del-"))
            os.rename(final, trash / "l")
        shutil.rmtree(trash, ignore_errors=True)
