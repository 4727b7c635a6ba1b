"""`pycompose container ...` as a subprocess with PYCOMPOSE_ROOT set to the session root: docker's
verbs, flags, columns, messages and exit codes, with real busybox containers. Each test removes
what it made."""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pycli import Cli

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pc(busybox, session_root):
    """pc(*args, input=None) -> CompletedProcess of `pycompose container ARGS` (text); pc.name() hands
    out container names removed after the test."""
    cli = Cli(session_root, "container", name_prefix="pyc-cli")
    yield cli
    cli.cleanup()


def test_create_start_inspect_ls_stop_rm_round_trip(pc):
    n = pc.name()
    r = pc("create", "--name", n, "-l", "pyc.cli=round", "busybox", "sleep", "300")
    assert r.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", r.stdout)
    cid = r.stdout.strip()
    ls = pc("ls", "-a", "--filter", "label=pyc.cli=round")
    lines = ls.stdout.splitlines()
    assert re.match(r"CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$", lines[0])
    assert lines[1].startswith(cid[:12]) and '"sleep 300"' in lines[1] and "Created" in lines[1]
    assert lines[1].rstrip().endswith(n)
    assert pc("start", n).stdout == f"{n}\n"
    assert pc("inspect", "--format", "{{.State.Status}} {{.State.Running}}", n).stdout == "running true\n"
    assert pc("ps", "-q", "--filter", "label=pyc.cli=round").stdout == f"{cid[:12]}\n"
    assert pc("ps", "-q", "--no-trunc", "--filter", "label=pyc.cli=round").stdout == f"{cid}\n"
    js = [json.loads(x) for x in pc("ps", "--format", "json", "--filter", "label=pyc.cli=round").stdout.splitlines()]
    assert js[0]["ID"] == cid[:12] and js[0]["Names"] == n and js[0]["State"] == "running"
    assert js[0]["Status"].startswith("Up ") and js[0]["Labels"] == "pyc.cli=round"
    assert pc("ps", "--format", "{{.Names}}\t{{.Image}}", "--filter", f"name={n}").stdout == f"{n}\tbusybox\n"
    r = pc("rm", n)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (f'Error response from daemon: cannot remove container "/{n}": container is '
                                "running: stop the container before removing or force remove")
    assert pc("stop", "-t", "1", n).stdout == f"{n}\n"
    assert pc("inspect", "-f", "{{.State.ExitCode}}", n).stdout == "137\n"
    assert "Exited (137)" in pc("ps", "-a", "--filter", f"name={n}").stdout
    assert pc("rm", n).stdout == f"{n}\n"
    r = pc("inspect", n)
    assert r.returncode == 1 and r.stdout == "[]\n" and r.stderr == f"Error: No such container: {n}\n"


def test_run_foreground_output_and_exit_code(pc):
    n = pc.name()
    r = pc("run", "--name", n, "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n")
    assert pc("inspect", "-f", "{{.State.Status}}/{{.State.ExitCode}}", n).stdout == "exited/7\n"


def test_run_longer_than_the_first_exit_wait_is_followed(pc):
    """A foreground run still going after the first wait for its exit (engine.cli.container
    FIRST_EXIT_WAIT) has its output followed: the same output and exit code as a short one."""
    n = pc.name()
    r = pc("run", "--rm", "--name", n, "busybox", "sh", "-c", "echo first; sleep 0.3; echo second >&2; exit 4")
    assert (r.returncode, r.stdout, r.stderr) == (4, "first\n", "second\n")


def test_run_streams_output_while_the_container_runs(pc):
    """The first line is printed while the container still runs (not only at its exit)."""
    n = pc.name()
    proc = pc.spawn("run", "--rm", "--name", n, "busybox", "sh", "-c", "echo ready; sleep 60",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        assert proc.poll() is None  # still running: the line came before the exit
    finally:
        pc("kill", n)
        proc.wait(timeout=60)
    assert proc.returncode == 137


def test_run_rm_leaves_nothing(pc):
    n = pc.name()
    r = pc("run", "--rm", "--name", n, "-v", "/anon", "busybox", "sh", "-c", "echo bye; exit 3")
    assert (r.returncode, r.stdout) == (3, "bye\n")
    assert pc("ps", "-a", "-q", "--filter", f"name={n}").stdout == ""


def test_run_missing_command_is_one_line_127(pc):
    n = pc.name()
    r = pc("run", "--name", n, "busybox", "no-such-binary")
    assert r.returncode == 127
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "executable file not found" in r.stderr


def test_run_detached_then_logs(pc):
    n = pc.name()
    r = pc("run", "-d", "--name", n, "busybox", "sh", "-c", "for i in 1 2 3; do echo line $i; done; echo e >&2")
    assert re.fullmatch(r"[0-9a-f]{64}\n", r.stdout)
    assert pc("wait", n).stdout == "0\n"
    assert pc("logs", n).stdout == "line 1\nline 2\nline 3\n"
    assert pc("logs", n).stderr == "e\n"
    assert pc("logs", "-n", "2", n).stdout == "line 3\n"  # the last two entries: "line 3" and "e" (stderr)
    ts = pc("logs", "-t", n).stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line \d$", x) for x in ts)
    assert pc("logs", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02", n).stdout == ""


def test_logs_follow_ends_when_the_container_stops(pc):
    n = pc.name()
    pc("run", "-d", "--name", n, "busybox", "sh", "-c", "echo start; sleep 2; echo end")
    r = pc("logs", "-f", n, timeout=60)
    assert r.returncode == 0 and r.stdout == "start\nend\n"


def test_exec_output_exit_code_and_flags(pc):
    n = pc.name()
    pc("run", "-d", "--name", n, "-e", "C=container", "busybox", "sleep", "300")
    r = pc("exec", "-e", "X=1", "-w", "/tmp", "-u", "65534", n, "sh", "-c", "echo $C $X $(pwd) $(id -u); exit 4")
    assert (r.returncode, r.stdout) == (4, "container 1 /tmp 65534\n")
    r = pc("exec", "-i", n, "cat", input="piped in")
    assert (r.returncode, r.stdout) == (0, "piped in")
    r = pc("exec", n, "nope")
    assert r.returncode == 127 and "executable file not found" in r.stderr
    assert pc("exec", "-d", n, "sh", "-c", "echo bg > /tmp/bg").returncode == 0
    r = pc("exec", n, "sh", "-c", "while [ ! -s /tmp/bg ]; do sleep 0.1; done; cat /tmp/bg")
    assert r.stdout == "bg\n"


def test_inspect_templates(pc):
    n = pc.name()
    pc("create", "--name", n, "-l", "a=1", "-l", "b=two", "--restart", "on-failure:2", "busybox")
    assert pc("inspect", "-f", "{{.Name}}", n).stdout == f"/{n}\n"
    assert json.loads(pc("inspect", "-f", "{{json .Config.Labels}}", n).stdout) == {"a": "1", "b": "two"}
    assert pc("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
              n).stdout == "on-failure:2\n"
    assert pc("inspect", "-f", '{{index .Config.Labels "b"}}', n).stdout == "two\n"
    doc = json.loads(pc("inspect", n).stdout)
    assert isinstance(doc, list) and doc[0]["Name"] == f"/{n}" and doc[0]["Config"]["Cmd"] == ["sh"]


def test_concurrent_creates_and_lists_keep_state_consistent(pc):
    label = f"pyc.concurrent={secrets.token_hex(4)}"
    names = [pc.name("pyc-conc") for _ in range(10)]

    def create(n):
        return pc("create", "--name", n, "-l", label, "busybox", "true")

    def ls(_):
        return pc("ls", "-a", "--format", "json")

    with ThreadPoolExecutor(max_workers=12) as ex:
        creates = list(ex.map(create, names))
        lists = list(ex.map(ls, range(5)))
    assert all(r.returncode == 0 for r in creates), [r.stderr for r in creates]
    assert len({r.stdout.strip() for r in creates}) == 10
    assert all(r.returncode == 0 for r in lists)
    for r in lists:
        for line in r.stdout.splitlines():
            json.loads(line)  # never a torn record
    got = pc("ls", "-a", "--filter", f"label={label}", "--format", "{{.Names}}").stdout.split()
    assert sorted(got) == sorted(names)
    # the same name twice at once: exactly one wins
    dup = pc.name("pyc-dup")
    with ThreadPoolExecutor(max_workers=4) as ex:
        rs = list(ex.map(lambda _: pc("create", "--name", dup, "busybox"), range(4)))
    assert sorted(r.returncode for r in rs) == [0, 1, 1, 1]
    assert all("is already in use" in r.stderr for r in rs if r.returncode)


def test_lifecycle_verbs_top_stats_port_cp_rename_prune(pc, tmp_path):
    n = pc.name()
    pc("run", "-d", "--name", n, "busybox", "sleep", "300")
    top = pc("top", n).stdout.splitlines()
    assert re.match(r"UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD", top[0]) and top[1].endswith("sleep 300")
    st = pc("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", n)
    assert st.stdout == f"{n} 1\n"
    st = pc("stats", "--no-stream", n).stdout.splitlines()
    assert re.match(r"CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS", st[0])
    assert re.search(r"\d+\.\d\d%\s+[\d.]+[KMG]?i?B / [\d.]+[KMG]iB", st[1])
    assert pc("pause", n).stdout == f"{n}\n"
    assert "(Paused)" in pc("ps", "--filter", f"name={n}").stdout
    assert pc("unpause", n).stdout == f"{n}\n"
    assert pc("port", n).stdout == ""
    (tmp_path / "in.txt").write_text("copied")
    assert pc("cp", str(tmp_path / "in.txt"), f"{n}:/tmp/").returncode == 0
    assert pc("exec", n, "cat", "/tmp/in.txt").stdout == "copied"
    assert pc("cp", f"{n}:/tmp/in.txt", str(tmp_path / "back.txt")).returncode == 0
    assert (tmp_path / "back.txt").read_text() == "copied"
    r = pc("cp", f"{n}:/etc/hostname", "-")  # a tar stream on stdout
    assert r.returncode == 0 and "hostname" in r.stdout
    assert pc("kill", "-s", "TERM", n).returncode == 0  # pid 1 ignores TERM: still running
    assert pc("inspect", "-f", "{{.State.Running}}", n).stdout == "true\n"
    assert pc("kill", n).stdout == f"{n}\n"
    assert pc("wait", n).stdout == "137\n"
    new = pc.name()
    assert pc("rename", n, new).returncode == 0
    assert pc("inspect", "-f", "{{.Name}}", new).stdout == f"/{new}\n"
    r = pc("kill", new)
    assert r.returncode == 1 and "is not running" in r.stderr


def test_bad_flags_and_refs_are_one_line_errors(pc):
    r = pc("run", "--memory", "lots", "busybox")
    assert r.returncode == 1 and "invalid size" in r.stderr and "Traceback" not in r.stderr
    r = pc("start", "pyc-no-such-container")
    assert r.returncode == 1 and r.stderr == "Error response from daemon: No such container: pyc-no-such-container\n"
    r = pc("run", "--pull", "never", "nosuchimage:1")  # (a pull would ask Docker Hub: tests stay on loopback)
    assert r.returncode == 1 and "No such image: nosuchimage:1" in r.stderr
    r = pc("ls", "--filter", "colour=blue")
    assert r.returncode == 1 and "invalid filter 'colour'" in r.stderr


def test_run_interactive_tty(pc, session_root):
    n = pc.name()
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    cmd = f"{sys.executable} -m compose.cli.main container run -it --name {n} busybox sh"
    # script(1) gives the CLI a terminal; the shell reads our line from it and exits with 3
    p = subprocess.Popen(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=env, cwd=REPO)
    out = b""
    import select as _select
    import time as _time
    deadline = _time.monotonic() + 60
    sent = False
    while _time.monotonic() < deadline:
        r, _, _ = _select.select([p.stdout], [], [], 0.2)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        if not sent and b"built-in commands" in out:
            p.stdin.write(b"tty; echo in-the-tty; exit 3\r")
            p.stdin.flush()
            sent = True
    p.stdin.close()
    assert p.wait(30) == 3, out
    assert b"/dev/pts/0" in out and b"in-the-tty" in out


def test_exec_tty_and_create_refusals(pc, session_root):
    n = pc.name()
    pc("run", "-d", "--name", n, "busybox", "sleep", "300")
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    cmd = f"{sys.executable} -m compose.cli.main container exec -t {n} sh -c 'tty; exit 6'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL, capture_output=True,
                       env=env, cwd=REPO, timeout=60)
    assert r.returncode == 6 and re.search(rb"/dev/pts/\d+", r.stdout), r.stdout
    r = pc("create", "--network", "pyc-no-such-net", "busybox")
    assert r.returncode == 1 and r.stderr == "error: network pyc-no-such-net not found\n"
    r = pc("ls", "-a", "-q", "--filter", f"before={n}", "--filter", f"name={n}")
    assert r.stdout == ""


def test_run_interactive_stdin_pipe_ends_with_eof(pc):
    r = pc("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", input="abc\nxyz\n", timeout=60)
    assert (r.returncode, r.stdout) == (0, "abc\nxyz\ndone\n")


def test_cp_directory_forms_and_follow_link(pc, tmp_path):
    n = pc.name()
    pc("run", "-d", "--name", n, "busybox", "sleep", "300")
    pc("exec", n, "sh", "-c", "mkdir -p /d/sub && echo 1 > /d/a && echo 2 > /d/sub/b && ln -s /d/a /tmp/link")
    (tmp_path / "into").mkdir()
    assert pc("cp", f"{n}:/d", str(tmp_path / "into")).returncode == 0      # DIR into an existing dir
    assert pc("cp", f"{n}:/d", str(tmp_path / "named")).returncode == 0     # DIR as a new name
    (tmp_path / "contents").mkdir()
    assert pc("cp", f"{n}:/d/.", str(tmp_path / "contents")).returncode == 0  # DIR/. : its contents
    assert pc("cp", f"{n}:/tmp/link", str(tmp_path)).returncode == 0
    assert pc("cp", "-L", f"{n}:/tmp/link", str(tmp_path / "followed")).returncode == 0
    assert (tmp_path / "into" / "d" / "sub" / "b").read_text() == "2\n"
    assert (tmp_path / "named" / "a").read_text() == "1\n"
    assert sorted(p.name for p in (tmp_path / "contents").iterdir()) == ["a", "sub"]
    assert os.readlink(tmp_path / "link") == "/d/a"
    assert (tmp_path / "followed").read_text() == "1\n" and not (tmp_path / "followed").is_symlink()
    r = pc("cp", f"{n}:/nope", str(tmp_path))
    assert r.returncode == 1 and "Could not find the file /nope" in r.stderr


def test_prune_removes_only_stopped_containers_matching_the_filter(pc):
    label = f"pyc.prune={secrets.token_hex(4)}"
    done, running, other = pc.name(), pc.name(), pc.name()
    pc("run", "--name", done, "-l", label, "busybox", "true")
    pc("run", "-d", "--name", running, "-l", label, "busybox", "sleep", "300")
    pc("run", "--name", other, "busybox", "true")  # stopped, but without the label
    r = pc("prune", "-f", "--filter", f"label={label}")
    assert r.returncode == 0 and r.stdout.startswith("Deleted Containers:\n")
    assert "Total reclaimed space: " in r.stdout
    left = set(pc("ls", "-a", "--format", "{{.Names}}").stdout.split())
    assert done not in left and running in left and other in left


def test_published_port_shows_in_port_and_ps(pc):
    n = pc.name()
    assert pc("run", "-d", "--name", n, "-p", "127.0.0.1::80", "busybox", "sleep", "300").returncode == 0
    out = pc("port", n).stdout
    m = re.fullmatch(r"80/tcp -> 127\.0\.0\.1:(\d+)\n", out)
    assert m, out
    host_port = m.group(1)
    assert pc("port", n, "80").stdout == f"127.0.0.1:{host_port}\n"
    assert f"127.0.0.1:{host_port}->80/tcp" in pc("ps", "--filter", f"name={n}").stdout
    r = pc("port", n, "81/udp")
    assert r.returncode == 1 and r.stderr == f"Error: No public port '81/udp' published for {n}\n"
