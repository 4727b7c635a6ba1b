"""build_spec -> start end to end: users, volumes, tmpfs, shared namespaces, privileged."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from pathlib import Path

import pytest

from engine.runtime.build import build_spec
from engine.runtime.start import start
from engine.volumes import VolumeStore

from runtime_helpers import make_busybox_layer, run

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def layer():
    d = Path(tempfile.mkdtemp(prefix="pyc-test-layer-"))
    lay = make_busybox_layer(d / "layer")
    (lay / "data").mkdir()
    (lay / "data" / "from-image.txt").write_text("seeded\n")
    yield lay
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def root():
    d = Path(tempfile.mkdtemp(prefix="pyc-test-root-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make(root, layer, config=None, host=None, image=None, **kw):
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    record = {"Id": cid, "Name": "/t", "Config": config or {}, "HostConfig": host or {}}
    return build_spec(record, image or {"Cmd": ["sh"]}, [layer], root / "containers" / cid, VolumeStore(root), **kw)


def test_user_by_name_and_by_ids(root, layer):
    code, out = run(make(root, layer, {"User": "nobody", "Cmd": ["sh", "-c", "id -u; id -g; echo $HOME"]}))
    assert code == 0 and out.split() == ["65534", "65534", "/nonexistent"]
    code, out = run(make(root, layer, {"User": "1000:1000", "Cmd": ["sh", "-c", "id -u; id -g; whoami"]}))
    assert code == 0 and out.split() == ["1000", "1000", "app"]


def test_hostname_defaults_to_short_id_and_env(root, layer):
    spec = make(root, layer, {"Env": ["A=1"], "Cmd": ["sh", "-c", "hostname; echo $HOSTNAME $A $B"]},
                image={"Env": ["B=2", "A=0"], "Cmd": ["sh"]})
    code, out = run(spec)
    assert out.splitlines() == [spec.id[:12], f"{spec.id[:12]} 1 2"]


def test_named_volume_is_seeded_and_survives_recreating_the_container(root, layer):
    host = {"Binds": ["appdata:/data"]}
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "cat /data/from-image.txt; echo kept > /data/mine"]},
                         host))
    assert code == 0 and out == "seeded\n"
    code, out = run(make(root, layer, {"Cmd": ["cat", "/data/mine"]}, host))
    assert code == 0 and out == "kept\n"
    assert (VolumeStore(root).mountpoint("appdata") / "mine").read_text() == "kept\n"


def test_tmpfs_sizes_modes_and_driver_opt_volume(root, layer):
    VolumeStore(root).create("ram", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=2m"})
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "stat -c %a /scratch; df -k /scratch /ram /run | tail -3; "
                                               "grep -E ' /(scratch|run) ' /proc/mounts"]},
                         {"Tmpfs": {"/scratch": "size=8m,mode=1777"}, "Binds": ["ram:/ram"],
                          "Mounts": [{"Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 4 << 20}}]}))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "1777"
    sizes = {l.split()[-1]: int(l.split()[1]) for l in lines[1:4]}
    assert sizes == {"/scratch": 8192, "/ram": 2048, "/run": 4096}
    assert all("noexec" in l and "nosuid" in l and "nodev" in l for l in lines[4:])  # Docker's tmpfs defaults


def test_readonly_bind_and_cap_add(root, layer, tmp_path):
    (tmp_path / "f").write_text("x")
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "rm /h/f 2>&1; grep CapEff /proc/self/status"]},
                         {"Binds": [f"{tmp_path}:/h:ro"], "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"]}))
    assert "Read-only file system" in out
    eff = int(out.split("CapEff:")[1].split()[0], 16)
    assert eff == (0xA80425FB | 1 << 12) & ~(1 << 27)


def test_ipc_and_network_of_another_container_are_shared(root, layer):
    first = make(root, layer, {"Cmd": ["sh", "-c", "echo shared > /dev/shm/x; exec sleep 1000"]})
    null = os.open("/dev/null", os.O_RDWR)
    pid = start(first, (null, null, null))
    os.close(null)
    try:
        while not os.path.exists(f"/proc/{pid}/root/dev/shm/x"):
            os.sched_yield()
        second = make(root, layer, {"Cmd": ["sh", "-c", "cat /dev/shm/x; readlink /proc/self/ns/ipc; "
                                            "readlink /proc/self/ns/net"]},
                      {"IpcMode": "container:first", "NetworkMode": "container:first"},
                      container_pid=lambda ref: pid)
        code, out = run(second)
        expected = ["shared", os.readlink(f"/proc/{pid}/ns/ipc"), os.readlink(f"/proc/{pid}/ns/net")]
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert code == 0, out
    assert out.splitlines() == expected
    assert expected[1] != os.readlink("/proc/self/ns/ipc")


def test_privileged_sees_devices_and_writable_proc_sys(root, layer):
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "grep CapEff /proc/self/status; test -e /dev/vda && "
                                               "echo dev; wc -c < /proc/timer_list; "
                                               "echo 1 > /proc/sys/kernel/shm_rmid_forced && echo wrote"]},
                         {"Privileged": True}))
    assert code == 0, out
    ours = [l for l in open("/proc/self/status") if l.startswith("CapBnd:")][0].split()[1]
    assert f"CapEff:\t{ours}" in out  # everything this host can grant
    assert "dev" in out.split() and "wrote" in out
    assert int(out.split()[-2]) > 0  # not masked


def test_init_true_from_the_record(root, layer):
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "cat /proc/1/comm; echo $$"]}, {"Init": True}))
    assert code == 0 and out.split() == ["init", "2"]


def test_busybox_image_from_the_image_store(busybox, session_root):
    """The real path: image store layers + image config -> build_spec -> start."""
    from engine.images.store import ImageStore

    img = ImageStore(session_root).get(busybox)
    d = Path(tempfile.mkdtemp(prefix="pyc-test-ctr-"))
    try:
        cid = uuid.uuid4().hex * 2
        record = {"Id": cid, "Name": "/img", "Config": {"Cmd": ["sh", "-c", "echo $PATH; id -u nobody; ls /bin/sh"]},
                  "HostConfig": {}}
        spec = build_spec(record, img.image_config, img.layer_dirs(), d / cid, VolumeStore(d))
        code, out = run(spec)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert code == 0, out
    assert out.splitlines()[-1] == "/bin/sh"


def test_pid_namespace_and_hostname_of_another_container(root, layer):
    first = make(root, layer, {"Hostname": "first-host", "Cmd": ["sleep", "1000"]})
    null = os.open("/dev/null", os.O_RDWR)
    pid = start(first, (null, null, null))
    os.close(null)
    try:
        second = make(root, layer, {"Cmd": ["sh", "-c", "hostname; ps -o comm | grep -c sleep"]},
                      {"PidMode": "container:first", "NetworkMode": "container:first"},
                      container_pid=lambda ref: pid)
        code, out = run(second)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert code == 0, out
    assert out.split() == ["first-host", "1"]  # its hostname, and its sleep is visible


def test_volumes_from_shares_the_other_containers_volumes(root, layer):
    cid1 = uuid.uuid4().hex * 2
    rec1 = {"Id": cid1, "Name": "/one", "Image": "none",
            "Config": {"Volumes": {"/cache": {}}, "Cmd": ["sh", "-c", "echo from-one > /cache/x"]}, "HostConfig": {}}
    spec1 = build_spec(rec1, {}, [layer], root / "containers" / cid1, VolumeStore(root))
    assert run(spec1)[0] == 0
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "cat /cache/x; touch /cache/y 2>&1"]},
                         {"VolumesFrom": ["one:ro"]}, container_record=lambda ref: rec1))
    assert out.splitlines()[0] == "from-one"
    assert "Read-only file system" in out


def test_volume_subpath_mounts_only_that_directory_and_stays_inside(root, layer):
    vols = VolumeStore(root)
    data = vols.ensure("proj")
    (data / "app1").mkdir()
    (data / "app1" / "mine").write_text("app1\n")
    (data / "other").write_text("not visible\n")
    (data / "etc").mkdir()
    os.symlink("/etc", data / "escape")  # resolved inside the volume: its own etc
    code, out = run(make(root, layer, {"Cmd": ["sh", "-c", "ls /d; ls /e | wc -l"]}, {"Mounts": [
        {"Type": "volume", "Source": "proj", "Target": "/d", "VolumeOptions": {"Subpath": "app1"}},
        {"Type": "volume", "Source": "proj", "Target": "/e", "VolumeOptions": {"Subpath": "escape"}}]}))
    assert code == 0, out
    assert out.split() == ["mine", "0"]
