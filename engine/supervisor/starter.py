"""Starting one run of a container, as a transaction: each step registers its undo as it is taken
(engine.transaction), so a start that fails anywhere leaves no lease, FIFO, log writer or cgroup
behind, and the container's state says why.

The steps, in order: the network worker prepares (leases, ports, hosts/resolv.conf) while the
daemon opens the log writer, builds the spec and the stdio FIFOs; then the network must be ready,
and the runtime forks the container, whose cgroup is made while it sets up its root filesystem,
then joined and the network attached while it waits. The kernel's cgroup-migration lock is kept
warm from the create that announced the start (engine.cgroups.warm); where it cannot be, the
cgroup is made before the spec and a one-shot warm-up starts the lock's wait early.
``StartMixin`` is a base of ``Supervisor`` (engine.supervisor.daemon).
"""
from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.errors import Conflict, NotFound
from engine.state import read_json
from engine.supervisor import health as hc
from engine.supervisor import networker, statewrite
from engine.supervisor.box import Box
from engine.supervisor.events import container_event
from engine.supervisor.logwriter import JsonFileWriter, format_time
from engine.supervisor.phases import Phases
from engine.supervisor.restart import RestartManager, RestartPolicy
from engine.transaction import Transaction


def _write_hostname(spec) -> None:
    """The container's /etc/hostname, written here once without fsync (the runtime would write
    the same default, ``hostname or "localhost"``, with an fsync: ~2-5 ms on every first start).
    It is derived from the record, so a crash loses nothing the next start does not rewrite."""
    path = spec.etc_files.get("/etc/hostname")
    if path is not None and not os.path.exists(path):
        statewrite.replace(path, ((spec.hostname or "localhost") + "\n").encode())


class JoinHook:
    """The container's cgroup as ``runtime.start`` sees it: ``add_pid`` first tells ``on_pid``.

    Why: the runtime joins pid 1 to its cgroups (one write per v1 hierarchy) and then
    calls prestart; sending the network attach to the worker before the joins lets
    both run at once. Everything else is the cgroup's own."""

    def __init__(self, cgroup, on_pid: Callable[[int], None], kept_warm: bool = False):
        self._cgroup, self._on_pid, self._kept_warm = cgroup, on_pid, kept_warm

    def add_pid(self, pid: int) -> None:
        self._on_pid(pid)
        self._cgroup.add_pid(pid)

    def warm_join(self):
        """The runtime's one-shot warm-up, unless the daemon's JoinWarmer keeps the lock warm."""
        return None if self._kept_warm else self._cgroup.warm_join()

    def __getattr__(self, name: str):
        return getattr(self._cgroup, name)


@dataclass
class StartRun:
    """What one start has made so far, handed from step to step (and to their undos)."""

    rec: dict
    ph: Phases
    net_pending: networker.Pending | None = None  # the prepare sent to the worker, not yet awaited
    net_prepared: bool = False
    writer: JsonFileWriter | None = None
    spec: Any = None
    health_cfg: Any = None
    limits: Any = None
    cgroup: Any = None
    stdio: tuple[int, int, int] | None = None
    opened: list[int] = field(default_factory=list)       # the container's ends of the FIFOs
    outputs: dict[int, str] = field(default_factory=dict)  # our read ends -> stream
    console_fd: list[int] = field(default_factory=list)    # a tty's master
    pid: int = 0
    warming: Any = None  # the early cgroup warm-up thread (_start_warm_join)
    kept_warm: bool = False  # the daemon's JoinWarmer keeps the join fast (no one-shot warm-ups)

    @property
    def host_config(self) -> dict:
        return self.rec.get("HostConfig") or {}


MAX_BATCH = 1000  # containers one start_many request may name


def _batch_ids(req: dict) -> list[str]:
    """The ``ids`` of a start_many request, each checked as a start's ``id`` is (InvalidArgument)."""
    from engine.errors import InvalidArgument
    from engine.supervisor import protocol

    ids = req.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BATCH:
        raise InvalidArgument(f"invalid supervisor request: 'ids' must be a list of 1 to {MAX_BATCH} "
                              f"container ids")
    for ref in ids:
        if not isinstance(ref, str):
            raise InvalidArgument(f"invalid supervisor request: 'ids' must hold strings, not {type(ref).__name__}")
        protocol.check_request({"op": "start", "id": ref})
    return ids


class StartMixin:
    """``_start(box)`` and its steps; the rest of the daemon is ``Supervisor``'s."""

    def op_start_many(self, conn, req):
        """Start several containers for one request (compose up's batch of ready services): one
        round trip instead of one per container. Each is started as ``op_start`` does, one per turn
        of the loop, so exits, output and other clients are served between two starts; a start that
        fails is undone (its transaction) and reported in its place while the others go on. The
        reply, once all are done: ``results``, one ``{"id", "ok"}`` (plus ``error``/``message``/
        ``status`` when it failed) per id, in order."""
        import traceback

        from engine.errors import EngineError
        from engine.supervisor import protocol

        ids = _batch_ids(req)
        results: list[dict] = []

        def start_next() -> None:
            ref = ids[len(results)]
            try:
                self.op_start(conn, {"op": "start", "id": ref})
                results.append({"id": ref, "ok": True})
            except Exception as e:  # noqa: BLE001 - reported for this container, the others go on
                if not isinstance(e, EngineError):
                    traceback.print_exc()
                results.append(dict(protocol.error_reply(e), id=ref))
            if len(results) < len(ids):
                self.call_later(0, start_next)
            else:
                self._reply(conn, {"ok": True, "results": results})

        start_next()
        return None

    def _container_pid(self, ref: str) -> int:
        """For ``container:<name>`` namespace modes: the pid 1 of that (running) container."""
        cid = self.store.resolve(ref)
        other = self.boxes.get(cid)
        if other is None or not other.running:
            raise Conflict(f"cannot join namespaces of a non running container: {ref} is not running")
        return other.pid

    def keep_join_warm(self) -> bool:
        """A start is coming: keep the kernel's cgroup-migration lock warm until its join
        (engine.cgroups.warm); False when this host gives us no group of our own to do it with."""
        if self.join_warmer is None:
            from engine.cgroups import PARENT, open_cgroup
            from engine.cgroups.warm import JoinWarmer

            try:
                group = open_cgroup(PARENT)
                procs = group.own_procs if group.own_procs() is not None else None  # looked up per write
            except OSError:
                procs = None
            self.join_warmer = JoinWarmer(procs)
        self.join_warmer.keep()
        if self.join_warmer.active:
            from engine.cgroups.warm import LINGER

            self.call_later(LINGER + 0.1, self.join_warmer.reap_if_done)  # no zombie once it is done
        return self.join_warmer.active

    def _start(self, box: Box, auto: bool) -> None:
        """Start one run of the container; raise (state updated) when it cannot start."""
        kept_warm = self.keep_join_warm()  # first: the warm-up's first write waits a grace period
        rec = read_json(self.store.dir(box.cid) / "config.json")  # by id: no listing of every container
        if rec is None:
            raise NotFound(f"No such container: {box.cid}")
        box.rec = rec
        run = StartRun(rec=rec, ph=Phases(), kept_warm=kept_warm)
        if box.restart is None:
            box.restart = RestartManager(RestartPolicy.from_hostconfig(run.host_config))
        try:
            with Transaction() as txn:
                for step in (self._start_network_prepare, self._start_log_writer, self._start_cgroup,
                             self._start_warm_join, self._start_spec, self._start_stdio, self._start_network_ready,
                             self._start_fork):
                    step(box, run, txn)
        except BaseException as e:
            status = getattr(e, "status", None)
            fields: dict[str, Any] = {"Error": str(e)}
            if status is not None:
                fields["ExitCode"] = int(status) if int(status) != 125 else 128
            self._set_state(box, **fields)
            raise
        run.ph.mark("exec")
        self._start_running(box, run)

    # ---- the steps, each with its undo
    def _start_warm_join(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """Begin the grace-period wait of pid 1's cgroup join now, in a thread (Cgroup.warm_join),
        rather than only at the fork: the join comes ~10 ms later (spec, fork of pid 1), when the
        kernel's switch is done and still fresh, and the runtime's own warm-up at the fork keeps it
        so. Started at the fork alone, the wait outlasted the fork and pid 1 waited for it. After
        the cgroup step: the kernel holds its cgroup lock through the wait, so a mkdir of the group
        issued behind the warm-up would wait for it too."""
        if run.kept_warm:
            return
        with contextlib.suppress(Exception):  # an optimisation: the start goes on without it
            run.warming = run.cgroup.warm_join()
        if run.warming is not None:
            txn.on_undo(run.warming.join)

    def _start_network_prepare(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """The worker prepares the network (leases, ports, hosts/resolv.conf) while we build the rest."""
        def undo() -> None:
            if run.net_pending is not None:  # sent, but we failed before waiting for it
                run.net_pending.result()
                run.net_prepared = True
            if run.net_prepared:
                self._detach(run.rec)

        txn.on_undo(undo)
        run.net_pending = self._net_submit("prepare", record=run.rec)

    def _start_log_writer(self, box: Box, run: StartRun, txn: Transaction) -> None:
        run.writer = txn.step(lambda: JsonFileWriter.for_record(self.store.log_path(box.cid),
                                                                run.host_config.get("LogConfig")),
                              lambda writer: writer.close())

    def _start_spec(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """The runtime's spec from the record and the image (nothing to undo: files derived from the record)."""
        from engine.cgroups import limits_from_hostconfig
        from engine.images import ImageStore
        from engine.runtime.build import build_spec
        from engine.volumes import VolumeStore

        img = ImageStore(self.root).get(run.rec["Image"])
        run.health_cfg = hc.HealthConfig.from_config(run.rec.get("Config"), img.config)
        run.limits = limits_from_hostconfig(run.host_config)
        run.spec = build_spec(run.rec, img.config, img.layer_dirs(), self.store.dir(box.cid), VolumeStore(self.root),
                              container_pid=self._container_pid)
        _write_hostname(run.spec)
        run.ph.mark("spec")

    def _start_cgroup(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """The cgroup's object and undo; the group itself is made by ``_make_cgroup``, with a warm
        lock (JoinWarmer) in the fork step while the container sets up, else here (the one-shot
        warm-up of ``_start_warm_join`` must come after the mkdirs: they wait behind it)."""
        from engine.cgroups import container_cgroup

        run.cgroup = container_cgroup(box.cid)
        txn.on_undo(run.cgroup.destroy)  # also when create or apply fails half-way
        if not run.kept_warm:
            self._make_cgroup(run)

    @staticmethod
    def _make_cgroup(run: StartRun) -> None:
        cgroup = run.cgroup
        # a leftover of a run whose supervisor died mid-start: its processes go first, so one
        # container never runs twice (destroy alone cannot remove a cgroup that has tasks)
        with contextlib.suppress(Exception):
            cgroup.kill_all(signal.SIGKILL)
        with contextlib.suppress(Exception):
            cgroup.destroy()
        cgroup.create()
        if run.limits is None:  # made before the spec
            from engine.cgroups import limits_from_hostconfig

            run.limits = limits_from_hostconfig(run.host_config)
        cgroup.apply(run.limits)
        run.ph.mark("cgroup")

    def _start_stdio(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """FIFOs (or, with a tty, a console the runtime hands back) between the container and us."""
        def undo() -> None:
            self._close_stdin_relay(box)
            for fd in run.opened + run.console_fd + list(run.outputs):
                try:
                    os.close(fd)
                except OSError:
                    pass

        txn.on_undo(undo)  # first: _stdio may fail after opening some
        if not run.spec.process.terminal:
            run.stdio, child_ends = self._stdio(box, run.rec, run.outputs)
            run.opened += child_ends
        run.ph.mark("stdio")

    def _start_network_ready(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """Before the fork: the container bind-mounts hosts/resolv.conf as it sets up."""
        pending, run.net_pending = run.net_pending, None
        pending.result()
        run.net_prepared = True
        run.ph.mark("net-prepare")

    def _start_fork(self, box: Box, run: StartRun, txn: Transaction) -> None:
        """The runtime forks the container; the attach is sent to the worker as soon as its pid is
        known and awaited (prestart) once the cgroup is joined, before the container goes on."""
        from engine.runtime.start import start

        attaching: list[networker.Pending] = []

        def on_pid(p: int) -> None:
            run.ph.mark("forked")
            attaching.append(self._net_submit("attach", record=run.rec, pid=p))

        def prestart(p: int) -> None:
            run.ph.mark("cgroup-joined")
            self._attach(run.rec, p, attaching[0] if attaching else None)
            run.ph.mark("net-attach")

        terminal = run.spec.process.terminal
        run.pid = start(run.spec, run.stdio, cgroup=JoinHook(run.cgroup, on_pid, run.kept_warm), prestart=prestart,
                        console=run.console_fd.append if terminal else None,
                        after_fork=(lambda: self._make_cgroup(run)) if run.kept_warm else None)

    # ---- after the fork
    def _start_running(self, box: Box, run: StartRun) -> None:
        """The container runs: watch its exit and output, record it as running, publish ``start``."""
        for fd in run.opened:
            os.close(fd)
        if run.warming is not None:
            run.warming.join()  # long done: one write, a grace period ago
        for master in run.console_fd:
            os.set_blocking(master, False)
            run.outputs[master] = "stdout"
            self._keep_console(box, master)
        box.pid, box.adopted, box.cgroup, box.writer = run.pid, False, run.cgroup, run.writer
        box.pidfd = os.pidfd_open(run.pid)
        box.started_mono, box.started_ns = time.monotonic(), time.time_ns()
        box.paused = False
        box.outputs = run.outputs
        for fd, stream in run.outputs.items():
            self.sel.register(fd, selectors.EVENT_READ, self._make_pump(box, stream))
        self.sel.register(box.pidfd, selectors.EVENT_READ, lambda _fd, b=box: self._on_exit(b))
        if box.stdin_relay is not None:
            self.sel.register(box.stdin_relay["fifo"], selectors.EVENT_READ, lambda _fd, b=box: self._stdin_in(b))
        box.health_cfg = run.health_cfg
        box.health = hc.initial_health() if run.health_cfg else None
        fields = dict(Status="running", Running=True, Paused=False, Restarting=False, OOMKilled=False, Dead=False,
                      Pid=run.pid, ExitCode=0, Error="", StartedAt=format_time(box.started_ns),
                      RestartCount=box.restart.restart_count)
        if run.health_cfg:
            fields["Health"] = box.health
        self._set_state(box, **fields)
        run.ph.mark("state")
        self._publish(container_event("start", run.rec))
        run.ph.mark("event")
        run.ph.report(f"start {box.cid[:12]}")
        if run.health_cfg:
            self._publish(container_event("health_status: starting", run.rec))
            self._schedule_probe(box)
