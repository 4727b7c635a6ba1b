"""A full disk under the data root (a small tmpfs): ``image load``, a container's json-file log
and a write into a named volume each meet ENOSPC. Each gives a clear error, nothing half-written
is listed, the image store still loads, the supervisor survives, and once space is back
everything works again (the log goes on where it can)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from engine.containers import ContainerStore

from faultkit import REPO, load_busybox

pytestmark = pytest.mark.root
ARCHIVE = Path("/tmp/pycompose-busybox.tar")  # written by scripts/make-test-image
# numbered ~1 KiB lines: the slack of the log file's last page is used up at once on a full disk
PRINTER = 'p=$(printf "%01000d" 0); i=0; while :; do echo "line $i $p"; i=$((i+1)); sleep 0.01; done'


@pytest.fixture
def small_root():
    """A data root on its own tmpfs (1 MiB to start with; ``resize`` changes it)."""
    from engine.api import Engine

    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not ARCHIVE.exists():  # make the busybox archive once, into a throwaway root
        scratch = Path(tempfile.mkdtemp(prefix="pyc-test-fault-scratch-", dir="/tmp"))
        load_busybox(scratch)
        shutil.rmtree(scratch)
    root = Path(tempfile.mkdtemp(prefix="pyc-test-fault-disk-", dir="/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0711", "tmpfs", str(root)], check=True)
    try:
        yield root
    finally:
        Engine(str(root)).shutdown()
        for _ in range(50):
            if subprocess.run(["umount", str(root)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        os.rmdir(root)


def resize(root: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(root)], check=True)


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYTHONPATH=str(REPO))
    env.pop("PYCOMPOSE_DEBUG", None)
    r = subprocess.run([sys.executable, "-m", "compose.cli.main", *args], env=env, capture_output=True,
                       text=True, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def fill(root: Path) -> Path:
    """Write a filler file until the disk is full."""
    path = root / "filler"
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return path


def leftovers(root: Path) -> list[str]:
    """Half-written files an interrupted write could leave (temp blobs, unpack dirs, records)."""
    pats = ["images/blobs/sha256/.in-*", "images/tmp/*", "layers/.tmp-*", "containers/.new-*",
            "images/.index.json.*", "**/*.tmp"]
    return sorted(str(p.relative_to(root)) for pat in pats for p in root.glob(pat))


def test_image_load_on_a_full_disk(small_root):
    r = cli(small_root, "image", "load", "-i", str(ARCHIVE))
    assert r.returncode == 1
    assert "no space left on device" in r.stderr.lower(), r.stderr
    r = cli(small_root, "image", "ls", "--format", "json")
    assert r.returncode == 0 and r.stdout.strip() == "", r  # nothing half-loaded is listed
    assert leftovers(small_root) == []
    assert not list((small_root / "images" / "records").glob("*.json"))
    resize(small_root, "64m")
    r = cli(small_root, "image", "load", "-i", str(ARCHIVE))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in cli(small_root, "image", "ls", "--format", "json").stdout.splitlines()]
    assert [(x["Repository"], x["Tag"]) for x in rows] == [("busybox", "latest")]


def test_json_log_and_volume_on_a_full_disk(small_root):
    from engine.api import Engine

    resize(small_root, "64m")
    load_busybox(small_root)
    eng = Engine(str(small_root))
    cid = eng.containers.create({"Image": "busybox", "HostConfig": {"NetworkMode": "none"},
                                 "Cmd": ["sh", "-c", PRINTER]})
    # writes into a named volume (on the same disk) until the disk is full: 125 MB into 64 MB
    writer = eng.containers.create({"Image": "busybox", "HostConfig": {"NetworkMode": "none",
                                                                       "Binds": ["bulk:/data"]},
                                    "Cmd": ["dd", "if=/dev/zero", "of=/data/big", "bs=64k", "count=2000"]})
    try:
        eng.containers.start(cid)
        sup = eng.supervisor.running_pid()
        _wait(lambda: len(list(eng.containers.logs(cid))) > 10)
        eng.containers.start(writer)
        assert eng.containers.wait(writer) == 1  # dd: "No space left on device"
        _wait_stalled(ContainerStore(eng.root).log_path(cid))  # the other one goes on printing into a log that cannot grow
        assert eng.supervisor.running_pid() == sup  # the supervisor survived the full disk
        assert eng.containers.inspect(cid)["State"]["Running"]
        before = [e.data for e in eng.containers.logs(cid)]
        assert all(json.loads(x) for x in ContainerStore(eng.root).log_path(cid).read_text().splitlines())  # no half line
        Path(eng.volumes.inspect("bulk")["Mountpoint"], "big").unlink()
        _wait(lambda: len(list(eng.containers.logs(cid))) > len(before) + 10)  # logging resumed
        # the writer's exit was kept while state.json could not be written, and written since
        _wait(lambda: eng.containers.inspect(writer)["State"]["Status"] == "exited")
        assert eng.containers.inspect(writer)["State"]["ExitCode"] == 1
        numbers = [int(e.data.split()[1]) for e in eng.containers.logs(cid)]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # in order, no repeats
        assert numbers[-1] + 1 > len(numbers)  # lines were dropped while the disk was full
        sup_log = small_root / "run" / "supervisor.log"
        _wait(lambda: "is written again" in sup_log.read_text(errors="replace"))
        log = sup_log.read_text(errors="replace")
        assert "bytes of output dropped meanwhile" in log, log[-2000:]
        assert "Traceback" not in log, log[-3000:]
        # the stores still load and list only whole things
        assert len(eng.containers.list(all=True)) == 2 and leftovers(small_root) == []
        assert eng.images.inspect("busybox:latest")["Id"]
        assert [v["Name"] for v in eng.volumes.list()] == ["bulk"]
    finally:
        for c in (cid, writer):
            eng.containers.remove(c, force=True)
        eng.volumes.remove("bulk", force=True)


def test_create_on_a_full_disk_leaves_nothing_listed(small_root):
    from engine.api import Engine
    from engine.errors import EngineError

    resize(small_root, "64m")
    load_busybox(small_root)
    eng = Engine(str(small_root))
    filler = fill(small_root)
    try:
        with pytest.raises((OSError, EngineError)):
            eng.containers.create({"Image": "busybox", "Cmd": ["true"], "Labels": {"x": "y" * 200000}})
        assert eng.containers.list(all=True) == []
        assert leftovers(small_root) == []
    finally:
        filler.unlink()
    cid = eng.containers.create({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})
    assert [c["Id"] for c in eng.containers.list(all=True)] == [cid]
    eng.containers.remove(cid)


def _wait_stalled(path: Path, still: float = 1.0, timeout: float = 60) -> None:
    """Until ``path`` has not grown for ``still`` seconds (its writer is dropping what it cannot write)."""
    deadline = time.monotonic() + timeout
    size, since = path.stat().st_size, time.monotonic()
    while time.monotonic() - since < still:
        assert time.monotonic() < deadline, f"{path} kept growing on a full disk"
        time.sleep(0.1)
        now = path.stat().st_size
        if now != size:
            size, since = now, time.monotonic()


def _wait(pred, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
