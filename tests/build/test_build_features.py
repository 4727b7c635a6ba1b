"""More of what a Dockerfile author uses, built as root and run: ADD <url> with --checksum from a
loopback server, secrets, bind mounts from a stage, ONBUILD, stages built at the same time,
--no-cache-filter, cache export/import to a directory, the CLI's -f/--build-arg/--label/--iidfile,
and symlinks in the context never leading out of it.
"""
from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading

import pytest

from engine.api import Engine
from engine.build.errors import BuildError

from builder import REPO, logs, steps

pytestmark = pytest.mark.root


@pytest.fixture
def http_server(tmp_path):
    """A loopback HTTP server serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_add_url_with_checksum(bld, http_server):
    www, base = http_server
    (www / "tool.sh").write_text("echo from-url\n")
    good = "sha256:" + hashlib.sha256(b"echo from-url\n").hexdigest()
    ctx = bld.context({"Dockerfile": f"FROM busybox\nADD --checksum={good} {base}/tool.sh /opt/\n"})
    bld.build(ctx, "pyc-build-url:1")
    r = bld.run("pyc-build-url:1", "sh", "-c", "stat -c %a /opt/tool.sh; sh /opt/tool.sh")
    assert r.stdout == "600\nfrom-url\n"
    bad = bld.context({"Dockerfile": f"FROM busybox\nADD --checksum=sha256:{'0' * 64} {base}/tool.sh /opt/\n"},
                      "bad")
    with pytest.raises(BuildError, match="digest mismatch"):
        bld.build(bad)


def test_secrets_are_mounted_not_stored(bld, tmp_path, monkeypatch):
    (tmp_path / "token").write_text("s3cret-file")
    monkeypatch.setenv("PYC_TEST_TOKEN", "s3cret-env")
    ctx = bld.context({"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen-file\n"
        "RUN --mount=type=secret,id=envtok,env=TOKEN echo $TOKEN > /seen-env\n")})
    bld.build(ctx, "pyc-build-secret:1",
              secrets={"tok": {"file": str(tmp_path / "token")}, "envtok": {"env": "PYC_TEST_TOKEN"}})
    r = bld.run("pyc-build-secret:1", "sh", "-c", "cat /seen-file; echo; cat /seen-env; ls /run/secrets 2>&1")
    assert r.stdout.startswith("s3cret-file\ns3cret-env\n")
    assert "tok" not in r.stdout.split("s3cret-env\n", 1)[1]


def test_bind_mount_from_stage_and_onbuild(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox AS tools\n"
        "RUN mkdir /t && echo tool-data > /t/data\n"
        "ONBUILD RUN echo triggered > /onbuild\n"
        "FROM busybox\n"
        "RUN --mount=type=bind,from=tools,source=/t,target=/mnt cp /mnt/data /copied\n")})
    bld.build(ctx, "pyc-build-bind:1")
    assert bld.run("pyc-build-bind:1", "cat", "/copied").stdout == "tool-data\n"
    assert bld.run("pyc-build-bind:1", "ls", "/mnt").stdout == ""  # the mount is not in the image
    bld.build(ctx, "pyc-build-onbuild-base:1", target="tools")
    child = bld.context({"Dockerfile": "FROM pyc-build-onbuild-base:1\nRUN cat /onbuild\n"}, "child")
    iid, events = bld.build(child, "pyc-build-onbuild-child:1")
    assert "triggered" in logs(events)
    assert bld.eng.images.inspect(iid)["Config"]["OnBuild"] in (None, [])


def test_independent_stages_run_at_the_same_time(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox AS a\nRUN sleep 1 && echo a > /a\n"
        "FROM busybox AS b\nRUN sleep 1 && echo b > /b\n"
        "FROM busybox\nCOPY --from=a /a /\nCOPY --from=b /b /\n")})
    _, events = bld.build(ctx, "pyc-build-par:1", no_cache=True)
    names = {e["vertex"]: e["name"] for e in events if "name" in e}
    order = [(names[e["vertex"]], "start" if "name" in e else "end") for e in events
             if ("name" in e or "completed" in e) and "RUN" in names.get(e["vertex"], "")]
    # both RUNs start before either finishes
    assert [kind for _, kind in order] == ["start", "start", "end", "end"]
    assert bld.run("pyc-build-par:1", "cat", "/a", "/b").stdout == "a\nb\n"


def test_no_cache_filter_rebuilds_only_that_stage(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox AS base\nRUN echo base > /base\n"
        "FROM base AS app\nRUN echo app > /app\n")})
    bld.build(ctx, "pyc-build-ncf:1")
    _, events = bld.build(ctx, "pyc-build-ncf:1", no_cache_filter=["app"])
    st = steps(events)
    assert st == {"[base 2/2] RUN echo base > /base": True, "[app 2/2] RUN echo app > /app": False}


def test_cache_export_and_import_local(bld, tmp_path):
    ctx = bld.context({"Dockerfile": "FROM busybox\nRUN echo exported > /e\n"})
    cache_dir = tmp_path / "cache"
    iid, _ = bld.build(ctx, "pyc-build-cacheto:1", cache_to=[f"type=local,dest={cache_dir}"])
    assert (cache_dir / "index.json").is_file()
    other = Engine(str(tmp_path / "other-root"))
    try:
        other.images.load("/tmp/pycompose-busybox.tar")
        events: list[dict] = []
        iid2 = other.images.build(str(ctx), cache_from=[f"type=local,src={cache_dir}"], progress=events.append)
        assert iid2 == iid  # every step came from the exported cache
        assert all(steps(events).values())
    finally:
        other.shutdown()


def test_cli_flags(bld, tmp_path, session_root):
    ctx = bld.context({
        "build/app.Dockerfile": "FROM busybox\nARG GREETING=hi\nCOPY . /ctx/\nRUN echo $GREETING > /greeting\n",
        "build/app.Dockerfile.dockerignore": "junk\n",
        "junk": "j", "keep": "k"})
    iidfile = tmp_path / "iid"
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    r = subprocess.run([sys.executable, "-m", "compose.cli.main", "image", "build", "--progress", "plain",
                        "-f", str(ctx / "build/app.Dockerfile"), "--build-arg", "GREETING=hello", "--label", "a=b",
                        "--iidfile", str(iidfile), "-t", "pyc-build-cli:1", "-t", "pyc-build-cli:2", str(ctx)],
                       capture_output=True, text=True, env=env, cwd=REPO)
    bld.tags += ["pyc-build-cli:1", "pyc-build-cli:2"]
    assert r.returncode == 0, r.stderr
    assert "naming to docker.io/library/pyc-build-cli:1 done" in r.stderr
    assert "naming to docker.io/library/pyc-build-cli:2 done" in r.stderr
    info = bld.eng.images.inspect("pyc-build-cli:1")
    assert iidfile.read_text() == info["Id"]
    assert info["Config"]["Labels"] == {"a": "b"}
    r = bld.run("pyc-build-cli:2", "sh", "-c", "cat /greeting; ls /ctx")
    assert r.stdout.split() == ["hello", "build", "keep"]


def test_context_symlinks_never_lead_out(bld, tmp_path):
    ctx = bld.context({"Dockerfile": "FROM busybox\nCOPY . /ctx/\n", "data": "d"})
    os.symlink("/etc", ctx / "evil")
    os.symlink("../../../../etc/hostname", ctx / "evil-file")
    bld.build(ctx, "pyc-build-links:1")
    r = bld.run("pyc-build-links:1", "sh", "-c", "readlink /ctx/evil; readlink /ctx/evil-file")
    assert r.stdout.split() == ["/etc", "../../../../etc/hostname"]  # copied as links, not followed
    out = bld.context({"Dockerfile": "FROM busybox\nCOPY evil/passwd /stolen\n"}, "out")
    os.symlink("/etc", out / "evil")
    with pytest.raises(BuildError, match="not found"):
        bld.build(out)
    deref = bld.context({"Dockerfile": "FROM busybox\nCOPY evil-file /x\n"}, "deref")
    os.symlink("../../../../etc/hostname", deref / "evil-file")
    with pytest.raises(BuildError, match="not found"):
        bld.build(deref)


def test_copy_link_survives_a_changed_base(bld):
    ctx = bld.context({"Dockerfile": "FROM busybox\nARG V\nRUN echo $V > /v\nCOPY --link app.txt /srv/app.txt\n",
                       "app.txt": "app"})
    bld.build(ctx, "pyc-build-link:1", build_args={"V": "1"})
    _, events = bld.build(ctx, "pyc-build-link:1", build_args={"V": "2"})
    st = steps(events)
    assert st == {"[2/3] RUN echo 2 > /v": False, "[3/3] COPY --link app.txt /srv/app.txt": True}
    assert bld.run("pyc-build-link:1", "cat", "/v", "/srv/app.txt").stdout == "2\napp"


def test_from_scratch(bld):
    import shutil

    ctx = bld.context({"Dockerfile": 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "ok"]\n'})
    shutil.copy("/bin/busybox", ctx / "busybox")
    iid, _ = bld.build(ctx, "pyc-build-scratch:1")
    info = bld.eng.images.inspect(iid)
    assert info["Config"]["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert info["Config"]["WorkingDir"] == "/"
    assert len(info["RootFS"]["Layers"]) == 1
    assert bld.run("pyc-build-scratch:1").stdout == "ok\n"


def test_cache_mount_seeded_from_a_stage(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox AS seed\nRUN mkdir /s && echo seeded > /s/file\n"
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/c,id=pyc-test-seeded,from=seed,source=/s cat /c/file > /got\n")})
    bld.build(ctx, "pyc-build-seed:1", no_cache=True)
    assert bld.run("pyc-build-seed:1", "cat", "/got").stdout == "seeded\n"


def test_cache_survives_image_rm(bld):
    ctx = bld.context({"Dockerfile": "FROM busybox\nRUN echo kept > /kept\nCOPY f /f\n", "f": "file"})
    iid, _ = bld.build(ctx, "pyc-build-rm:1")
    bld.eng.images.remove("pyc-build-rm:1")
    assert not bld.eng.images.exists(iid)
    iid2, events = bld.build(ctx, "pyc-build-rm:1")
    assert iid2 == iid and all(steps(events).values())
    assert bld.run("pyc-build-rm:1", "cat", "/kept", "/f").stdout == "kept\nfile"


def test_sigterm_cancels_the_running_step(bld, session_root):
    import signal

    ctx = bld.context({"Dockerfile": "FROM busybox\nRUN echo started && sleep 300\nRUN echo never\n"})
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    p = subprocess.Popen([sys.executable, "-m", "compose.cli.main", "image", "build", "--no-cache", "--progress",
                          "plain", str(ctx)], stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    seen = []
    for line in p.stderr:
        seen.append(line)
        if line.rstrip().endswith(" started"):
            break
    p.send_signal(signal.SIGTERM)
    rest = p.stderr.read()
    assert p.wait(timeout=60) == 130
    assert "#3 CANCELED" in rest and "never" not in rest
    assert os.listdir(session_root / "builder" / "tmp") == []


def test_copy_add_semantics_like_docker(bld, tmp_path):
    """Modes, owners and places of what COPY/ADD write, as docker build (20.10) wrote them for this Dockerfile."""
    import tarfile

    ctx = bld.context({"a.txt": "a\n", "d/b.txt": "b\n", "d/e/c.txt": "c\n", "Dockerfile": (
        "FROM busybox\n"
        "RUN mkdir -p /existing && echo old > /existing/keep\n"
        "COPY a.txt /existing\n"
        "COPY d /existing/\n"
        "COPY --chown=www:www d/e /owned\n"
        "COPY link /deref\n"
        "COPY a.txt d/b.txt /multi/\n"
        "ADD arch.tgz /x/\n"
        "COPY a.txt /newdir/sub/\n")})
    os.symlink("a.txt", ctx / "link")
    os.utime(ctx / "a.txt", (1577934245, 1577934245))
    (tmp_path / "t").write_text("t\n")
    with tarfile.open(ctx / "arch.tgz", "w:gz") as tf:
        ti = tf.gettarinfo(str(tmp_path / "t"), "./t")
        ti.uid, ti.gid = 1234, 5678
        with open(tmp_path / "t", "rb") as f:
            tf.addfile(ti, f)
    bld.build(ctx, "pyc-build-copysem:1")
    paths = ("/existing /existing/a.txt /existing/keep /existing/b.txt /existing/e/c.txt /owned /owned/c.txt "
             "/deref /multi/a.txt /multi/b.txt /x /x/t /newdir /newdir/sub /newdir/sub/a.txt")
    r = bld.run("pyc-build-copysem:1", "sh", "-c",
                f'for p in {paths}; do stat -c "%a %u:%g %F %n" $p; done; stat -c %Y /existing/a.txt')
    assert r.stdout.splitlines() == [
        "755 0:0 directory /existing", "644 0:0 regular file /existing/a.txt", "644 0:0 regular file /existing/keep",
        "644 0:0 regular file /existing/b.txt", "644 0:0 regular file /existing/e/c.txt",
        "755 1000:1000 directory /owned", "644 1000:1000 regular file /owned/c.txt", "644 0:0 regular file /deref",
        "644 0:0 regular file /multi/a.txt", "644 0:0 regular file /multi/b.txt", "755 0:0 directory /x",
        "644 1234:5678 regular file /x/t", "755 0:0 directory /newdir", "755 0:0 directory /newdir/sub",
        "644 0:0 regular file /newdir/sub/a.txt", "1577934245"]
