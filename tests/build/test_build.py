"""Building real Dockerfiles on our engine (root): the images are inspected and run.

What a Docker user relies on: COPY --from between stages, RUN --mount=type=cache kept
between builds, .dockerignore with exceptions, heredocs, the image config Docker writes,
deletions in a later step gone from the image, a rebuild served from the cache (same
image id), a one-file change rebuilding only the steps from that COPY on, and a failing
RUN reported with its line and exit code, nothing left behind.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine.build.errors import BuildError

from builder import REPO, logs, steps

pytestmark = pytest.mark.root


def test_multistage_copy_from_runs(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox AS builder\n"
        "RUN mkdir /out && echo built-by-stage > /out/result && echo junk > /out/junk\n"
        "FROM busybox AS unused\n"
        "RUN exit 99\n"
        "FROM busybox\n"
        "COPY --from=builder /out/result /app/\n"
        "CMD [\"cat\", \"/app/result\"]\n")})
    iid, events = bld.build(ctx, "pyc-build-multi:1")
    assert not any("exit 99" in e.get("name", "") for e in events)  # the target does not need it
    r = bld.run("pyc-build-multi:1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "built-by-stage\n"
    assert bld.run("pyc-build-multi:1", "ls", "/app").stdout.split() == ["result"]


def test_cache_mount_persists_between_builds(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/var/cache/t,id=pyc-test-cm sh -c "
        "'echo run >> /var/cache/t/log; echo runs=$(wc -l < /var/cache/t/log)'\n")})
    _, ev1 = bld.build(ctx, "pyc-build-cm:1", no_cache=True)
    _, ev2 = bld.build(ctx, "pyc-build-cm:1", no_cache=True)
    n1 = int(logs(ev1).split("runs=")[1].split()[0])
    assert f"runs={n1 + 1}" in logs(ev2)
    assert bld.run("pyc-build-cm:1", "ls", "/var/cache/t").stdout == ""  # not in the image


def test_dockerignore_with_exceptions(bld):
    ctx = bld.context({
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        ".dockerignore": "*.log\n!keep.log\nsecret\n**/tmp\n",
        "a.log": "x", "keep.log": "k", "app.txt": "a", "secret/key": "s", "src/tmp/t": "t", "src/main": "m"})
    bld.build(ctx, "pyc-build-ignore:1")
    r = bld.run("pyc-build-ignore:1", "find", "/ctx", "-type", "f")
    assert sorted(r.stdout.split()) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/app.txt",
                                        "/ctx/keep.log", "/ctx/src/main"]


def test_heredocs(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox\n"
        "ARG NAME=world\n"
        "RUN <<EOF\n"
        "echo line1 > /h1\n"
        "echo \"hello $NAME\" >> /h1\n"
        "EOF\n"
        "COPY <<EOF /etc/greeting\n"
        "hi ${NAME}\n"
        "EOF\n"
        "RUN cat <<A > /h2 && echo done\n"
        "in heredoc\n"
        "A\n")})
    bld.build(ctx, "pyc-build-heredoc:1")
    r = bld.run("pyc-build-heredoc:1", "cat", "/h1", "/etc/greeting", "/h2")
    assert r.stdout == "line1\nhello world\nhi world\nin heredoc\n"


def test_image_config_like_docker(bld):
    """The config Docker (BuildKit) writes for this Dockerfile (measured with docker 20.10's builder)."""
    ctx = bld.context({"Dockerfile": (
        "FROM busybox\n"
        "ENV APP=/srv/app MODE=prod\n"
        "WORKDIR /srv\n"
        "WORKDIR app\n"
        "USER 1000:1000\n"
        "EXPOSE 8080 53/udp\n"
        "LABEL org.example.name=\"demo app\" tier=web\n"
        "VOLUME /data\n"
        "STOPSIGNAL SIGINT\n"
        "HEALTHCHECK --interval=30s --timeout=5s --retries=4 CMD wget -q -O- localhost:8080 || exit 1\n"
        "ENTRYPOINT [\"/bin/sh\", \"-c\"]\n"
        "CMD [\"echo $APP\"]\n")})
    iid, _ = bld.build(ctx, "pyc-build-config:1")
    cfg = bld.eng.images.inspect(iid)["Config"]
    assert cfg["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP=/srv/app",
                          "MODE=prod"]
    assert cfg["WorkingDir"] == "/srv/app"
    assert cfg["User"] == "1000:1000"
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"org.example.name": "demo app", "tier": "web"}
    assert cfg["Volumes"] == {"/data": {}}
    assert cfg["StopSignal"] == "SIGINT"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- localhost:8080 || exit 1"],
                                  "Interval": 30_000_000_000, "Timeout": 5_000_000_000, "Retries": 4}
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"]
    assert cfg["Cmd"] == ["echo $APP"]
    hist = [h["created_by"] for h in bld.eng.images.get(iid).image_config["history"]][-11:]
    assert hist[0] == "ENV APP=/srv/app MODE=prod"
    assert hist[1:3] == ["WORKDIR /srv", "WORKDIR /srv/app"]
    assert hist[-1] == 'CMD ["echo $APP"]'
    r = bld.run("pyc-build-config:1")
    assert r.stdout == "/srv/app\n", r.stderr
    assert bld.run("pyc-build-config:1", "id -u; pwd").stdout.split() == ["1000", "/srv/app"]


def test_deleted_file_is_gone_from_the_image(bld):
    ctx = bld.context({"Dockerfile": (
        "FROM busybox\n"
        "RUN mkdir -p /d && echo x > /d/gone && echo y > /d/kept && echo z > /bin/extra\n"
        "RUN rm /d/gone /bin/extra\n")})
    iid, _ = bld.build(ctx, "pyc-build-del:1")
    r = bld.run("pyc-build-del:1", "ls", "/d", "/bin/extra")
    assert "kept" in r.stdout and "gone" not in r.stdout
    assert r.returncode != 0  # /bin/extra: no such file
    assert len(bld.eng.images.get(iid).layers) == len(bld.eng.images.get("busybox").layers) + 2


def test_rebuild_is_cached_and_one_file_change_rebuilds_from_there(bld):
    ctx = bld.context({
        "Dockerfile": ("FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy-a\n"
                       "COPY b.txt /b.txt\nRUN cat /a.txt /b.txt > /both\n"),
        "a.txt": "A1\n", "b.txt": "B1\n"})
    iid1, ev1 = bld.build(ctx, "pyc-build-cache:1")
    iid2, ev2 = bld.build(ctx, "pyc-build-cache:1")
    assert iid2 == iid1
    assert all(steps(ev2).values()) and len(steps(ev2)) == 4
    os.utime(ctx / "a.txt", (1, 1))  # a new mtime, same content: still cached
    iid3, ev3 = bld.build(ctx, "pyc-build-cache:1")
    assert iid3 == iid1 and all(steps(ev3).values())
    (ctx / "b.txt").write_text("B2\n")
    iid4, ev4 = bld.build(ctx, "pyc-build-cache:1")
    assert iid4 != iid1
    assert list(steps(ev4).values()) == [True, True, False, False]
    assert bld.run("pyc-build-cache:1", "cat", "/both").stdout == "A1\nB2\n"


def test_failing_run_reports_line_and_leaves_nothing(bld, session_root):
    ctx = bld.context({"Dockerfile": "FROM busybox\nRUN echo before\nRUN echo oops && exit 3\nRUN echo never\n"})
    images_before = {i["Id"] for i in bld.eng.images.list()}
    layers_before = set(os.listdir(session_root / "layers"))
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    r = subprocess.run([sys.executable, "-m", "compose.cli.main", "image", "build", "--progress", "plain",
                        "-t", "pyc-build-fail:1", str(ctx)], capture_output=True, text=True, env=env, cwd=REPO)
    assert r.returncode == 1
    err = r.stderr
    assert "Traceback" not in err
    assert err.rstrip().endswith('ERROR: failed to solve: process "/bin/sh -c echo oops && exit 3" did not '
                                 "complete successfully: exit code: 3")
    assert "Dockerfile:3\n" in err and "   3 | >>> RUN echo oops && exit 3" in err
    assert "oops" in err and "never" not in err.split("Dockerfile:3")[0]
    assert {i["Id"] for i in bld.eng.images.list()} == images_before
    assert not bld.eng.images.exists("pyc-build-fail:1")
    assert set(os.listdir(session_root / "layers")) - layers_before <= _layers_of_step(bld, "echo before")
    assert os.listdir(session_root / "builder" / "tmp") == []
    assert bld.eng.containers.list(all=True, filters={"name": ["buildstep"]}) == []
    with open("/proc/self/mountinfo") as f:
        assert str(session_root) not in f.read()


def _layers_of_step(bld, text: str) -> set[str]:
    """Unpacked layers the cache may keep for steps that succeeded before the failure."""
    from engine.build.cache import BuildCache

    out = set()
    for rec in BuildCache(bld.eng.root).all():
        if rec.layer and text in rec.description:
            out.add(rec.layer["diff_id"].split(":", 1)[1])
    return out


def test_build_errors_are_clear(bld):
    ctx = bld.context({"Dockerfile": "FROM busybox\nCOPY missing.txt /\n"})
    with pytest.raises(BuildError, match='failed to solve: failed to compute cache key: .*"/missing.txt": not found'):
        bld.build(ctx)
    ctx = bld.context({"Dockerfile": "FROM pyc-no-such-image:1\n"}, "ctx2")
    with pytest.raises(BuildError, match="pyc-no-such-image"):
        bld.build(ctx)
    ctx = bld.context({"Dockerfile": "FROM busybox AS a\nFROM busybox\n"}, "ctx3")
    with pytest.raises(BuildError, match='target stage "nope" could not be found'):
        bld.build(ctx, target="nope")


def test_copy_flags_and_destination_rules(bld):
    ctx = bld.context({
        "Dockerfile": ("FROM busybox\n"
                       "COPY --chown=1000:1000 --chmod=0750 dir /opt/d\n"
                       "COPY *.txt /multi/\n"
                       "COPY one.txt /renamed\n"
                       "COPY --parents ./dir/./sub/deep.txt /p/\n"
                       "WORKDIR /w\n"
                       "COPY one.txt .\n"),
        "dir/x": "x", "dir/sub/deep.txt": "deep", "one.txt": "1", "two.txt": "2"})
    bld.build(ctx, "pyc-build-copy:1")
    r = bld.run("pyc-build-copy:1", "sh", "-c",
                "stat -c '%u:%g %a %n' /opt/d/x; ls /multi; cat /renamed; echo; cat /p/sub/deep.txt; echo; ls /w")
    assert r.stdout.split("\n") == ["1000:1000 750 /opt/d/x", "one.txt", "two.txt", "1", "deep", "one.txt", ""]


def test_context_tar_on_stdin_and_add_archive(bld, tmp_path, session_root):
    import tarfile

    ctx = bld.context({"Dockerfile": "FROM busybox\nADD payload.tar.gz /unpacked/\nCOPY note /note\n", "note": "n"})
    payload = tmp_path / "payload"
    (payload / "inner").mkdir(parents=True)
    (payload / "inner" / "f").write_text("from the archive")
    with tarfile.open(ctx / "payload.tar.gz", "w:gz") as tf:
        tf.add(payload / "inner", "inner")
    tar = tmp_path / "ctx.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(ctx, ".")
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    with open(tar, "rb") as f:
        r = subprocess.run([sys.executable, "-m", "compose.cli.main", "image", "build", "-q", "-t",
                            "pyc-build-stdin:1", "-"], stdin=f, capture_output=True, text=True, env=env, cwd=REPO)
    bld.tags.append("pyc-build-stdin:1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == bld.eng.images.inspect("pyc-build-stdin:1")["Id"]
    assert bld.run("pyc-build-stdin:1", "cat", "/unpacked/inner/f", "/note").stdout == "from the archiven"


def test_builder_prune(bld, session_root):
    ctx = bld.context({"Dockerfile": "FROM busybox\nRUN head -c 100000 /dev/zero > /blob\n"})
    bld.build(ctx, no_cache=True)  # untagged: its layer is only held by the cache (and the dangling image)
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    du = subprocess.run([sys.executable, "-m", "compose.cli.main", "builder", "du"], capture_output=True,
                        text=True, env=env, cwd=REPO)
    assert du.returncode == 0 and "Reclaimable:" in du.stdout and "Total:" in du.stdout
    r = subprocess.run([sys.executable, "-m", "compose.cli.main", "builder", "prune", "-a", "-f"],
                       capture_output=True, text=True, env=env, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Deleted build cache objects:\n")
    assert r.stdout.rstrip().splitlines()[-1].startswith("Total reclaimed space: ")
    _, events = bld.build(ctx)
    assert not any(steps(events).values())


def test_build_cache_size_limit(bld, monkeypatch):
    """The cache keeps at most $PYCOMPOSE_BUILD_CACHE_MAX bytes of layers no image holds (oldest go first)."""
    ctx = bld.context({"Dockerfile": "FROM busybox\nRUN head -c 300000 /dev/zero > /big\n"})
    iid, _ = bld.build(ctx, no_cache=True)
    bld.eng.images.remove(iid)  # the layer is now held by the build cache only
    report = bld.eng.images.prune_build_cache(keep_storage=10**12)
    assert report["SpaceReclaimed"] == 0  # under the limit: nothing goes
    monkeypatch.setenv("PYCOMPOSE_BUILD_CACHE_MAX", "0")
    other = bld.context({"Dockerfile": "FROM busybox\nLABEL x=1\n"}, "other")
    bld.build(other)  # the limit is applied after each build
    _, events = bld.build(ctx)
    assert not any(steps(events).values())  # the RUN's cached layer was dropped
