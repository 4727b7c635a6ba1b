"""The supervisor daemon: one process per data root owning every container process.

Why one single-threaded event loop: containers must outlive the CLI, and a
Python process per container would cost megabytes each; one loop over
pidfds (container exits), FIFOs/ptys (output), timers (stop grace periods,
restart back-off, healthchecks) and the control socket serves them all and
never polls for state changes. The embedded DNS server runs in a process of its
own (engine.network.dnsproc).

Output goes through FIFOs in the container directory that the container
holds open read-write: if the daemon dies, writes never fail with EPIPE
(the container keeps running; it blocks only when 64 KiB are unread) and the
next daemon re-opens the FIFOs and goes on logging where the last one stopped.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable

from engine.containers import ContainerStore
from engine.errors import Conflict, InvalidArgument, NotFound
from engine.state import DataRoot, read_json
from engine.supervisor import networker, protocol, statewrite
from engine.supervisor.boot import BootMixin
from engine.supervisor.box import Box, Timer
from engine.supervisor.events import EventLog, check_event, check_filters, container_event, matches
from engine.supervisor.logwriter import format_time
from engine.supervisor.exits import ExitMixin
from engine.supervisor.probes import ProbeMixin
from engine.supervisor.removal import Batch, RemovalMixin
from engine.supervisor.requests import RequestMixin
from engine.supervisor.starter import StartMixin
from engine.supervisor.stdio import StdioMixin

DEFAULT_STOP_TIMEOUT = 10


def now_iso() -> str:
    return format_time(time.time_ns())


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Supervisor(StartMixin, ExitMixin, RemovalMixin, RequestMixin, StdioMixin, ProbeMixin, BootMixin):
    """The loop, the control socket and the container lifecycle; starting (a transaction), exits,
    the control socket, stdio, probes and boot-time adoption live in their mixins (engine.supervisor.starter,
    .exits, .requests, .stdio, .probes, .boot)."""

    def __init__(self, root: str | os.PathLike):
        self.root = DataRoot(root)
        self.store = ContainerStore(self.root)
        self.run_dir = self.root.dir("run")
        self.sock_path = self.run_dir / "supervisor.sock"
        self.sel = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self.boxes: dict[str, Box] = {}
        self.batches: list[Batch] = []  # remove_many requests in progress (engine.supervisor.removal)
        self.subscribers: dict[socket.socket, tuple[dict, int | None]] = {}
        self.events = EventLog(self.run_dir / "events.jsonl")
        self.shutting_down = False
        self.shutdown_conns: list[socket.socket] = []
        self.done = False
        self.netw = networker.NetWorker(str(self.root.path))
        self._worker_timer: Timer | None = None
        self.dns = None
        self._dns_failed = False
        self._dns_watch: tuple[int, int] | None = None  # (pidfd, pid) of the DNS child we watch
        self.listener: socket.socket | None = None
        self.join_warmer = None  # engine.cgroups.warm.JoinWarmer (a process), made by the first keep_join_warm

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def preload() -> None:
        """Import what starting a container needs before the first start asks for it (~60 ms):
        every daemon that runs a container holds these modules anyway, so memory is the same."""
        import engine.cgroups  # noqa: F401
        import engine.images  # noqa: F401
        import engine.runtime.build  # noqa: F401
        import engine.runtime.start  # noqa: F401
        import engine.volumes  # noqa: F401

    def listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.sock_path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        s.bind(str(self.sock_path))
        os.chmod(self.sock_path, 0o600)
        s.listen(128)
        s.setblocking(False)
        self.listener = s
        self.sel.register(s, selectors.EVENT_READ, self._on_accept)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        t = Timer(time.monotonic() + max(0.0, delay), callback)
        heapq.heappush(self.timers, (t.when, next(self._seq), t))
        return t

    def run(self) -> None:
        while not self.done:
            timeout = None
            while self.timers and self.timers[0][2].cancelled:
                heapq.heappop(self.timers)
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            try:
                ready = self.sel.select(timeout)
            except InterruptedError:
                continue
            for key, _ in ready:
                self._guard(key.data, key.fileobj)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, t = heapq.heappop(self.timers)
                if not t.cancelled:
                    self._guard(t.callback)

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - one container's failure must not stop the others
            try:
                traceback.print_exc()
                sys.stderr.flush()
            except (OSError, ValueError):  # our own log is on a full disk: the loop goes on regardless
                pass

    def _unwatch(self, fd) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(fd)

    # ------------------------------------------------------------------ network (in a worker, see networker)
    def _net(self, op: str, **args):
        return self._net_submit(op, **args).result()

    def _net_submit(self, op: str, **args) -> networker.Pending:
        """Send a hook to the worker without waiting (see networker: requests are pipelined)."""
        pending = self.netw.submit(op, **args)
        self._arm_worker_timer()
        return pending

    def _arm_worker_timer(self) -> None:
        if self._worker_timer is None:
            self._worker_timer = self.call_later(networker.IDLE, self._worker_idle)

    def _worker_idle(self) -> None:
        self._worker_timer = None
        left = networker.IDLE - self.netw.idle_for()
        if left <= 0:
            self.netw.close()
        else:
            self._worker_timer = self.call_later(left, self._worker_idle)

    def _joins_bridge(self, cid: str) -> bool:
        """Whether container ``cid`` will need veths (what ``warm`` imports pyroute2 for). A
        ``--network none``/``host``/``container:`` start must not wait behind that import: its
        prepare goes to the same worker, which answers in order."""
        ok_id = len(cid) == 64 and all(c in "0123456789abcdef" for c in cid)
        rec = read_json(self.store.dir(cid) / "config.json") if ok_id else None
        mode = str(((rec or {}).get("HostConfig") or {}).get("NetworkMode") or "")
        return not (mode in ("none", "host") or mode.startswith("container:"))

    def _warm_network(self) -> None:
        if not self.shutting_down:
            self.netw.warm()
            self._arm_worker_timer()

    def _attach(self, rec: dict, pid: int, pending: networker.Pending | None = None) -> None:
        """The runtime's prestart hook: veths and rules by the worker, the DNS socket by us.
        ``pending``: the attach request already sent (see ``_start``)."""
        uses_dns = (pending or self._net_submit("attach", record=rec, pid=pid)).result()
        if uses_dns:
            self.start_dns()
            if self.dns is not None:
                self.dns.add_container(rec["Id"], pid)

    def _detach(self, rec: dict, pending: networker.Pending | None = None) -> None:
        """Undo the container's network (``pending``: the detach request already sent)."""
        try:
            (pending or self._net_submit("detach", record=rec)).result()
        finally:
            if self.dns is not None:
                with contextlib.suppress(Exception):
                    self.dns.remove_container(rec["Id"])

    def start_dns(self) -> None:
        """Start the embedded DNS server once it is needed: Docker serves it only to containers on
        user-defined networks, and its imports cost memory a daemon of default-bridge containers
        does not need. It follows network state itself, so starting late misses nothing."""
        if self.dns is not None or self._dns_failed:
            return
        try:
            from engine.network.dnsproc import DnsProcess  # a process of its own: never waits on our GIL

            self.dns = DnsProcess(self.root)
            self.dns.start()
            self._watch_dns()
        except Exception:  # noqa: BLE001 - containers still run; name resolution is what is lost
            traceback.print_exc()
            self.dns = None
            self._dns_failed = True

    def _watch_dns(self) -> None:
        """A DNS child that dies (OOM killer, a stray signal) is replaced at once, not at the next
        container's start: its exit wakes the loop through a pidfd, as a container's does."""
        self._unwatch_dns()
        try:
            fd = os.pidfd_open(self.dns.pid)
        except OSError:  # gone already: the next DNS call forks its successor
            return
        self._dns_watch = (fd, self.dns.pid)
        self.sel.register(fd, selectors.EVENT_READ, lambda _fd: self._on_dns_exit())

    def _unwatch_dns(self) -> None:
        if self._dns_watch is not None:
            fd, _ = self._dns_watch
            self._dns_watch = None
            self._unwatch(fd)
            os.close(fd)

    def _on_dns_exit(self) -> None:
        pid = self._dns_watch[1] if self._dns_watch else 0
        self._unwatch_dns()
        if self.dns is None or self.done:
            return
        if self.dns.pid in (pid, 0):  # not yet replaced by a call that found it dead
            print(f"embedded DNS process {pid} exited: starting another", file=sys.stderr, flush=True)
            self.dns.stop()  # reaps it
            self.dns.start()  # re-opens every running container's socket from network state
        self._watch_dns()

    def stop_on_sigterm(self) -> None:
        """SIGTERM stops the containers and then the daemon, like ``shutdown``; handled in the loop,
        through a wakeup fd."""
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)

        def on_wakeup(fd: int) -> None:
            data = os.read(fd, 256)
            if signal.SIGTERM in data and not self.shutting_down:
                self.shutting_down = True
                for box in list(self.boxes.values()):
                    self._cancel_restart(box)
                    if box.running:
                        self._stop(box, None, None)
                self._maybe_finish_shutdown()

        self.sel.register(wake_r, selectors.EVENT_READ, on_wakeup)

    def _box(self, cid: str) -> Box:
        box = self.boxes.get(cid)
        if box is None:
            if not (len(cid) == 64 and (self.store.dir(cid) / "config.json").exists()):
                cid = self.store.resolve(cid)  # a name or a prefix (the API sends full ids)
            box = self.boxes.get(cid)
            if box is None:
                box = self.boxes[cid] = Box(cid)
        return box

    # ------------------------------------------------------------------ operations
    def op_ping(self, conn, req):
        """Alive, and (``status``) what the daemon holds: the fault tests check nothing stays held
        after ``down`` and that a long run does not grow."""
        reply: dict[str, Any] = {"pid": os.getpid()}
        if req.get("status"):
            reply.update(boxes=len(self.boxes), running=sum(1 for b in self.boxes.values() if b.running),
                         dns_containers=len(self.dns.containers()) if self.dns is not None else 0,
                         fds=len(os.listdir("/proc/self/fd")) - 1, rss_kib=_rss_kib())
        return reply

    def op_start(self, conn, req):
        box = self._box(req["id"])
        if self.shutting_down:
            raise Conflict("the supervisor is shutting down")
        if box.running:
            if box.paused:
                raise Conflict("cannot start a paused container, try unpause instead")
            return {}
        self._cancel_restart(box)
        box.manual_stop = False
        box.restart = None  # a manual start resets the restart count (as Docker does)
        self._start(box, auto=False)
        return {}

    def op_stop(self, conn, req):
        box = self._box(req["id"])
        if not box.running:
            if box.restart_timer is not None:
                self._cancel_restart(box)
                box.manual_stop = True
                self._set_state(box, Running=False, Restarting=False, Status="exited")
            return {}
        self._stop(box, req.get("timeout"), req.get("signal"))
        box.stop_waiters.append(conn)
        return None

    def _stop(self, box: Box, timeout: Any, sig: Any) -> None:
        cfg = box.rec.get("Config") or {}
        box.manual_stop = True
        box.stopping_event = True
        signum = protocol.signal_number(sig or cfg.get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = cfg.get("StopTimeout")
        timeout = DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout)
        if box.kill_timer is None:
            self._signal(box, signum)
            if box.paused:  # a frozen process cannot act on the signal
                self._thaw(box)
            if timeout >= 0:
                box.kill_timer = self.call_later(timeout, lambda: self._signal(box, signal.SIGKILL))
        elif timeout == 0:
            self._signal(box, signal.SIGKILL)

    def op_kill(self, conn, req):
        box = self._box(req["id"])
        if not box.running:
            raise Conflict(f"cannot kill container: {box.cid}: container {box.cid} is not running")
        signum = protocol.signal_number(req.get("signal") or "SIGKILL")
        box.manual_stop = True  # Docker does not restart a container it was asked to kill
        self._signal(box, signum)
        if signum == signal.SIGKILL:
            if box.paused:
                self._thaw(box)
            box.stop_waiters.append(conn)
            return None
        return {}

    def op_restart(self, conn, req):
        box = self._box(req["id"])
        if self.shutting_down:
            raise Conflict("the supervisor is shutting down")

        def start_again() -> None:
            box.manual_stop = False
            box.restart = None
            try:
                self._start(box, auto=False)
            except Exception as e:  # noqa: BLE001
                self._reply(conn, protocol.error_reply(e))
                return
            self._publish(container_event("restart", box.rec))
            self._reply(conn, {"ok": True})

        if box.running:
            box.after_exit.append(start_again)
            self._stop(box, req.get("timeout"), req.get("signal"))
        else:
            self._cancel_restart(box)
            start_again()
        return None

    def op_pause(self, conn, req):
        box = self._box(req["id"])
        if not box.running:
            raise Conflict(f"Container {box.cid} is not running")
        if box.paused:
            raise Conflict(f"Container {box.cid} is already paused")
        box.cgroup.freeze()
        box.paused = True
        self._set_state(box, Paused=True, Status="paused")
        self._publish(container_event("pause", box.rec))
        return {}

    def op_unpause(self, conn, req):
        box = self._box(req["id"])
        if not box.paused:
            raise Conflict(f"Container {box.cid} is not paused")
        self._thaw(box)
        self._publish(container_event("unpause", box.rec))
        return {}

    def _thaw(self, box: Box) -> None:
        if box.cgroup is not None:
            box.cgroup.thaw()
        box.paused = False
        if box.running:
            self._set_state(box, Paused=False, Status="running")

    def op_wait(self, conn, req):
        cond = req.get("condition") or "not-running"
        if cond not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f'invalid condition: "{cond}"')
        box = self._box(req["id"])
        if cond == "not-running" and not box.running and box.restart_timer is None:
            return {"StatusCode": int(self._state(box).get("ExitCode") or 0)}
        box.waiters.append((conn, cond))
        return None

    def op_events(self, conn, req):
        filters = check_filters(req.get("filters"))
        since, until = req.get("since"), req.get("until")
        if not self._send(conn, {"ok": True}):
            return None
        if since is not None:
            for ev in self.events.history(int(since), until, filters):
                if not self._send(conn, ev):
                    return None
        if until is not None and until <= time.time_ns():
            self._drop(conn)
            return None
        self.subscribers[conn] = (filters, until)
        if until is not None:
            self.call_later((until - time.time_ns()) / 1e9, lambda: self._drop(conn))
        return None

    def op_notify(self, conn, req):
        ev = check_event(req.get("event"))
        self._publish(ev)
        if ev.get("Type") == "container" and ev.get("Action") == "create" and not self.shutting_down:
            self.call_later(0, self.keep_join_warm)  # a start is likely to follow (after this reply: a fork)
        if ev.get("Type") == "container" and ev.get("Action") == "create" and not self.shutting_down \
                and self._joins_bridge((ev.get("Actor") or {}).get("ID") or ""):
            # a start is likely to follow: the worker gets ready meanwhile (after this reply is sent)
            self.call_later(0, self._warm_network)
        if ev.get("Action") == "destroy":
            cid = (ev.get("Actor") or {}).get("ID") or ""
            box = self.boxes.pop(cid, None)
            if box is not None:
                self._cancel_restart(box)
                for c, _ in box.waiters:
                    self._reply(c, {"ok": True, "StatusCode": box.exit_code})
        return {}

    def op_shutdown(self, conn, req):
        self.shutting_down = True
        self.shutdown_conns.append(conn)
        for box in list(self.boxes.values()):
            if box.restart_timer is not None:
                self._cancel_restart(box)
                self._set_state(box, Running=False, Restarting=False, Status="exited")
            if box.running:
                self._stop(box, req.get("timeout"), None)
        self._maybe_finish_shutdown()
        return None

    def _maybe_finish_shutdown(self) -> None:
        if not self.shutting_down or any(b.running for b in self.boxes.values()):
            return
        for conn in self.shutdown_conns:
            self._send(conn, {"ok": True})
        self.done = True

    # ------------------------------------------------------------------ state
    def _state(self, box: Box) -> dict:
        try:
            return self.store.state(box.cid)
        except NotFound:
            return {}

    def _set_state(self, box: Box, **fields) -> dict:
        fields = {**box.unsaved, **fields}
        try:
            st = statewrite.update_state(self.store, box.cid, **fields)
        except NotFound:
            return {}
        except OSError:  # a full disk: kept here, written as soon as it can be; the loop goes on
            box.unsaved = fields
            if box.unsaved_timer is None:
                box.unsaved_timer = self.call_later(1.0, lambda: self._save_unsaved(box))
            return dict(self._state(box), **fields)
        box.unsaved = {}
        return st

    def _save_unsaved(self, box: Box) -> None:
        box.unsaved_timer = None
        if box.unsaved and self.boxes.get(box.cid) is box:
            self._set_state(box)

    def _publish(self, ev: dict) -> None:
        with contextlib.suppress(OSError):
            self.events.append(ev)
        for conn, (filters, until) in list(self.subscribers.items()):
            if until is not None and ev.get("timeNano", 0) > until:
                continue
            if matches(ev, filters):
                self._send(conn, ev)

    def _signal(self, box: Box, signum: int) -> None:
        if not box.running:
            return
        self._publish(container_event("kill", box.rec, signal=signum))
        with contextlib.suppress(ProcessLookupError):
            if box.pidfd >= 0:
                signal.pidfd_send_signal(box.pidfd, signum)
            else:
                os.kill(box.pid, signum)

    # ------------------------------------------------------------------ exit
    def close(self) -> None:
        self.netw.close()
        if self.join_warmer is not None:
            self.join_warmer.close()
        self._unwatch_dns()
        if self.dns is not None:
            with contextlib.suppress(Exception):
                self.dns.stop()
        for conn in list(self.subscribers):
            self._drop(conn)
        if self.listener is not None:
            self._unwatch(self.listener)
            self.listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.sock_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.run_dir / "supervisor.pid")


def main(argv: list[str]) -> int:
    """``pycompose-supervisor <root>``: detach, then serve until asked to shut down.

    The process that runs this forks once more: it stays until the daemon
    listens (or failed), so the client knows when it can connect.
    """
    import fcntl

    if len(argv) != 1:
        sys.stderr.write("usage: pycompose-supervisor <data root>\n")
        return 2
    root = DataRoot(argv[0])
    ready_r, ready_w = os.pipe()
    if os.fork() > 0:
        os.close(ready_w)
        with os.fdopen(ready_r, "rb") as f:
            msg = f.read()
        if msg.startswith(b"ok"):
            return 0
        sys.stderr.write(msg.decode(errors="replace") or "the supervisor died while starting\n")
        return 1
    os.close(ready_r)
    os.setsid()
    from engine import sys as ksys

    with contextlib.suppress(Exception):
        ksys.set_name("pycompose-sup")
    ksys.set_child_subreaper(True)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    lock_fd = os.open(root.dir("locks") / "supervisor-alive.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.write(ready_w, b"ok (already running)\n")
        return 0
    sup = Supervisor(root.path)

    sup.stop_on_sigterm()
    try:
        sup.reconcile()
        sup.listen()
        from engine.state import atomic_write

        atomic_write(root.dir("run") / "supervisor.pid", f"{os.getpid()}\n")
    except BaseException as e:  # noqa: BLE001
        traceback.print_exc()
        os.write(ready_w, f"the supervisor could not start: {e}\n".encode())
        return 1
    print(f"{now_iso()} pycompose-supervisor {os.getpid()} serving {root.path}", flush=True)
    os.write(ready_w, b"ok\n")
    os.close(ready_w)
    sup.preload()  # while the client that started us connects
    profile = os.environ.get("PYCOMPOSE_SUPERVISOR_PROFILE")  # a path: cProfile stats written at exit
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    try:
        sup.run()
    finally:
        if prof is not None:
            prof.disable()
            prof.dump_stats(profile)
        sup.close()
        print(f"{now_iso()} pycompose-supervisor {os.getpid()} exiting", flush=True)
    return 0
