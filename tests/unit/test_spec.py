"""build_spec and its rules, without root: Docker's merging, user lookup, mounts, limits."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import InvalidArgument
from engine.runtime import caps
from engine.runtime.build import build_spec, command_line, environment
from engine.runtime.limits import validate_sysctls
from engine.runtime.spec import HOST, NEW, Namespaces
from engine.runtime.users import read_layered, resolve_user
from engine.volumes import VolumeStore

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
          "app:x:1000:1000:app:/home/app:/bin/sh\n")
GROUP = "root:x:0:\nwheel:x:10:app\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app,nobody\n"


@pytest.fixture
def layers(tmp_path):
    low = tmp_path / "l0"
    (low / "etc").mkdir(parents=True)
    (low / "etc" / "passwd").write_text(PASSWD)
    (low / "etc" / "group").write_text(GROUP)
    return [low]


def rec(config=None, host=None, cid="c0ffee" * 10 + "abcd"):
    return {"Id": cid, "Name": "/x", "Config": config or {}, "HostConfig": host or {}}


def spec_of(tmp_path, layers, config=None, host=None, image=None, **kw):
    return build_spec(rec(config, host), image or {"Cmd": ["sh"]}, layers, tmp_path / "ctr",
                      VolumeStore(tmp_path / "root"), **kw)


# --- entrypoint / cmd ------------------------------------------------------------

@pytest.mark.parametrize("cfg,image,expected", [
    ({}, {"Cmd": ["sh"]}, ["sh"]),
    ({"Cmd": ["ls", "-l"]}, {"Cmd": ["sh"]}, ["ls", "-l"]),
    ({}, {"Entrypoint": ["/init"], "Cmd": ["--serve"]}, ["/init", "--serve"]),
    ({"Cmd": ["--debug"]}, {"Entrypoint": ["/init"], "Cmd": ["--serve"]}, ["/init", "--debug"]),
    # a container entrypoint resets the image's Cmd
    ({"Entrypoint": ["/bin/echo"]}, {"Entrypoint": ["/init"], "Cmd": ["--serve"]}, ["/bin/echo"]),
    ({"Entrypoint": ["/bin/echo"], "Cmd": ["a"]}, {"Cmd": ["sh"]}, ["/bin/echo", "a"]),
    # an explicitly empty entrypoint list keeps the image Cmd, drops the image entrypoint
    ({"Entrypoint": []}, {"Entrypoint": ["/init"], "Cmd": ["sh"]}, ["sh"]),
    # `--entrypoint ""` with a command
    ({"Entrypoint": [""], "Cmd": ["id"]}, {"Entrypoint": ["/init"], "Cmd": ["sh"]}, ["id"]),
    ({"Entrypoint": "/bin/sh"}, {}, ["/bin/sh"]),
])
def test_entrypoint_and_cmd_like_docker(cfg, image, expected):
    assert command_line(cfg, image) == expected


def test_no_command_is_refused():
    with pytest.raises(InvalidArgument, match="No command specified"):
        command_line({}, {})
    with pytest.raises(InvalidArgument, match="No command specified"):
        command_line({"Entrypoint": [""]}, {"Cmd": ["sh"]})


# --- environment ---------------------------------------------------------------------

def test_environment_order_and_override():
    env = environment({"Env": ["B=container", "C=3", "PATH=/custom"]}, {"Env": ["A=1", "B=image"]},
                      "h1", tty=True, home="/root")
    assert env == ["PATH=/custom", "HOSTNAME=h1", "TERM=xterm", "B=container", "C=3", "A=1", "HOME=/root"]


def test_environment_key_without_value_removes_it():
    env = environment({"Env": ["A"]}, {"Env": ["A=1"]}, "h", tty=False, home="/")
    assert not any(e.startswith("A=") for e in env)


# --- users ---------------------------------------------------------------------------

@pytest.mark.parametrize("user,uid,gid,extra", [
    ("", 0, 0, []),
    ("nobody", 65534, 65534, [50]),
    ("app", 1000, 1000, [10, 50]),
    ("1000", 1000, 1000, []),  # numeric: passwd entry gives the gid, no name-based groups
    ("1000:1000", 1000, 1000, []),
    ("4242", 4242, 0, []),
    ("4242:77", 4242, 77, []),
    ("app:staff", 1000, 50, []),
    ("nobody:0", 65534, 0, []),
])
def test_resolve_user(layers, user, uid, gid, extra):
    u = resolve_user(user, layers)
    assert (u.uid, u.gid) == (uid, gid)
    if user in ("nobody", "app"):
        assert u.additional_gids == extra


def test_unknown_user_and_group_are_clear_errors(layers):
    with pytest.raises(InvalidArgument, match="unable to find user ghost: no matching entries in passwd file"):
        resolve_user("ghost", layers)
    with pytest.raises(InvalidArgument, match="unable to find group nope: no matching entries in group file"):
        resolve_user("app:nope", layers)
    with pytest.raises(InvalidArgument, match="unable to find group nope"):
        resolve_user("", layers, ["nope"])


def test_group_add_by_name_and_number(layers):
    assert resolve_user("", layers, ["wheel", "123"]).additional_gids == [10, 123]


def test_passwd_from_upper_layer_whiteout_and_symlink(tmp_path, layers):
    upper = tmp_path / "l1"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n")
    assert resolve_user("web", layers + [upper]).uid == 33
    with pytest.raises(InvalidArgument):
        resolve_user("app", layers + [upper])  # the upper file hides the lower one
    top = tmp_path / "l2"
    (top / "etc").mkdir(parents=True)
    os.mknod(top / "etc" / "passwd", 0o600 | 0o020000, os.makedev(0, 0)) if os.geteuid() == 0 else None
    if os.geteuid() == 0:
        assert read_layered(layers + [upper, top], "/etc/passwd") is None
    link = tmp_path / "l3"
    (link / "etc").mkdir(parents=True)
    os.symlink("/etc/shadow-not-on-host", link / "etc" / "group")  # resolved in the layers, not on the host
    (link / "etc" / "shadow-not-on-host").write_text("grp:x:9:\n")
    assert resolve_user("0:grp", layers + [link]).gid == 9


# --- capabilities ------------------------------------------------------------------------

def test_capabilities_like_docker():
    assert caps.mask(caps.tweak(None, None)) == 0xA80425FB
    assert caps.tweak(None, ["ALL"]) == []
    assert caps.tweak(["NET_ADMIN"], ["ALL"]) == ["NET_ADMIN"]
    assert "NET_ADMIN" in caps.tweak(["cap_net_admin"], None)
    assert "CHOWN" not in caps.tweak(None, ["chown"])
    everything = caps.tweak(["ALL"], ["SYS_ADMIN"])
    assert "SYS_ADMIN" not in everything and "NET_ADMIN" in everything
    assert caps.tweak(None, None, privileged=True) == caps.tweak(["ALL"], None)
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_BOGUS"'):
        caps.tweak(["BOGUS"], None)


# --- whole spec ------------------------------------------------------------------------------

def test_spec_defaults(tmp_path, layers):
    s = spec_of(tmp_path, layers)
    assert s.hostname == s.id[:12]
    assert s.process.args == ["sh"] and s.process.cwd == "/" and s.process.uid == 0
    assert s.process.capabilities == 0xA80425FB and not s.process.no_new_privs
    assert "/proc/timer_list" in s.masked_paths and "/proc/sys" in s.readonly_paths
    assert s.namespaces == Namespaces()
    assert s.upper == tmp_path / "ctr" / "upper" and s.merged == tmp_path / "ctr" / "merged"
    assert set(s.etc_files) == {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
    assert "HOME=/root" in s.process.env


def test_spec_user_workdir_security(tmp_path, layers):
    s = spec_of(tmp_path, layers, {"User": "app", "WorkingDir": "/srv", "Hostname": "web"},
                {"CapDrop": ["ALL"], "SecurityOpt": ["no-new-privileges:true"], "ReadonlyRootfs": True,
                 "GroupAdd": ["wheel"]})
    p = s.process
    assert (p.uid, p.gid, p.cwd, p.capabilities, p.no_new_privs) == (1000, 1000, "/srv", 0, True)
    assert "HOME=/home/app" in p.env and "HOSTNAME=web" in p.env
    assert s.readonly_rootfs and s.hostname == "web"


def test_image_user_and_workdir_apply_when_container_gives_none(tmp_path, layers):
    s = spec_of(tmp_path, layers, image={"User": "nobody", "WorkingDir": "/data", "Cmd": ["sh"]})
    assert s.process.uid == 65534 and s.process.cwd == "/data"


def test_relative_workdir_refused(tmp_path, layers):
    with pytest.raises(InvalidArgument, match="needs to be an absolute path"):
        spec_of(tmp_path, layers, {"WorkingDir": "srv"})


def test_binds_volumes_tmpfs(tmp_path, layers):
    host_dir = tmp_path / "made-by-binds"
    vols = VolumeStore(tmp_path / "root")
    (layers[0] / "var" / "lib" / "db").mkdir(parents=True)
    (layers[0] / "var" / "lib" / "db" / "seed.txt").write_text("from the image")
    (layers[0] / "cache").mkdir()
    (layers[0] / "cache" / "img.txt").write_text("not copied")
    vols.create("ram", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    s = build_spec(rec({}, {
        "Binds": [f"{host_dir}:/data:ro,rshared", "dbdata:/var/lib/db", "cache:/cache:nocopy", "ram:/ram"],
        "Mounts": [{"Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o700}},
                   {"Type": "bind", "Source": str(tmp_path), "Target": "/host", "ReadOnly": True}],
        "Tmpfs": {"/scratch": "rw,noexec,size=64m,mode=1777"},
    }), {"Cmd": ["sh"], "Volumes": {"/var/lib/db": {}, "/logs": {}}}, layers, tmp_path / "ctr", vols)
    by = {m.target: m for m in s.mounts}
    assert host_dir.is_dir()  # -v creates a missing host path, like Docker
    assert by["/data"].type == "bind" and by["/data"].readonly and by["/data"].propagation == "rshared"
    assert by["/var/lib/db"].source == str(vols.mountpoint("dbdata"))
    assert by["/run"].tmpfs_size == 1 << 20 and by["/run"].tmpfs_mode == 0o700
    assert by["/scratch"].tmpfs_size == 64 << 20 and by["/scratch"].tmpfs_mode == 0o1777
    assert by["/scratch"].flags == ["rw", "noexec"]
    assert by["/logs"].anonymous and by["/logs"].type == "volume"  # image VOLUME not covered by a mount
    assert (vols.mountpoint("dbdata") / "seed.txt").read_text() == "from the image"  # seeded on first use
    assert not any(vols.mountpoint("cache").iterdir())  # nocopy
    assert (by["/ram"].fstype, by["/ram"].device, by["/ram"].data) == ("tmpfs", "tmpfs", "size=1m")
    assert "com.docker.volume.anonymous" in vols.get(by["/logs"].volume_name)["Labels"]


def test_mount_errors(tmp_path, layers):
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /a"):
        spec_of(tmp_path, layers, host={"Binds": [f"{tmp_path}/new:/a", "vol:/a"]})
    assert not (tmp_path / "new").exists()  # refused before the host path was made
    with pytest.raises(InvalidArgument, match="bind source path does not exist: /nonexistent-xyz"):
        spec_of(tmp_path, layers, host={"Mounts": [{"Type": "bind", "Source": "/nonexistent-xyz", "Target": "/x"}]})
    with pytest.raises(InvalidArgument, match="invalid mode: rx"):
        spec_of(tmp_path, layers, host={"Binds": ["/tmp:/x:rx"]})
    with pytest.raises(InvalidArgument, match="includes invalid characters for a local volume name"):
        spec_of(tmp_path, layers, host={"Binds": ["bad$name:/x"]})
    with pytest.raises(InvalidArgument, match="destination can't be '/'"):
        spec_of(tmp_path, layers, host={"Binds": ["/tmp:/"]})
    with pytest.raises(InvalidArgument, match="mount path must be absolute"):
        spec_of(tmp_path, layers, host={"Binds": ["/tmp:rel"]})


def test_ulimits(tmp_path, layers):
    s = spec_of(tmp_path, layers, host={"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]})
    assert [(r.name, r.soft, r.hard) for r in s.process.rlimits] == [("nofile", 1024, 2048)]
    with pytest.raises(InvalidArgument, match="invalid ulimit type: bogus"):
        spec_of(tmp_path, layers, host={"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]})
    with pytest.raises(InvalidArgument, match="soft limit 10 is above the hard limit 5"):
        spec_of(tmp_path, layers, host={"Ulimits": [{"Name": "nproc", "Soft": 10, "Hard": 5}]})


def test_ulimit_above_host_hard_limit_is_refused_before_anything(tmp_path, layers):
    import resource
    from engine.runtime.limits import _has_cap
    if _has_cap(24):
        pytest.skip("this host grants CAP_SYS_RESOURCE: raising the hard limit is allowed")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with pytest.raises(InvalidArgument, match=rf"ulimit nofile: hard limit {hard + 1} is above the host's hard "
                                              rf"limit {hard}"):
        spec_of(tmp_path, layers, host={"Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": hard + 1}],
                                        "Binds": [f"{tmp_path}/never-made:/x"]})
    assert not (tmp_path / "never-made").exists()
    assert not (tmp_path / "ctr").exists()


def test_sysctls_only_namespaced():
    ns = Namespaces()
    assert validate_sysctls({"net.core.somaxconn": 1024, "kernel.shmmax": "1"}, ns) == {
        "net.core.somaxconn": "1024", "kernel.shmmax": "1"}
    with pytest.raises(InvalidArgument, match="'kernel.pid_max' is not whitelisted"):
        validate_sysctls({"kernel.pid_max": "5"}, ns)
    with pytest.raises(InvalidArgument, match="not allowed in host network namespace"):
        validate_sysctls({"net.ipv4.ip_forward": "1"}, Namespaces(net=HOST))
    with pytest.raises(InvalidArgument, match="host IPC namespace"):
        validate_sysctls({"fs.mqueue.msg_max": "5"}, Namespaces(ipc=HOST))


def test_namespace_modes(tmp_path, layers):
    s = spec_of(tmp_path, layers, host={"NetworkMode": "host", "PidMode": "host", "IpcMode": "host"})
    assert (s.namespaces.net, s.namespaces.pid, s.namespaces.ipc) == (HOST, HOST, HOST)
    assert s.shm_source == "/dev/shm"
    assert s.hostname == __import__("socket").gethostname()
    s = spec_of(tmp_path, layers, host={"NetworkMode": "container:db", "IpcMode": "container:db",
                                        "PidMode": "container:db"}, container_pid=lambda ref: 4242)
    assert s.namespaces.net == "/proc/4242/ns/net" and s.namespaces.pid == "/proc/4242/ns/pid"
    assert s.namespaces.ipc == "/proc/4242/ns/ipc" and s.shm_source == "/proc/4242/root/dev/shm"
    s = spec_of(tmp_path, layers, host={"NetworkMode": "mynet", "IpcMode": "none"})
    assert s.namespaces.net == NEW and s.ipc_none
    with pytest.raises(InvalidArgument, match="needs the other container to be running"):
        spec_of(tmp_path, layers, host={"NetworkMode": "container:db"})
    with pytest.raises(InvalidArgument, match="invalid IPC mode: bogus"):
        spec_of(tmp_path, layers, host={"IpcMode": "bogus"})


def test_privileged_and_misc(tmp_path, layers):
    s = spec_of(tmp_path, layers, host={"Privileged": True, "Init": True, "ShmSize": 1 << 20},
                config={"Domainname": "example.org", "Tty": True})
    assert s.privileged and s.init and s.shm_size == 1 << 20 and s.domainname == "example.org"
    assert s.masked_paths == [] and s.readonly_paths == []
    assert s.process.capabilities == caps.mask(caps.tweak(["ALL"], None))
    assert s.process.terminal and "TERM=xterm" in s.process.env
    with pytest.raises(InvalidArgument, match="invalid --security-opt"):
        spec_of(tmp_path, layers, host={"SecurityOpt": ["bogus=1"]})


def test_container_network_mode_takes_the_other_containers_hostname(tmp_path, layers):
    # "the other container" is this process: its root's /etc/hostname is the host's
    try:
        expected = open("/etc/hostname").read().strip()
    except OSError:
        pytest.skip("no /etc/hostname here")
    s = spec_of(tmp_path, layers, {"Hostname": "stale"}, {"NetworkMode": "container:db"},
                container_pid=lambda ref: os.getpid())
    assert s.hostname == expected and s.namespaces.net == f"/proc/{os.getpid()}/ns/net"


def test_volumes_from_another_container(tmp_path, layers):
    other = {"Id": "b" * 64, "Image": "none", "Config": {"Volumes": {"/anon": {}}},
             "HostConfig": {"Binds": [f"{tmp_path}:/shared", "named:/data"], "Tmpfs": {"/run": ""}}}
    s = spec_of(tmp_path, layers, host={"VolumesFrom": ["other:ro"], "Binds": ["own:/data"]},
                container_record=lambda ref: other)
    by = {m.target: m for m in s.mounts}
    assert by["/shared"].source == str(tmp_path) and by["/shared"].readonly
    assert by["/data"].volume_name == "own"  # its own mount wins
    assert "/run" not in by  # tmpfs is not shared
    assert by["/anon"].volume_name == __import__("hashlib").sha256(f"{'b' * 64}:/anon".encode()).hexdigest()
    with pytest.raises(InvalidArgument, match="invalid mode for volumes-from: rx"):
        spec_of(tmp_path, layers, host={"VolumesFrom": ["other:rx"]}, container_record=lambda ref: other)


def test_volume_subpath(tmp_path, layers):
    vols = VolumeStore(tmp_path / "root")
    (vols.ensure("shared") / "app1").mkdir()
    os.symlink("/etc", vols.mountpoint("shared") / "evil")
    s = build_spec(rec({}, {"Mounts": [{"Type": "volume", "Source": "shared", "Target": "/data",
                                        "VolumeOptions": {"Subpath": "app1"}}]}),
                   {"Cmd": ["sh"]}, layers, tmp_path / "ctr", vols)
    assert (s.mounts[0].source, s.mounts[0].subpath) == (str(vols.mountpoint("shared")), "app1")
    with pytest.raises(InvalidArgument, match="cannot access path"):
        build_spec(rec({}, {"Mounts": [{"Type": "volume", "Source": "shared", "Target": "/d",
                                        "VolumeOptions": {"Subpath": "missing"}}]}),
                   {"Cmd": ["sh"]}, layers, tmp_path / "ctr", vols)
    (vols.mountpoint("shared") / "etc").mkdir()  # "evil" -> /etc resolves to the volume's own etc
    build_spec(rec({}, {"Mounts": [{"Type": "volume", "Source": "shared", "Target": "/d",
                                    "VolumeOptions": {"Subpath": "evil"}}]}),
               {"Cmd": ["sh"]}, layers, tmp_path / "ctr2", vols)
    with pytest.raises(InvalidArgument, match="relative path within the volume"):
        spec_of(tmp_path, layers, host={"Mounts": [{"Type": "volume", "Source": "v1", "Target": "/d",
                                                    "VolumeOptions": {"Subpath": "../x"}}]})


def test_seccomp_options_and_filter():
    from engine.runtime import seccomp
    from engine.runtime.build import _security_opts

    assert _security_opts([])["seccomp"] is True
    assert _security_opts(["seccomp=unconfined"])["seccomp"] is False
    assert _security_opts(["seccomp:unconfined"])["seccomp"] is False
    default = caps.mask(caps.tweak(None, None))
    assert {"mount", "unshare", "keyctl", "bpf", "setns"} <= set(seccomp.denied_syscalls(default))
    assert "mount" not in seccomp.denied_syscalls(caps.mask(caps.tweak(["SYS_ADMIN"], None)))
    assert "keyctl" in seccomp.denied_syscalls(caps.mask(caps.tweak(["ALL"], None)))


def test_seccomp_program_decisions():
    """Run the BPF program in a tiny interpreter: the decisions the kernel will take."""
    from engine.runtime import seccomp

    def decide(prog, nr, arch=seccomp.AUDIT_ARCH_X86_64, arg0=0):
        data, pc, acc = {0: nr, 4: arch, 16: arg0}, 0, 0
        while True:
            code, jt, jf, k = prog[pc]
            if code == 0x20:
                acc, pc = data[k], pc + 1
            elif code == 0x15:
                pc += 1 + (jt if acc == k else jf)
            elif code == 0x35:
                pc += 1 + (jt if acc >= k else jf)
            elif code == 0x45:
                pc += 1 + (jt if acc & k else jf)
            else:
                return k

    allow, eperm, enosys = seccomp.RET_ALLOW, seccomp.RET_ERRNO | 1, seccomp.RET_ERRNO | 38
    prog = seccomp.program(caps.mask(caps.tweak(None, None)))
    assert decide(prog, 0) == allow and decide(prog, 59) == allow  # read, execve
    assert decide(prog, 250) == eperm and decide(prog, 165) == eperm  # keyctl, mount
    assert decide(prog, 435) == enosys  # clone3: libc falls back to clone
    assert decide(prog, 56, arg0=0x01200011) == allow  # fork-like clone
    assert decide(prog, 56, arg0=0x10000011) == eperm  # clone(CLONE_NEWUSER)
    assert decide(prog, 1, arch=0x40000003) == eperm and decide(prog, 0x40000000) == eperm  # i386, x32
    assert decide(prog, 41, arg0=2) == allow and decide(prog, 41, arg0=40) == eperm  # socket: AF_VSOCK refused
    assert decide(prog, 135, arg0=0xFFFFFFFF) == allow and decide(prog, 135, arg0=0x40000) == eperm  # personality
    admin = seccomp.program(caps.mask(caps.tweak(["SYS_ADMIN"], None)))
    assert decide(admin, 165) == allow and decide(admin, 56, arg0=0x10000011) == allow
    assert decide(admin, 250) == eperm


def test_cgroupfs_layout_from_mountinfo(tmp_path):
    from engine.runtime.cgroupfs import host_layout

    hybrid = tmp_path / "hybrid"
    hybrid.write_text(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
        "50 1 0:40 / /other/cgroup rw - cgroup cgroup rw,pids\n")
    mounts, _ = host_layout(str(hybrid))
    assert mounts == [("cpu,cpuacct", "cgroup", "cpu,cpuacct"), ("systemd", "cgroup", "name=systemd"),
                      ("unified", "cgroup2", "")]
    v2 = tmp_path / "v2"
    v2.write_text("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
    assert host_layout(str(v2)) == ([("", "cgroup2", "")], [])


def _bpf(prog, nr, args=(), arch=None):
    """A small classic-BPF interpreter over seccomp_data (64-bit args split in words)."""
    from engine.runtime import seccomp

    data = {0: nr, 4: arch if arch is not None else seccomp.AUDIT_ARCH_X86_64}
    for i in range(6):
        a = args[i] if i < len(args) else 0
        data[16 + 8 * i], data[20 + 8 * i] = a & 0xFFFFFFFF, a >> 32
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == 0x20:
            acc, pc = data[k], pc + 1
        elif code == 0x54:
            acc, pc = acc & k, pc + 1
        elif code in (0x15, 0x25, 0x35, 0x45):
            ok = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if ok else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unknown BPF op {code:#x}")


def test_docker_json_seccomp_profiles():
    import json
    from engine.runtime import seccomp
    from engine.runtime.build import _security_opts
    from engine.runtime.syscalls_x86_64 import NR

    profile = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "syscalls": [
            {"names": ["read", "write", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_NE"}]},
            {"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 2, "value": 4, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},  # no PROT_EXEC
            {"names": ["lseek"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 1, "value": 1 << 33, "op": "SCMP_CMP_LT"}, {"index": 2, "value": 2, "op": "SCMP_CMP_LE"}]},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1 << 32, "op": "SCMP_CMP_GT"}]},
            {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]},
        ]}
    allow, eperm = seccomp.RET_ALLOW, seccomp.RET_ERRNO | 1
    prog = seccomp.profile_program(profile, caps.mask(caps.tweak(None, None)))
    assert _bpf(prog, NR["read"]) == allow and _bpf(prog, NR["getpid"]) == eperm
    assert _bpf(prog, NR["kill"], (1, 15)) == allow and _bpf(prog, NR["kill"], (1, 0)) == eperm
    assert _bpf(prog, NR["mmap"], (0, 4096, 3)) == allow and _bpf(prog, NR["mmap"], (0, 4096, 7)) == eperm
    assert _bpf(prog, NR["lseek"], (3, 100, 2)) == allow
    assert _bpf(prog, NR["lseek"], (3, 1 << 34, 0)) == eperm and _bpf(prog, NR["lseek"], (3, 5, 3)) == eperm
    assert _bpf(prog, NR["mount"]) == eperm  # the rule needs CAP_SYS_ADMIN
    assert _bpf(prog, NR["chmod"]) == seccomp.RET_ERRNO | 13
    assert _bpf(prog, NR["dup"], ((1 << 32) + 1,)) == allow and _bpf(prog, NR["dup"], (3,)) == allow
    assert _bpf(prog, NR["dup"], (4,)) == eperm
    assert _bpf(prog, NR["read"], arch=0x40000003) == eperm
    admin = seccomp.profile_program(profile, caps.mask(caps.tweak(["SYS_ADMIN"], None)))
    assert _bpf(admin, NR["mount"]) == allow
    # the docker CLI sends the file's content; a path works too
    assert _security_opts([f"seccomp={json.dumps(profile)}"])["seccomp_profile"] == profile
    assert _security_opts([f"seccomp:{json.dumps(profile)}"])["seccomp_profile"] == profile
    with pytest.raises(InvalidArgument, match="opening seccomp profile"):
        _security_opts(["seccomp=/nonexistent/profile.json"])
    with pytest.raises(InvalidArgument, match="unknown action"):
        seccomp.profile_program({"defaultAction": "SCMP_ACT_BOGUS"}, 0)
