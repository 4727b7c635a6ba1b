"""Start one container process: namespaces, root filesystem, identity, exec.

Protocol between the caller (P), the forked helper (A) and the container's
pid 1 (B)::

    P: fork A                     A: setns into joined namespaces, unshare new ones,
                                     fork B (pid 1 of the new pid namespace), report B, exit
    P: reap A, cgroup.add_pid(B)  B: build the root filesystem (overlay, /proc, /dev,
                                     mounts, pivot_root, masked/readonly paths when there
                                     are no sysctls) meanwhile, then wait for "J"
    P: "J" (joined) ----------->  B: cgroup ns, hostname, cgroup mounts, stdio, rlimits,
       prestart(B) (network)         identity, then wait for "G"
    P: "G" ------------------->   B: execve (or fork it, with --init)
       (with sysctls, B waits for "G" before the cgroup ns: sysctls, masked/readonly
       paths, then the rest)
    P: read the error pipe: EOF (it is close-on-exec) means the command runs;
       a message means setup failed: P reaps B and raises StartError.

The double fork is what makes the command pid 1 without clone(2) from Python;
``start`` makes the caller a child subreaper so B is re-parented to it and can
be waited for with ``os.waitpid`` like any child. A single-threaded caller
starting a container with a new pid namespace and no namespace to join (the
supervisor's usual case) skips A: B is cloned straight into its namespaces
(engine.runtime.clone), its pid known at once, the rest as above.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import signal
import socket
from typing import Callable

from engine import sys as ksys
from engine.runtime import cgroupfs, clone, etcfiles, handshake as hs, init, limits, process as proc, rootfs, tty
from engine.runtime.errors import StartError
from engine.runtime.spec import HOST, NEW, ContainerSpec


def _ns_flags(spec: ContainerSpec) -> int:
    ns = spec.namespaces
    flags = ksys.CLONE_NEWNS
    for mode, flag in ((ns.uts, ksys.CLONE_NEWUTS), (ns.ipc, ksys.CLONE_NEWIPC),
                       (ns.net, ksys.CLONE_NEWNET), (ns.pid, ksys.CLONE_NEWPID)):
        if mode == NEW:
            flags |= flag
    return flags


def _joins(spec: ContainerSpec) -> list[tuple[str, str]]:
    ns = spec.namespaces
    return [(kind, path) for kind, path in (("ipc", ns.ipc), ("uts", ns.uts), ("net", ns.net),
                                            ("pid", ns.pid)) if path not in (NEW, HOST)]


def _container_init(spec: ContainerSpec, stdio: tuple[int, int, int], go_r: int, msg_w: int,
                    console_sock: socket.socket | None, seccomp: list | None = None) -> None:
    """Pid 1 of the container (B); ``seccomp``: its filter, compiled before the fork. Never returns."""
    def console(root: str) -> int | None:
        nonlocal stdio
        if console_sock is not None:
            # allocate the terminal in the container's own devpts; the caller gets the master
            master, slave = tty.open_pty(root)
            socket.send_fds(console_sock, [b"M"], [master])
            os.close(master)
            console_sock.close()
            stdio = (slave, slave, slave)
            return slave
        if spec.process.terminal and os.isatty(stdio[0]):
            return stdio[0]
        return None

    try:
        os.setsid()
        os.umask(0o022)
        rootfs.prepare(spec, console)
        rootfs.pivot(str(spec.merged))
        # masks and read-only paths while the caller joins the cgroup (off the start's critical
        # path), unless sysctls must first be written under /proc/sys (which finish makes read-only)
        finished = not spec.sysctls
        if finished:
            rootfs.finish(spec)
        # wait for the caller: cgroup joined ("J"), then network in place ("G"); what needs only the
        # cgroup (its namespace and mount, hostname, stdio, identity) is done between the two unless
        # sysctls must be written first (they may name the network's interfaces)
        _await(go_r, b"J")
        if not finished:
            _await(go_r, b"G")
        if spec.namespaces.cgroup == NEW:
            ksys.unshare(ksys.CLONE_NEWCGROUP)
        if spec.namespaces.uts == NEW:
            if spec.hostname:
                ksys.sethostname(spec.hostname)
            if spec.domainname:
                ksys.setdomainname(spec.domainname)
        limits.apply_sysctls(spec.sysctls)
        cgroupfs.mount_cgroupfs(readonly=not spec.privileged, host_namespace=spec.namespaces.cgroup == HOST)
        if not finished:
            rootfs.finish(spec)
        if finished and go_r <= 2:
            go_r = fcntl.fcntl(go_r, fcntl.F_DUPFD_CLOEXEC, 3)  # out of stdio's way
        msg_w = hs.setup_stdio(stdio, msg_w, spec.process.terminal, keep_too=go_r if finished else -1)
        proc.apply_rlimits(spec.process)
        os.chdir(spec.process.cwd or "/")
        proc.apply_identity(spec.process, seccomp)
        os.umask(0o022)
        if finished:
            _await(go_r, b"G")
        if spec.init:
            old = init.block_signals()
            child = os.fork()
            if child == 0:
                init.child_reset(old)
                proc.execute(spec.process)
            os.close(msg_w)
            ksys.set_name("init")
            init.reap_forever(child, old)
        proc.execute(spec.process)
    except BaseException as e:  # noqa: BLE001 - report anything to the caller, then die
        hs.report_failure(msg_w, e)
    os._exit(127)


def _await(go_r: int, signal_byte: bytes) -> None:
    """Wait for the caller's next go-ahead; EOF (it gave up, or died) ends us; the last closes go_r."""
    if os.read(go_r, 1) != signal_byte:
        os._exit(1)
    if signal_byte == b"G":
        os.close(go_r)


def _close_inherited(keep: set[int]) -> None:
    """Close every fd >= 3 but ``keep``: a caller with threads (the builder runs steps of several
    stages at once) may hold pipes and flock-ed lock files at the moment of the fork; a copy kept
    here would hold those locks and keep those pipes from ever reaching EOF."""
    lo = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 1 << 20)


def _helper(spec: ContainerSpec, stdio, go_r: int, msg_w: int, console_sock, seccomp: list | None) -> None:
    """A: enter/create namespaces, fork pid 1 if there is a new pid namespace. Never returns."""
    try:
        # A collection would touch every object header and un-share the caller's heap (pid 1 with
        # --init stays a forked copy of the caller); this short-lived child needs no GC.
        gc.disable()
        proc.reset_signals()
        _close_inherited({go_r, msg_w, *stdio, console_sock.fileno() if console_sock is not None else -1})
        for kind, path in _joins(spec):
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                ksys.setns(fd, ksys.NS_TYPES[kind], f"{kind} namespace {path}")
            finally:
                os.close(fd)
        ksys.unshare(_ns_flags(spec))
        if spec.namespaces.pid == HOST:
            hs.send(msg_w, {"pid": os.getpid()})
            _container_init(spec, stdio, go_r, msg_w, console_sock, seccomp)
        pid = os.fork()
        if pid == 0:
            _container_init(spec, stdio, go_r, msg_w, console_sock, seccomp)
        hs.send(msg_w, {"pid": pid})
        os._exit(0)
    except BaseException as e:  # noqa: BLE001
        hs.report_failure(msg_w, e)
    os._exit(1)


def _pid1(spec: ContainerSpec, stdio, go_r: int, msg_w: int, console_sock, seccomp: list | None) -> None:
    """Pid 1 cloned straight into its namespaces (no helper): what the helper would have done
    before forking it, then the container's setup. Never returns."""
    try:
        gc.disable()  # as in _helper
        proc.reset_signals()  # also unblocks what _fork blocked around the clone
        _close_inherited({go_r, msg_w, *stdio, console_sock.fileno() if console_sock is not None else -1})
    except BaseException as e:  # noqa: BLE001
        hs.report_failure(msg_w, e)
        os._exit(1)
    _container_init(spec, stdio, go_r, msg_w, console_sock, seccomp)


def _direct(spec: ContainerSpec) -> bool:
    """Whether pid 1 may be cloned straight into its namespaces (engine.runtime.clone): a new pid
    namespace and nothing to join (setns must come before the new ones), and a single-threaded
    caller (the clone skips glibc's fork handlers, whose locks another thread could hold)."""
    return (clone.supported() and spec.namespaces.pid == NEW and not _joins(spec)
            and _single_threaded())


def _single_threaded() -> bool:
    """No other thread in this process, Python's or a library's (/proc/self/task, not threading)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _compiled_seccomp(spec: ContainerSpec) -> list | None:
    """The seccomp filter, compiled here rather than in the forked child (proc.seccomp_program); a
    profile that does not compile is left to the child, which reports it as before."""
    try:
        return proc.seccomp_program(spec.process)
    except Exception:  # noqa: BLE001
        return None


def _clone(spec: ContainerSpec) -> int:
    """clone.fork_into with our namespaces; no signal handler may run in the child before Python's
    after-fork bookkeeping, so signals stay blocked there until _pid1 resets them."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    child = -1
    try:
        child = clone.fork_into(_ns_flags(spec))
    except OSError as e:
        raise StartError(f"container setup failed: {e.strerror or e}", 125) from None
    finally:
        if child != 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return child


def _fork(spec: ContainerSpec, stdio, pipes: tuple[int, int, int, int], parent_sock,
          child_sock) -> tuple[int, int]:
    """(helper, pid 1): pid 1 cloned when ``_direct`` (no helper: 0), else the helper forked (pid 1
    reported by it later: 0). The child's ends of ``pipes`` are (go_r, msg_w), ours (go_w, msg_r)."""
    go_r, go_w, msg_r, msg_w = pipes
    seccomp = _compiled_seccomp(spec)
    direct = _direct(spec)
    try:
        child = _clone(spec) if direct else os.fork()
    except BaseException:
        for fd in pipes:
            os.close(fd)
        for sock in (parent_sock, child_sock):
            if sock is not None:
                sock.close()
        raise
    if child == 0:
        os.close(go_w)
        os.close(msg_r)
        if parent_sock is not None:
            parent_sock.close()
        if direct:
            _pid1(spec, stdio, go_r, msg_w, child_sock, seccomp)
        _helper(spec, stdio, go_r, msg_w, child_sock, seccomp)
    return (0, child) if direct else (child, 0)


def _allow_devices(cgroup, spec: ContainerSpec) -> None:
    """Let the container use its ``--device`` nodes: the cgroup's own rules (v1 devices.allow,
    v2 device program), under its configured root; nothing to undo, they go with the cgroup."""
    if spec.devices and not spec.privileged:
        cgroup.allow_devices([dev.cgroup_rule for dev in spec.devices])


def _receive_console(sock: socket.socket) -> int | None:
    """The pty master the container sent (queued on the socket), or None if it died first."""
    _, fds, _, _ = socket.recv_fds(sock, 1, 1)
    for extra in fds[1:]:
        os.close(extra)
    return fds[0] if fds else None


def _reap(helper: int, wanted: bool) -> None:
    if wanted:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(helper, 0)


def _reported_pid(first: dict | None) -> int:
    if not first or "pid" not in first:
        hs.raise_failure(first or {"error": "container setup failed: the helper process died"})
    return first["pid"]


def _pid_after_failure(reader, helper: int) -> tuple[int, bool]:
    """(pid 1, whether the helper is still to be reaped) from the helper's report, read after the
    caller failed before reading it (the helper always reports or dies: this does not block)."""
    with contextlib.suppress(Exception):
        first = hs.read_msg(reader)
        if first and "pid" in first:
            return int(first["pid"]), first["pid"] != helper
    return 0, True


_subreaper_set = False


def _before_fork(spec: ContainerSpec, stdio, console) -> tuple[socket.socket | None, socket.socket | None, tuple]:
    """Host checks, the container's etc dirs, us as its subreaper, and the socket a console comes back on."""
    global _subreaper_set
    limits.check_host_rlimits(spec.process.rlimits)
    etcfiles.prepare_dirs(spec)
    if not _subreaper_set:
        ksys.set_child_subreaper(True)
        _subreaper_set = True
    parent_sock = child_sock = None
    if console is not None and spec.process.terminal:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if stdio is None:
        if child_sock is None:
            raise ValueError("start() needs stdio unless a console callback allocates a terminal")
        stdio = (0, 1, 2)
    return parent_sock, child_sock, stdio


def start(spec: ContainerSpec, stdio: tuple[int, int, int] | None, cgroup=None,
          prestart: Callable[[int], None] | None = None,
          console: Callable[[int], None] | None = None,
          after_fork: Callable[[], None] | None = None) -> int:
    """Start the container; return the host pid of its pid 1 once the command runs.

    ``cgroup`` (engine.cgroups, or anything with ``add_pid`` and, with devices, ``allow_devices``:
    every cgroup file is its business) gets pid 1 and the device rules before the command runs;
    ``prestart(pid)`` runs while the container waits (network). ``console(master_fd)``: with
    ``spec.process.terminal``, the terminal is allocated in the container's own devpts and its
    master handed over (``stdio`` unused); without it a terminal ``stdio`` becomes /dev/console.
    ``after_fork()`` runs in the caller while the container's helper sets up, before pid 1 is known
    (the supervisor makes the cgroup then, off the start's critical path).
    Raises StartError (Docker's wording and status); nothing is left running then.
    """
    parent_sock, child_sock, stdio = _before_fork(spec, stdio, console)
    go_r, go_w = os.pipe()
    msg_r, msg_w = os.pipe()
    helper, pid = _fork(spec, stdio, (go_r, go_w, msg_r, msg_w), parent_sock, child_sock)
    os.close(go_r)
    os.close(msg_w)
    if child_sock is not None:
        child_sock.close()
    warm = getattr(cgroup, "warm_join", None)  # engine.cgroups' groups have it; a bare add_pid need not
    warming = warm() if warm is not None else None
    reader = os.fdopen(msg_r, "rb")
    reap_helper = helper != 0
    first = None
    try:
        if after_fork is not None:
            after_fork()
        if helper:
            first = hs.read_msg(reader)
            # with pid=host the helper is pid 1 itself; else it exits once it has sent pid 1's pid, and
            # is reaped at the end: its exit (unmapping a copy of our memory) runs while we join pid 1
            reap_helper = not first or first.get("pid") != helper
            pid = _reported_pid(first)
        if cgroup is not None:
            cgroup.add_pid(pid)
            _allow_devices(cgroup, spec)
        with contextlib.suppress(BrokenPipeError):
            os.write(go_w, b"J")  # joined: it finishes what needs only the cgroup meanwhile
        if prestart is not None:
            prestart(pid)
        with contextlib.suppress(BrokenPipeError):
            os.write(go_w, b"G")
        os.close(go_w)
        go_w = -1
        failure = hs.read_msg(reader)
        master = _receive_console(parent_sock) if parent_sock is not None else None
        if failure is not None:
            if master is not None:
                os.close(master)
            hs.raise_failure(failure)
        if master is not None:
            console(master)  # only once the command runs: the caller owns it from here
        return pid
    except BaseException:
        if first is None and not pid:  # failed before the helper's report: pid 1 must not be left waiting
            pid, reap_helper = _pid_after_failure(reader, helper)
        _reap(helper, reap_helper)  # first: until the helper is gone, pid 1 is its child, not ours
        reap_helper = False
        hs.kill_started(pid)
        raise
    finally:
        _reap(helper, reap_helper)
        if warming is not None:
            warming.join()
        reader.close()
        if parent_sock is not None:
            parent_sock.close()
        if go_w >= 0:
            os.close(go_w)
