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
import platform

from engine.runtime.caps import CAP_NUMBERS

# x86_64 syscall numbers: name -> nr
NR_X86_64: dict[str, int] = {
    "syslog": 103, "ptrace": 101, "uselib": 134, "ustat": 136, "sysfs": 139, "pivot_root": 155, "_sysctl": 156,
    "vhangup": 153, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "create_module": 174,
    "init_module": 175, "delete_module": 176, "get_kernel_syms": 177, "query_module": 178, "quotactl": 179,
    "nfsservctl": 180, "acct": 163, "lookup_dcookie": 212, "clock_settime": 227, "mbind": 237,
    "set_mempolicy": 238, "get_mempolicy": 239, "kexec_load": 246, "add_key": 248, "request_key": 249,
    "keyctl": 250, "unshare": 272, "move_pages": 279, "perf_event_open": 298, "fanotify_init": 300,
    "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443,
    "set_mempolicy_home_node": 450, "clone": 56, "clone3": 435,
}

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


def supported() -> bool:
    return platform.machine() == "x86_64"


def _granted(caps: int, names: tuple[str, ...]) -> bool:
    return any(caps >> CAP_NUMBERS[n] & 1 for n in names)


def denied_syscalls(caps: int) -> list[str]:
    """The syscalls refused to a process holding the capability mask ``caps``."""
    return sorted(n for n, need in RULES.items() if not need or not _granted(caps, need))


def program(caps: int) -> list[tuple[int, int, int, int]]:
    """The BPF program (code, jt, jf, k) for a process holding ``caps``."""
    eperm = RET_ERRNO | errno.EPERM
    sys_admin = _granted(caps, ("SYS_ADMIN",))
    denied = [NR_X86_64[n] for n in denied_syscalls(caps)]
    # Layout: [head] [jeq nr -> deny]* [clone checks]? [ret allow] [ret deny]
    clone_block = [] if sys_admin else [
        (_JEQ_K, 0, 1, NR_X86_64["clone3"]),
        (_RET_K, 0, 0, RET_ERRNO | errno.ENOSYS),  # libc falls back to clone(2)
        (_JEQ_K, 0, 2, NR_X86_64["clone"]),  # not clone: on to "allow"
        (_LD_W_ABS, 0, 0, 16),  # args[0], low 32 bits: the flags
        (_JSET_K, 1, 0, NAMESPACE_FLAGS),  # a namespace flag: skip "allow", land on "deny"
    ]
    body: list[tuple[int, int, int, int]] = []
    for i, nr in enumerate(denied):
        skip = (len(denied) - i - 1) + len(clone_block) + 1  # the other checks and "allow"
        assert skip < 256, "too many denied syscalls for one BPF jump"
        body.append((_JEQ_K, skip, 0, nr))
    body += clone_block + [(_RET_K, 0, 0, RET_ALLOW), (_RET_K, 0, 0, eperm)]
    head = [
        (_LD_W_ABS, 0, 0, 4),  # arch
        (_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (_RET_K, 0, 0, eperm),  # other ABIs (i386 via int 0x80) would bypass the table
        (_LD_W_ABS, 0, 0, 0),  # nr
        (_JGE_K, 0, 1, X32_SYSCALL_BIT),
        (_RET_K, 0, 0, eperm),  # x32 ABI
    ]
    return head + body
