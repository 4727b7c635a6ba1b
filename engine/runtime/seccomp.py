"""A seccomp filter in the spirit of Docker's default profile.

Why: capabilities decide what a syscall may do; seccomp decides which
syscalls exist at all. Docker's profile keeps kernel attack surface away from
containers: no new user namespaces (the usual first step of a kernel
exploit), no keyrings, no bpf/perf/userfaultfd/io_uring, no module or kexec
loading, and the mount family only with CAP_SYS_ADMIN. We build the same
decisions as a deny list (Docker's is an allow list of ~350 names; the
denied part is what matters) compiled to classic BPF, one filter per
capability set: a call is refused with EPERM unless the capability Docker
ties it to is granted. ``clone3`` answers ENOSYS so libc falls back to
``clone``, whose namespace flags can be checked.
"""
from __future__ import annotations

import errno
import json
import os
import platform

from engine.errors import InvalidArgument
from engine.runtime.caps import CAP_NUMBERS, normalize
from engine.runtime.syscalls_x86_64 import NR

NR_X86_64 = NR  # name -> number (engine.runtime.syscalls_x86_64)

# syscall -> the capabilities that allow it (any of them), as in Docker's default profile;
# an empty tuple means refused whatever the capabilities.
RULES: dict[str, tuple[str, ...]] = {
    # always refused
    "keyctl": (), "add_key": (), "request_key": (), "kexec_load": (), "kexec_file_load": (),
    "userfaultfd": (), "uselib": (), "ustat": (), "sysfs": (), "_sysctl": (), "nfsservctl": (),
    "create_module": (), "get_kernel_syms": (), "query_module": (), "swapon": (), "swapoff": (),
    "io_uring_setup": (), "io_uring_enter": (), "io_uring_register": (),
    # CAP_SYS_ADMIN
    "mount": ("SYS_ADMIN",), "umount2": ("SYS_ADMIN",), "pivot_root": ("SYS_ADMIN",),
    "unshare": ("SYS_ADMIN",), "setns": ("SYS_ADMIN",), "fsopen": ("SYS_ADMIN",), "fsconfig": ("SYS_ADMIN",),
    "fsmount": ("SYS_ADMIN",), "fspick": ("SYS_ADMIN",), "open_tree": ("SYS_ADMIN",),
    "move_mount": ("SYS_ADMIN",), "mount_setattr": ("SYS_ADMIN",), "quotactl": ("SYS_ADMIN",),
    "quotactl_fd": ("SYS_ADMIN",), "lookup_dcookie": ("SYS_ADMIN",), "fanotify_init": ("SYS_ADMIN",),
    "sethostname": ("SYS_ADMIN",), "setdomainname": ("SYS_ADMIN",),
    "bpf": ("SYS_ADMIN", "BPF"), "perf_event_open": ("SYS_ADMIN", "PERFMON"),
    "syslog": ("SYS_ADMIN", "SYSLOG"),
    # others
    "reboot": ("SYS_BOOT",), "init_module": ("SYS_MODULE",), "finit_module": ("SYS_MODULE",),
    "delete_module": ("SYS_MODULE",), "acct": ("SYS_PACCT",), "kcmp": ("SYS_PTRACE",),
    "pidfd_getfd": ("SYS_PTRACE",), "process_madvise": ("SYS_PTRACE",),
    "iopl": ("SYS_RAWIO",), "ioperm": ("SYS_RAWIO",), "settimeofday": ("SYS_TIME",),
    "clock_settime": ("SYS_TIME",), "clock_adjtime": ("SYS_TIME",), "vhangup": ("SYS_TTY_CONFIG",),
    "get_mempolicy": ("SYS_NICE",), "set_mempolicy": ("SYS_NICE",), "mbind": ("SYS_NICE",),
    "set_mempolicy_home_node": ("SYS_NICE",), "open_by_handle_at": ("DAC_READ_SEARCH",),
}

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000


_SUPPORTED = platform.machine() == "x86_64"  # decided at import: the child must not probe anything


def supported() -> bool:
    """Filters are compiled for x86_64 syscall numbers; elsewhere no filter is installed."""
    return _SUPPORTED


def _granted(caps: int, names: tuple[str, ...]) -> bool:
    return any(caps >> CAP_NUMBERS[n] & 1 for n in names)


def denied_syscalls(caps: int) -> list[str]:
    """The syscalls refused to a process holding the capability mask ``caps``."""
    return sorted(n for n, need in RULES.items() if not need or not _granted(caps, need))


AF_VSOCK = 40  # Docker refuses it: a channel to the hypervisor
# personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


def program(caps: int) -> list[tuple[int, int, int, int]]:
    """The BPF program (code, jt, jf, k) for a process holding ``caps``."""
    sys_admin = _granted(caps, ("SYS_ADMIN",))
    items: list = [
        ("op", _LD_W_ABS, 4), ("j", _JEQ_K, AUDIT_ARCH_X86_64, "next", "deny"),  # other ABIs would bypass
        ("op", _LD_W_ABS, 0), ("j", _JGE_K, X32_SYSCALL_BIT, "deny", "next"),   # the x32 ABI too
    ]
    items += [("j", _JEQ_K, NR_X86_64[n], "deny", "next") for n in denied_syscalls(caps)]
    if not sys_admin:
        items += [
            ("j", _JEQ_K, NR_X86_64["clone3"], "next", "not-clone3"),
            ("ret", RET_ERRNO | errno.ENOSYS),  # libc falls back to clone(2), whose flags we can see
            ("label", "not-clone3"),
            ("j", _JEQ_K, NR_X86_64["clone"], "next", "not-clone"),
            ("op", _LD_W_ABS, 16),  # args[0], low 32 bits: the flags
            ("j", _JSET_K, NAMESPACE_FLAGS, "deny", "allow"),
            ("label", "not-clone"),
        ]
    items += [
        ("j", _JEQ_K, NR_X86_64["socket"], "next", "not-socket"),
        ("op", _LD_W_ABS, 16), ("j", _JEQ_K, AF_VSOCK, "deny", "allow"),
        ("label", "not-socket"),
        ("j", _JEQ_K, NR_X86_64["personality"], "next", "allow"),
        ("op", _LD_W_ABS, 16),
    ]
    items += [("j", _JEQ_K, v, "allow", "next") for v in PERSONALITIES]
    items += [("label", "deny"), ("ret", RET_ERRNO | errno.EPERM)]
    # "deny" is reached by jumps only; the personality fall-through above lands on it too
    items += [("label", "allow"), ("ret", RET_ALLOW)]
    return _assemble(items)


# ------------------------------------------------------------------ Docker JSON profiles

_RET_KILL_THREAD, _RET_KILL_PROCESS, _RET_TRAP, _RET_TRACE, _RET_LOG = 0, 0x80000000, 0x00030000, 0x7FF00000, 0x7FFC0000
_ALU_AND_K = 0x54
_JGT_K = 0x25
_DOCKER_ARCHES = {"amd64", "x86_64", "SCMP_ARCH_X86_64"}


def load_profile(value: str) -> dict:
    """``seccomp=<JSON or path>`` (the docker CLI sends the file's content) -> the profile dict."""
    text = value
    if not value.lstrip().startswith("{"):
        try:
            with open(value) as f:
                text = f.read()
        except OSError as e:
            raise InvalidArgument(f"opening seccomp profile ({value}) failed: {os.strerror(e.errno or 0)}") from None
    try:
        profile = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"decoding seccomp profile failed: {e}") from None
    if not isinstance(profile, dict) or not profile.get("defaultAction"):
        raise InvalidArgument("decoding seccomp profile failed: no defaultAction")
    return profile


def _action(name: str, errno_ret, default_errno) -> int:
    name = str(name)
    if name == "SCMP_ACT_ALLOW":
        return RET_ALLOW
    if name == "SCMP_ACT_ERRNO":
        e = errno_ret if errno_ret is not None else default_errno if default_errno is not None else errno.EPERM
        return RET_ERRNO | (int(e) & 0xFFFF)
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return _RET_KILL_THREAD
    if name == "SCMP_ACT_KILL_PROCESS":
        return _RET_KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return _RET_TRAP
    if name == "SCMP_ACT_TRACE":
        return _RET_TRACE | (int(errno_ret or 0) & 0xFFFF)  # no tracer: the kernel answers ENOSYS
    if name == "SCMP_ACT_LOG":
        return _RET_LOG
    raise InvalidArgument(f"seccomp profile: unknown action {name!r}")


def _kernel_version() -> tuple[int, int]:
    parts = os.uname().release.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return 0, 0


def _applies(entry: dict, caps: int, kernel: tuple[int, int]) -> bool:
    inc, exc = entry.get("includes") or {}, entry.get("excludes") or {}
    if inc.get("caps") and not all(caps >> CAP_NUMBERS[normalize(c)] & 1 for c in inc["caps"]):
        return False
    if exc.get("caps") and any(caps >> CAP_NUMBERS[normalize(c)] & 1 for c in exc["caps"]):
        return False
    if inc.get("arches") and not set(inc["arches"]) & _DOCKER_ARCHES:
        return False
    if exc.get("arches") and set(exc["arches"]) & _DOCKER_ARCHES:
        return False
    if inc.get("minKernel"):
        want = tuple(int(x) for x in str(inc["minKernel"]).split(".")[:2])
        if kernel < want:
            return False
    return True


def _cond(index: int, value: int, value2: int, op: str) -> list:
    """Instructions testing one 64-bit argument; jumps to "pass" or "fail" (symbolic)."""
    if not 0 <= index <= 5:
        raise InvalidArgument(f"seccomp profile: argument index {index} out of range")
    lo_off, hi_off = 16 + 8 * index, 20 + 8 * index
    v_lo, v_hi = value & 0xFFFFFFFF, (value >> 32) & 0xFFFFFFFF
    w_lo, w_hi = value2 & 0xFFFFFFFF, (value2 >> 32) & 0xFFFFFFFF
    ld_hi, ld_lo = ("op", _LD_W_ABS, hi_off), ("op", _LD_W_ABS, lo_off)
    if op == "SCMP_CMP_EQ":
        return [ld_hi, ("j", _JEQ_K, v_hi, "next", "fail"), ld_lo, ("j", _JEQ_K, v_lo, "pass", "fail")]
    if op == "SCMP_CMP_NE":
        return [ld_hi, ("j", _JEQ_K, v_hi, "next", "pass"), ld_lo, ("j", _JEQ_K, v_lo, "fail", "pass")]
    if op == "SCMP_CMP_MASKED_EQ":  # (arg & value) == valueTwo
        return [ld_hi, ("op", _ALU_AND_K, v_hi), ("j", _JEQ_K, w_hi, "next", "fail"),
                ld_lo, ("op", _ALU_AND_K, v_lo), ("j", _JEQ_K, w_lo, "pass", "fail")]
    if op in ("SCMP_CMP_GT", "SCMP_CMP_GE"):
        last = _JGT_K if op == "SCMP_CMP_GT" else _JGE_K
        return [ld_hi, ("j", _JGT_K, v_hi, "pass", "next"), ("j", _JEQ_K, v_hi, "next", "fail"),
                ld_lo, ("j", last, v_lo, "pass", "fail")]
    if op in ("SCMP_CMP_LT", "SCMP_CMP_LE"):
        last = _JGE_K if op == "SCMP_CMP_LT" else _JGT_K  # a < v  <=>  not (a >= v)
        return [ld_hi, ("j", _JGT_K, v_hi, "fail", "next"), ("j", _JEQ_K, v_hi, "next", "pass"),
                ld_lo, ("j", last, v_lo, "fail", "pass")]
    raise InvalidArgument(f"seccomp profile: unknown argument operator {op!r}")


def _assemble(items: list) -> list[tuple[int, int, int, int]]:
    """Resolve the symbolic jumps ("next", "pass"/"fail" of the current test, labels) to offsets."""
    pos: dict[str, int] = {}
    n = 0
    for it in items:
        if it[0] == "label":
            pos[it[1]] = n
        else:
            n += 1
    out: list[tuple[int, int, int, int]] = []
    for it in items:
        if it[0] == "label":
            continue
        if it[0] == "op":
            out.append((it[1], 0, 0, it[2]))
            continue
        if it[0] == "ret":
            out.append((_RET_K, 0, 0, it[1]))
            continue
        _, code, k, t, f = it
        here = len(out)
        offs = [0 if x == "next" else pos[x] - here - 1 for x in (t, f)]
        if not all(0 <= o < 256 for o in offs):
            raise InvalidArgument("seccomp profile too large: a rule does not fit BPF's jump range")
        out.append((code, offs[0], offs[1], k))
    return out


def profile_program(profile: dict, caps: int) -> list[tuple[int, int, int, int]]:
    """Compile a Docker seccomp profile (names, actions, args conditions, includes/excludes) to BPF."""
    default_errno = profile.get("defaultErrnoRet")
    default = _action(profile["defaultAction"], None, default_errno)
    kernel = _kernel_version()
    rules: dict[int, list[tuple[list, int]]] = {}
    for entry in profile.get("syscalls") or []:
        if not _applies(entry, caps, kernel):
            continue
        ret = _action(entry.get("action", ""), entry.get("errnoRet"), default_errno)
        conds = [(int(a.get("index", 0)), int(a.get("value", 0)), int(a.get("valueTwo", 0)), str(a.get("op")))
                 for a in entry.get("args") or []]
        for name in entry.get("names") or ([entry["name"]] if entry.get("name") else []):
            if name in NR:  # names this architecture lacks are skipped, as libseccomp does
                rules.setdefault(NR[name], []).append((conds, ret))
    items: list = [("op", _LD_W_ABS, 4), ("j", _JEQ_K, AUDIT_ARCH_X86_64, "nr", "foreign"),
                   ("label", "nr"), ("op", _LD_W_ABS, 0), ("j", _JGE_K, X32_SYSCALL_BIT, "foreign", "table")]
    items.append(("label", "table"))
    for nr in sorted(rules):
        block: list = []
        for r, (conds, ret) in enumerate(rules[nr]):
            if not conds:
                block.append(("ret", ret))
                break
            for c, cond in enumerate(conds):
                tag = f"{nr}.{r}.{c}"
                for it in _cond(*cond):
                    if it[0] == "j":
                        it = tuple("fail:" + f"{nr}.{r}" if x == "fail" else
                                   (f"ok:{tag}" if x == "pass" else x) for x in it)
                    block.append(it)
                block.append(("label", f"ok:{tag}"))
            block.append(("ret", ret))
            block.append(("label", f"fail:{nr}.{r}"))
        else:
            block.append(("ret", default))
        size = sum(1 for it in block if it[0] != "label")
        if size > 255:
            raise InvalidArgument(f"seccomp profile: too many conditions for syscall {nr}")
        items.append(("j", _JEQ_K, nr, "next", f"after:{nr}"))
        items += block
        items.append(("label", f"after:{nr}"))
    items += [("ret", default), ("label", "foreign"), ("ret", RET_ERRNO | errno.EPERM)]
    prog = _assemble(items)
    if len(prog) > 4096:
        raise InvalidArgument(f"seccomp profile too large: {len(prog)} BPF instructions (at most 4096)")
    return prog
