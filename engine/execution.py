"""``docker exec``: build the exec'd process from the container record, run it, relay its I/O.

Why in the API process and not the supervisor: the caller's terminal and
pipes are here, and an exec'd process belongs to whoever waits for its exit
code (Docker's exec too ends with its client). The kernel work (joining the
namespaces, cgroup and root) is ``engine.runtime.exec_process``; this module
decides *what* runs: Docker's environment (container env, then ``-e``), the
user (resolved from the container's live ``/etc/passwd``), the working dir,
the container's capabilities (all of them with ``--privileged``), rlimits and
no_new_privs, then relays stdin/stdout/stderr (a pty with ``-t``).
"""
from __future__ import annotations

import contextlib
import os
import select
import termios
import tty as _tty
from pathlib import Path
from typing import Any

from engine.errors import InvalidArgument

StreamArg = Any  # BinaryIO | int | None


def build_process(rec: dict, pid: int, cmd: list[str], env: list[str] | None, workdir: str | None,
                  user: str | None, tty: bool, privileged: bool):
    """The ProcessSpec of an exec in the container ``rec`` whose pid 1 is ``pid``."""
    from engine.runtime import caps as capsmod
    from engine.runtime.build import environment, replace_or_append, security_opts
    from engine.runtime.limits import parse_ulimits
    from engine.runtime.spec import ProcessSpec
    from engine.runtime.users import resolve_user

    if not cmd:
        raise InvalidArgument("exec requires at least 1 argument: no command given")
    cfg = rec.get("Config") or {}
    hc = rec.get("HostConfig") or {}
    root = Path(f"/proc/{pid}/root")
    user_str = user if user else (cfg.get("User") or "")
    who = resolve_user(str(user_str), [root], [str(g) for g in hc.get("GroupAdd") or []])
    hostname = cfg.get("Hostname") or rec["Id"][:12]
    base_env = environment(cfg, {}, hostname, tty, who.home)
    for e in env or []:
        if not e or e.startswith("="):
            raise InvalidArgument(f"invalid environment variable: {e!r}")
    full_env = replace_or_append(base_env, list(env or []))
    cwd = workdir or cfg.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory '{cwd}' is invalid, it needs to be an absolute path")
    names = capsmod.tweak(hc.get("CapAdd"), hc.get("CapDrop"), bool(hc.get("Privileged")) or privileged)
    # the container's syscall filter, as its init got it (docker exec inherits it; --privileged on
    # the exec adds capabilities, and the filter follows them, but only a privileged container is unfiltered)
    sec = security_opts(hc.get("SecurityOpt") or [])
    return ProcessSpec(args=[str(a) for a in cmd], env=full_env, cwd=os.path.normpath(cwd), uid=who.uid, gid=who.gid,
                       additional_gids=who.additional_gids, terminal=tty, capabilities=capsmod.mask(names),
                       no_new_privs=sec["no_new_privs"], rlimits=parse_ulimits(hc.get("Ulimits")),
                       user=str(user_str), seccomp=sec["seccomp"] and not hc.get("Privileged"),
                       seccomp_profile=sec["seccomp_profile"])


def _fd_of(stream: StreamArg, default: int) -> tuple[int | None, Any]:
    """(a real fd to hand over, or None with the object to pump through a pipe)."""
    if stream is None:
        return default, None
    if isinstance(stream, int):
        return stream, None
    try:
        return stream.fileno(), None
    except (AttributeError, OSError, ValueError):
        return None, stream


def _wait_exit(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def run_exec(rec: dict, pid: int, image_config: dict, cmd: list[str], env=None, workdir=None, user=None,
             tty: bool = False, detach: bool = False, privileged: bool = False,
             stdin: StreamArg = None, stdout: StreamArg = None, stderr: StreamArg = None) -> int:
    """Run an exec; returns its exit code (0 at once with ``detach``)."""
    from engine.runtime import exec_process

    process = build_process(rec, pid, cmd, env, workdir, user, tty, privileged)
    cgroup_paths = _cgroup_paths(rec["Id"])
    if detach:
        _run_detached(pid, process, cgroup_paths)
        return 0
    if tty:
        return _run_tty(pid, process, cgroup_paths, stdin, stdout)
    return _run_pipes(pid, process, cgroup_paths, stdin, stdout, stderr)


def _run_detached(pid: int, process, cgroup_paths) -> None:
    """``exec -d``: a small reaper process of our own waits for the command, so it never becomes a
    zombie nobody reaps (a zombie in the container's pid namespace keeps the container from dying).

    The reaper is a grandchild (double fork, own session) reparented to init once we return; it
    reports whether the command started, so a bad command still fails this call.
    """
    from engine.runtime import exec_process

    r, w = os.pipe()
    first = os.fork()
    if first == 0:  # intermediate: make the reaper and leave at once
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                code = 0
                try:
                    from engine import sys as ksys

                    ksys.set_child_subreaper(True)
                    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                    try:
                        child = exec_process(pid, process, (null, null, null), cgroup_paths=cgroup_paths)
                    finally:
                        os.close(null)
                    os.write(w, b"ok\n")
                    os.close(w)
                    while True:  # reap the command and anything it leaves behind with us
                        try:
                            os.wait()
                        except ChildProcessError:
                            break
                        except InterruptedError:
                            continue
                except BaseException as e:  # noqa: BLE001 - reported to the caller through the pipe
                    status = getattr(e, "status", 126)
                    os.write(w, f"{status}:{e}\n".encode())
                    code = 1
                os._exit(code)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(first, 0)
    with os.fdopen(r, "rb") as f:
        answer = f.readline().decode(errors="replace").strip()
    if answer == "ok":
        return
    from engine.runtime.errors import StartError

    status, _, message = answer.partition(":")
    raise StartError(message or "exec failed: the command did not start", int(status) if status.isdigit() else 126)


def _cgroup_paths(cid: str) -> dict | None:
    try:
        from engine.cgroups import container_cgroup

        cg = container_cgroup(cid)
        return {k: str(v) for k, v in cg.paths.items() if Path(v).is_dir()} or None
    except Exception:  # noqa: BLE001 - no cgroup (e.g. it was never made): run outside any
        return None


def _run_pipes(pid: int, process, cgroup_paths, stdin, stdout, stderr) -> int:
    from engine.runtime import exec_process

    close_after: list[int] = []
    pumps: dict[int, Any] = {}  # our read end -> object to write to
    feed: tuple[Any, int] | None = None
    fds = []
    for i, (stream, default) in enumerate(((stdin, None), (stdout, 1), (stderr, 2))):
        if i == 0 and stream is None:
            null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            close_after.append(null)
            fds.append(null)
            continue
        fd, obj = _fd_of(stream, default if default is not None else 0)
        if fd is not None:
            fds.append(fd)
            continue
        r, w = os.pipe()
        if i == 0:
            fds.append(r)
            close_after.append(r)
            feed = (obj, w)
        else:
            fds.append(w)
            close_after.append(w)
            pumps[r] = obj
    try:
        child = exec_process(pid, process, tuple(fds), cgroup_paths=cgroup_paths)
    except BaseException:
        for fd in close_after + list(pumps):
            os.close(fd)
        if feed:
            os.close(feed[1])
        raise
    for fd in close_after:
        os.close(fd)
    if feed:
        obj, w = feed
        data = obj.read() if hasattr(obj, "read") else bytes(obj)
        with contextlib.suppress(BrokenPipeError):
            os.write(w, data)
        os.close(w)
    while pumps:
        ready, _, _ = select.select(list(pumps), [], [])
        for r in ready:
            chunk = os.read(r, 65536)
            if not chunk:
                os.close(r)
                pumps.pop(r)
                continue
            pumps[r].write(chunk)
    return _wait_exit(child)


def _run_tty(pid: int, process, cgroup_paths, stdin, stdout) -> int:
    """Relay a pty: our terminal in raw mode <-> the exec'd process's controlling terminal."""
    from engine.runtime import exec_process
    from engine.runtime.tty import get_winsize, open_pty, set_winsize

    master, slave = open_pty(f"/proc/{pid}/root")
    in_fd, in_obj = _fd_of(stdin, 0) if stdin is not None else (None, None)
    out_fd, out_obj = _fd_of(stdout, 1)
    saved = None
    try:
        if in_fd is not None and os.isatty(in_fd):
            with contextlib.suppress(OSError):
                rows, cols = get_winsize(in_fd)
                set_winsize(slave, rows, cols)
            saved = termios.tcgetattr(in_fd)
            _tty.setraw(in_fd)
        try:
            child = exec_process(pid, process, (slave, slave, slave), cgroup_paths=cgroup_paths, tty=True)
        finally:
            os.close(slave)
        if in_obj is not None:
            data = in_obj.read() if hasattr(in_obj, "read") else bytes(in_obj)
            os.write(master, data)
        watch = [master] + ([in_fd] if in_fd is not None else [])
        while True:
            ready, _, _ = select.select(watch, [], [])
            if master in ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the last process on the terminal closed it
                    chunk = b""
                if not chunk:
                    break
                if out_fd is not None:
                    os.write(out_fd, chunk)
                else:
                    out_obj.write(chunk)
            if in_fd is not None and in_fd in ready:
                data = os.read(in_fd, 65536)
                if not data:
                    watch.remove(in_fd)
                    os.write(master, b"\x04")
                else:
                    os.write(master, data)
        return _wait_exit(child)
    finally:
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        os.close(master)
