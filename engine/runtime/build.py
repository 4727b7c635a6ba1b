"""``build_spec``: a Docker-shaped container record + image config -> ContainerSpec.

Why pure and separate: every rule a Docker user relies on (entrypoint/cmd
merging, env order, user lookup, -v syntax, which sysctls are allowed...) is
decided here, before anything is created, and unit-tested without root. The
only side effects are Docker's own: creating a missing bind source
directory, and creating/seeding named volumes through the volume store.
"""
from __future__ import annotations

import hashlib
import os
import re
import socket
import stat
from pathlib import Path
from typing import Callable

from engine import values
from engine.containerview import command_line  # noqa: F401 - the spec's args; tests import it here
from engine.errors import InvalidArgument
from engine.runtime import caps as capsmod, seccomp
from engine.runtime.etcfiles import default_etc_files
from engine.runtime.securejoin import secure_join
from engine.runtime.limits import check_host_rlimits, parse_ulimits, validate_sysctls
from engine.runtime.spec import (DEFAULT_PATH, DEFAULT_SHM_SIZE, HOST, NEW, ContainerSpec, Device, Mount,
                                 Namespaces, ProcessSpec)
from engine.runtime.users import resolve_user

VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
BIND_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated",
              "shared", "rshared", "slave", "rslave", "private", "rprivate"}
ANONYMOUS_LABEL = "com.docker.volume.anonymous"  # what Docker (and our volume store) marks them with
PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def _image_cfg(image_config: dict | None) -> dict:
    ic = image_config or {}
    inner = ic.get("config") if isinstance(ic.get("config"), dict) else ic.get("Config")
    return inner if isinstance(inner, dict) else ic


def replace_or_append(env: list[str], more: list[str]) -> list[str]:
    """Docker's ReplaceOrAppendEnvValues: same key replaces in place; ``KEY`` alone removes it."""
    out = list(env)
    for e in more:
        key, eq, _ = e.partition("=")
        idx = next((i for i, o in enumerate(out) if o.partition("=")[0] == key), None)
        if not eq:
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(e)
        else:
            out[idx] = e
    return out


def environment(cfg: dict, image: dict, hostname: str, tty: bool, home: str) -> list[str]:
    """PATH, HOSTNAME, [TERM], then container env, then image env not overridden (Docker's order)."""
    user_env = [str(e) for e in cfg.get("Env") or []]
    keys = {e.partition("=")[0] for e in user_env}
    merged = user_env + [str(e) for e in image.get("Env") or [] if str(e).partition("=")[0] not in keys]
    base = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"] + (["TERM=xterm"] if tty else [])
    env = replace_or_append(base, merged)
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home}")
    return env


def _ns_mode(value: str | None, kind: str, container_pid: Callable[[str], int] | None,
             default: str = NEW) -> str:
    v = (value or "").strip()
    if v in ("", "private", "shareable", "default", "bridge"):
        return default
    if v == "host":
        return HOST
    if v.startswith("/"):
        return v
    if v.startswith("container:"):
        ref = v.split(":", 1)[1]
        if not ref:
            raise InvalidArgument(f"invalid {kind} mode {value!r}: missing container name")
        if container_pid is None:
            raise InvalidArgument(f"{kind} mode {value!r} needs the other container to be running")
        pid = container_pid(ref)
        return f"/proc/{pid}/ns/{kind}"
    if kind == "net":
        return NEW  # a user-defined network: a new namespace, networking attaches it
    raise InvalidArgument(f"invalid {kind} mode: {value}")


def _hostname_of(ns_path: str) -> str:
    """The hostname of the container whose namespace file is /proc/<pid>/ns/<kind>."""
    root = ns_path.rsplit("/ns/", 1)[0] + "/root/etc/hostname"
    try:
        with open(root) as f:
            return f.read().strip()
    except OSError:
        return ""


def _bytes(value, what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return values.parse_size(str(value).strip())
    except ValueError:
        raise InvalidArgument(f"invalid {what}: {value!r}") from None


def anonymous_volume_name(cid: str, target: str) -> str:
    """The name of container ``cid``'s anonymous volume at ``target``: sha256 of the id and the
    normalised path, so the API (``rm -v``, volume in-use checks) finds the same volume again."""
    return hashlib.sha256(f"{cid}:{os.path.normpath(target)}".encode()).hexdigest()


def _check_target(target: str) -> str:
    if not target or not target.startswith("/"):
        raise InvalidArgument(f"invalid mount config: mount path must be absolute: {target!r}")
    t = os.path.normpath(target)
    if t == "/":
        raise InvalidArgument("invalid mount config: destination can't be '/'")
    return t


class _MountBuilder:
    def __init__(self, cid: str, layers: list[Path], volumes):
        self.cid, self.layers, self.volumes = cid, layers, volumes
        self.mounts: list[Mount] = []
        self.to_create: list[str] = []  # missing -v host paths, made only once everything is valid

    def add(self, m: Mount) -> None:
        m.target = _check_target(m.target)
        if any(x.target == m.target for x in self.mounts):
            raise InvalidArgument(f"Duplicate mount point: {m.target}")
        self.mounts.append(m)

    def volume(self, name: str, target: str, readonly: bool, nocopy: bool, anonymous: bool = False) -> Mount:
        if self.volumes is None:
            raise InvalidArgument(f"volume {name!r} for {target}: no volume store available")
        if not VOLUME_NAME.match(name):
            raise InvalidArgument(f'"{name}" includes invalid characters for a local volume name, '
                                  'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass '
                                  "a host directory, use absolute path")
        return Mount(type="volume", target=target, readonly=readonly, volume_name=name, anonymous=anonymous,
                     flags=["nocopy"] if nocopy else [])

    def bind_string(self, spec: str) -> None:
        parts = spec.split(":")
        if len(parts) == 1:
            self.anonymous(parts[0])
            return
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise InvalidArgument(f"invalid volume specification: '{spec}'")
        src, dst = parts[0], parts[1]
        opts = [o for o in (parts[2].split(",") if len(parts) == 3 else []) if o]
        for o in opts:
            if o not in BIND_MODES:
                raise InvalidArgument(f"invalid mode: {parts[2]}")
        ro = "ro" in opts
        prop = next((o for o in opts if o in PROPAGATIONS), "")
        if src.startswith("/"):
            if "nocopy" in opts:
                raise InvalidArgument(f"invalid mode: {parts[2]}")
            if not os.path.exists(src):
                self.to_create.append(src)  # Docker creates a missing -v host path
            self.add(Mount(type="bind", source=os.path.normpath(src), target=dst, readonly=ro, propagation=prop))
        else:
            if prop:
                raise InvalidArgument(f"invalid mode: {parts[2]}")
            self.add(self.volume(src, dst, ro, "nocopy" in opts))

    def api_mount(self, m: dict) -> None:
        typ = (m.get("Type") or "volume").lower()
        target, src, ro = m.get("Target") or m.get("Destination") or "", m.get("Source") or "", bool(m.get("ReadOnly"))
        if typ == "bind":
            bo = m.get("BindOptions") or {}
            if not src:
                raise InvalidArgument('invalid mount config for type "bind": field Source must not be empty')
            if not src.startswith("/"):
                raise InvalidArgument(f'invalid mount config for type "bind": invalid mount path: '
                                      f"'{src}' mount path must be absolute")
            if not os.path.exists(src):
                if bo.get("CreateMountpoint"):
                    self.to_create.append(src)
                else:
                    raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not '
                                          f"exist: {src}")
            prop = bo.get("Propagation") or ""
            if prop and prop not in PROPAGATIONS:
                raise InvalidArgument(f"invalid propagation mode: {prop}")
            self.add(Mount(type="bind", source=os.path.normpath(src), target=target, readonly=ro, propagation=prop))
        elif typ == "volume":
            vo = m.get("VolumeOptions") or {}
            sub = str(vo.get("Subpath") or "")
            if sub and (sub.startswith("/") or ".." in sub.split("/")):
                raise InvalidArgument(f"subpath must be a relative path within the volume: {sub!r}")
            if src:
                mount = self.volume(src, target, ro, bool(vo.get("NoCopy")))
                mount.subpath = sub
                self.add(mount)
            else:
                if sub:
                    raise InvalidArgument("subpath is only allowed with a named volume")
                self.anonymous(target, ro, bool(vo.get("NoCopy")))
        elif typ == "tmpfs":
            if src:
                raise InvalidArgument('invalid mount config for type "tmpfs": field Source must not be specified')
            to = m.get("TmpfsOptions") or {}
            size = to.get("SizeBytes")
            if size is not None and int(size) < 0:
                raise InvalidArgument('invalid mount config for type "tmpfs": invalid tmpfs size')
            mode = to.get("Mode")
            self.add(Mount(type="tmpfs", target=target, readonly=ro, tmpfs_size=int(size) if size else None,
                           tmpfs_mode=int(mode) if mode is not None else None))
        else:
            raise InvalidArgument(f"mount type {typ!r} is not supported (bind, volume, tmpfs)")

    def tmpfs_map(self, tmpfs: dict) -> None:
        for target, opts in (tmpfs or {}).items():
            words = [w for w in str(opts or "").split(",") if w]
            size = next((w.split("=", 1)[1] for w in words if w.startswith("size=")), None)
            mode = next((w.split("=", 1)[1] for w in words if w.startswith("mode=")), None)
            rest = [w for w in words if not w.startswith(("size=", "mode="))]
            try:
                mode_i = int(mode, 8) if mode else None
            except ValueError:
                raise InvalidArgument(f"invalid tmpfs mode for {target}: {mode}") from None
            self.add(Mount(type="tmpfs", target=target, flags=rest,
                           tmpfs_size=_bytes(size, f"tmpfs size for {target}") if size else None,
                           tmpfs_mode=mode_i))

    def anonymous(self, target: str, ro: bool = False, nocopy: bool = False) -> None:
        t = _check_target(target)
        self.add(self.volume(anonymous_volume_name(self.cid, t), t, ro, nocopy, anonymous=True))

    def finish(self) -> list[Mount]:
        """Create bind sources and volumes now that the set of mounts is known to be valid."""
        for src in self.to_create:
            os.makedirs(src, exist_ok=True)
        for m in self.mounts:
            if m.type != "volume":
                continue
            labels = {ANONYMOUS_LABEL: ""} if m.anonymous else None
            m.source = str(self.volumes.ensure(m.volume_name, labels) if labels else
                           self.volumes.ensure(m.volume_name))
            info = self.volumes.mount_info(m.volume_name) if hasattr(self.volumes, "mount_info") else None
            if info:
                m.fstype, m.device, m.data = info.get("type") or "", info.get("device") or "", info.get("o") or ""
            elif "nocopy" not in m.flags and not m.subpath:
                self.volumes.seed(m.volume_name, self.layers, m.target)
            m.flags = []
            if m.subpath:
                if info:
                    raise InvalidArgument(f"volume {m.volume_name}: subpath is not supported for volumes "
                                          "with driver options")
                sub = secure_join(m.source, m.subpath)
                if not os.path.isdir(sub):
                    raise InvalidArgument(f"cannot access path {sub}: no such file or directory")
                # m.source stays the volume's root: the runtime resolves the subpath again
                # when mounting, since containers sharing the volume may change it meanwhile
        return self.mounts


def devices(items: list | None) -> list[Device]:
    """Docker's HostConfig.Devices (or ``host[:container[:perms]]`` strings) -> Device nodes.

    A directory on the host brings every device under it, like Docker.
    """
    out: list[Device] = []
    for item in items or []:
        if isinstance(item, str):
            parts = item.split(":")
            host = parts[0]
            inside = parts[1] if len(parts) > 1 and parts[1] and parts[1].startswith("/") else host
            perms = parts[-1] if len(parts) > 1 and not parts[-1].startswith("/") else "rwm"
        else:
            host = item.get("PathOnHost") or ""
            inside = item.get("PathInContainer") or host
            perms = item.get("CgroupPermissions") or "rwm"
        if not perms or any(c not in "rwm" for c in perms):
            raise InvalidArgument(f"invalid device mode: {perms}")
        if not host.startswith("/") or not inside.startswith("/"):
            raise InvalidArgument(f"invalid device path: {host!r} (must be absolute)")
        try:
            st = os.stat(host)
        except OSError as e:
            raise InvalidArgument(f'error gathering device information while adding custom device "{host}": '
                                  f"{os.strerror(e.errno or 0).lower()}") from None
        if stat.S_ISDIR(st.st_mode):
            for dirpath, _, files in os.walk(host):
                for f in sorted(files):
                    hp = os.path.join(dirpath, f)
                    d = _device(hp, os.path.join(inside, os.path.relpath(hp, host)), perms)
                    if d:
                        out.append(d)
            continue
        d = _device(host, inside, perms)
        if d is None:
            raise InvalidArgument(f'error gathering device information while adding custom device "{host}": '
                                  "not a device node")
        out.append(d)
    return out


def _device(host: str, inside: str, perms: str) -> Device | None:
    try:
        st = os.stat(host)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return Device(path=os.path.normpath(inside), kind=kind, major=os.major(st.st_rdev), minor=os.minor(st.st_rdev),
                  mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid, permissions=perms)


def security_opts(opts: list[str]) -> dict:
    """HostConfig.SecurityOpt -> {no_new_privs, unconfined_paths, seccomp, seccomp_profile}; shared by
    the container's init and ``exec`` (an exec'd process gets the container's syscall filter)."""
    out = {"no_new_privs": False, "unconfined_paths": False, "seccomp": True, "seccomp_profile": None}
    for o in opts or []:
        cut = min((i for i in (o.find("="), o.find(":")) if i >= 0), default=-1)  # docker takes either
        key, sep, val = (o[:cut], o[cut], o[cut + 1:]) if cut >= 0 else (o, "", "")
        key = key.strip()
        if key == "no-new-privileges":
            if not sep:
                out["no_new_privs"] = True
            elif val.lower() in ("true", "1"):
                out["no_new_privs"] = True
            elif val.lower() in ("false", "0"):
                out["no_new_privs"] = False
            else:
                raise InvalidArgument(f"invalid --security-opt 2: {o!r}")
        elif key == "systempaths":
            if val != "unconfined":
                raise InvalidArgument(f"invalid --security-opt: {o!r}")
            out["unconfined_paths"] = True
        elif key == "seccomp":
            if val == "unconfined":
                out["seccomp"] = False
            elif val not in ("", "default", "builtin"):
                out["seccomp_profile"] = seccomp.load_profile(val)
        elif key in ("apparmor", "label", "mask", "unmask"):
            continue  # no AppArmor/SELinux on this engine: accepted, like Docker on hosts without them
        else:
            raise InvalidArgument(f"invalid --security-opt 2: {o!r}")
    return out


def _declared_mounts(mb: _MountBuilder, record: dict, image: dict) -> None:
    """Binds, Mounts, Tmpfs, then anonymous volumes for VOLUMEs nothing else covers."""
    cfg = record.get("Config") or {}
    hc = record.get("HostConfig") or {}
    for b in hc.get("Binds") or []:
        mb.bind_string(str(b))
    for m in hc.get("Mounts") or []:
        mb.api_mount(m)
    mb.tmpfs_map(hc.get("Tmpfs") or {})
    taken = {m.target for m in mb.mounts}
    for vol in list((image.get("Volumes") or {}).keys()) + list((cfg.get("Volumes") or {}).keys()):
        t = os.path.normpath(vol) if vol.startswith("/") else vol
        if t not in taken:
            mb.anonymous(t)
            taken.add(t)


def _volumes_from(mb: _MountBuilder, refs: list[str], container_dir: Path,
                  container_record: Callable[[str], dict] | None, volumes) -> None:
    """``--volumes-from x[:ro|rw]``: x's binds and volumes (not its tmpfs), own mounts winning."""
    root = container_dir.parent.parent
    if container_record is None:
        from engine.containers import ContainerStore  # the records live beside this container's dir

        container_record = ContainerStore(root).get
    for ref in refs:
        name, _, mode = str(ref).partition(":")
        if mode not in ("", "ro", "rw", "z", "Z"):
            raise InvalidArgument(f"invalid mode for volumes-from: {mode}")
        other = container_record(name)
        try:
            from engine.images import ImageStore

            other_image = ImageStore(root).get(other["Image"]).config
        except Exception:  # noqa: BLE001 - image gone: its VOLUMEs are then only those in Config
            other_image = {}
        sub = _MountBuilder(other.get("Id") or name, mb.layers, volumes)
        _declared_mounts(sub, other, _image_cfg(other_image))
        taken = {m.target for m in mb.mounts}
        for m in sub.mounts:
            if m.type == "tmpfs" or m.target in taken:
                continue
            if mode == "ro":
                m.readonly = True
            elif mode == "rw":
                m.readonly = False
            m.flags = ["nocopy"] if m.type == "volume" else m.flags  # its content is the other's
            mb.mounts.append(m)


def _namespaces(hc: dict, container_pid: Callable[[str], int] | None) -> tuple[Namespaces, str | None, bool]:
    """(namespaces, where /dev/shm comes from, IPC mode none) of a HostConfig's Pid/Network/UTS/Cgroupns/IpcMode."""
    ns = Namespaces(
        pid=_ns_mode(hc.get("PidMode"), "pid", container_pid),
        ipc=NEW, net=_ns_mode(hc.get("NetworkMode"), "net", container_pid),
        uts=_ns_mode(hc.get("UTSMode"), "uts", container_pid),
        cgroup=HOST if (hc.get("CgroupnsMode") or "") == "host" else NEW,
    )
    ipc_mode = (hc.get("IpcMode") or "").strip()
    shm_source, ipc_none = None, False
    if ipc_mode == "none":
        ipc_none = True
    elif ipc_mode == "host":
        ns.ipc, shm_source = HOST, "/dev/shm"
    elif ipc_mode.startswith("container:"):
        ns.ipc = _ns_mode(ipc_mode, "ipc", container_pid)
        shm_source = ns.ipc.replace("/ns/ipc", "/root/dev/shm")
    elif ipc_mode not in ("", "private", "shareable"):
        raise InvalidArgument(f"invalid IPC mode: {ipc_mode}")
    return ns, shm_source, ipc_none


def _hostname(cid: str, cfg: dict, hc: dict, ns: Namespaces) -> str:
    hostname = (cfg.get("Hostname") or "").strip()
    net_mode = str(hc.get("NetworkMode") or "")
    if net_mode.startswith("container:"):
        # Docker gives it the other container's hostname (create refuses a --hostname of its own;
        # a record may carry the one inspect showed, so it is not an error here)
        hostname = _hostname_of(ns.net) or hostname or cid[:12]
    elif not hostname:
        hostname = socket.gethostname() if ns.net == HOST or ns.uts == HOST else cid[:12]
    if len(hostname) > 64:
        raise InvalidArgument(f"invalid hostname {hostname!r}: longer than 64 characters")
    return hostname


def build_spec(record: dict, image_config: dict | None, layer_dirs: list[Path], container_dir: Path,
               volumes=None, *, container_pid: Callable[[str], int] | None = None,
               container_record: Callable[[str], dict] | None = None) -> ContainerSpec:
    """The ContainerSpec for a Docker ContainerCreate-shaped ``record``.

    ``volumes``: the volume store (``ensure(name) -> Path``, ``seed(name, layers, path)``);
    ``container_pid(name_or_id) -> pid``: resolves ``container:x`` namespace modes;
    ``container_record(name_or_id) -> record``: for VolumesFrom (default: the records
    of this data root, ``container_dir``'s grandparent).
    """
    cid = record.get("Id") or ""
    cfg = record.get("Config") or {}
    hc = record.get("HostConfig") or {}
    image = _image_cfg(image_config)
    layers = [Path(p) for p in layer_dirs]
    container_dir = Path(container_dir)

    ns, shm_source, ipc_none = _namespaces(hc, container_pid)
    hostname = _hostname(cid, cfg, hc, ns)

    user_str = cfg.get("User") if cfg.get("User") is not None and cfg.get("User") != "" else image.get("User") or ""
    user = resolve_user(str(user_str), layers, [str(g) for g in hc.get("GroupAdd") or []])

    cwd = cfg.get("WorkingDir") or image.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory '{cwd}' is invalid, it needs to be an absolute path")

    privileged = bool(hc.get("Privileged"))
    sec = security_opts(hc.get("SecurityOpt") or [])
    cap_names = capsmod.tweak(hc.get("CapAdd"), hc.get("CapDrop"), privileged)
    rlimits = parse_ulimits(hc.get("Ulimits"))
    check_host_rlimits(rlimits)
    sysctls = validate_sysctls(hc.get("Sysctls"), ns)
    shm = hc.get("ShmSize")
    if shm is not None and int(shm) < 0:
        raise InvalidArgument("SHM size can not be less than 0")
    tty = bool(cfg.get("Tty"))

    process = ProcessSpec(
        args=command_line(cfg, image),
        env=environment(cfg, image, hostname, tty, user.home),
        cwd=os.path.normpath(cwd), uid=user.uid, gid=user.gid, additional_gids=user.additional_gids,
        terminal=tty, capabilities=capsmod.mask(cap_names), no_new_privs=sec["no_new_privs"],
        rlimits=rlimits, user=str(user_str), seccomp=sec["seccomp"] and not privileged,
        seccomp_profile=sec["seccomp_profile"],
    )
    if process.seccomp and process.seccomp_profile:
        seccomp.profile_program(process.seccomp_profile, process.capabilities)  # refuse a bad profile now

    mb = _MountBuilder(cid, layers, volumes)
    _declared_mounts(mb, record, image)
    if hc.get("VolumesFrom"):
        _volumes_from(mb, hc["VolumesFrom"], container_dir, container_record, volumes)
    masked = list(hc.get("MaskedPaths")) if hc.get("MaskedPaths") is not None else None
    readonly = list(hc.get("ReadonlyPaths")) if hc.get("ReadonlyPaths") is not None else None
    spec = ContainerSpec(
        id=cid, container_dir=container_dir, layers=layers, process=process, hostname=hostname,
        domainname=cfg.get("Domainname") or "", readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
        privileged=privileged, sysctls=sysctls, shm_size=int(shm) if shm else DEFAULT_SHM_SIZE,
        init=bool(hc.get("Init")), namespaces=ns, shm_source=shm_source, ipc_none=ipc_none,
        etc_files=default_etc_files(container_dir), devices=devices(hc.get("Devices")),
    )
    if sec["unconfined_paths"] or privileged:
        spec.masked_paths, spec.readonly_paths = [], []
    if masked is not None:
        spec.masked_paths = masked
    if readonly is not None:
        spec.readonly_paths = readonly
    spec.mounts = mb.finish()
    return spec


_replace_or_append = replace_or_append  # the names before they were public
_security_opts = security_opts
