"""run_step as root: real namespaces, overlay, cgroups and the build network, on the busybox test image.

What a Dockerfile author relies on: a RUN's files (and deletions) become the layer and only
they do (no mount points, no secrets), cache mounts persist between steps, --network none
has no route out, the user/workdir/env apply, and a failing or interrupted step leaves
nothing behind (the suite's leak check sees cgroups, veths, mounts, nft tables).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import tarfile
from pathlib import Path

import pytest

from engine.build.layerdiff import layer_from_upper
from engine.build.runner import StepMount, run_step
from engine.images import ImageStore
from engine.images.unpack import unpack_layer
from engine.state import DataRoot

pytestmark = pytest.mark.root


class Step:
    """Runs steps on busybox, stacking each step's upper dir as a layer of the next."""

    def __init__(self, root: Path, tmp: Path):
        self.root = DataRoot(root)
        self.tmp = tmp
        self.lowers = list(reversed(ImageStore(self.root).get("busybox:latest").layer_dirs()))
        self.n = 0
        self.last_id = ""

    def run(self, script: str, keep: bool = True, **kw) -> tuple[int, str, Path]:
        self.n += 1
        d = self.tmp / f"step{self.n}"
        out: list[bytes] = []
        args = dict(env=["PATH=/bin:/usr/bin:/sbin"], workdir="/", user="", mounts=[], network="none",
                    extra_hosts=[], shm_size=None)
        args.update(kw)
        self.last_id = args.setdefault("step_id", secrets.token_hex(32))
        code = run_step(self.root, self.lowers, d / "upper", d / "work", ["/bin/sh", "-c", script],
                        output=out.append, **args)
        if keep:  # the next step sees this one's layer, as the builder stacks them
            self.lowers = [d / "upper"] + self.lowers
        return code, b"".join(out).decode(errors="replace"), d / "upper"


@pytest.fixture
def steps(busybox, session_root, tmp_path):
    return Step(session_root, tmp_path)


def _tree(upper: Path) -> set[str]:
    return {str(p.relative_to(upper)) for p in upper.rglob("*")}


def _no_step_left(root: Path, step_id: str) -> None:
    assert not (root / "build" / "steps" / step_id).exists()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/pycompose/{step_id}")), "the step's cgroup is removed"
    assert not list(Path("/sys/fs/cgroup").glob(f"pycompose/{step_id}"))
    assert not (root / "containers" / step_id).exists()
    assert not (root / "networks" / "endpoints" / f"{step_id}.json").exists()


def test_files_written_become_the_layer_and_nothing_else(steps, session_root):
    code, out, upper = steps.run("echo hello; echo data > /new; mkdir -p /var/lib/x; touch /var/lib/x/f")
    assert (code, out) == (0, "hello\n")
    assert _tree(upper) == {"new", "var", "var/lib", "var/lib/x", "var/lib/x/f"}, \
        "no /etc/hosts, /proc, /dev or /sys stubs in the layer"
    _no_step_left(session_root, steps.last_id)


def test_exit_code_output_and_env_workdir_user(steps):
    code, out, _ = steps.run('echo "$A $HOME $(pwd) $(id -u):$(id -g)"; echo err >&2; exit 7',
                             env=["A=1"], workdir="/tmp", user="www")
    assert code == 7
    assert out == "1 /var/www /tmp 1000:1000\nerr\n"


def test_missing_command_is_127_with_dockers_message(steps, session_root):
    out: list[bytes] = []
    d = steps.tmp / "nf"
    sid = secrets.token_hex(32)
    code = run_step(steps.root, steps.lowers, d / "upper", d / "work", ["no-such-cmd"], [], "/", "", [],
                    "default", [], None, out.append, step_id=sid)
    assert code == 127
    assert b'exec: "no-such-cmd": executable file not found in $PATH' in b"".join(out)
    _no_step_left(session_root, sid)


def test_deleting_a_lower_file_is_a_whiteout_in_the_layer(steps):
    code, _, upper = steps.run("rm /etc/group && test ! -e /etc/group")
    assert code == 0
    tar = steps.tmp / "layer.tar"
    layer_from_upper(upper, tar)
    with tarfile.open(tar) as tf:
        assert tf.getnames() == ["etc", "etc/.wh.group"]
    unpacked = steps.tmp / "unpacked"
    unpacked.mkdir()
    unpack_layer(tar, unpacked)
    steps.lowers[0] = unpacked  # the image built from lower + this layer
    code, out, _ = steps.run("ls /etc; test ! -e /etc/group")
    assert code == 0 and "group" not in out.split() and "passwd" in out.split()


def test_cache_mount_is_reused_across_steps_and_not_in_the_layer(steps):
    cache = [StepMount(type="cache", target="/root/.cache", id="test-runner-cache", uid=1000, mode=0o750)]
    code, _, upper1 = steps.run("echo one >> /root/.cache/log; ls -ld /root/.cache | cut -c1-10", mounts=cache)
    assert code == 0
    code, out, upper2 = steps.run("cat /root/.cache/log; stat -c '%a %u' /root/.cache", mounts=cache)
    assert (code, out) == (0, "one\n750 1000\n")
    assert _tree(upper1) == set() and _tree(upper2) == set()
    from engine.build.stepmounts import cache_mount_dir
    import shutil
    shutil.rmtree(cache_mount_dir(steps.root, "test-runner-cache"))


def test_bind_secret_and_tmpfs_mounts(steps, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "a.txt").write_text("from context\n")
    secret = tmp_path / "token"
    secret.write_text("s3cr3t")
    mounts = [StepMount(type="bind", target="/ctx", source=ctx, subpath="src"),
              StepMount(type="bind", target="/rw", source=ctx, readonly=False),
              StepMount(type="secret", id="token", source=secret),
              StepMount(type="tmpfs", target="/scratch", size=1 << 20)]
    script = ("cat /ctx/a.txt; touch /ctx/x 2>/dev/null || echo ro; echo w > /rw/src/new && echo rw; "
              "cat /run/secrets/token; echo; stat -c '%a' /run/secrets/token; "
              "grep -c ' /scratch tmpfs' /proc/mounts; echo t > /scratch/f && echo tmpfs")
    code, out, upper = steps.run(script, mounts=mounts)
    assert (code, out) == (0, "from context\nro\nrw\ns3cr3t\n400\n1\ntmpfs\n")
    assert not (ctx / "src" / "new").exists(), "writes to a rw bind are discarded"
    assert _tree(upper) == set(), "mount points and the secret stay out of the layer"
    assert not list(Path("/dev/shm").glob("pycompose-secret-*")), "the secret's tmpfs copy is gone"


def test_network_none_has_only_loopback(steps):
    code, out, _ = steps.run("ip -o link | cut -d: -f2; ip route | wc -l", network="none")
    assert (code, out.split()) == (0, ["lo", "0"])


def test_default_network_has_a_route_out(steps, session_root):
    code, out, _ = steps.run("ip -o -4 addr show eth0 | wc -l; ip route | grep -c '^default via'; "
                             "grep -c nameserver /etc/resolv.conf", network="default",
                             extra_hosts=["myhost:10.1.2.3"])
    assert (code, out.split()) == (0, ["1", "1", "1"])
    code, out, _ = steps.run("grep myhost /etc/hosts", network="default", extra_hosts=["myhost:10.1.2.3"])
    assert out == "10.1.2.3\tmyhost\n"
    from engine.network import NetworkManager
    from engine.network.names import veth_name

    net_id = NetworkManager(steps.root).inspect("bridge")["Id"]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert veth_name(net_id, steps.last_id) not in links, "the step's veth is gone"
    _no_step_left(session_root, steps.last_id)


def test_host_network_sees_the_hosts_interfaces(steps):
    host = set(subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.split())
    code, out, _ = steps.run("ip -o link", network="host")
    assert code == 0 and "eth0:" in host & set(out.split()) or "lo:" in out


def test_interrupt_kills_the_step_and_cleans_up(steps, session_root):
    seen: list[bytes] = []

    def output(b: bytes) -> None:
        seen.append(b)
        raise KeyboardInterrupt

    d = steps.tmp / "intr"
    sid = secrets.token_hex(32)
    with pytest.raises(KeyboardInterrupt):
        run_step(steps.root, steps.lowers, d / "upper", d / "work",
                 ["/bin/sh", "-c", "mkdir -p /x; echo started; sleep 100 & sleep 100"], [], "/", "",
                 [StepMount(type="cache", target="/x/cache", id="intr")], "default", [], None, output,
                 step_id=sid)
    assert seen == [b"started\n"]
    _no_step_left(session_root, sid)
    out = subprocess.run(["pgrep", "-f", "sleep 100"], capture_output=True, text=True).stdout
    assert out.strip() == "", "the step's processes are gone"
    assert not (d / "upper" / "x" / "cache").exists(), "the mount stub was removed"


def test_unknown_user_and_bad_network_are_errors_before_anything_runs(steps, session_root):
    from engine.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unable to find user nosuch"):
        steps.run("true", user="nosuch", keep=False)
    _no_step_left(session_root, steps.last_id)
    with pytest.raises(InvalidArgument, match="network mode"):
        steps.run("true", network="bogus", keep=False)
    _no_step_left(session_root, steps.last_id)


def test_a_killed_builders_step_is_swept_by_the_next_step(steps, session_root):
    """SIGKILL of the process running a step runs no cleanup; the next run_step undoes it."""
    from engine.build import stepdirs
    from engine.network.store import Store

    sid = secrets.token_hex(32)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # the "builder": runs a step that never ends
        os.close(r)
        try:
            d = steps.tmp / "killed"
            run_step(steps.root, steps.lowers, d / "upper", d / "work", ["/bin/sh", "-c", "echo up; sleep 1000"],
                     [], "/", "", [], "default", [], None, lambda b: os.write(w, b), step_id=sid)
        finally:
            os._exit(1)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.readline() == b"up\n"
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert (session_root / "build" / "steps" / sid).exists(), "left behind by the killed builder"
    code, _, _ = steps.run("true", keep=False)  # any next step sweeps it
    assert code == 0
    _no_step_left(session_root, sid)
    assert Store(steps.root).endpoint(sid) is None
    assert stepdirs.sweep(steps.root) == []
    out = subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True, text=True).stdout
    assert out.strip() == ""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:  # the step's pid 1 was re-parented to us (a subreaper)
            pass


def test_renaming_a_lower_directory_puts_its_content_in_the_layer(steps):
    """No overlay redirects or metadata-only copy-ups: the layer has the whole moved tree."""
    code, out, upper = steps.run("mv /var/www /srv && cat /srv/index.html")
    assert code == 0, out
    tar = steps.tmp / "moved.tar"
    layer_from_upper(upper, tar)
    with tarfile.open(tar) as tf:
        names = set(tf.getnames())
        assert {"srv/index.html", "var/.wh.www"} <= names
        assert tf.extractfile("srv/index.html").read() == out.encode()


def test_mount_stub_behind_a_symlink_is_removed_too(steps):
    code, _, _ = steps.run("mkdir -p /realrun && ln -s /realrun /var/run")
    assert code == 0
    code, out, upper = steps.run("ls -d /realrun/cache && touch /kept",
                                 mounts=[StepMount(type="cache", target="/var/run/cache", id="stub-link")])
    assert code == 0, out
    assert _tree(upper) == {"kept"}, "the mount point created at /realrun/cache is not in the layer"
    from engine.build.stepmounts import cache_mount_dir
    import shutil
    shutil.rmtree(cache_mount_dir(steps.root, "stub-link"))


def test_cancel_event_kills_a_running_step(steps, session_root):
    import threading

    from engine.build.runner import StepCancelled

    cancel = threading.Event()
    sid = secrets.token_hex(32)

    def output(b: bytes) -> None:
        if b"started" in b:
            cancel.set()  # e.g. another stage failed

    d = steps.tmp / "cancel"
    with pytest.raises(StepCancelled):
        run_step(steps.root, steps.lowers, d / "upper", d / "work", ["/bin/sh", "-c", "echo started; sleep 1000"],
                 [], "/", "", [], "none", [], None, output, step_id=sid, cancel=cancel)
    _no_step_left(session_root, sid)


def test_bind_from_another_stages_layers(steps):
    code, _, stage_upper = steps.run("mkdir -p /out && echo built > /out/artifact && rm /etc/group", keep=False)
    assert code == 0
    stage = [stage_upper] + steps.lowers  # the other stage: its layers, top first
    mounts = [StepMount(type="bind", target="/from", layers=stage, subpath="out"),
              StepMount(type="bind", target="/etc-of-stage", layers=stage, subpath="etc", readonly=False),
              StepMount(type="bind", target="/one-file", layers=stage, subpath="out/artifact")]
    script = ("cat /from/artifact; touch /from/x 2>/dev/null || echo ro; test -e /etc-of-stage/group || echo nogroup; "
              "echo w > /etc-of-stage/new && echo rw; cat /one-file")
    code, out, upper = steps.run(script, mounts=mounts, keep=False)
    assert (code, out) == (0, "built\nro\nnogroup\nrw\nbuilt\n")
    assert not (stage_upper / "etc" / "new").exists(), "writes to a rw bind of a stage are discarded"
    assert _tree(upper) == set()


def test_a_step_has_dockers_default_security_profile(steps):
    code, out, _ = steps.run("grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; "
                             "wc -c < /proc/timer_list; mount -o remount,rw /sys 2>/dev/null || echo sys-ro; "
                             "readlink /proc/1/ns/pid; echo $$")
    assert code == 0
    lines = out.split("\n")
    fields = dict(l.split(":\t") for l in lines[:4])
    assert fields == {"CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb", "Seccomp": "2",
                      "NoNewPrivs": "0"}
    assert lines[4].strip() == "0", "/proc/timer_list is masked (/dev/null bound over it)"
    assert lines[5] == "sys-ro"
    assert lines[6] != os.readlink("/proc/self/ns/pid") and lines[7] == "1", "own pid namespace, the command is pid 1"


def test_steps_run_concurrently_from_threads(steps, session_root):
    """The executor runs independent stages in threads: steps fork from a threaded process."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int):
        d = steps.tmp / f"par{i}"
        out: list[bytes] = []
        sid = secrets.token_hex(32)
        code = run_step(steps.root, steps.lowers, d / "upper", d / "work",
                        ["/bin/sh", "-c", f"echo {i} > /mine; ip -o -4 addr show eth0 | wc -l; sleep 0.3"],
                        [], "/", "", [StepMount(type="cache", target="/c", id="par-cache")], "default", [], None,
                        out.append, step_id=sid)
        return code, b"".join(out), (d / "upper" / "mine").read_text(), sid

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    for i, (code, out, mine, sid) in enumerate(results):
        assert (code, out, mine) == (0, b"1\n", f"{i}\n")
        _no_step_left(session_root, sid)
    from engine.build.stepmounts import cache_mount_dir
    import shutil
    shutil.rmtree(cache_mount_dir(steps.root, "par-cache"))
