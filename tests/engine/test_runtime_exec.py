"""exec_process and ptys against a running container (real namespaces and cgroups)."""
from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from engine.cgroups import detect_version, open_cgroup
from engine.errors import Conflict
from engine.runtime.caps import DEFAULT_CAPS, mask
from engine.runtime.errors import StartError
from engine.runtime.exec import exec_process
from engine.runtime.spec import ProcessSpec
from engine.runtime.start import start
from engine.runtime.tty import open_pty

from runtime_helpers import make_spec, run

pytestmark = pytest.mark.root


V2 = detect_version() == 2
PIDS_MAX = "/sys/fs/cgroup/pids.max" if V2 else "/sys/fs/cgroup/pids/pids.max"  # as the container sees it
OWN_LINE = "grep ^0:: /proc/self/cgroup" if V2 else "grep pids /proc/self/cgroup"
OWN_ROOT = "0::/" if V2 else ":pids:/"


class PidsCgroup:
    """A real pids cgroup named as the architecture says (pycompose/<id>): the v1 pids hierarchy's,
    or a v2 group with the controllers handed down; removed after the test."""

    def __init__(self):
        name = uuid.uuid4().hex
        if V2:
            self._v2 = open_cgroup(f"pycompose/{name}")
            self._v2.create()
            self.dir = self._v2.dir
            self.paths = {"": str(self.dir)}
        else:
            self.dir = Path("/sys/fs/cgroup/pids/pycompose") / name
            self.dir.mkdir(parents=True)
            self.paths = {"pids": str(self.dir)}

    def add_pid(self, pid):
        (self.dir / "cgroup.procs").write_text(str(pid))

    def pids(self):
        return [int(p) for p in (self.dir / "cgroup.procs").read_text().split()]

    def destroy(self):
        self.dir.rmdir()


@pytest.fixture
def pids_cgroup():
    """A PidsCgroup of its own, removed after the test (its processes are gone by then)."""
    cg = PidsCgroup()
    yield cg
    cg.destroy()


@pytest.fixture
def container(layer, cdir, pids_cgroup):
    """A running container (sleep) in its own pids cgroup; killed and cleaned up after."""
    spec = make_spec(layer, cdir, ["sleep", "1000"], hostname="exec-host")
    null = os.open("/dev/null", os.O_RDWR)
    pid = start(spec, (null, null, null), cgroup=pids_cgroup)
    os.close(null)
    yield pid, spec, pids_cgroup
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def run_exec(pid, args, cgroup_paths=None, **kw):
    kw.setdefault("env", ["PATH=/bin"])
    kw.setdefault("capabilities", mask(list(DEFAULT_CAPS)))
    r, w = os.pipe()
    try:
        epid = exec_process(pid, ProcessSpec(args=args, **kw), (w, w, w), cgroup_paths=cgroup_paths)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    _, status = os.waitpid(epid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_exec_returns_output_and_exit_code(container):
    pid, _, _ = container
    code, out = run_exec(pid, ["sh", "-c", "hostname; echo $FOO; pwd; ps -o comm | sort | tr '\\n' ' '; exit 7"],
                         env=["PATH=/bin", "FOO=bar"], cwd="/tmp")
    assert code == 7
    lines = out.splitlines()
    assert lines[:3] == ["exec-host", "bar", "/tmp"]
    assert "sleep" in lines[3] and "COMMAND" in lines[3]  # sees the container's processes only


def test_exec_joins_the_container_namespaces_and_root(container):
    pid, _, _ = container
    code, out = run_exec(pid, ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/mnt; ls /"])
    assert code == 0
    net, mnt = out.splitlines()[:2]
    assert net == os.readlink(f"/proc/{pid}/ns/net") and mnt == os.readlink(f"/proc/{pid}/ns/mnt")
    assert "work" not in out.split()


def test_exec_user_and_capabilities(container):
    pid, _, _ = container
    code, out = run_exec(pid, ["sh", "-c", "id -u; id -G; grep -E 'CapBnd|NoNewPrivs' /proc/self/status"],
                         uid=1000, gid=1000, additional_gids=[10], capabilities=0, no_new_privs=True)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "1000" and set(lines[1].split()) == {"1000", "10"}
    assert "CapBnd:\t0000000000000000" in out and "NoNewPrivs:\t1" in out


def test_exec_joins_the_cgroup(container):
    pid, _, cg = container
    code, out = run_exec(pid, ["sh", "-c", OWN_LINE], cgroup_paths=cg.paths)
    assert code == 0
    # inside its cgroup namespace the container's cgroup is the root
    assert out.strip().endswith(OWN_ROOT), out


def test_exec_missing_command_has_dockers_wording(container):
    pid, _, _ = container
    with pytest.raises(StartError, match=r'exec: "nope": executable file not found in \$PATH') as e:
        run_exec(pid, ["nope"])
    assert e.value.status == 127


def test_exec_into_a_dead_process_is_a_conflict():
    p = os.fork()
    if p == 0:
        os._exit(0)
    os.waitpid(p, 0)
    with pytest.raises(Conflict, match="is not running"):
        exec_process(p, ProcessSpec(args=["true"]), (0, 1, 2))


def test_exec_with_a_pty_from_the_containers_devpts(container):
    pid, _, _ = container
    master, slave = open_pty(f"/proc/{pid}/root")
    try:
        epid = exec_process(pid, ProcessSpec(args=["sh", "-c", "tty; test -t 0 && echo isatty"], env=["PATH=/bin"],
                                             capabilities=mask(list(DEFAULT_CAPS))),
                            (slave, slave, slave), tty=True)
        os.close(slave)
        slave = -1
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the slave side is closed
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(epid, 0)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = out.decode().replace("\r", "")
    assert "/dev/pts/0" in text and "isatty" in text, text
    assert os.waitstatus_to_exitcode(status) == 0


def test_container_sees_its_own_cgroup_limits_read_only(layer, cdir, pids_cgroup):
    (pids_cgroup.dir / "pids.max").write_text("77")
    _, out = run(make_spec(layer, cdir, ["sh", "-c", f"cat {PIDS_MAX}; echo 5 > {PIDS_MAX}; "
                                                     f"{OWN_LINE}; ls /sys/fs/cgroup"]), cgroup=pids_cgroup)
    lines = out.splitlines()
    assert lines[0] == "77"
    assert "Read-only file system" in lines[1]
    assert lines[2].endswith(OWN_ROOT)
    if V2:  # one hierarchy: the group's own files at the top
        assert "memory.max" in out.split() and "pids.max" in out.split() and "cgroup.procs" in out.split()
    else:
        assert "memory" in out.split() and "pids" in out.split()


def test_host_cgroup_namespace_still_shows_only_its_own_cgroup(layer, cdir, pids_cgroup):
    cg = pids_cgroup
    (cg.dir / "pids.max").write_text("55")
    spec = make_spec(layer, cdir, ["sh", "-c", f"cat {PIDS_MAX}; {OWN_LINE}"])
    spec.namespaces.cgroup = "host"
    _, out = run(spec, cgroup=cg)
    lines = out.splitlines()
    assert lines[0] == "55", out
    assert lines[1].endswith(f"{OWN_ROOT}pycompose/{cg.dir.name}")  # the host's view of its path
