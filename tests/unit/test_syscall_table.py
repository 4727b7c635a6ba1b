"""engine.runtime.syscalls_x86_64 (names in number order, from each block's first number) against the
kernel headers of this machine (linux-libc-dev), where they are installed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.runtime.syscalls_x86_64 import NR

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def test_blocks_number_the_names_as_the_kernel_does():
    assert (NR["read"], NR["rseq"], NR["pidfd_send_signal"], NR["set_mempolicy_home_node"]) == (0, 334, 424, 450)
    assert len(set(NR.values())) == len(NR)


@pytest.mark.skipif(not HEADER.exists(), reason="linux-libc-dev's asm/unistd_64.h is not installed")
def test_every_number_matches_the_uapi_header():
    header = dict(re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text()))
    assert {name: int(nr) for name, nr in header.items() if name in NR} == NR
