"""``pycompose image ...`` and ``scripts/make-test-image`` through real subprocesses,
each with its own PYCOMPOSE_ROOT: docker's messages, columns and exit codes."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pycli import assert_one_line_error
from test_unpack import make_tar

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, PYCOMPOSE_ROOT=str(tmp_path / "root"), PYTHONPATH=str(REPO))


def pc(env, *args, input=None):
    return subprocess.run([sys.executable, "-m", "compose.cli.main", *args], env=env, cwd=REPO,
                          capture_output=True, text=input is None or isinstance(input, str), input=input)


@pytest.fixture
def archive(tmp_path, env):
    """The busybox archive as scripts/make-test-image writes it (not loaded)."""
    out = tmp_path / "busybox.tar"
    r = subprocess.run([str(REPO / "scripts/make-test-image"), "--no-load", "--output", str(out)],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    return out


def test_make_test_image_loads_busybox_and_is_idempotent(tmp_path, env):
    out = tmp_path / "bb.tar"
    cmd = [str(REPO / "scripts/make-test-image"), "--output", str(out)]
    r1 = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r1.returncode == 0, r1.stderr
    assert "Loaded image: busybox:latest" in r1.stderr
    r2 = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r2.returncode == 0 and "Loaded image" not in r2.stderr  # already there: nothing done
    ls = pc(env, "image", "ls", "--format", "json")
    rows = [json.loads(l) for l in ls.stdout.splitlines()]
    assert [(r["Repository"], r["Tag"]) for r in rows] == [("busybox", "latest")]
    with tarfile.open(out) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        cfg = json.load(tf.extractfile(manifest[0]["Config"]))
        layer = tarfile.open(fileobj=tf.extractfile(manifest[0]["Layers"][0]))
        all_names = layer.getnames()
        names = set(all_names)
    assert len(all_names) == len(names)  # podman/containers-storage refuse duplicate paths
    assert cfg["config"]["Cmd"] == ["sh"] and cfg["config"]["Env"][0].startswith("PATH=")
    for need in ("bin/busybox", "bin/sh", "usr/sbin/httpd", "usr/bin/wget", "usr/bin/nc", "bin/ps",
                 "usr/bin/top", "bin/ping", "usr/bin/nslookup", "bin/sleep", "etc/passwd", "etc/group",
                 "tmp", "root", "var/www", "dev", "proc", "sys"):
        assert need in names, need


def test_busybox_rootfs_users(busybox, engine_root):
    from engine.images import ImageStore

    top = ImageStore(engine_root).get(busybox).layer_dirs()[-1]
    passwd = (top / "etc/passwd").read_text()
    assert "root:x:0:0:" in passwd and "nobody:x:65534:65534:" in passwd and "www:x:1000:1000:" in passwd
    assert oct(os.stat(top / "tmp").st_mode & 0o7777) == "0o1777"
    r = subprocess.run(["chroot", str(top), "/bin/sh", "-c", "echo $((6*7))"], capture_output=True, text=True)
    assert r.stdout.strip() == "42"


def test_load_ls_inspect_tag_save_rm(env, archive, tmp_path):
    r = pc(env, "image", "load", "-i", str(archive))
    assert r.returncode == 0 and r.stdout == "Loaded image: busybox:latest\n"
    assert pc(env, "image", "tag", "busybox", "localhost:5000/me/bb:v1").returncode == 0
    ls = pc(env, "image", "ls")
    lines = ls.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert sorted(l.split()[0] + ":" + l.split()[1] for l in lines[1:]) == \
        ["busybox:latest", "localhost:5000/me/bb:v1"]
    assert lines[1].split()[2] == lines[2].split()[2] and len(lines[1].split()[2]) == 12
    assert pc(env, "image", "ls", "-q").stdout.count("\n") == 1  # one image, two tags
    assert pc(env, "image", "ls", "busybox", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"

    insp = json.loads(pc(env, "image", "inspect", "busybox").stdout)
    assert insp[0]["RepoTags"] == ["busybox:latest", "localhost:5000/me/bb:v1"] or \
        sorted(insp[0]["RepoTags"]) == ["busybox:latest", "localhost:5000/me/bb:v1"]
    assert insp[0]["Config"]["Cmd"] == ["sh"]
    assert pc(env, "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", "busybox").stdout.startswith("linux/")

    saved = tmp_path / "saved.tar"
    assert pc(env, "image", "save", "-o", str(saved), "localhost:5000/me/bb:v1").returncode == 0
    r = pc(env, "image", "rm", "localhost:5000/me/bb:v1")
    assert r.stdout == "Untagged: localhost:5000/me/bb:v1\n"
    r = pc(env, "image", "rm", "busybox")
    assert r.stdout.startswith("Untagged: busybox:latest\nDeleted: sha256:")
    assert pc(env, "image", "ls", "-q").stdout == ""
    r = pc(env, "image", "load", "-q", "-i", str(saved))
    assert r.returncode == 0 and r.stdout == ""
    assert pc(env, "image", "ls", "--format", "{{.Repository}}").stdout == "localhost:5000/me/bb\n"


def test_load_from_stdin_and_save_to_stdout(env, archive):
    r = pc(env, "image", "load", input=archive.read_bytes())
    assert r.returncode == 0 and r.stdout == b"Loaded image: busybox:latest\n"
    out = pc(env, "image", "save", "busybox", input=b"")
    assert out.returncode == 0 and out.stdout[:512].find(b"blobs") >= 0


def test_import_with_change_and_message(env, tmp_path):
    rootfs = tmp_path / "rootfs.tgz"
    rootfs.write_bytes(gzip.compress(make_tar([("bin", "dir"), ("bin/app", "file")])))
    r = pc(env, "image", "import", "-c", "CMD [\"/bin/app\"]", "-c", "ENV MODE=prod", "-m", "first",
           str(rootfs), "myapp:1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("sha256:") and len(r.stdout.strip()) == 71
    cfg = json.loads(pc(env, "image", "inspect", "myapp:1").stdout)[0]
    assert cfg["Config"]["Cmd"] == ["/bin/app"] and cfg["Config"]["Env"] == ["MODE=prod"]
    assert cfg["Comment"] == "first"
    hist = pc(env, "image", "history", "myapp:1")
    assert hist.stdout.splitlines()[0].split()[:2] == ["IMAGE", "CREATED"]


@pytest.mark.parametrize("args, message", [
    (["image", "inspect", "nope"], "Error: No such image: nope"),
    (["image", "rm", "nope"], "No such image: nope"),
    (["image", "tag", "nope", "x"], "No such image: nope"),
    (["image", "load", "-i", "/nonexistent.tar"], "no such file or directory"),
    (["image", "import", "/nonexistent.tar"], "no such file or directory"),
    (["image", "tag", "nope", "UPPER"], "must be lowercase"),
    (["image", "ls", "--filter", "nokey"], "bad format of filter"),
    (["image", "ls", "--filter", "color=red"], "invalid filter 'color'"),
])
def test_errors_are_one_line_exit_1(env, args, message):
    assert_one_line_error(pc(env, *args), message)


def test_load_garbage_is_refused(env, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"garbage" * 1000)
    r = pc(env, "image", "load", "-i", str(bad))
    assert r.returncode == 1 and "not an image archive" in r.stderr


def test_prune_asks_unless_forced(env, archive, tmp_path):
    pc(env, "image", "load", "-i", str(archive))
    r = pc(env, "image", "prune", "-a", input="n\n")
    assert "Are you sure you want to continue? [y/N]" in r.stdout and "Deleted" not in r.stdout
    assert pc(env, "image", "ls", "-q").stdout.strip()
    r = pc(env, "image", "prune", "-a", "-f")
    assert r.returncode == 0 and "Deleted Images:" in r.stdout and "Total reclaimed space: 2." in r.stdout
    assert pc(env, "image", "ls", "-q").stdout == ""


def test_common_helpers_match_the_docker_cli():
    from engine.cli import common

    assert [common.human_size(n) for n in (0, 999, 1000, 4_260_000, 1_234_567_890)] == \
        ["0B", "999B", "1kB", "4.26MB", "1.23GB"]
    assert [common.human_duration(s) for s in (0.5, 1, 30, 60, 600, 3600, 7200, 3 * 86400, 20 * 86400)] == \
        ["Less than a second", "1 second", "30 seconds", "About a minute", "10 minutes", "About an hour",
         "2 hours", "3 days", "2 weeks"]
    assert common.ago(1000, now=1000 + 120) == "2 minutes ago"
    assert common.format_table(["A", "LONGER HEADER"], [["x", "y"], ["wide value here", "z"]]).splitlines() == [
        "A" + " " * 17 + "LONGER HEADER", "x" + " " * 17 + "y", "wide value here   z"]
    obj = {"Name": "n", "Labels": {"k": "v"}, "Nested": {"X": 1}}
    assert common.render_template("{{.Name}}\\t{{index .Labels \"k\"}} {{.Nested.X}} {{json .Labels}}", obj) == \
        'n\tv 1 {"k":"v"}'
    assert common.parse_filters(["label=a=b", "dangling=true", "label!=c"]) == \
        {"label": ["a=b"], "dangling": ["true"], "label!": ["c"]}
    assert common.short_id("sha256:" + "ab" * 32) == "ababababab" + "ab"


def test_rm_refused_while_a_container_uses_image_or_volume(env, archive, tmp_path):
    """Through engine.api: a created (never started) container holds its image and volume."""
    from engine.api import Engine

    assert pc(env, "image", "load", "-i", str(archive)).returncode == 0
    eng = Engine(tmp_path / "root")
    cid = eng.containers.create({"Image": "busybox", "Cmd": ["true"],
                                 "HostConfig": {"Binds": ["keepme:/data"]}}, name="holder")
    eng.volumes.create("keepme")
    r = pc(env, "image", "rm", "busybox")
    assert r.returncode == 1 and f"container {cid[:12]} is using its referenced image" in r.stderr
    r = pc(env, "volume", "rm", "keepme")
    assert r.returncode == 1 and f"volume is in use - [{cid}]" in r.stderr
    r = pc(env, "image", "prune", "-a", "-f")
    assert "Deleted" not in r.stdout and pc(env, "image", "ls", "-q").stdout.strip()
    eng.containers.remove(cid)
    assert pc(env, "volume", "rm", "keepme").returncode == 0
    r = pc(env, "image", "rm", "busybox")
    assert r.returncode == 0 and "Deleted: sha256:" in r.stdout


def test_concurrent_tag_commands_keep_every_tag(env, archive):
    assert pc(env, "image", "load", "-i", str(archive)).returncode == 0
    procs = [subprocess.Popen([sys.executable, "-m", "compose.cli.main", "image", "tag", "busybox", f"many/t:{i}"],
                              env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(8)]
    assert all(p.wait() == 0 for p in procs)
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    tags = pc(env, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(tags) == sorted(["busybox:latest"] + [f"many/t:{i}" for i in range(8)])


def test_table_format_uses_dockers_column_titles(env, archive):
    pc(env, "image", "load", "-i", str(archive))
    out = pc(env, "image", "ls", "--format", "table {{.ID}}\\t{{.Repository}}\\t{{.CreatedSince}}").stdout
    head, row = out.splitlines()
    assert head.split("   ")[0].strip() == "IMAGE ID" and head.split()[2:] == ["REPOSITORY", "CREATED"]
    assert row.split()[1] == "busybox"
