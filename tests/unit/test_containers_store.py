"""Container records: create, resolve by name/id/prefix, state updates, name conflicts."""
import pytest

from engine.containers import ContainerStore
from engine.errors import Conflict, InvalidArgument, NotFound


def test_create_resolve_update_delete(tmp_path):
    store = ContainerStore(str(tmp_path))
    cid = store.create({"Config": {"Image": "busybox"}}, name="web")
    assert len(cid) == 64
    assert store.resolve("web") == cid
    assert store.resolve("/web") == cid
    assert store.resolve(cid[:12]) == cid
    assert store.get("web")["Name"] == "/web"
    assert store.state(cid)["Status"] == "created"
    store.update_state(cid, Status="running", Running=True, Pid=42)
    assert store.state(cid)["Pid"] == 42
    store.delete(cid)
    with pytest.raises(NotFound, match="No such container: web"):
        store.resolve("web")


def test_name_conflict_uses_dockers_message(tmp_path):
    store = ContainerStore(str(tmp_path))
    cid = store.create({}, name="db")
    with pytest.raises(Conflict, match=f'"/db" is already in use by container "{cid}"'):
        store.create({}, name="db")


def test_bad_name_refused(tmp_path):
    with pytest.raises(InvalidArgument, match="Invalid container name"):
        ContainerStore(str(tmp_path)).create({}, name="bad name!")


def test_random_names_are_unique(tmp_path):
    store = ContainerStore(str(tmp_path))
    names = {store.get(store.create({}))["Name"] for _ in range(20)}
    assert len(names) == 20


def test_lost_state_file_reads_as_created(tmp_path):
    store = ContainerStore(str(tmp_path))
    cid = store.create({}, name="xy")
    (tmp_path / "containers" / cid / "state.json").unlink()
    assert store.state(cid)["Status"] == "created"
    store.update_state(cid, Status="running")
    assert store.state(cid)["Status"] == "running"


def test_name_check_follows_renames_deletes_and_other_stores(tmp_path):
    """create's name check remembers parsed records between calls: a rename, a delete or a record
    written by another process (another store on the same root) is seen at the next create."""
    store, other = ContainerStore(str(tmp_path)), ContainerStore(str(tmp_path))
    first = store.create({}, name="aa")
    store.create({}, name="xx")  # the check has now seen "aa"

    def rename(rec):
        rec["Name"] = "/bb"

    store.update_config(first, rename)
    second = store.create({}, name="aa")  # free again
    with pytest.raises(Conflict, match=f'"/bb" is already in use by container "{first}"'):
        store.create({}, name="bb")
    other.create({}, name="cc")
    with pytest.raises(Conflict, match='"/cc" is already in use'):
        store.create({}, name="cc")
    store.delete(second)
    assert store.resolve(store.create({}, name="aa")) != second


def test_now_iso_is_docker_rfc3339_nano_utc():
    import re
    import time

    from engine.containers import now_iso

    before = time.time()
    stamp = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}000Z", stamp)
    assert time.strftime("%Y-%m-%dT%H", time.gmtime(before)) <= stamp[:13]


def test_a_record_directory_is_removed_whole_without_following_links(tmp_path):
    """delete's tree removal (engine.state.remove_tree, os.fwalk): files, a fifo, nested and
    read-only directories, links to a directory outside, to a file and to nothing all go; what a
    link points at stays."""
    import os

    from engine.state import remove_tree

    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("x")
    top = tmp_path / "c"
    (top / "upper" / "etc" / "deep").mkdir(parents=True)
    (top / "upper" / "etc" / "deep" / "f").write_text("y")
    (top / "config.json").write_text("{}")
    os.mkfifo(top / "stdout.fifo")
    os.symlink(outside, top / "upper" / "to-dir")
    os.symlink(outside / "keep" / "file", top / "upper" / "to-file")
    os.symlink(tmp_path / "nothing", top / "upper" / "dangling")
    (top / "work").mkdir()
    os.chmod(top / "upper" / "etc" / "deep", 0o555)
    remove_tree(top)
    assert not os.path.lexists(top)
    assert (outside / "keep" / "file").read_text() == "x"
    remove_tree(top)  # gone already: nothing raised
