"""Device access on cgroup v2: an eBPF program of type CGROUP_DEVICE on the container's group.

Why: v1 had a devices controller (``devices.allow``/``devices.deny``); v2 has none,
and the kernel asks a BPF program attached to the group instead. Without one, a
container keeps CAP_MKNOD (Docker's default set) and could mknod and open a host
disk. The program here is built from the same rules as v1's (runc's default allow
list plus ``--device`` nodes): it returns 1 (allow) when a rule matches the
device's type, major, minor and every access bit asked for, else 0 (EPERM).
"""
from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass

from engine.errors import InvalidArgument, SystemError_

# runc's default allow list (the same rules v1 writes to devices.allow)
DEFAULT_RULES = (
    "c *:* m", "b *:* m",
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
)

SYS_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE = 15, 6
DEV_BLOCK, DEV_CHAR = 1, 2                      # bpf_cgroup_dev_ctx.access_type, low 16 bits
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4        # ... high 16 bits

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


@dataclass(frozen=True)
class Rule:
    kind: int | None   # DEV_CHAR / DEV_BLOCK, None for any ("a")
    major: int | None  # None: any
    minor: int | None
    access: int        # ACC_* bits


def parse_rule(text: str) -> Rule:
    """``"c 1:3 rwm"`` / ``"b *:* m"`` / ``"a"`` -> Rule (devices.allow syntax)."""
    parts = text.split()
    kinds = {"c": DEV_CHAR, "b": DEV_BLOCK, "a": None}
    if not parts or parts[0] not in kinds:
        raise InvalidArgument(f"invalid device rule {text!r}: expected 'c|b|a MAJOR:MINOR rwm'")
    if parts[0] == "a" and len(parts) == 1:
        return Rule(None, None, None, ACC_MKNOD | ACC_READ | ACC_WRITE)
    try:
        major, minor = parts[1].split(":")
        num = [None if x == "*" else int(x) for x in (major, minor)]
        acc = 0
        for ch in parts[2] if len(parts) > 2 else "rwm":
            acc |= {"r": ACC_READ, "w": ACC_WRITE, "m": ACC_MKNOD}[ch]
    except (IndexError, ValueError, KeyError):
        raise InvalidArgument(f"invalid device rule {text!r}: expected 'c|b|a MAJOR:MINOR rwm'") from None
    return Rule(kinds[parts[0]], num[0], num[1], acc)


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


LDX_W, AND_K, RSH_K, MOV_X, MOV_K, JNE_K, JNE_X, EXIT = 0x61, 0x57, 0x77, 0xBF, 0xB7, 0x55, 0x5D, 0x95


def program(rules: list[Rule]) -> bytes:
    """The instructions: load type/access/major/minor, one block per rule, default deny."""
    out = [_insn(LDX_W, 2, 1, 0), _insn(AND_K, 2, imm=0xFFFF),  # r2 = type
           _insn(LDX_W, 3, 1, 0), _insn(RSH_K, 3, imm=16),      # r3 = access asked
           _insn(LDX_W, 4, 1, 4), _insn(LDX_W, 5, 1, 8)]        # r4 = major, r5 = minor
    for r in rules:
        checks: list[tuple] = []  # (code, dst, src, imm); each jumps past the block when not matching
        if r.kind is not None:
            checks.append((JNE_K, 2, 0, r.kind))
        if r.access != ACC_MKNOD | ACC_READ | ACC_WRITE:
            checks.append(("acc", r.access))
        if r.major is not None:
            checks.append((JNE_K, 4, 0, r.major))
        if r.minor is not None:
            checks.append((JNE_K, 5, 0, r.minor))
        block: list[tuple] = []
        for c in checks:
            if c[0] == "acc":  # every bit asked must be allowed: (asked & allowed) == asked
                block += [(MOV_X, 6, 3, 0, False), (AND_K, 6, 0, c[1], False), (JNE_X, 6, 3, 0, True)]
            else:
                block.append((c[0], c[1], c[2], c[3], True))
        block += [(MOV_K, 0, 0, 1, False), (EXIT, 0, 0, 0, False)]
        for i, (code, dst, src, imm, jump) in enumerate(block):
            out.append(_insn(code, dst, src, len(block) - 1 - i if jump else 0, imm))
    out += [_insn(MOV_K, 0, imm=0), _insn(EXIT)]
    return b"".join(out)


def _bpf(cmd: int, attr: bytes) -> int:
    buf = ctypes.create_string_buffer(attr, len(attr))
    ret = _libc.syscall(SYS_BPF, cmd, buf, len(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def _load(insns: bytes) -> int:
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"Apache-2.0")
    log = ctypes.create_string_buffer(65536)
    attr = struct.pack("<IIQQIIQII16sII", BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                       ctypes.addressof(code), ctypes.addressof(lic), 1, len(log), ctypes.addressof(log),
                       0, 0, b"pycompose_dev", 0, BPF_CGROUP_DEVICE).ljust(128, b"\0")
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except OSError as e:
        raise SystemError_(f"the kernel refused the device filter: {e.strerror}: "
                           f"{log.value.decode(errors='replace').strip()}") from None


def attach(cgroup_dir: str, rules: list[str]) -> None:
    """Attach (or replace) the group's device program allowing exactly ``rules``."""
    prog = _load(program([parse_rule(r) for r in rules]))
    try:
        fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            # flags 0: one program per group; attaching again replaces it (more --device rules)
            _bpf(BPF_PROG_ATTACH, struct.pack("<IIIII", fd, prog, BPF_CGROUP_DEVICE, 0, 0).ljust(128, b"\0"))
        except OSError as e:
            raise SystemError_(f"cannot attach the device filter to {cgroup_dir}: {e.strerror}") from None
        finally:
            os.close(fd)
    finally:
        os.close(prog)  # the attachment keeps the program alive
