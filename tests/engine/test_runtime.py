"""The container runtime against the real kernel: start() with a busybox layer."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.errors import InvalidArgument
from engine.runtime.errors import StartError
from engine.runtime.spec import HOST, Mount, Rlimit

from runtime_helpers import make_spec, run

pytestmark = pytest.mark.root


def host_mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if str(path) in line]


def sh(layer, cdir, script, **kw):
    return run(make_spec(layer, cdir, ["sh", "-c", script], **kw))


def test_command_is_pid1_and_ps_sees_only_the_container(layer, cdir):
    code, out = sh(layer, cdir, "echo pid=$$; ps -o pid,comm; true")
    assert code == 0, out
    assert "pid=1" in out
    pids = [l.split()[0] for l in out.splitlines()[2:] if l.strip()]
    assert pids == ["1", "2"], out


def test_hostname_and_etc_files(layer, cdir):
    code, out = sh(layer, cdir, "hostname; cat /etc/hostname; grep -c localhost /etc/hosts; test -s /etc/resolv.conf && echo resolv",
                   hostname="web-1", domainname="example.org")
    assert code == 0, out
    assert out.splitlines()[:2] == ["web-1", "web-1"]
    assert "resolv" in out


def test_host_files_are_invisible(layer, cdir):
    code, out = sh(layer, cdir, "ls /; test -e /work && echo LEAK; test -e /usr/bin/python3 && echo LEAK; true")
    assert code == 0
    assert "LEAK" not in out
    assert sorted(out.split()) == sorted(["bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "var"])


def test_masked_and_readonly_proc_paths(layer, cdir):
    code, out = sh(layer, cdir, "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
                                "echo 1 > /proc/sys/kernel/domainname && echo WROTE; "
                                "test -e /proc/kcore || echo nokcore")
    assert code == 0, out
    lines = out.split("\n")
    assert lines[0].strip() == "0"  # /proc/timer_list reads empty
    assert lines[1].strip() == "0"  # /sys/firmware is an empty tmpfs
    assert "Read-only file system" in out and "WROTE" not in out
    assert "nokcore" in out  # this kernel lacks /proc/kcore: skipped, not created


def test_default_capabilities_match_docker(layer, cdir):
    code, out = sh(layer, cdir, "grep -E 'Cap(Eff|Bnd|Prm|Inh|Amb)' /proc/self/status")
    assert code == 0
    caps = dict(l.split(":\t") for l in out.strip().splitlines())
    assert caps["CapEff"] == "00000000a80425fb"
    assert caps["CapBnd"] == "00000000a80425fb"
    assert caps["CapInh"] == caps["CapAmb"] == "0000000000000000"


def test_cap_drop_all_leaves_nothing(layer, cdir):
    code, out = sh(layer, cdir, "grep -E 'CapEff|CapBnd' /proc/self/status; chown 1 /tmp || echo denied",
                   capabilities=0)
    assert "CapEff:\t0000000000000000" in out and "CapBnd:\t0000000000000000" in out
    assert "denied" in out


def test_no_new_privs(layer, cdir):
    _, out = sh(layer, cdir, "grep NoNewPrivs /proc/self/status", no_new_privs=True)
    assert "NoNewPrivs:\t1" in out
    _, out = sh(layer, cdir, "grep NoNewPrivs /proc/self/status")
    assert "NoNewPrivs:\t0" in out


def test_readonly_root_holds_but_tmpfs_and_dev_are_writable(layer, cdir):
    code, out = sh(layer, cdir, "touch /x 2>&1; touch /root/x 2>&1; touch /scratch/ok && echo tmpfs-ok; "
                                "echo hi > /dev/shm/a && echo shm-ok; echo 1 > /dev/null && echo null-ok",
                   readonly_rootfs=True, mounts=[Mount(type="tmpfs", target="/scratch")])
    assert out.count("Read-only file system") == 2, out
    assert "tmpfs-ok" in out and "shm-ok" in out and "null-ok" in out


def test_bind_mounts_rw_and_ro(layer, cdir, tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "in.txt").write_text("from host\n")
    code, out = sh(layer, cdir, "cat /ro/in.txt; touch /ro/new 2>&1; echo written > /rw/out.txt",
                   mounts=[Mount(type="bind", source=str(src), target="/ro", readonly=True),
                           Mount(type="bind", source=str(src), target="/rw")])
    assert "from host" in out
    assert "Read-only file system" in out
    assert (src / "out.txt").read_text() == "written\n"
    assert not (src / "new").exists()


def test_bind_target_symlinked_out_of_the_root_does_not_escape(layer, cdir, tmp_path):
    # The image ships /escape -> ../../../../../<victim>; the mount must land inside the root.
    victim = tmp_path / "victim"
    victim.mkdir()
    evil_layer = tmp_path / "evil"
    evil_layer.mkdir()
    os.symlink("../../../../../../../.." + str(victim), evil_layer / "escape")
    os.symlink(str(victim), evil_layer / "abs")
    src = tmp_path / "src"
    src.mkdir()
    (src / "marker").write_text("x")
    spec = make_spec(layer, cdir, ["sh", "-c", "ls /escape /abs"],
                     mounts=[Mount(type="bind", source=str(src), target="/escape"),
                             Mount(type="bind", source=str(src), target="/abs/sub")])
    spec.layers = [layer, evil_layer]
    code, out = run(spec)
    assert code == 0, out
    assert os.listdir(victim) == []  # nothing created or mounted on the host victim
    assert "marker" in out
    assert not host_mounts_under(victim)


def test_env_and_working_dir_created(layer, cdir):
    code, out = sh(layer, cdir, "pwd; echo $FOO", env=["PATH=/bin", "FOO=bar baz"], cwd="/srv/app")
    assert code == 0
    assert out.splitlines() == ["/srv/app", "bar baz"]


def test_user_and_groups_are_applied(layer, cdir):
    code, out = sh(layer, cdir, "id -u; id -g; id -G; grep CapEff /proc/self/status",
                   uid=1000, gid=1000, additional_gids=[10, 50])
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "1000" and lines[1] == "1000"
    assert set(lines[2].split()) == {"1000", "10", "50"}
    assert lines[3] == "CapEff:\t0000000000000000"  # like Docker: a non-root user execs without caps


def test_exit_code_is_the_commands(layer, cdir):
    code, _ = sh(layer, cdir, "exit 42")
    assert code == 42


def test_command_not_found_is_reported_with_dockers_wording(layer, cdir):
    spec = make_spec(layer, cdir, ["no-such-cmd", "x"])
    with pytest.raises(StartError) as e:
        run(spec)
    assert str(e.value) == 'exec: "no-such-cmd": executable file not found in $PATH'
    assert e.value.status == 127
    assert not host_mounts_under(cdir)


def test_absolute_command_missing_and_not_executable(layer, cdir):
    with pytest.raises(StartError, match=r'exec: "/nope": stat /nope: no such file or directory'):
        run(make_spec(layer, cdir, ["/nope"]))
    with pytest.raises(StartError, match=r'exec: "/etc/passwd": permission denied') as e:
        run(make_spec(layer, cdir, ["/etc/passwd"]))
    assert e.value.status == 126


def test_rlimits_applied_and_above_host_hard_limit_refused_before_anything(layer, cdir):
    code, out = sh(layer, cdir, "ulimit -n; ulimit -Hn", rlimits=[Rlimit("nofile", 1000, 2000)])
    assert out.split() == ["1000", "2000"]
    other = cdir.parent / "other"
    with pytest.raises(InvalidArgument, match=r"ulimit nofile: hard limit 30000 is above the host's hard limit"):
        run(make_spec(layer, other, ["true"], rlimits=[Rlimit("nofile", 1024, 30000)]))
    assert not other.exists()  # refused before anything was created


def test_sysctls_are_set_in_the_container_only(layer, cdir):
    host = open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read()
    code, out = sh(layer, cdir, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni",
                   sysctls={"net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmni": "1234"})
    assert out.split() == ["80", "1234"], out
    assert open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read() == host


def test_new_network_namespace_has_only_loopback_and_host_mode_shares(layer, cdir):
    _, out = sh(layer, cdir, "ls /sys/class/net")
    assert out.split() == ["lo"]
    spec = make_spec(layer, cdir, ["readlink", "/proc/self/ns/net"])
    spec.namespaces.net = HOST
    _, out = run(spec)
    assert out.strip() == os.readlink("/proc/self/ns/net")  # the host's network namespace itself


def test_pid_host_sees_host_processes(layer, cdir):
    spec = make_spec(layer, cdir, ["sh", "-c", "test -d /proc/1 && test -d /proc/%d && echo host" % os.getpid()])
    spec.namespaces.pid = HOST
    code, out = run(spec)
    assert "host" in out


def test_prestart_runs_while_the_container_waits(layer, cdir, tmp_path):
    seen = {}

    def prestart(pid):
        seen["pid"] = pid
        seen["net"] = os.readlink(f"/proc/{pid}/ns/net")
        (cdir / "hosts").write_text("10.1.2.3 db\n")  # networking writes /etc/hosts here

    code, out = run(make_spec(layer, cdir, ["sh", "-c", "cat /etc/hosts; readlink /proc/1/ns/net"]),
                    prestart=prestart)
    assert code == 0
    assert "10.1.2.3 db" in out
    assert seen["net"] in out and seen["net"] != os.readlink("/proc/self/ns/net")


def test_prestart_failure_leaves_nothing_running(layer, cdir):
    pids = []

    def prestart(pid):
        pids.append(pid)
        raise RuntimeError("network setup failed")

    with pytest.raises(RuntimeError):
        run(make_spec(layer, cdir, ["sleep", "100"]), prestart=prestart)
    assert not os.path.exists(f"/proc/{pids[0]}")


def test_init_reaps_zombies_and_forwards_signals(layer, cdir):
    # The command leaves an orphan that exits; with init it is reaped, and TERM reaches the command.
    script = ("(sleep 0.1 &) ; trap 'echo got-term; exit 3' TERM; echo ready; "
              "while :; do sleep 0.05; done")
    spec = make_spec(layer, cdir, ["sh", "-c", script], init=True)
    from engine.runtime.start import start

    r, w = os.pipe()
    pid = start(spec, (0, w, w))
    os.close(w)
    f = os.fdopen(r, "rb")
    assert f.readline() == b"ready\n"
    comm = open(f"/proc/{pid}/comm").read().strip()
    os.kill(pid, 15)
    rest = f.read().decode()
    f.close()
    _, status = os.waitpid(pid, 0)
    assert comm == "init"
    assert "got-term" in rest
    assert os.waitstatus_to_exitcode(status) == 3


def test_nothing_is_mounted_on_the_host_after_exit(layer, cdir):
    code, _ = sh(layer, cdir, "true", mounts=[Mount(type="tmpfs", target="/t")])
    assert code == 0
    assert not host_mounts_under(cdir)
    assert os.listdir(cdir / "merged") == []


def test_signals_are_reset_for_the_command(layer, cdir):
    # Python ignores SIGPIPE; the container's command must not inherit that (or a blocked mask).
    code, out = run(make_spec(layer, cdir, ["grep", "-E", "SigIgn|SigBlk", "/proc/self/status"]))
    assert "SigIgn:\t0000000000000000" in out and "SigBlk:\t0000000000000000" in out


def _read_all(master: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the slave side is gone
            return out
        if not chunk:
            return out
        out += chunk


def test_terminal_allocated_in_the_containers_devpts(layer, cdir):
    from engine.runtime.start import start

    spec = make_spec(layer, cdir, ["sh", "-c", "tty; test -t 1 && echo isatty; ls -l /dev/console"])
    spec.process.terminal = True
    got = []
    pid = start(spec, None, console=got.append)
    out = _read_all(got[0]).decode().replace("\r", "")
    os.close(got[0])
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert out.splitlines()[0] == "/dev/pts/0" and "isatty" in out, out
    assert "136," in out  # /dev/console is the pty (major 136)


def test_terminal_from_a_host_pty(layer, cdir):
    from engine.runtime.start import start

    master, slave = os.openpty()
    spec = make_spec(layer, cdir, ["sh", "-c", "test -t 0 && echo isatty"])
    spec.process.terminal = True
    pid = start(spec, (slave, slave, slave))
    os.close(slave)
    out = _read_all(master).decode()
    os.close(master)
    os.waitpid(pid, 0)
    assert "isatty" in out


def test_many_layers_beyond_one_page_of_mount_options(layer, cdir, tmp_path):
    own = tmp_path / "base"
    shutil.copytree(layer, own, symlinks=True)
    layers = []
    for i in range(80):  # 80 x ~70-char paths > the 4096-byte mount data limit
        d = tmp_path / ("layer-%03d-" % i + "x" * 60)
        d.mkdir()
        (d / f"f{i}").write_text(str(i))
        layers.append(d)
    spec = make_spec(layer, cdir, ["sh", "-c", "cat /f0 /f79"])
    spec.layers = [own] + layers
    code, out = run(spec)
    assert code == 0 and out == "079", out


def test_restart_keeps_the_containers_filesystem(layer, cdir):
    assert sh(layer, cdir, "echo kept > /root/state")[0] == 0
    code, out = sh(layer, cdir, "cat /root/state")
    assert (code, out) == (0, "kept\n")
    assert not os.path.exists(layer / "root" / "state")  # written to the container's upper dir only


def test_start_from_a_worker_thread(layer, cdir):
    import threading

    result = {}

    def worker():
        result["r"] = sh(layer, cdir, "echo from-thread")

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert result["r"] == (0, "from-thread\n")


def test_mount_failure_names_the_container_path(layer, cdir, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StartError, match="mount /etc in the container: Not a directory") as e:
        run(make_spec(layer, cdir, ["true"], mounts=[Mount(type="bind", source=str(f), target="/etc")]))
    assert e.value.status == 125
    assert not host_mounts_under(cdir)


def test_failed_start_with_a_terminal_leaks_no_fd(layer, cdir):
    from engine.runtime.start import start

    spec = make_spec(layer, cdir, ["no-such-cmd"])
    spec.process.terminal = True
    got = []
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(StartError, match="executable file not found"):
        start(spec, None, console=got.append)
    assert got == []  # the caller is handed a terminal only when the command runs
    assert len(os.listdir("/proc/self/fd")) == before
