"""The v2 device filter's program, run by a small interpreter of the instructions it uses.

The kernel runs the real thing in the cgroup v2 guest (tests/engine/test_security.py via
scripts/test-cgroup2-vm); here every rule shape is checked against many devices quickly.
"""
import struct

import pytest

from engine.cgroups import devices as dv
from engine.errors import InvalidArgument


def run(prog: bytes, kind: int, access: int, major: int, minor: int) -> int:
    """Execute ``prog`` on a bpf_cgroup_dev_ctx; only the opcodes devices.program emits."""
    ctx = struct.pack("<III", (access << 16) | kind, major, minor)
    regs = [0] * 11
    insns = [struct.unpack("<BBhi", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    pc = 0
    for _ in range(10_000):
        code, regs_byte, off, imm = insns[pc]
        dst, src = regs_byte & 0xF, regs_byte >> 4
        pc += 1
        if code == dv.LDX_W:
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif code == dv.AND_K:
            regs[dst] &= imm
        elif code == dv.RSH_K:
            regs[dst] >>= imm
        elif code == dv.MOV_X:
            regs[dst] = regs[src]
        elif code == dv.MOV_K:
            regs[dst] = imm
        elif code == dv.JNE_K:
            pc += off if regs[dst] != imm else 0
        elif code == dv.JNE_X:
            pc += off if regs[dst] != regs[src] else 0
        elif code == dv.EXIT:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
    raise AssertionError("no exit")


C, B = dv.DEV_CHAR, dv.DEV_BLOCK
R, W, M = dv.ACC_READ, dv.ACC_WRITE, dv.ACC_MKNOD
DEFAULT = dv.program([dv.parse_rule(r) for r in dv.DEFAULT_RULES])


@pytest.mark.parametrize("kind,access,major,minor,allowed", [
    (C, R | W, 1, 3, 1),      # /dev/null
    (C, R, 1, 9, 1),          # /dev/urandom
    (C, R | W, 136, 7, 1),    # a pty
    (C, R | W, 5, 2, 1),      # /dev/ptmx
    (B, M, 8, 0, 1),          # mknod of a disk node is allowed...
    (B, R, 8, 0, 0),          # ...opening it is not
    (B, R | W, 253, 0, 0),
    (C, R, 1, 1, 0),          # /dev/mem
    (C, R | W, 10, 229, 0),   # /dev/fuse without --device
    (C, M | R, 1, 3, 1),
    (C, M, 4, 1, 1),          # mknod of any char node
])
def test_default_rules(kind, access, major, minor, allowed):
    assert run(DEFAULT, kind, access, major, minor) == allowed


def test_a_device_rule_adds_exactly_its_access():
    prog = dv.program([dv.parse_rule(r) for r in list(dv.DEFAULT_RULES) + ["c 10:229 r"]])
    assert run(prog, C, R, 10, 229) == 1
    assert run(prog, C, R | W, 10, 229) == 0  # write was not granted
    assert run(prog, C, R, 10, 228) == 0


def test_wildcards_and_all():
    prog = dv.program([dv.parse_rule("b 8:* rw")])
    assert run(prog, B, R | W, 8, 17) == 1 and run(prog, C, R, 8, 17) == 0 and run(prog, B, M, 8, 1) == 0
    assert run(dv.program([dv.parse_rule("a")]), B, R | W | M, 259, 3) == 1
    assert run(dv.program([]), C, R, 1, 3) == 0


@pytest.mark.parametrize("bad", ["", "x 1:3 r", "c 1 r", "c a:b r", "c 1:3 rx"])
def test_malformed_rules_are_refused(bad):
    with pytest.raises(InvalidArgument, match="invalid device rule"):
        dv.parse_rule(bad)
