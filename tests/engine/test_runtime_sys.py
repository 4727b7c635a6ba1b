"""engine.sys: the ctypes syscalls report errors naming the call and the object."""
from __future__ import annotations

import errno
import os

import pytest

from engine import sys as ksys

pytestmark = pytest.mark.root


def test_errors_name_the_call_and_the_object(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(OSError) as e:
        ksys.mount("tmpfs", missing, "tmpfs")
    assert e.value.errno == errno.ENOENT and f"mount {missing}" in str(e.value)
    with pytest.raises(OSError, match=f"umount {tmp_path}"):
        ksys.umount2(tmp_path)
    with pytest.raises(OSError, match="setns fd 0"):
        ksys.setns(0, 0)


def test_capget_and_bounding_set_agree_with_proc():
    eff, perm, inh = ksys.capget()
    status = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith("Cap"))
    assert eff == int(status["CapEff"], 16) and perm == int(status["CapPrm"], 16)
    assert ksys.capbset_read(0) == bool(int(status["CapBnd"], 16) & 1)


def test_child_only_calls_in_a_forked_process():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ksys.set_name("pyc-probe")
            ksys.unshare(ksys.CLONE_NEWUTS)
            ksys.sethostname("probe-host")
            ksys.capbset_drop(13)  # NET_RAW
            ksys.set_no_new_privs()
            ok = (open("/proc/self/comm").read().strip() == "pyc-probe" and os.uname().nodename == "probe-host"
                  and not ksys.capbset_read(13) and ksys.prctl(ksys.PR_GET_NO_NEW_PRIVS) == 1)
            os.write(w, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 10) == b"ok"
    os.close(r)
    os.waitpid(pid, 0)
    assert os.uname().nodename != "probe-host"


def test_pidfd_open():
    fd = ksys.pidfd_open(os.getpid())
    os.close(fd)
    with pytest.raises(OSError, match="pidfd_open"):
        ksys.pidfd_open(2**22 + 12345)
