"""What a container must not be able to do, tried from inside real containers."""
from __future__ import annotations

import os
import uuid

import pytest

from engine.cgroups import container_cgroup, limits_from_hostconfig
from engine.runtime.caps import mask, tweak

from runtime_helpers import make_spec, run

pytestmark = pytest.mark.root


def sh(layer, cdir, script, **kw):
    return run(make_spec(layer, cdir, ["sh", "-c", script], **kw))


def test_mknod_of_a_host_disk_is_useless_in_the_devices_cgroup(layer, cdir):
    # CAP_MKNOD is in Docker's default set: the devices cgroup is what keeps host disks out.
    cg = container_cgroup(uuid.uuid4().hex)
    cg.create()
    try:
        cg.apply(limits_from_hostconfig({}))
        disk = os.stat("/dev/vda").st_rdev if os.path.exists("/dev/vda") else os.makedev(8, 0)
        code, out = run(make_spec(layer, cdir, ["sh", "-c",
                                                f"mknod /tmp/disk b {os.major(disk)} {os.minor(disk)} && "
                                                "echo made; head -c 1 /tmp/disk >/dev/null; echo ok > /dev/null "
                                                "&& echo null-ok"]), cgroup=cg)
    finally:
        cg.destroy()
    assert "made" in out  # the node can be created...
    assert "Operation not permitted" in out  # ...but not opened
    assert "null-ok" in out


def test_cannot_remount_the_readonly_root_or_unmask_paths(layer, cdir):
    code, out = sh(layer, cdir, "mount -o remount,rw / 2>&1 || echo no-remount; "
                                "umount /proc/timer_list 2>&1 || echo no-umount; "
                                "mount -t proc proc /mnt 2>&1 || echo no-mount; touch /x 2>&1",
                   readonly_rootfs=True)
    assert "no-remount" in out and "no-umount" in out and "no-mount" in out
    assert "Read-only file system" in out


def test_sys_and_proc_sys_are_read_only(layer, cdir):
    code, out = sh(layer, cdir, "echo 1 > /sys/kernel/profiling 2>&1; echo x > /proc/sys/kernel/hostname 2>&1; "
                                "cat /proc/keys | wc -c")
    assert out.count("Read-only file system") == 2, out
    assert out.split()[-1] == "0"  # /proc/keys masked


def test_old_root_is_gone_and_pid1_root_is_the_container(layer, cdir):
    code, out = sh(layer, cdir, "ls /proc/1/root/; cat /proc/mounts | grep -c ' / ' ; "
                                "grep -c -E ' /(work|home/|usr)' /proc/mounts; true")
    names = out.split()
    assert "work" not in names and "usr" not in names
    assert names[-1] == "0"  # no host mount visible under any path


def test_mounts_made_inside_do_not_reach_the_host(layer, cdir):
    marker = f"pyc-marker-{uuid.uuid4().hex[:12]}"  # the tmpfs's source name, to find it anywhere
    code, out = sh(layer, cdir, f"mkdir -p /x && mount -t tmpfs {marker} /x && grep -c {marker} /proc/mounts",
                   capabilities=mask(tweak(["ALL"], None)))
    assert out.strip() == "1", out
    assert marker not in open("/proc/self/mountinfo").read()


def test_dropped_capabilities_cannot_come_back(layer, cdir):
    # root in the container without CAP_NET_RAW / CAP_CHOWN: exec of any binary keeps them out
    code, out = sh(layer, cdir, "chown 1 /tmp 2>&1 || echo no-chown; grep CapBnd /proc/self/status",
                   capabilities=mask(tweak(None, ["CHOWN", "NET_RAW"])))
    assert "no-chown" in out
    bnd = int(out.split("CapBnd:")[1].split()[0], 16)
    assert not bnd & (1 << 0) and not bnd & (1 << 13)


def test_device_option_gives_exactly_that_device(layer, cdir):
    from engine.runtime.build import devices

    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    cg = container_cgroup(uuid.uuid4().hex)
    cg.create()
    try:
        cg.apply(limits_from_hostconfig({}))
        spec = make_spec(layer, cdir, ["sh", "-c", "ls -l /dev/custom/fuse; exec 3</dev/custom/fuse && echo granted; "
                                                   "mknod /tmp/loopctl c 10 237; exec 4</tmp/loopctl && echo leaked; true"])
        spec.devices = devices(["/dev/fuse:/dev/custom/fuse:rw"])
        code, out = run(spec, cgroup=cg)
    finally:
        cg.destroy()
    assert out.splitlines()[0].startswith("crw")
    assert "granted" in out
    assert "leaked" not in out and "Operation not permitted" in out  # other devices stay denied
def test_device_errors():
    from engine.errors import InvalidArgument
    from engine.runtime.build import devices

    with pytest.raises(InvalidArgument, match='adding custom device "/dev/nope": no such file or directory'):
        devices(["/dev/nope"])
    with pytest.raises(InvalidArgument, match="invalid device mode: rwx"):
        devices([{"PathOnHost": "/dev/null", "CgroupPermissions": "rwx"}])
    assert devices(["/dev/null:/dev/mynull:r"])[0].cgroup_rule == "c 1:3 r"


def test_seccomp_refuses_new_user_namespaces_like_docker(layer, cdir):
    # no capability is needed to create a user namespace: only the syscall filter stops it
    code, out = sh(layer, cdir, "grep Seccomp: /proc/self/status; unshare -U -r id -u 2>&1; true")
    assert "Seccomp:\t2" in out
    assert "Operation not permitted" in out and "\n0\n" not in out + "\n"
    spec = make_spec(layer, cdir.parent / "unconfined", ["sh", "-c", "grep Seccomp: /proc/self/status; "
                                                                      "unshare -U -r id -u 2>&1; true"])
    spec.process.seccomp = False  # seccomp=unconfined
    code, out = run(spec)
    assert "Seccomp:\t0" in out and out.splitlines()[-1] == "0"


def test_seccomp_follows_the_capabilities(layer, cdir):
    # with CAP_SYS_ADMIN (cap_add) the mount family is allowed again, as in Docker's profile
    code, out = sh(layer, cdir, "mkdir /m; mount -t tmpfs x /m && echo mounted; true",
                   capabilities=mask(tweak(["SYS_ADMIN"], None)))
    assert "mounted" in out


def test_a_docker_json_seccomp_profile_is_enforced(layer, cdir):
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}
    spec = make_spec(layer, cdir, ["sh", "-c", "mkdir /tmp/d 2>&1; kill -0 $$ 2>&1 || echo no-kill0; "
                                               "kill -CONT $$ && echo cont-ok; touch /tmp/f && echo touch-ok"])
    spec.process.seccomp_profile = profile
    code, out = run(spec)
    assert "Permission denied" in out
    assert "no-kill0" in out and "cont-ok" in out and "touch-ok" in out
