"""What a (re)started supervisor does first: re-adopt containers a previous daemon left
running, mark the lost ones exited (255, as containerd reports a lost status) and start
again those whose restart policy says so."""
from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
import traceback

from engine.errors import EngineError, InvalidArgument, NotFound
from engine.supervisor import health as hc
from engine.supervisor.box import Box
from engine.supervisor.events import container_event
from engine.supervisor.logwriter import JsonFileWriter, format_time
from engine.supervisor.restart import RestartManager, RestartPolicy

UNKNOWN_EXIT = 255  # what containerd reports when the exit status was lost (our daemon was down)


PIDFD_GET_INFO = 0xC040FF0B  # _IOWR(0xFF, 11, struct pidfd_info), its first 64 bytes (Linux 6.13+)
PIDFD_INFO_EXIT = 0x8           # Linux 6.15+: the exit status, kept once the process is reaped


def now_iso() -> str:
    return format_time(time.time_ns())


def adopted_exit_code(pid: int, pidfd: int) -> int:
    """The exit code of a container an earlier daemon started. It is not our child (it was
    re-parented when that daemon died), so waitpid cannot tell; the kernel still can: a zombie's
    status is field 52 of /proc/PID/stat, and once reaped by its new parent, PIDFD_GET_INFO keeps
    it (Linux 6.15+). 255 only when neither has it (an older kernel and an init that reaped it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z" and len(fields) > 49:
            return _exit_code(int(fields[49]))
    except (OSError, ValueError, IndexError):
        pass
    try:
        import fcntl
        import struct

        buf = bytearray(64)
        struct.pack_into("Q", buf, 0, PIDFD_INFO_EXIT)
        fcntl.ioctl(pidfd, PIDFD_GET_INFO, buf)
        if struct.unpack_from("Q", buf, 0)[0] & PIDFD_INFO_EXIT:
            return _exit_code(struct.unpack_from("i", buf, 60)[0])
    except OSError:
        pass
    return UNKNOWN_EXIT


def zombie_exit_code(pid: int, started_at: str) -> int | None:
    """The exit code of a container that ended while no daemon ran, if its process is still a
    zombie (an init that does not reap at once) and really is that container: it began within a
    few seconds before the recorded StartedAt (pids are reused, start times are not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            return None
        with open("/proc/stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        began = btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        from engine.logs import time_ns

        if not -5.0 < time_ns(started_at) / 1e9 - began < 5.0:
            return None
        return _exit_code(int(fields[49]))
    except (OSError, ValueError, IndexError, StopIteration, Exception):  # noqa: BLE001 - unknown it stays
        return None


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class BootMixin:
    """Part of ``Supervisor`` (engine.supervisor.daemon)."""

    def reconcile(self) -> None:
        """Re-adopt containers still running from a previous daemon, mark the lost ones as exited
        (and restart those whose policy says so), release what dead containers held."""
        live = []
        to_start = []
        for cid in self.store.ids():
            try:
                st = self.store.state(cid)
                rec = self.store.get(cid)
            except NotFound:
                continue
            box = self._box(cid)
            box.rec = rec
            if st.get("Restarting"):
                to_start.append(box)
                continue
            if not st.get("Running"):
                if self._half_started(cid):  # the last daemon died inside its start: undo what it made
                    self._release(box)
                continue
            pid = int(st.get("Pid") or 0)
            if pid and self._adopt(box, pid, st):
                live.append(cid)
                continue
            code = zombie_exit_code(pid, st.get("StartedAt") or "") if pid else None
            code = UNKNOWN_EXIT if code is None else code
            self._set_state(box, Status="exited", Running=False, Paused=False, Restarting=False, Pid=0,
                            ExitCode=code, FinishedAt=now_iso())
            self._release(box)
            self._publish(container_event("die", rec, exitCode=code))
            with contextlib.suppress(InvalidArgument):
                if RestartPolicy.from_hostconfig(rec.get("HostConfig")).restarts_on_boot(False):
                    to_start.append(box)
        if live:
            self.start_dns()  # re-opens the DNS sockets of re-adopted containers from network state
        with contextlib.suppress(Exception):
            for cid in self._net("reconcile", live=live) or []:
                if self.dns is not None:
                    self.dns.remove_container(cid)
        for box in to_start:
            box.restart = None
            try:
                self._start(box, auto=True)
            except Exception:  # noqa: BLE001 - recorded in its state; the others still start
                traceback.print_exc()
                self._set_state(box, Status="exited", Running=False, Restarting=False)

    @staticmethod
    def _half_started(cid: str) -> bool:
        """A container recorded as not running that has a cgroup: a start cut short by our death."""
        from engine.cgroups import container_cgroup

        try:
            return container_cgroup(cid).exists()
        except Exception:  # noqa: BLE001 - no cgroup support: nothing could have been left
            return False

    def _release(self, box: Box) -> None:
        from engine.cgroups import container_cgroup

        cg = container_cgroup(box.cid)
        self._release_keeper(box)
        with contextlib.suppress(Exception):
            cg.kill_all(signal.SIGKILL)
        with contextlib.suppress(Exception):
            cg.destroy()
        with contextlib.suppress(Exception):
            self._detach(box.rec)

    def _adopt(self, box: Box, pid: int, st: dict) -> bool:
        """Watch a container process the previous daemon started, if it is really still that container."""
        from engine.cgroups import container_cgroup

        cg = container_cgroup(box.cid)
        try:
            if pid not in cg.pids():
                return False
            pidfd = os.pidfd_open(pid)
        except (OSError, EngineError):
            return False
        box.pid, box.pidfd, box.adopted, box.cgroup = pid, pidfd, True, cg
        box.paused = bool(st.get("Paused"))
        started = st.get("StartedAt") or ""
        try:
            from engine.logs import time_ns

            box.started_ns = time_ns(started)
        except Exception:  # noqa: BLE001
            box.started_ns = time.time_ns()
        box.started_mono = time.monotonic() - max(0.0, (time.time_ns() - box.started_ns) / 1e9)
        host_config = box.rec.get("HostConfig") or {}
        box.restart = RestartManager(RestartPolicy.from_hostconfig(host_config), int(st.get("RestartCount") or 0))
        with contextlib.suppress(Exception):
            box.writer = JsonFileWriter.for_record(self.store.log_path(box.cid), host_config.get("LogConfig"))
        cdir = self.store.dir(box.cid)
        for stream in ("stdout", "stderr"):
            path = cdir / f"{stream}.fifo"
            if path.exists():
                with contextlib.suppress(OSError):
                    fd = self._open_fifo(path, create=False)
                    box.outputs[fd] = stream
                    self.sel.register(fd, selectors.EVENT_READ, self._make_pump(box, stream))
        if (box.rec.get("Config") or {}).get("Tty"):
            master = self._take_console(box)
            if master is not None:
                box.outputs[master] = "stdout"
                self.sel.register(master, selectors.EVENT_READ, self._make_pump(box, "stdout"))
        self.sel.register(pidfd, selectors.EVENT_READ, lambda _fd, b=box: self._on_exit(b))
        with contextlib.suppress(Exception):
            from engine.images import ImageStore

            box.health_cfg = hc.HealthConfig.from_config(box.rec.get("Config"),
                                                          ImageStore(self.root).get(box.rec["Image"]).config)
        if box.health_cfg:
            box.health = st.get("Health") or hc.initial_health()
            self._schedule_probe(box)
        return True
