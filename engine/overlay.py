"""How overlayfs marks a layer directory: a whiteout (a 0/0 character device) hides a lower
entry, an opaque directory (``overlay.opaque=y``) hides everything below it.

Why one module: the builder (merged views, layer diffs, mount stubs) and the runtime (reading
/etc/passwd through the layers) all read these marks; one reading keeps them agreeing.
"""
from __future__ import annotations

import os
import stat

__all__ = ["OPAQUE_XATTRS", "is_opaque", "is_whiteout"]

# the kernel's own (trusted., as root) and the one an unprivileged overlay mount uses (user.)
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


def is_whiteout(st: os.stat_result) -> bool:
    """True for an lstat result overlayfs reads as a deleted entry."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(target: str | os.PathLike | int) -> bool:
    """True for a directory marked opaque: ``target`` is its path (a link is not followed) or an
    open descriptor of it."""
    follow = {} if isinstance(target, int) else {"follow_symlinks": False}
    for attr in OPAQUE_XATTRS:
        try:
            if os.getxattr(target, attr, **follow) == b"y":
                return True
        except OSError:
            continue
    return False
