"""Running healthcheck probes: exec'd in the container, output capped, killed at Timeout;
the meaning of each result is ``engine.supervisor.health``'s (Docker's rules)."""
from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time

from engine.supervisor import health as hc
from engine.values import format_duration
from engine.supervisor.box import Box
from engine.supervisor.events import container_event
from engine.supervisor.logwriter import format_time


def now_iso() -> str:
    return format_time(time.time_ns())




class ProbeMixin:
    """Part of ``Supervisor`` (engine.supervisor.daemon): timers and pidfds on its loop."""

    def _schedule_probe(self, box: Box) -> None:
        delay = hc.next_delay(box.health_cfg, box.health, box.started_ns, time.time_ns())
        box.health_timer = self.call_later(delay / 1e9, lambda: self._probe(box))

    def _stop_health(self, box: Box) -> None:
        if box.health_timer is not None:
            box.health_timer.cancel()
            box.health_timer = None
        p, box.probe = box.probe, None
        if p:
            p["timer"].cancel()
            with contextlib.suppress(ProcessLookupError):
                os.kill(p["pid"], signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p["pid"], 0)
            for fd in (p["out"], p["pidfd"]):
                self._unwatch(fd)
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _probe(self, box: Box) -> None:
        box.health_timer = None
        if not box.running or box.health_cfg is None:
            return
        if box.paused:
            self._schedule_probe(box)
            return
        from engine.execution import _cgroup_paths, build_process
        from engine.runtime.exec import exec_process

        start_ns = time.time_ns()
        r = w = null = -1
        try:
            process = build_process(box.rec, box.pid, box.health_cfg.command, None, None, None, False, False)
            r, w = os.pipe2(os.O_CLOEXEC)
            null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            pid = exec_process(box.pid, process, (null, w, w), cgroup_paths=_cgroup_paths(box.cid))
        except Exception as e:  # noqa: BLE001 - a probe that cannot run is a failed probe
            for fd in (r, w, null):
                if fd >= 0:
                    os.close(fd)
            self._probe_done(box, {"Start": format_time(start_ns), "End": now_iso(), "ExitCode": -1,
                                   "Output": str(e)}, start_ns)
            return
        os.close(w)
        os.close(null)
        os.set_blocking(r, False)
        pidfd = os.pidfd_open(pid)
        timeout = box.health_cfg.timeout / 1e9
        p = {"pid": pid, "pidfd": pidfd, "out": r, "buf": bytearray(), "start": start_ns, "timed_out": False}
        p["timer"] = self.call_later(timeout, lambda: self._probe_timeout(box, p))
        box.probe = p
        self.sel.register(r, selectors.EVENT_READ, lambda fd: self._probe_output(p))
        self.sel.register(pidfd, selectors.EVENT_READ, lambda fd: self._probe_exit(box, p))

    def _probe_output(self, p: dict) -> None:
        try:
            data = os.read(p["out"], 65536)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self._unwatch(p["out"])
            return
        if len(p["buf"]) < hc.MAX_OUTPUT:
            p["buf"].extend(data[:hc.MAX_OUTPUT - len(p["buf"])])

    def _probe_timeout(self, box: Box, p: dict) -> None:
        p["timed_out"] = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(p["pid"], signal.SIGKILL)

    def _probe_exit(self, box: Box, p: dict) -> None:
        try:
            wpid, status = os.waitpid(p["pid"], os.WNOHANG)
            if wpid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = -1
        p["timer"].cancel()
        while True:
            try:
                data = os.read(p["out"], 65536)
            except (BlockingIOError, InterruptedError, OSError):
                break
            if not data:
                break
            if len(p["buf"]) < hc.MAX_OUTPUT:
                p["buf"].extend(data[:hc.MAX_OUTPUT - len(p["buf"])])
        for fd in (p["out"], p["pidfd"]):
            self._unwatch(fd)
            os.close(fd)
        box.probe = None
        output = p["buf"].decode("utf-8", "replace")
        if p["timed_out"]:
            code = -1
            output = f"Health check exceeded timeout ({format_duration(box.health_cfg.timeout)})"
        elif code < 0:
            code = 128 - code
        self._probe_done(box, {"Start": format_time(p["start"]), "End": now_iso(), "ExitCode": code,
                               "Output": output}, p["start"])

    def _probe_done(self, box: Box, result: dict, start_ns: int) -> None:
        if not box.running or box.health is None:
            return
        old = box.health.get("Status")
        box.health = hc.record_result(box.health_cfg, box.health, result, box.started_ns, start_ns)
        self._set_state(box, Health=box.health)
        if box.health["Status"] != old:
            self._publish(container_event(f"health_status: {box.health['Status']}", box.rec))
        self._schedule_probe(box)
