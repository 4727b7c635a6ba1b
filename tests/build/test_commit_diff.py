"""`pycompose container commit|diff|attach` as a subprocess on real busybox containers (root).

What a docker user sees: diff's A/C/D lines for files added, changed and deleted in a
running container (and nothing for a fresh one), commit printing sha256:<id> with the
image running and holding the changes, -c/-m/-a in its config, attach relaying a
terminal until the detach keys (exit 1, "read escape sequence", container still up),
--sig-proxy, --no-stdin, and docker's errors.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import select
import signal
import subprocess

import pytest

from pycli import Cli

pytestmark = pytest.mark.root


@pytest.fixture
def pc(busybox, session_root):
    """pc(*args) -> CompletedProcess of `pycompose ARGS`; pc.spawn(*args, **popen) -> Popen; the
    containers named by pc.name() and the images added to pc.images are removed after the test."""
    cli = Cli(session_root, name_prefix="pyc-commit")
    yield cli
    cli.cleanup()


def _running(pc, *run_args) -> str:
    n = pc.name()
    r = pc("container", "run", "-d", "--name", n, *run_args)
    assert r.returncode == 0, r.stderr
    return n


def test_diff_of_a_fresh_container_is_empty(pc):
    n = _running(pc, "busybox", "sleep", "300")
    r = pc("container", "diff", n)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), "runtime mount points are not changes"


def test_diff_shows_added_changed_deleted_like_docker(pc):
    n = _running(pc, "busybox", "sleep", "300")
    ex = pc("container", "exec", n, "sh", "-c",
            "echo new > /added; echo more >> /etc/passwd; rm /etc/group; mkdir -p /tmp/d/e; touch /tmp/d/e/f")
    assert ex.returncode == 0, ex.stderr
    r = pc("container", "diff", n)
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["A /added", "C /etc", "D /etc/group", "C /etc/passwd", "C /tmp",
                                     "A /tmp/d", "A /tmp/d/e", "A /tmp/d/e/f"]


def test_commit_makes_an_image_that_runs_with_the_changes(pc):
    n = _running(pc, "busybox", "sleep", "300")
    assert pc("container", "exec", n, "sh", "-c", "echo hello > /added; rm /etc/group").returncode == 0
    tag = f"pyc-committed-{secrets.token_hex(3)}:v1"
    pc.images.append(tag)
    r = pc("container", "commit", "-m", "my message", "-a", "Jane <jane@example.com>",
           "-c", 'CMD ["cat", "/added"]', "-c", "ENV MODE=committed", n, tag)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout)
    iid = r.stdout.strip()
    run = pc("container", "run", "--rm", tag)
    assert (run.returncode, run.stdout) == (0, "hello\n")
    run = pc("container", "run", "--rm", tag, "sh", "-c", "echo $MODE; test -e /etc/group || echo gone")
    assert run.stdout == "committed\ngone\n"
    info = json.loads(pc("image", "inspect", tag).stdout)[0]
    assert info["Id"] == iid
    assert info["Config"]["Cmd"] == ["cat", "/added"]
    assert (info["Comment"], info["Author"]) == ("my message", "Jane <jane@example.com>")
    base = json.loads(pc("image", "inspect", "busybox").stdout)[0]
    assert info["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"], "one new layer on the image's"
    state = json.loads(pc("container", "inspect", n).stdout)[0]["State"]
    assert (state["Status"], state["Paused"]) == ("running", False), "paused during the commit only"


def test_commit_without_pause_and_positional_pause_flag(pc):
    n = _running(pc, "busybox", "sleep", "300")
    r = pc("container", "commit", "--pause=false", n)
    assert r.returncode == 0, r.stderr
    pc.images.append(r.stdout.strip())
    r = pc("container", "commit", "-p", n)  # a Go bool flag: n is the container, not -p's value
    assert r.returncode == 0, r.stderr
    pc.images.append(r.stdout.strip())


def test_commit_with_a_bad_change_fails_and_makes_nothing(pc):
    n = _running(pc, "busybox", "sleep", "300")
    before = pc("image", "ls", "-q", "-a").stdout
    r = pc("container", "commit", "-c", "RUN echo no", n, "pyc-never:made")
    assert r.returncode == 1 and "RUN is not a valid change command" in r.stderr
    assert "Traceback" not in r.stderr
    assert pc("image", "ls", "-q", "-a").stdout == before
    r = pc("container", "commit", "no-such-container-xyz")
    assert r.returncode == 1 and "No such container: no-such-container-xyz" in r.stderr


def _read_until(fd: int, pattern: bytes, limit: float = 60.0) -> bytes:
    """Read a pty master until ``pattern`` shows up (``limit`` only bounds a broken run)."""
    import time

    buf, end = b"", time.monotonic() + limit
    while pattern not in buf:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            raise AssertionError(f"{pattern!r} never came; got {buf!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def _attach_on_pty(pc, *args):
    master, slave = os.openpty()
    proc = pc.spawn("container", "attach", *args, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    return proc, master


@pytest.mark.parametrize("keys, typed", [(None, b"\x10\x11"), ("ctrl-x,z", b"\x18z")])
def test_attach_tty_relays_until_the_detach_keys(pc, keys, typed):
    n = _running(pc, "-it", "busybox", "sh")
    flags = [f"--detach-keys={keys}"] if keys else []
    proc, master = _attach_on_pty(pc, *flags, n)
    try:
        os.write(master, b"echo rel''ayed\r")
        _read_until(master, b"relayed")
        os.write(master, typed)
        out = _read_until(master, b"read escape sequence")
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill() if proc.poll() is None else None
        os.close(master)
    assert b"read escape sequence" in out
    st = json.loads(pc("container", "inspect", n).stdout)[0]["State"]
    assert st["Running"], "detaching leaves the container running"


def test_attach_returns_the_exit_code_when_the_container_ends(pc):
    n = _running(pc, "-it", "busybox", "sh")
    proc, master = _attach_on_pty(pc, n)
    try:
        os.write(master, b"echo ready\r")
        _read_until(master, b"ready\r\n")
        os.write(master, b"exit 5\r")
        assert proc.wait(timeout=60) == 5
    finally:
        proc.kill() if proc.poll() is None else None
        os.close(master)


def _ticked(pc, n: str, proc) -> None:
    """Wait until the attach streams (so its signal handlers are in place): make the container tick."""
    while True:
        pc("container", "exec", n, "touch", "/tmp/go")
        r, _, _ = select.select([proc.stdout], [], [], 2)
        if r and b"tick" in proc.stdout.readline():
            return


TICKER = "trap 'echo got TERM; exit 3' TERM; while true; do [ -e /tmp/go ] && rm /tmp/go && echo tick; sleep 0.1; done"


def test_attach_proxies_signals_by_default(pc):
    n = _running(pc, "busybox", "sh", "-c", TICKER)
    proc = pc.spawn("container", "attach", "--no-stdin", n, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _ticked(pc, n, proc)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3 and b"got TERM" in out
    finally:
        proc.kill() if proc.poll() is None else None


def test_attach_without_sig_proxy_leaves_the_container_alone(pc):
    n = _running(pc, "busybox", "sh", "-c", TICKER)
    proc = pc.spawn("container", "attach", "--sig-proxy=false", n, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        _ticked(pc, n, proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGTERM
    finally:
        proc.kill() if proc.poll() is None else None
    assert json.loads(pc("container", "inspect", n).stdout)[0]["State"]["Running"]


def test_attach_no_stdin_does_not_relay_input(pc):
    # the container says "tick" each second until a line arrives, so the --no-stdin attach is
    # known to be attached (it has seen a tick) before anything is typed into either attach
    n = _running(pc, "-i", "busybox", "sh", "-c", "while ! read -t 1 x; do echo tick; done; echo got $x")
    quiet = pc.spawn("container", "attach", "--no-stdin", n, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        ready, _, _ = select.select([quiet.stdout], [], [], 60)
        assert ready and quiet.stdout.readline() == b"tick\n", "the --no-stdin attach never saw the output"
        quiet.stdin.write(b"first\n")
        quiet.stdin.flush()
        r = pc("container", "attach", n, input="second\n")
        assert r.returncode == 0 and r.stdout.endswith("got second\n"), r.stdout
        assert "got first" not in r.stdout
        out, _ = quiet.communicate(timeout=60)
        assert out.endswith(b"got second\n"), "the --no-stdin attach saw the output, its input went nowhere"
        assert b"got first" not in out
    finally:
        quiet.kill() if quiet.poll() is None else None


def test_attach_errors(pc):
    n = pc.name()
    assert pc("container", "create", "--name", n, "busybox", "true").returncode == 0
    r = pc("container", "attach", n)
    assert r.returncode == 1 and "You cannot attach to a stopped container, start it first" in r.stderr
    m = _running(pc, "busybox", "sleep", "300")
    r = pc("container", "attach", "--detach-keys=ctrl-1", m)
    assert r.returncode == 1 and "Invalid detach keys (ctrl-1) provided" in r.stderr
    assert "Traceback" not in r.stderr
