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


def now_iso() -> str:
    return format_time(time.time_ns())


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
                continue
            pid = int(st.get("Pid") or 0)
            if pid and self._adopt(box, pid, st):
                live.append(cid)
                continue
            self._set_state(box, Status="exited", Running=False, Paused=False, Restarting=False, Pid=0,
                            ExitCode=UNKNOWN_EXIT, FinishedAt=now_iso())
            self._release(box)
            self._publish(container_event("die", rec, exitCode=UNKNOWN_EXIT))
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
