"""The compose backend (up/down/scale/orphans) end to end over a fake engine.

FakeEngine stands for engine.api.Engine in these unit tests only: it keeps
containers, networks and volumes as dicts and publishes events like the
supervisor, so the convergence logic is checked here without a kernel; the
e2e tests (tests/e2e) run the same paths against the real engine.
"""
import copy
import hashlib
import io
import queue
import threading

import anyio
import pytest

from compose import convert as cv
from compose.backend import Compose, DownOptions, UpOptions
from compose.project import Project
from compose.render.progress import make_progress
from engine.errors import Conflict, NotFound


class _Objects:
    def __init__(self, kind):
        self.kind, self.items = kind, {}

    def create(self, name=None, labels=None, **kw):
        if name in self.items:
            raise Conflict(f"{self.kind} {name} exists")
        self.items[name] = {"Name": name, "Labels": dict(labels or {}), "Driver": kw.get("driver") or "local"}
        return self.items[name]

    def inspect(self, name):
        if name not in self.items:
            raise NotFound(f"no such {self.kind}: {name}")
        return self.items[name]

    def list(self, filters=None):
        return list(self.items.values())

    def remove(self, name, force=False):
        self.inspect(name)
        del self.items[name]


class _Images:
    def inspect(self, ref):
        if ref.startswith("missing"):
            raise NotFound(f"no such image: {ref}")
        return {"Id": "sha256:" + hashlib.sha256(ref.encode()).hexdigest()}


class _Containers:
    def __init__(self, eng):
        self.eng, self.by_id, self.calls, self.batches = eng, {}, [], []

    def _find(self, ref):
        for c in self.by_id.values():
            if c["Id"] == ref or c["Id"].startswith(ref) or c["Name"] == "/" + ref:
                return c
        raise NotFound(f"no such container: {ref}")

    def create(self, body, name=None):
        if any(c["Name"] == "/" + name for c in self.by_id.values()):
            raise Conflict(f"container name {name} already in use")
        cid = hashlib.sha256(f"{name}{len(self.calls)}".encode()).hexdigest()
        self.by_id[cid] = {"Id": cid, "Name": "/" + name, "Image": body["Image"], "Config": copy.deepcopy(body),
                           "State": {"Status": "created", "Running": False, "ExitCode": 0}}
        self.by_id[cid]["Config"]["Labels"] = body["Labels"]
        self.calls.append(("create", name))
        self.eng.emit(cid, "create")
        return cid

    def start(self, ref):
        c = self._find(ref)
        c["State"].update(Status="running", Running=True)
        self.calls.append(("start", c["Name"][1:]))
        if c["Config"].get("Healthcheck"):
            c["State"]["Health"] = {"Status": "healthy"}
        self.eng.emit(c["Id"], "start")

    def start_many(self, refs):
        self.batches.append(len(refs))
        failed = {}
        for ref in refs:
            try:
                self.start(ref)
            except Exception as e:  # noqa: BLE001 - like the engine: reported per container
                failed[ref] = e
        return failed

    def stop(self, ref, timeout=None):
        c = self._find(ref)
        self.calls.append(("stop", c["Name"][1:]))
        c["State"].update(Status="exited", Running=False)
        self.eng.emit(c["Id"], "die")

    def remove(self, ref, force=False, volumes=False):
        c = self._find(ref)
        self.calls.append(("remove", c["Name"][1:]))
        del self.by_id[c["Id"]]
        self.eng.emit(c["Id"], "destroy")

    def remove_many(self, waves, timeouts=None, volumes=False, progress=None):
        """Like the engine's: each wave stopped, then every container removed; errors per id."""
        failed = {}
        for wave in waves:
            for ref in wave:
                try:
                    self.stop(ref)
                    progress and progress(ref, "stopped")
                except Exception as e:  # noqa: BLE001 - like the engine: reported per container
                    failed[ref] = e
        for ref in [r for wave in waves for r in wave if r not in failed]:
            self.remove(ref)
            progress and progress(ref, "removed")
        return failed

    def inspect(self, ref):
        return copy.deepcopy(self._find(ref))

    def list(self, all=False, filters=None):
        out = []
        for c in self.by_id.values():
            if not all and not c["State"]["Running"]:
                continue
            out.append({"Id": c["Id"], "Names": [c["Name"]], "Image": c["Image"], "State": c["State"]["Status"],
                        "Labels": c["Config"]["Labels"], "Status": c["State"]["Status"]})
        return out


class FakeEngine:
    def __init__(self):
        self.containers = _Containers(self)
        self.networks = _Objects("network")
        self.volumes = _Objects("volume")
        self.images = _Images()
        self.subs = []

    def emit(self, cid, action):
        for q in self.subs:
            q.put({"Type": "container", "Action": action, "Actor": {"ID": cid, "Attributes": {}}})

    def events(self, filters=None, since=None, until=None):
        q = queue.Queue()
        self.subs.append(q)

        def gen():
            while True:
                yield q.get()
        return gen()


def project(**services):
    model = {"name": "p", "networks": {"default": {"name": "p_default", "ipam": {}}},
             "volumes": {"data": {"name": "p_data"}},
             "services": {n: dict({"image": "busybox", "networks": {"default": None}}, **s) for n, s in services.items()}}
    return Project(name="p", model=model, working_dir="/w", config_files=["/w/compose.yaml"])


def backend(eng, proj, out=None):
    return Compose(eng, proj, progress=make_progress("plain", out or io.StringIO()))


def creates(eng):
    return [n for k, n in eng.containers.calls if k == "create"]


def test_up_creates_network_volume_and_named_containers_then_second_up_changes_nothing():
    eng = FakeEngine()
    proj = project(db={"healthcheck": {"test": ["CMD", "true"]}},
                   web={"depends_on": {"db": {"condition": "service_healthy", "required": True}}})
    out = io.StringIO()
    res = anyio.run(backend(eng, proj, out).up, UpOptions())
    assert set(res.containers) == {"db", "web"}
    assert "p_default" in eng.networks.items and "p_data" in eng.volumes.items
    assert eng.networks.items["p_default"]["Labels"][cv.NETWORK] == "default"
    assert creates(eng) == ["p-db-1", "p-web-1"]
    assert " Container p-web-1  Started" in out.getvalue()
    eng.containers.calls.clear()
    res2 = anyio.run(backend(eng, proj).up, UpOptions())
    assert eng.containers.calls == [] and res2.plan.changes_nothing


def test_changed_service_is_recreated_alone():
    eng = FakeEngine()
    anyio.run(backend(eng, project(a={}, b={})).up, UpOptions())
    eng.containers.calls.clear()
    anyio.run(backend(eng, project(a={"environment": {"X": "1"}}, b={})).up, UpOptions())
    assert eng.containers.calls == [("stop", "p-a-1"), ("remove", "p-a-1"), ("create", "p-a-1"), ("start", "p-a-1")]


def test_orphans_warned_then_removed():
    eng = FakeEngine()
    anyio.run(backend(eng, project(a={}, old={})).up, UpOptions())
    out = io.StringIO()
    anyio.run(backend(eng, project(a={}), out).up, UpOptions())
    assert "Found orphan containers ([p-old-1])" in out.getvalue()
    anyio.run(backend(eng, project(a={})).up, UpOptions(remove_orphans=True))
    assert [c["Name"] for c in eng.containers.by_id.values()] == ["/p-a-1"]


def test_scale_up_then_down_highest_first():
    eng = FakeEngine()
    anyio.run(backend(eng, project(w={})).up, UpOptions(scale={"w": 3}))
    assert creates(eng) == ["p-w-1", "p-w-2", "p-w-3"]
    eng.containers.calls.clear()
    anyio.run(backend(eng, project(w={})).up, UpOptions(scale={"w": 1}))
    assert [n for k, n in eng.containers.calls if k == "remove"] == ["p-w-3", "p-w-2"]


def test_down_dependents_first_then_network_and_volumes():
    eng = FakeEngine()
    proj = project(db={}, web={"depends_on": {"db": {"condition": "service_started"}}})
    anyio.run(backend(eng, proj).up, UpOptions())
    eng.containers.calls.clear()
    anyio.run(backend(eng, proj).down, DownOptions(volumes=True))
    stops = [n for k, n in eng.containers.calls if k == "stop"]
    assert stops == ["p-web-1", "p-db-1"]
    assert not eng.containers.by_id and not eng.networks.items and not eng.volumes.items


def test_down_from_labels_only_without_the_file():
    eng = FakeEngine()
    anyio.run(backend(eng, project(db={}, web={"depends_on": {"db": {"condition": "service_started"}}})).up, UpOptions())
    eng.containers.calls.clear()
    b = Compose(eng, None, name="p", progress=make_progress("quiet"))
    anyio.run(b.down, DownOptions())
    assert [n for k, n in eng.containers.calls if k == "stop"] == ["p-web-1", "p-db-1"]
    assert not eng.networks.items and eng.volumes.items  # volumes only with -v


def test_missing_image_is_a_clear_error_and_nothing_is_created():
    eng = FakeEngine()
    with pytest.raises(Exception, match="image missing:1 not found; load it first"):
        anyio.run(backend(eng, project(a={"image": "missing:1"})).up, UpOptions())
    assert not eng.containers.by_id and not eng.networks.items


def test_dry_run_plans_without_touching_the_engine():
    eng = FakeEngine()
    res = anyio.run(backend(eng, project(a={})).up, UpOptions(dry_run=True))
    assert not eng.containers.by_id and not eng.networks.items
    assert any("create" in line for line in res.plan.describe())


def test_unknown_service_named():
    eng = FakeEngine()
    with pytest.raises(Exception, match="no such service: nope"):
        anyio.run(backend(eng, project(a={})).up, UpOptions(services=["nope"]))


def test_bad_value_fails_before_anything_is_created():
    eng = FakeEngine()
    with pytest.raises(Exception, match="invalid restart policy 'sometimes'"):
        anyio.run(backend(eng, project(a={}, b={"restart": "sometimes"})).up, UpOptions())
    assert not eng.containers.by_id and not eng.networks.items and not eng.volumes.items


def test_starts_go_in_batches_and_one_failing_start_fails_only_its_service_and_dependents():
    """up sends the starts of ready services in batches (engine.containers.start_many); a container
    the engine could not start fails its service (the error raised by up names it) and the services
    depending on it, while every independent service runs."""
    from engine.runtime.errors import StartError

    eng = FakeEngine()
    real_start = eng.containers.start

    def start(ref):
        if eng.containers._find(ref)["Name"] == "/p-bad-1":
            raise StartError("exec: \"/nope\": stat /nope: no such file or directory", 127)
        real_start(ref)

    eng.containers.start = start
    services = {f"s{i}": {} for i in range(8)}
    services["bad"] = {}
    services["after"] = {"depends_on": {"bad": {"condition": "service_started"}}}
    with pytest.raises(StartError, match="/nope"):
        anyio.run(backend(eng, project(**services)).up, UpOptions())
    running = {c["Name"][1:] for c in eng.containers.by_id.values() if c["State"]["Running"]}
    assert running == {f"p-s{i}-1" for i in range(8)}
    assert sum(eng.containers.batches) == 9  # every ready container asked once; "after" never
    assert ("start", "p-after-1") not in eng.containers.calls
