"""``ContainerSpec``: everything the kernel side needs to start one container.

Why a separate, plain data object: the Docker-shaped record (user input) is
turned into a spec once, by pure code that is unit-tested without root
(``engine.runtime.build.build_spec``); the forked child then only executes it,
and any mistake in the request is reported before anything is created.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Namespace modes: NEW (a fresh namespace), HOST (stay in the caller's), or an
# absolute path such as /proc/<pid>/ns/net (join that namespace).
NEW = "new"
HOST = "host"

# runc's default masked paths (specconv example spec) plus Docker's powercap;
# paths this kernel lacks are skipped when the container starts.
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
# runc's default read-only paths (and Docker's historical /proc/asound).
READONLY_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

DEFAULT_SHM_SIZE = 64 * 1024 * 1024  # Docker's default /dev/shm
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Mount:
    """One mount inside the container; ``source`` is a host path (bind, volume)."""

    type: str  # "bind" | "volume" | "tmpfs"
    target: str  # absolute path inside the container
    source: str = ""
    readonly: bool = False
    propagation: str = ""  # "", private, rprivate, shared, rshared, slave, rslave
    tmpfs_size: int | None = None  # bytes
    tmpfs_mode: int | None = None
    flags: list[str] = field(default_factory=list)  # e.g. noexec, nosuid, nodev for tmpfs
    volume_name: str = ""  # named or anonymous volume this mount uses
    anonymous: bool = False  # created for an image VOLUME not covered by any mount
    subpath: str = ""  # mount only this directory of the volume (VolumeOptions.Subpath)
    # A volume with driver options (``local`` driver, type/device/o): mounted as
    # ``mount -t fstype -o data device`` instead of bind-mounting its _data dir.
    fstype: str = ""
    device: str = ""
    data: str = ""


@dataclass
class Device:
    """A host device node made available in the container (``--device``)."""

    path: str  # in the container, under /dev
    kind: str  # "c" or "b"
    major: int
    minor: int
    mode: int = 0o666  # permission bits of the node
    uid: int = 0
    gid: int = 0
    permissions: str = "rwm"  # devices cgroup access: read, write, mknod

    @property
    def cgroup_rule(self) -> str:
        return f"{self.kind} {self.major}:{self.minor} {self.permissions}"


@dataclass
class Rlimit:
    name: str  # Docker's name: nofile, nproc, core, ...
    soft: int
    hard: int


@dataclass
class ProcessSpec:
    """The user command and the identity it runs with (also used by exec)."""

    args: list[str]
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    terminal: bool = False
    capabilities: int = 0  # bitmask: bounding = effective = permitted
    no_new_privs: bool = False
    rlimits: list[Rlimit] = field(default_factory=list)
    user: str = ""  # as requested, for messages
    seccomp: bool = True  # Docker's default syscall filter (off when privileged or seccomp=unconfined)
    seccomp_profile: dict | None = None  # a Docker JSON profile instead of the default filter


@dataclass
class Namespaces:
    """Per namespace: NEW, HOST, or a path to join (``/proc/<pid>/ns/<kind>``)."""

    pid: str = NEW
    ipc: str = NEW
    net: str = NEW
    uts: str = NEW
    cgroup: str = NEW


@dataclass
class ContainerSpec:
    id: str
    container_dir: Path
    layers: list[Path]  # image layer dirs, lowest first
    process: ProcessSpec
    hostname: str = ""
    domainname: str = ""
    mounts: list[Mount] = field(default_factory=list)
    readonly_rootfs: bool = False
    privileged: bool = False
    masked_paths: list[str] = field(default_factory=lambda: list(MASKED_PATHS))
    readonly_paths: list[str] = field(default_factory=lambda: list(READONLY_PATHS))
    sysctls: dict[str, str] = field(default_factory=dict)
    shm_size: int = DEFAULT_SHM_SIZE
    init: bool = False
    namespaces: Namespaces = field(default_factory=Namespaces)
    # Where /dev/shm comes from when the IPC namespace is shared (host or
    # another container): a host path bind-mounted over the container's.
    shm_source: str | None = None
    ipc_none: bool = False  # IpcMode "none": no /dev/shm at all
    devices: list[Device] = field(default_factory=list)
    # container path -> host file bind-mounted there (/etc/hostname, hosts, resolv.conf)
    etc_files: dict[str, Path] = field(default_factory=dict)

    @property
    def upper(self) -> Path:
        return self.container_dir / "upper"

    @property
    def work(self) -> Path:
        return self.container_dir / "work"

    @property
    def merged(self) -> Path:
        return self.container_dir / "merged"
