"""``run_step``: one ``RUN`` instruction as a container of our engine, its output streamed.

Why in-process on ``engine.runtime`` (not through the supervisor): a step is not a
container anyone manages (no record, no logs, no restart); it lives exactly as long
as the call. The step gets what a ``docker build`` step gets: its own pid, mount,
uts, ipc and network namespaces (``host`` network shares the host's), an overlay
root of the image's layers with the caller's ``upper``/``work`` dirs (so the upper
dir *is* the step's layer), Docker's default capabilities, syscall filter and
masked paths, a cgroup, and ``RUN --mount``s (see ``engine.build.stepmounts``).

Whatever happens (the command fails, setup fails, Ctrl-C), ``run_step`` leaves
nothing behind: the processes are killed, the cgroup removed, the network
endpoint released, scratch files and mount stubs deleted. Mounts exist only in
the step's mount namespace and die with it.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.build import stepdirs
from engine.build.stepmounts import StepMount, StepMounts, cache_mount_dir, cache_mount_root
from engine.build.stepnet import StepNetwork
from engine.build.stubs import MountStubs
from engine.errors import EngineError, InvalidArgument
from engine.runtime import caps as capsmod
from engine.runtime.errors import StartError
from engine.runtime.spec import DEFAULT_PATH, DEFAULT_SHM_SIZE, ContainerSpec, Namespaces, ProcessSpec
from engine.runtime.users import resolve_user
from engine.state import DataRoot

__all__ = ["run_step", "prewarm", "StepMount", "StepCancelled", "cache_mount_dir", "cache_mount_root"]

RUNTIME_TARGETS = ("/proc", "/dev", "/sys")


class StepCancelled(EngineError):
    """The step was killed because its ``cancel`` event was set."""


@dataclass
class _StepSpec(ContainerSpec):
    """A ContainerSpec whose upper/work dirs are the caller's (the step's layer), not the container dir's."""

    step_upper: Path | None = None
    step_work: Path | None = None

    @property
    def upper(self) -> Path:
        return self.step_upper

    @property
    def work(self) -> Path:
        return self.step_work


def _as_root(root) -> DataRoot:
    return root if isinstance(root, DataRoot) else DataRoot(root)


def _process(argv: list[str], env: list[str], workdir: str, user: str, layers: list[Path]) -> ProcessSpec:
    """The step's command and identity: the user resolved in the image (/etc/passwd, /etc/group)."""
    if not argv:
        raise InvalidArgument("RUN needs a command")
    cwd = os.path.normpath(workdir or "/")
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    who = resolve_user(user or "", layers)
    env = [str(e) for e in env or []]
    keys = {e.partition("=")[0] for e in env}
    if "PATH" not in keys:
        env.insert(0, f"PATH={DEFAULT_PATH}")
    if "HOME" not in keys:
        env.append(f"HOME={who.home}")
    return ProcessSpec(args=[str(a) for a in argv], env=env, cwd=cwd, uid=who.uid, gid=who.gid,
                       additional_gids=who.additional_gids, capabilities=capsmod.mask(capsmod.tweak(None, None)),
                       user=user or "")


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM while undoing kernel state: a second Ctrl-C must not cut cleanup short."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    except (OSError, ValueError):
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Step:
    """The host-side state of one step, each piece undone by ``cleanup``."""

    def __init__(self, root: DataRoot, lower_dirs: list[Path], upper: Path, work: Path, hostname: str,
                 step_id: str | None = None):
        self.root = root
        self.id = step_id or secrets.token_hex(32)
        self.lower_dirs = [Path(p) for p in lower_dirs]
        self.upper, self.work = Path(upper), Path(work)
        self.hostname = hostname or self.id[:12]
        self.net: StepNetwork | None = None
        self.stubs = MountStubs(self.upper, self.lower_dirs)
        self.cgroup = None
        self.pid = 0
        self.pidfd = -1
        self.scratch, self._lock_fd = stepdirs.claim(root, self.id)  # last: cleanup() releases it
        self.mounts = StepMounts(root, self.scratch)

    def spec(self, argv, env, workdir, user, mounts, network, extra_hosts, shm_size) -> _StepSpec:
        layers = list(reversed(self.lower_dirs))  # the runtime wants the lowest first
        self.upper.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        process = _process(argv, env, workdir, user, layers + [self.upper])
        resolved = [_relative_to(m, process.cwd) for m in mounts or []]
        self.net = StepNetwork(self.root, self.id, network, self.hostname, extra_hosts, self.scratch)
        runtime_mounts = self.mounts.add_all(resolved)
        etc = self.net.prepare()
        if shm_size is not None and int(shm_size) < 0:
            raise InvalidArgument("SHM size can not be less than 0")
        self.stubs.note(list(RUNTIME_TARGETS) + list(etc) + [m.target for m in runtime_mounts])
        return _StepSpec(id=self.id, container_dir=self.scratch, layers=layers, process=process,
                         hostname=self.hostname, mounts=runtime_mounts,
                         shm_size=int(shm_size) if shm_size else DEFAULT_SHM_SIZE,
                         namespaces=Namespaces(net=self.net.namespace), etc_files=etc,
                         step_upper=self.upper, step_work=self.work)

    def start(self, spec: _StepSpec, stdout_w: int) -> None:
        from engine.cgroups import container_cgroup, limits_from_hostconfig
        from engine.runtime.start import start

        self.cgroup = container_cgroup(self.id)
        self.cgroup.create()
        self.cgroup.apply(limits_from_hostconfig({}))
        devnull = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.pid = start(spec, (devnull, stdout_w, stdout_w), cgroup=self.cgroup, prestart=self.net.attach)
        finally:
            os.close(devnull)
        self.pidfd = os.pidfd_open(self.pid)

    def pump(self, out_r: int, output: Callable[[bytes], None], cancel=None) -> int:
        """Stream the output until the command has exited and its output is drained; its exit code."""
        code = None
        fds = [out_r, self.pidfd]
        while fds:
            ready, _, _ = select.select(fds, [], [], 0.2 if cancel is not None else None)
            if cancel is not None and cancel.is_set():
                raise StepCancelled("canceled")  # cleanup() kills the step
            if out_r in ready:
                data = os.read(out_r, 65536)
                if data:
                    output(data)
                else:
                    fds.remove(out_r)
            if self.pidfd in ready and self.pidfd in fds:
                fds.remove(self.pidfd)
                _, status = os.waitpid(self.pid, 0)
                self.pid = 0
                code = _exit_code(status)
                # the kernel kills what is left of the pid namespace; the pipe ends with them
        return 0 if code is None else code

    def cleanup(self) -> None:
        errors: list[BaseException] = []

        def attempt(fn, *args) -> None:
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - run every undo step, report the first
                errors.append(e)

        if self.pid:
            attempt(_kill_and_reap, self.pid)
            self.pid = 0
        if self.pidfd >= 0:
            attempt(os.close, self.pidfd)
            self.pidfd = -1
        if self.cgroup is not None:
            attempt(self.cgroup.kill_all)
            attempt(self.cgroup.destroy, 10.0)
        if self.net is not None:
            attempt(self.net.close)
        attempt(self.mounts.close)
        attempt(self.stubs.clean)
        attempt(stepdirs.release, self.scratch, self._lock_fd)
        if errors:
            raise errors[0]


_warming: threading.Thread | None = None


def prewarm(network: str = "default") -> None:
    """Import what a step needs (the runtime; netlink for the default network, ~0.6 s of pyroute2)
    in a background thread, so a build can overlap it with parsing and loading its context."""
    global _warming
    if _warming is not None:
        return

    def load() -> None:
        import contextlib as _cl

        with _cl.suppress(Exception):
            import engine.cgroups  # noqa: F401
            import engine.runtime.start  # noqa: F401
            if network in ("default", "bridge", "", None):
                import engine.network.manager  # noqa: F401
                from engine.network import links

                links._pyroute2()

    _warming = threading.Thread(target=load, name="run-step-prewarm", daemon=True)
    _warming.start()


def _relative_to(m: StepMount, cwd: str) -> StepMount:
    """A relative ``target`` is inside the step's working directory (BuildKit's rule)."""
    if m.target and not m.target.startswith("/"):
        from dataclasses import replace

        return replace(m, target=os.path.join(cwd, m.target))
    return m


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _kill_and_reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def run_step(root: DataRoot | str | os.PathLike | None, lower_dirs: list[Path], upper: Path, work: Path,
             argv: list[str], env: list[str], workdir: str, user: str, mounts: list[StepMount] | None,
             network: str, extra_hosts: list[str] | None, shm_size: int | None,
             output: Callable[[bytes], None], hostname: str | None = None, step_id: str | None = None,
             cancel: threading.Event | None = None) -> int:
    """Run ``argv`` as one build step on ``lower_dirs`` (top first) + ``upper``; its exit code.

    ``output`` receives stdout and stderr, interleaved as written. A command that cannot
    be started (not found: 127, not executable: 126) is reported through ``output`` with
    Docker's message and its status returned; a step that cannot be set up raises.
    ``step_id`` (64 hex, default random) names the step's cgroup ``pycompose/<id>`` and endpoint.
    ``cancel``: when it is set (another stage failed, Ctrl-C in the main thread), the step is
    killed, cleaned up, and ``StepCancelled`` raised.
    """
    if step_id is not None and not re.fullmatch(r"[0-9a-f]{64}", step_id):
        raise InvalidArgument(f"invalid step id {step_id!r}: 64 hex digits expected")
    root = _as_root(root)
    stepdirs.sweep(root)  # what steps of a killed builder left behind
    step = _Step(root, lower_dirs, upper, work, hostname or "", step_id)
    out_r = out_w = -1
    try:
        spec = step.spec(argv, env, workdir, user, mounts, network, extra_hosts, shm_size)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        if cancel is not None and cancel.is_set():
            raise StepCancelled("canceled")
        try:
            step.start(spec, out_w)
        except StartError as e:
            if e.status in (126, 127):
                output(f"{e}\n".encode())
                return e.status
            raise
        os.close(out_w)
        out_w = -1
        return step.pump(out_r, output, cancel)
    finally:
        with _signals_deferred():
            for fd in (out_r, out_w):
                if fd >= 0:
                    os.close(fd)
            step.cleanup()
