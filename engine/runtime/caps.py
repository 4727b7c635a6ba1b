"""Linux capability names and Docker's rules for cap_add / cap_drop / privileged.

Why: Docker users write ``cap_add: [NET_ADMIN]`` or ``--cap-drop ALL``; the
kernel wants bitmasks. The combination rules follow Docker exactly (ALL in
cap_add wins over individual drops; ALL in cap_drop keeps only cap_add).
"""
from __future__ import annotations

from engine.errors import InvalidArgument

CAP_NAMES: tuple[str, ...] = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)
CAP_NUMBERS: dict[str, int] = {n: i for i, n in enumerate(CAP_NAMES)}

# Docker's default set (moby oci/caps/defaults.go): CapEff 00000000a80425fb.
DEFAULT_CAPS: tuple[str, ...] = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)


def _known_caps() -> list[str]:
    """Every capability this kernel knows and this host lets us hand out (its bounding set).

    "ALL"/privileged means what the host can grant: a sandbox without, say,
    CAP_SYS_RESOURCE cannot give it to a container either.
    """
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except OSError:  # pragma: no cover
        last = len(CAP_NAMES) - 1
    bounding = (1 << (last + 1)) - 1
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    bounding = int(line.split()[1], 16)
    except OSError:  # pragma: no cover
        pass
    return [n for i, n in enumerate(CAP_NAMES[: last + 1]) if bounding >> i & 1]


def normalize(name: str) -> str:
    """``net_admin`` / ``CAP_NET_ADMIN`` -> ``NET_ADMIN``; unknown names are refused."""
    n = name.strip().upper()
    if n == "ALL":
        return n
    if n.startswith("CAP_"):
        n = n[4:]
    if n not in CAP_NUMBERS:
        raise InvalidArgument(f'unknown capability: "CAP_{n}"')
    return n


def tweak(cap_add: list[str] | None, cap_drop: list[str] | None, privileged: bool = False,
          basics: tuple[str, ...] = DEFAULT_CAPS) -> list[str]:
    """The capability names a container gets, by Docker's rules."""
    if privileged:
        return _known_caps()
    adds = [normalize(c) for c in (cap_add or [])]
    drops = [normalize(c) for c in (cap_drop or [])]
    if not adds and not drops:
        return list(basics)
    if "ALL" in adds:
        return [c for c in _known_caps() if c not in drops]
    if "ALL" in drops:
        caps = [c for c in adds if c != "ALL"]
    else:
        caps = [c for c in basics if c not in drops] + adds
    out: list[str] = []
    for c in caps:
        if c not in out:
            out.append(c)
    return out


def mask(names: list[str]) -> int:
    m = 0
    for n in names:
        m |= 1 << CAP_NUMBERS[normalize(n)]
    return m


def names(m: int) -> list[str]:
    return [n for i, n in enumerate(CAP_NAMES) if m >> i & 1]
