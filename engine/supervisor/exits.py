"""What happens when a container's pid 1 exits: its output drained, its run's cgroup and network
released, the state recorded before ``die`` goes out, waiters answered, and the restart policy or
``--rm`` applied. ``ExitMixin`` is a base of ``Supervisor`` (engine.supervisor.daemon).
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from typing import Callable

from engine.supervisor.boot import UNKNOWN_EXIT, adopted_exit_code
from engine.supervisor.box import Box
from engine.supervisor.events import container_event
from engine.supervisor.logwriter import format_time
from engine.supervisor.phases import Phases


def now_iso() -> str:
    return format_time(time.time_ns())


class ExitMixin:
    """``_on_exit(box)`` and what follows an exit (restart, auto-remove)."""

    def _exit_code(self, box: Box) -> int | None:
        """The exit code of the container's pid 1; None while it is not reapable yet."""
        if box.adopted:
            return adopted_exit_code(box.pid, box.pidfd)
        try:
            wpid, status = os.waitpid(box.pid, os.WNOHANG)
        except ChildProcessError:
            return UNKNOWN_EXIT
        if wpid == 0:
            return None
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def _on_exit(self, box: Box) -> None:
        ph = Phases()
        code = self._exit_code(box)
        if code is None:
            return  # not yet reapable: the pidfd will report again
        self._unwatch(box.pidfd)
        os.close(box.pidfd)
        box.pidfd = -1
        for fd, stream in list(box.outputs.items()):
            self._read_output(box, fd, stream, drain=True)
            self._close_output(box, fd, stream)
        if box.writer is not None:
            box.writer.close()
            box.writer = None
        self._close_stdin_relay(box)
        self._release_keeper(box)
        self._stop_health(box)
        ph.mark("output")
        batch = self._tearing_down(box)  # a remove_many releases the network of all its containers at once
        oom, release = self._release_run(box, network=batch is None)
        ran_for = time.monotonic() - box.started_mono
        box.pid, box.paused, box.exit_code = 0, False, code
        restart, delay = False, 0.0
        if box.restart is not None and not self.shutting_down and not box.after_exit:
            restart, delay = box.restart.should_restart(code, box.manual_stop, ran_for)
        finished = now_iso()
        if restart:
            self._set_state(box, Status="restarting", Running=True, Restarting=True, Paused=False, Pid=0,
                            ExitCode=code, OOMKilled=oom, FinishedAt=finished,
                            RestartCount=box.restart.restart_count)
            box.restart_timer = self.call_later(delay, lambda: self._auto_restart(box))
        else:
            self._set_state(box, Status="exited", Running=False, Restarting=False, Paused=False, Pid=0,
                            ExitCode=code, OOMKilled=oom, FinishedAt=finished)
        ph.mark("state")
        # Like dockerd: the state is on disk before "die" goes out, so a subscriber that
        # inspects the container on the event sees it exited (compose's readiness relies on it).
        if oom:
            self._publish(container_event("oom", box.rec))
        self._publish(container_event("die", box.rec, exitCode=code, execDuration=int(ran_for)))
        if box.stopping_event:
            box.stopping_event = False
            self._publish(container_event("stop", box.rec))
        self._answer_exit_waiters(box, code, restart)
        ph.mark("replied")
        release(ph)  # before anything that may start it again (a restart, after_exit) or remove it
        ph.report(f"exit {box.cid[:12]}")
        after, box.after_exit = box.after_exit, []
        for fn in after:
            fn()
        if batch is not None:
            self._teardown_exited(box)
        elif not restart and not after and not self.shutting_down and \
                (box.rec.get("HostConfig") or {}).get("AutoRemove"):
            self._auto_remove(box)
        self._maybe_finish_shutdown()

    def _answer_exit_waiters(self, box: Box, code: int, restart: bool) -> None:
        """``stop`` callers, ``wait next-exit``, and ``wait not-running`` unless it restarts."""
        for conn in box.stop_waiters:
            self._reply(conn, {"ok": True})
        box.stop_waiters = []
        keep = []
        for conn, cond in box.waiters:
            if cond == "next-exit" or (cond == "not-running" and not restart):
                self._reply(conn, {"ok": True, "StatusCode": code})
            else:
                keep.append((conn, cond))
        box.waiters = keep

    def _release_run(self, box: Box, network: bool = True) -> tuple[bool, Callable[[Phases], None]]:
        """What the run held: stop timer, network (detached in the worker meanwhile; not here when
        ``network`` is False: a ``remove_many`` releases it), cgroup. Returns whether the kernel's
        OOM killer ended it, and the release of the rest, called once the exit is recorded and
        answered (like Docker, the exit is reported before the group's stragglers are killed and
        the group removed): the waiters' next request comes after it in our loop all the same."""
        if box.kill_timer is not None:
            box.kill_timer.cancel()
            box.kill_timer = None
        detaching = None
        with contextlib.suppress(Exception):
            if network:
                detaching = self._net_submit("detach", record=box.rec)  # in the worker, while we clean up here
        oom = False
        cgroup, box.cgroup = box.cgroup, None
        if cgroup is not None:
            with contextlib.suppress(Exception):
                oom = bool(cgroup.oom_killed())

        def release(ph: Phases) -> None:
            if cgroup is not None:
                with contextlib.suppress(Exception):
                    cgroup.kill_all(signal.SIGKILL)
                with contextlib.suppress(Exception):
                    cgroup.destroy()
            ph.mark("cgroup")
            if network:
                with contextlib.suppress(Exception):
                    self._detach(box.rec, detaching)
            ph.mark("net-detach")

        return oom, release

    def _auto_restart(self, box: Box) -> None:
        box.restart_timer = None
        if self.shutting_down or box.cid not in self.boxes:
            return
        try:
            self._start(box, auto=True)
        except Exception as e:  # noqa: BLE001 - a failed restart counts as an exit (policy applies again)
            code = int(getattr(e, "status", 128) or 128)
            restart, delay = box.restart.should_restart(code, box.manual_stop, 0.0) if box.restart else (False, 0)
            if restart:
                self._set_state(box, RestartCount=box.restart.restart_count, ExitCode=code)
                box.restart_timer = self.call_later(delay, lambda: self._auto_restart(box))
            else:
                self._set_state(box, Status="exited", Running=False, Restarting=False, ExitCode=code,
                                FinishedAt=now_iso())
                for conn, cond in box.waiters:
                    self._reply(conn, {"ok": True, "StatusCode": code})
                box.waiters = []

    def _cancel_restart(self, box: Box) -> None:
        if box.restart_timer is not None:
            box.restart_timer.cancel()
            box.restart_timer = None

    def _auto_remove(self, box: Box) -> None:
        """``--rm``: the container goes away once it exits (its anonymous volumes too), like Docker."""
        try:
            self._remove_box(box, volumes=True, network=True)
        except Exception:  # noqa: BLE001 - logged; its record is gone from listings all the same
            traceback.print_exc()
