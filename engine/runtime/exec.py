"""``exec_process``: run another process inside a running container (``docker exec``).

It joins what the container's pid 1 has: cgroup (before anything else, so
every later fork is accounted), then the ipc, uts, net, pid, cgroup and mount
namespaces, the container's root, and finally the same identity steps as the
container's own command (rlimits, groups, uid/gid, capabilities,
no_new_privs). Joining a pid namespace only affects children, hence a fork
after setns; the caller is a child subreaper so the exec'd process becomes
its child, as with ``start``.
"""
from __future__ import annotations

import os

from engine import sys as ksys
from engine.errors import Conflict
from engine.runtime import handshake as hs, process as proc
from engine.runtime.errors import StartError
from engine.runtime.spec import ProcessSpec

NS_ORDER = ("ipc", "uts", "net", "pid", "cgroup", "mnt")


def _open_namespaces(target_pid: int) -> tuple[list[tuple[str, int]], int]:
    """fds of the target's namespaces that differ from ours, and of its root."""
    fds: list[tuple[str, int]] = []
    try:
        for kind in NS_ORDER:
            path = f"/proc/{target_pid}/ns/{kind}"
            try:
                if os.stat(path).st_ino == os.stat(f"/proc/self/ns/{kind}").st_ino:
                    continue  # shared with us (e.g. pid=host): nothing to join
                fds.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
            except FileNotFoundError:
                if kind == "cgroup":
                    continue
                raise
        root = os.open(f"/proc/{target_pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        for _, fd in fds:
            os.close(fd)
        raise Conflict(f"container process {target_pid} is not running") from None
    return fds, root


def _join_cgroups(paths: dict | None) -> None:
    for path in (paths or {}).values():
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write("0")


def _helper(ns_fds, root_fd, process: ProcessSpec, stdio, cgroup_paths, msg_w: int) -> None:
    try:
        proc.reset_signals()
        _join_cgroups(cgroup_paths)
        for kind, fd in ns_fds:
            ksys.setns(fd, ksys.NS_TYPES[kind], f"{kind} namespace of the container")
        os.fchdir(root_fd)
        os.chroot(".")
        pid = os.fork()
        if pid == 0:
            _child(process, stdio, msg_w)
        hs.send(msg_w, {"pid": pid})
        os._exit(0)
    except BaseException as e:  # noqa: BLE001 - reported to the caller
        hs.report_failure(msg_w, e, "exec")
    os._exit(1)


def _child(process: ProcessSpec, stdio, msg_w: int) -> None:
    try:
        os.setsid()
        msg_w = hs.setup_stdio(stdio, msg_w, process.terminal)
        proc.apply_rlimits(process)
        try:
            os.chdir(process.cwd or "/")
        except OSError as e:
            raise StartError(f"chdir to cwd (\"{process.cwd}\") set in config.json failed: "
                                f"{os.strerror(e.errno or 0).lower()}", 126) from None
        proc.apply_identity(process)
        os.umask(0o022)
        proc.execute(process)
    except BaseException as e:  # noqa: BLE001
        hs.report_failure(msg_w, e, "exec")
    os._exit(127)


_subreaper_set = False


def exec_process(target_pid: int, process: ProcessSpec, stdio: tuple[int, int, int],
                 cgroup_paths: dict | None = None, tty: bool = False) -> int:
    """Start ``process`` in the container whose pid 1 is ``target_pid``; return its host pid.

    ``cgroup_paths``: controller -> cgroup dir of the container (its
    ``cgroup.procs`` gets the new process). With ``tty`` the process gets
    ``stdio[0]`` as its controlling terminal (see engine.runtime.tty.open_pty).
    Raises StartError with Docker's wording when the command cannot be run.
    """
    global _subreaper_set
    if tty:
        process.terminal = True
    ns_fds, root_fd = _open_namespaces(target_pid)
    if not _subreaper_set:
        ksys.set_child_subreaper(True)
        _subreaper_set = True
    msg_r, msg_w = os.pipe()
    try:
        helper = os.fork()
        if helper == 0:
            os.close(msg_r)
            _helper(ns_fds, root_fd, process, stdio, cgroup_paths, msg_w)
    finally:
        os.close(msg_w)
        for _, fd in ns_fds:
            os.close(fd)
        os.close(root_fd)
    pid = 0
    with os.fdopen(msg_r, "rb") as reader:
        try:
            first = hs.read_msg(reader)
            os.waitpid(helper, 0)
            if not first or "pid" not in first:
                hs.raise_failure(first or {"error": "exec failed: the helper process died"})
            pid = first["pid"]
            failure = hs.read_msg(reader)
            if failure is not None:
                hs.raise_failure(failure)
            return pid
        except BaseException:
            hs.kill_started(pid)
            raise
