"""Helpers for the runtime tests: a busybox layer dir and a way to run a spec to completion.

The layer is built from Debian's busybox-static (/bin/busybox) so these tests
do not depend on the image store; each test gets its own container dir.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from engine.runtime.caps import DEFAULT_CAPS, mask
from engine.runtime.etcfiles import default_etc_files
from engine.runtime.spec import ContainerSpec, ProcessSpec

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
          "app:x:1000:1000:app:/home/app:/bin/sh\n")
GROUP = "root:x:0:\ndaemon:x:1:\nwheel:x:10:app\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app,nobody\n"


def make_busybox_layer(dest: Path) -> Path:
    """A single-layer busybox root: /bin with every applet, /etc/passwd and /etc/group."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    (dest / "bin").mkdir(parents=True)
    for d in ("etc", "tmp", "root", "home/app", "var"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", dest / "bin" / a)
    (dest / "etc" / "passwd").write_text(PASSWD)
    (dest / "etc" / "group").write_text(GROUP)
    os.chown(dest / "home" / "app", 1000, 1000)
    return dest


def make_spec(layer: Path, cdir: Path, args: list[str], **kw) -> ContainerSpec:
    proc_kw = {k: kw.pop(k) for k in list(kw) if k in ("env", "cwd", "uid", "gid", "additional_gids",
                                                       "capabilities", "no_new_privs", "rlimits")}
    proc_kw.setdefault("env", ["PATH=/bin"])
    proc_kw.setdefault("capabilities", mask(list(DEFAULT_CAPS)))
    kw.setdefault("hostname", "testhost")
    return ContainerSpec(id=cdir.name, container_dir=cdir, layers=[layer],
                         process=ProcessSpec(args=args, **proc_kw), etc_files=default_etc_files(cdir), **kw)


def run(spec: ContainerSpec, cgroup=None, prestart=None) -> tuple[int, str]:
    """Start ``spec``, collect stdout+stderr until it exits; (exit code, output)."""
    from engine.runtime.start import start

    r, w = os.pipe()
    null = os.open("/dev/null", os.O_RDONLY)
    try:
        pid = start(spec, (null, w, w), cgroup=cgroup, prestart=prestart)
    finally:
        os.close(w)
        os.close(null)
    out = b""
    with os.fdopen(r, "rb") as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
