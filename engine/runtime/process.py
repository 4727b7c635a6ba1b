"""Give the current (forked) process the container command's identity, then exec it.

Shared by ``start`` (the container's pid 1) and ``exec_process``. Order as in
runc's init: rlimits while still privileged; bounding set dropped while we
still hold CAP_SETPCAP; groups/gid/uid with KEEPCAPS so the capability sets
survive the uid change; then effective/permitted set exactly, inheritable and
ambient cleared; no_new_privs last, just before execve.
"""
from __future__ import annotations

import os
import resource
import signal
import stat

from engine import sys as ksys
from engine.runtime import kernel, seccomp
from engine.runtime.caps import names as capnames
from engine.runtime.errors import StartError
from engine.runtime.limits import RLIMITS
from engine.runtime.spec import DEFAULT_PATH, ProcessSpec

LAST_CAP = ksys.last_cap()


_ALL_SIGNALS = tuple(s for s in signal.Signals if s not in (signal.SIGKILL, signal.SIGSTOP))


def reset_signals() -> None:
    """Default dispositions and an empty mask, as a freshly exec'd command expects.

    A forked child inherits the caller's Python handlers (which must not run
    in the container) and its ignored signals and mask, which survive execve:
    Python itself ignores SIGPIPE, so without this ``yes | head`` would hang.
    """
    for s in _ALL_SIGNALS:
        try:
            signal.signal(s, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def apply_rlimits(process: ProcessSpec) -> None:
    for rl in process.rlimits:
        try:
            resource.setrlimit(RLIMITS[rl.name], (rl.soft, rl.hard))
        except (ValueError, OSError) as e:
            raise StartError(f"setting ulimit {rl.name}={rl.soft}:{rl.hard} failed: {e}") from None


def seccomp_program(process: ProcessSpec) -> list[tuple[int, int, int, int]] | None:
    """The BPF filter ``apply_identity`` installs for ``process`` (None: no filter). ``start`` compiles
    it before the fork: in the forked child the compile (~0.3 ms) would be on the start's critical path."""
    if not (process.seccomp and seccomp.supported()):
        return None
    caps = process.capabilities
    return seccomp.profile_program(process.seccomp_profile, caps) if process.seccomp_profile else seccomp.program(caps)


def apply_identity(process: ProcessSpec, program: list[tuple[int, int, int, int]] | None = None) -> None:
    """Capabilities, groups, uid/gid and no_new_privs of ``process``; ``program``: its
    ``seccomp_program``, when the caller compiled it already."""
    k = kernel.current()
    caps = process.capabilities
    missing = caps & ~k.capget()[1]
    if missing:
        names = ", ".join(f"CAP_{n}" for n in capnames(missing)) or hex(missing)
        raise StartError(f"capabilities not available on this host: {names}")
    if program is None:
        program = seccomp_program(process)
    if program is not None:
        # installed while we still hold CAP_SYS_ADMIN (no no_new_privs needed); nothing that
        # follows (setgroups, setresuid, capset, prctl, execve) is among the refused calls
        k.seccomp_filter(program)
    k.prctl(ksys.PR_SET_KEEPCAPS, 1)
    for cap in range(LAST_CAP + 1):
        if not caps >> cap & 1:
            k.capbset_drop(cap)
    k.setgroups(list(process.additional_gids))
    k.setresgid(process.gid, process.gid, process.gid)
    k.setresuid(process.uid, process.uid, process.uid)
    k.prctl(ksys.PR_SET_KEEPCAPS, 0)
    k.capset(caps, caps, 0)
    k.clear_ambient_caps()
    if process.no_new_privs:
        k.set_no_new_privs()


def _env_path(env: list[str]) -> str:
    for e in env:
        if e.startswith("PATH="):
            return e[5:]
    return DEFAULT_PATH


def _is_executable_file(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)


def look_path(cmd: str, env: list[str]) -> str:
    """Find ``cmd`` like Go's exec.LookPath, failing with Docker's wording."""
    if "/" in cmd:
        try:
            st = os.stat(cmd)
        except FileNotFoundError:
            raise StartError(f'exec: "{cmd}": stat {cmd}: no such file or directory', 127) from None
        except OSError as e:
            raise StartError(f'exec: "{cmd}": stat {cmd}: {os.strerror(e.errno or 0).lower()}', 127) from None
        if stat.S_ISDIR(st.st_mode):
            raise StartError(f'exec: "{cmd}": is a directory', 126)
        return cmd
    for d in _env_path(env).split(":"):
        cand = os.path.join(d or ".", cmd)
        if _is_executable_file(cand):
            return cand
    raise StartError(f'exec: "{cmd}": executable file not found in $PATH', 127)


def execute(process: ProcessSpec) -> None:
    """execve the command; on failure raise StartError with Docker's wording."""
    if not process.args:
        raise StartError("no command specified", 125)
    path = look_path(process.args[0], process.env)
    env = {}
    for e in process.env:
        k, _, v = e.partition("=")
        env[k] = v
    try:
        kernel.current().execve(path, process.args, env)
    except PermissionError:
        raise StartError(f'exec: "{process.args[0]}": permission denied', 126) from None
    except OSError as e:
        raise StartError(f'exec: "{process.args[0]}": {os.strerror(e.errno or 0).lower()}', 126) from None
