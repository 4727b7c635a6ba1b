"""Mount-point stubs a build step leaves in its upper dir, and their removal (BuildKit does the same).

Why: to mount /etc/hosts, a cache dir or a secret, the runtime creates the target
(an empty file or dir) in the step's root when the image lacks it, and overlayfs
records it, and the copy-up of its parent, in the upper dir. A layer made from
that would ship empty mount points. ``MountStubs`` notes, before the step, which
targets and which of their parents are absent; after the step (the container is
gone) it removes the targets that are still empty stubs, then the parents that
were copied up only to hold them and hold nothing else now.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.build.fsview import LayeredFS
from engine.build.layerdiff import _LowerView
from engine.overlay import is_opaque

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _rel(path: str) -> str:
    return os.path.normpath("/" + path).lstrip("/")


class MountStubs:
    def __init__(self, upper: Path, lower_dirs: list[Path]):
        self.upper = Path(upper)
        self.view = _LowerView([self.upper] + [Path(p) for p in lower_dirs])
        self.fs = LayeredFS([Path(p) for p in reversed(lower_dirs)] + [self.upper])
        self.stubs: list[str] = []      # targets absent before the step
        self.parents: set[str] = set()  # their parents absent from the upper dir before the step

    def note(self, targets) -> None:
        """Record the targets that do not exist yet (call before the step starts)."""
        for t in targets:
            # where the runtime will really create it: symlinks on the way resolved in the root
            rel = "/".join(self.fs.resolve(_rel(str(t))))
            if not rel or rel in self.stubs or self.view.stat(rel) is not None:
                continue
            self.stubs.append(rel)
            parts = rel.split("/")
            for k in range(1, len(parts)):
                anc = "/".join(parts[:k])
                if not os.path.lexists(self.upper / anc):
                    self.parents.add(anc)

    def clean(self) -> None:
        """Remove the still-empty stubs and the parents made only for them (the step has ended)."""
        for rel in sorted(self.stubs, key=lambda r: -r.count("/")):
            _remove_if_empty(self.upper, rel, stub=True)
        for rel in sorted(self.parents, key=lambda r: -r.count("/")):
            _remove_if_empty(self.upper, rel, stub=False)


def _open_parent(upper: Path, rel: str) -> int | None:
    """fd of ``rel``'s parent dir in upper, never following a symlink; None if not there."""
    fd = os.open(upper, _DIR_FLAGS)
    for comp in rel.split("/")[:-1]:
        try:
            nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            os.close(fd)
            return None
        os.close(fd)
        fd = nfd
    return fd


def _remove_if_empty(upper: Path, rel: str, stub: bool) -> None:
    pfd = _open_parent(upper, rel)
    if pfd is None:
        return
    name = rel.split("/")[-1]
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            if not stub and _is_opaque(pfd, name):
                return
            os.rmdir(name, dir_fd=pfd)  # fails (kept) when not empty
        elif stub and stat.S_ISREG(st.st_mode) and st.st_size == 0:
            os.unlink(name, dir_fd=pfd)
    except OSError:
        pass
    finally:
        os.close(pfd)


def _is_opaque(pfd: int, name: str) -> bool:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
    except OSError:
        return False
    try:
        return is_opaque(fd)
    finally:
        os.close(fd)
