"""The engine facade: ``Engine(root)`` with ``.images .containers .volumes .networks .events()``.

Why one facade: the compose layer (and the engine CLI) talk only to this
module, in Docker Engine API shapes (Docker's JSON field names), so the
Docker API reference documents every dict that crosses it and the kernel
side can change behind it. Container records live on disk
(``engine.containers.ContainerStore``); everything that needs a live process
(start, stop, kill, pause, wait, events) goes through the supervisor daemon
(``engine.supervisor.client.SupervisorClient``), so containers outlive the
command that started them.
"""
from __future__ import annotations

import contextlib
import os
import time
from functools import cached_property
from pathlib import Path
import re
from typing import Any, BinaryIO, Callable, ContextManager, Iterator

from engine import containerview as view
from engine.containers import ContainerStore, now_iso
from engine.errors import Conflict, EngineError, InvalidArgument, NotFound
from engine.state import DataRoot

__all__ = ["Engine", "Images", "Containers", "Volumes", "Networks", "LogEntry"]

from engine.logs import LogEntry  # noqa: E402  (re-exported: part of the contract)
# docker's progress-bar text of a pull/push message (compose's pull view shows it per layer)
from engine.jsonmessage import progress_text  # noqa: E402,F401


_LOCK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


class SupervisorUnavailable(EngineError):
    """The supervisor module is missing from this installation (a broken install)."""


# ----------------------------------------------------------------------------- engine


class Engine:
    """All engine objects of one data root (``$PYCOMPOSE_ROOT`` or /var/lib/pycompose)."""

    def __init__(self, root: str | os.PathLike | DataRoot | None = None):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.store = ContainerStore(self.root)

    def __repr__(self) -> str:
        return f"Engine({str(self.root.path)!r})"

    # lazily built: `pycompose container ls` must not import the image or network machinery
    @cached_property
    def images(self) -> "Images":
        return Images(self)

    @cached_property
    def containers(self) -> "Containers":
        return Containers(self)

    @cached_property
    def volumes(self) -> "Volumes":
        return Volumes(self)

    @cached_property
    def networks(self) -> "Networks":
        return Networks(self)

    @cached_property
    def supervisor(self):
        """The client of this root's supervisor (started on first use by its own methods)."""
        try:
            from engine.supervisor.client import SupervisorClient
        except ImportError as e:  # pragma: no cover - only on a broken install
            raise SupervisorUnavailable(f"the container supervisor is not available: {e}") from None
        return SupervisorClient(self.root.path)

    def lock(self, name: str, on_busy: Callable[[int | None], None] | None = None) -> ContextManager[None]:
        """An exclusive lock named ``name`` under the data root for a ``with`` block, released when the
        holder exits or dies (flock). ``on_busy(holder pid or None)`` is told once before waiting.
        Compose holds ``project-<name>`` while it changes a project, so two commands on one project
        run one after the other instead of making two containers for one replica."""
        if not isinstance(name, str) or not _LOCK_NAME.fullmatch(name):
            raise InvalidArgument(f"invalid lock name {name!r}")
        return self.root.exclusive(name, on_busy)

    def supervisor_running(self) -> bool:
        """True when this root's supervisor process is alive (checked by its pid file)."""
        pid_file = self.root.path / "run" / "supervisor.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"pycompose-supervisor" in cmd or b"pycompose-sup" in cmd

    def events(self, filters: dict[str, list[str]] | None = None, since: Any = None,
               until: Any = None) -> Iterator[dict]:
        """Docker events (Type, Action, Actor{ID, Attributes}, time, timeNano), pushed as they happen."""
        return self.supervisor.events(filters=filters, since=since, until=until)

    def notify(self, event: dict) -> None:
        """Publish an event the API itself causes (create, destroy, rename) when a supervisor runs."""
        with contextlib.suppress(Exception):
            if self.supervisor_running():
                self.supervisor.notify(event)

    def revive(self, states: Iterator[dict]) -> bool:
        """Start the supervisor when a record says a container runs but no supervisor does (it was
        killed, or the machine rebooted): it re-adopts the living, records the dead as exited and
        applies restart policies. True when it did, so the caller reads the states again; without
        it ``ps`` would show dead containers as running and ``logs`` would wait on a pipe nobody
        reads. Costs a pid-file read when all is well."""
        if not any(st.get("Running") or st.get("Restarting") for st in states) or self.supervisor_running():
            return False
        try:
            self.supervisor.ensure_running()
        except EngineError:  # e.g. not root: show the records as they are
            return False
        return True

    def shutdown(self) -> None:
        """Stop every container of this data root, then its supervisor (tests, uninstall)."""
        if not self.supervisor_running():
            return
        self.supervisor.shutdown()

    def login(self, server: str | None, username: str | None, password: str | None) -> dict:
        """``docker login``: verify against the registry, store in Docker's config.json; {"Status": ...}."""
        from engine.registry import login as login_mod

        return login_mod.login(server, username, password)

    def logout(self, server: str | None) -> str:
        """``docker logout``: forget the stored credentials; returns the server logged out of."""
        from engine.registry import login as login_mod

        return login_mod.logout(server)


def _event(action: str, rec: dict, **attrs: Any) -> dict:
    t = time.time_ns()
    labels = (rec.get("Config") or {}).get("Labels") or {}
    return {"Type": "container", "Action": action, "status": action, "id": rec["Id"], "from": view.image_name(rec),
            "Actor": {"ID": rec["Id"], "Attributes": {**labels, "image": view.image_name(rec),
                                                      "name": rec["Name"].lstrip("/"), **attrs}},
            "scope": "local", "time": t // 10**9, "timeNano": t}


# ----------------------------------------------------------------------------- images


class Images:
    """``engine.images.ImageStore`` with in-use checks against this root's containers."""

    def __init__(self, engine: Engine):
        from engine.images import ImageStore

        self.engine = engine
        self.store = ImageStore(engine.root)

    def users(self, image_id: str) -> list[str]:
        """Ids of the containers created from ``image_id``."""
        return [r["Id"] for r in self.engine.store.records() if r.get("Image") == image_id]

    def load(self, path: str | os.PathLike) -> list[str]:
        return self.store.load(path)

    def import_(self, tar_path: str | os.PathLike, ref: str | None = None, changes: list[str] | None = None) -> str:
        return self.store.import_tarball(tar_path, ref, changes)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return [r.summary() for r in self.store.list(filters)]

    def inspect(self, ref: str) -> dict:
        out = self.store.inspect(ref)
        meta = out.get("Metadata")
        if isinstance(meta, dict) and not meta.get("LastTagTime"):
            meta["LastTagTime"] = self._tag_times().get(out.get("Id"), "")
        return out

    def _tag_times_path(self) -> Path:
        return self.engine.root.path / "images" / "last-tag-times.json"

    def _tag_times(self) -> dict[str, str]:
        """image id -> when a pull last tagged it (Docker's Metadata.LastTagTime; pull_policy daily)."""
        from engine.state import read_json

        data = read_json(self._tag_times_path())
        return data if isinstance(data, dict) else {}

    def _tagged_now(self, image_id: str | None) -> None:
        from engine.state import write_json

        if not image_id:
            return
        with self.engine.root.lock("image-tag-times"):
            data = {k: v for k, v in self._tag_times().items() if self.store.exists(k)}
            data[image_id] = now_iso()
            write_json(self._tag_times_path(), data, sync=False)

    def get(self, ref: str):
        return self.store.get(ref)

    def tag(self, src: str, dst: str) -> None:
        self.store.tag(src, dst)

    def save(self, refs: list[str], out: str | os.PathLike) -> None:
        self.store.save(refs, out)

    def remove(self, ref: str, force: bool = False) -> list[dict]:
        return self.store.remove(ref, force=force, in_use=self.users)

    def prune(self, all: bool = False, filters: dict[str, list[str]] | None = None) -> dict:
        return self.store.prune(all=all, filters=filters, in_use=self.users)

    def exists(self, ref: str) -> bool:
        return self.store.exists(ref)

    # --- builds (engine.build) --------------------------------------------------------------------
    def build(self, context: str | os.PathLike | BinaryIO, dockerfile: str | None = None,
              dockerfile_inline: str | None = None, tags: list[str] = (), target: str | None = None,
              build_args: dict[str, str | None] | None = None, labels: dict | None = None, no_cache: bool = False,
              no_cache_filter: list[str] = (), pull: bool = False, network: str | None = None,
              extra_hosts: list[str] = (), shm_size: int | None = None,
              additional_contexts: dict[str, str] | None = None, secrets: dict[str, dict] | None = None,
              cache_from: list[str] = (), cache_to: list[str] = (), platform: str | None = None,
              progress: Callable[[dict], None] | None = None) -> str:
        """``docker build``: a Dockerfile and a context (a directory or a tar stream) -> the image id.

        ``progress`` receives BuildKit-like vertex events (see ``engine.build.progress``)."""
        from engine.build.executor import BuildOptions, build

        opts = BuildOptions(context=context, dockerfile=dockerfile, dockerfile_inline=dockerfile_inline,
                            tags=list(tags or []), target=target, build_args=dict(build_args or {}),
                            labels=dict(labels or {}), no_cache=no_cache, no_cache_filter=list(no_cache_filter or []),
                            pull=pull, network=network, extra_hosts=list(extra_hosts or []), shm_size=shm_size,
                            additional_contexts=dict(additional_contexts or {}), secrets=dict(secrets or {}),
                            cache_from=list(cache_from or []), cache_to=list(cache_to or []), platform=platform)
        return build(self, opts, progress)

    def prune_build_cache(self, all: bool = False, filters: dict[str, list[str]] | None = None,
                          keep_storage: int | None = None) -> dict:
        """``docker builder prune``: {"CachesDeleted": [...], "SpaceReclaimed": N}."""
        from engine.build.prune import prune

        return prune(self.engine.root, self.store, all=all, filters=filters, keep_storage=keep_storage)

    def build_cache_usage(self) -> list[dict]:
        """``docker builder du``: one dict per cache record (ID, Type, Size, Shared, InUse, LastUsedAt, ...)."""
        from engine.build.prune import usage

        return usage(self.engine.root, self.store)

    # --- registries (engine.registry) ----------------------------------------------------------
    def pull(self, ref: str, platform: str | None = None, all_tags: bool = False,
             progress: Callable[[dict], None] | None = None) -> dict:
        """``docker pull``: {"ref", "id", "digest", "status"}; progress gets Docker's JSON messages."""
        from engine.registry import pull as pull_mod

        if all_tags:
            result = pull_mod.pull_all_tags(self.store, ref, platform, progress)
        else:
            result = pull_mod.pull(self.store, ref, platform, progress)
        self._tagged_now((result or {}).get("id"))
        return result

    def push(self, ref: str, all_tags: bool = False, progress: Callable[[dict], None] | None = None) -> list[dict]:
        """``docker push``: one {"ref", "tag", "digest", "size"} per tag pushed."""
        from engine.registry import push as push_mod

        return push_mod.push(self.store, ref, all_tags, progress)

    def search(self, term: str, limit: int = 25, filters: dict[str, list[str]] | None = None) -> list[dict]:
        """``docker search``: {"name", "description", "star_count", "is_official", "is_automated"}."""
        from engine.registry import search as search_mod

        return search_mod.search(term, limit, filters)

    def resolve_digest(self, ref: str, platform: str | None = None) -> str:
        """The registry's manifest digest for ``ref`` (``config --resolve-image-digests``)."""
        from engine.registry import pull as pull_mod

        return pull_mod.resolve_digest(ref, platform)


# ----------------------------------------------------------------------------- volumes


class Volumes:
    """``engine.volumes.VolumeStore``; a volume is in use while a container record mounts it."""

    def __init__(self, engine: Engine):
        from engine.volumes import VolumeStore

        self.engine = engine
        self.store = VolumeStore(engine.root)

    def users(self, name: str) -> list[str]:
        """Ids of the containers (running or not) whose mounts name volume ``name``."""
        out = []
        for rec in self.engine.store.records():
            if name in view.volume_names(rec, rec.get("Config") or {}):
                out.append(rec["Id"])
        return out

    def create(self, name: str | None = None, driver: str = "local", labels: dict | None = None,
               driver_opts: dict | None = None) -> dict:
        return self.store.create(name=name, driver=driver, labels=labels, driver_opts=driver_opts)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return self.store.list(filters, in_use=self.users)

    def inspect(self, name: str) -> dict:
        return self.store.inspect(name)

    def remove(self, name: str, force: bool = False) -> None:
        self.store.remove(name, force=force, in_use=self.users)

    def prune(self, filters: dict[str, list[str]] | None = None, all: bool = False) -> dict:
        return self.store.prune(filters, in_use=self.users, all=all)


# ----------------------------------------------------------------------------- networks


class Networks:
    """``engine.network.NetworkManager``; connect/disconnect take a container reference."""

    def __init__(self, engine: Engine):
        from engine.network import NetworkManager

        self.engine = engine
        self.manager = NetworkManager(engine.root)

    def create(self, name: str, driver: str = "bridge", internal: bool = False, labels: dict | None = None,
               ipam: dict | None = None, options: dict | None = None, attachable: bool = False,
               enable_ipv6: bool = False) -> dict:
        return self.manager.create(name, driver=driver, internal=internal, labels=labels, ipam=ipam,
                                   options=options, attachable=attachable, enable_ipv6=enable_ipv6)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return self.manager.list(filters)

    def inspect(self, id_or_name: str) -> dict:
        return self.manager.inspect(id_or_name)

    def remove(self, id_or_name: str) -> None:
        self.manager.remove(id_or_name)

    def prune(self, filters: dict[str, list[str]] | None = None) -> list[str]:
        return self.manager.prune(filters)

    def connect(self, net: str, container: str, aliases: list[str] | None = None,
                ipv4_address: str | None = None, mac_address: str | None = None,
                links: list[str] | None = None) -> None:
        rec = self.engine.containers.record(container)
        self.manager.connect(net, rec, aliases=aliases, ipv4_address=ipv4_address, mac_address=mac_address,
                             links_=links)

    def disconnect(self, net: str, container: str, force: bool = False) -> None:
        rec = self.engine.containers.record(container)
        self.manager.disconnect(net, rec, force=force)


# ----------------------------------------------------------------------------- containers


class Containers:
    """Docker's container verbs over the records on disk and the supervisor."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.store = engine.store

    # ---- records
    def record(self, ref: str) -> dict:
        """The config record merged with the live state (``State`` key)."""
        rec = self.store.get(ref)
        for _ in range(2):  # again once the supervisor was revived (Engine.revive)
            try:
                rec["State"] = self.store.state(rec["Id"])
            except NotFound:
                rec["State"] = {}
            if not self.engine.revive([rec["State"]]):
                break
        return rec

    def _image(self, rec: dict):
        """The image record of a container, or None when the image was removed meanwhile (forced)."""
        try:
            return self.engine.images.get(rec.get("Image") or "")
        except NotFound:
            return None

    # ---- create
    def create(self, body: dict, name: str | None = None) -> str:
        """Validate ``body`` (Docker ContainerCreate) and store the container; returns its id."""
        body = dict(body or {})
        image_ref = body.get("Image")
        if not image_ref:
            raise InvalidArgument("No image specified")
        img = self.engine.images.get(image_ref)  # NotFound: "No such image: x"
        config, host_config, net_config = view.split_create_body(body, img.config)
        view.validate_create(config, host_config, net_config, img.config)
        self._check_networks(host_config, net_config)
        self._check_ports(config, host_config)
        record = {
            "Created": now_iso(),
            "Image": img.id,
            "ImageRef": image_ref,
            "Config": config,
            "HostConfig": host_config,
            "NetworkingConfig": net_config,
        }
        cid = self.store.create(record, name=name)
        # Config.Hostname stays "" on disk (one write less: each costs an fsync); the runtime, the
        # network layer and inspect all read "" as the id's first 12 hex digits, like Docker's default.
        rec = dict(record, Id=cid, Name="/" + name.lstrip("/") if name else "")
        try:
            for vol in view.anonymous_volumes(rec, img.config):
                self.engine.volumes.store.ensure(vol, {"com.docker.volume.anonymous": ""})
            for vol, _, _ in view.named_volumes(rec):
                self.engine.volumes.store.ensure(vol)  # docker creates named volumes at create
        except BaseException:
            self.store.delete(cid)
            raise
        if not name:
            rec = self.store.get(cid)
        self.engine.notify(_event("create", rec))
        return cid

    def _check_networks(self, hc: dict, net: dict) -> None:
        """Docker refuses at create a network that does not exist ("network x not found")."""
        wanted = set((net.get("EndpointsConfig") or {}).keys())
        mode = hc.get("NetworkMode") or "bridge"
        for key in ("NetworkMode", "PidMode", "IpcMode"):
            v = str(hc.get(key) or "")
            if v.startswith("container:"):
                self.store.resolve(v.split(":", 1)[1])  # "No such container: x"
        if not (mode in ("bridge", "host", "none", "default") or mode.startswith("container:")):
            wanted.add(mode)
        wanted -= {"bridge", "host", "none", "default"}
        if not wanted:
            return
        known = set()
        for n in self._network_records().values():
            known.update({n.get("Name"), n.get("Id")})
        for w in sorted(wanted):
            if w not in known and not any(k and k.startswith(w) for k in known if len(w) >= 6):
                raise NotFound(f"network {w} not found")

    def _check_ports(self, config: dict, hc: dict) -> None:
        """A published host port that is taken right now is refused before the container exists
        (Conflict "Bind for 0.0.0.0:8080 failed: port is already allocated"). Docker only finds out
        at start; refusing at create leaves nothing half-made behind for ``up`` to clean. The
        network's host_binding_ipv4 option fills an unset HostIp, as at start."""
        mode = hc.get("NetworkMode") or "bridge"
        if mode in ("host", "none") or mode.startswith("container:"):
            return  # Docker ignores published ports without a network of the container's own
        if not hc.get("PortBindings") and not hc.get("PublishAllPorts"):
            return
        default_ip = self._host_binding_ip(mode)
        if default_ip and default_ip != "0.0.0.0":
            bindings = {key: [dict(b or {}, HostIp=(b or {}).get("HostIp") or default_ip) for b in (binds or [{}])]
                        for key, binds in (hc.get("PortBindings") or {}).items()}
            hc = dict(hc, PortBindings=bindings)
        self.engine.networks.manager.check_ports(hc, config.get("ExposedPorts"))

    def _host_binding_ip(self, network: str) -> str:
        """The ``com.docker.network.bridge.host_binding_ipv4`` option of network ``network``, if any."""
        from engine.network.manager import HOST_BINDING_OPT

        for n in self._network_records().values():
            if network in (n.get("Name"), n.get("Id")):
                return (n.get("Options") or {}).get(HOST_BINDING_OPT) or ""
        return ""

    # ---- lifecycle through the supervisor
    def start(self, ref: str) -> None:
        rec = self.record(ref)
        st = rec["State"]
        if st.get("Paused"):
            raise Conflict("cannot start a paused container, try unpause instead")
        if st.get("Running") and not st.get("Restarting"):
            return  # docker start on a running container is a no-op
        self.engine.supervisor.start(rec["Id"])

    def attach(self, ref: str, tty: bool = False, stdin: bool = True, history: bool = True) -> int:
        """Start ``ref`` and relay our stdin (and terminal, with ``tty``) and its output until it
        exits, like ``docker run -i``/``-it`` in the foreground; returns its exit code.

        The container must have been created with OpenStdin (and StdinOnce, so that the end
        of our stdin is the end of its stdin). ``history=False``: output from now on only, as
        ``docker attach`` to a running container shows."""
        from engine import attach as _attach

        rec = self.record(ref)
        return _attach.run_interactive(self.engine, rec["Id"], tty=tty, stdin=stdin, history=history)

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        rec = self.record(ref)
        self.engine.supervisor.stop(rec["Id"], timeout=timeout, signal=signal)

    def kill(self, ref: str, signal: str | int = "SIGKILL") -> None:
        rec = self.record(ref)
        sig = view.parse_signal(signal)
        st = rec["State"]
        if not st.get("Running"):
            raise Conflict(f"cannot kill container: {ref}: container {rec['Id']} is not running")
        self.engine.supervisor.kill(rec["Id"], sig)

    def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        rec = self.record(ref)
        self.engine.supervisor.restart(rec["Id"], timeout=timeout, signal=signal)

    def pause(self, ref: str) -> None:
        rec = self.record(ref)
        st = rec["State"]
        if not st.get("Running"):
            raise Conflict(f"Container {rec['Id']} is not running")
        if st.get("Paused"):
            raise Conflict(f"Container {rec['Id']} is already paused")
        self.engine.supervisor.pause(rec["Id"])

    def unpause(self, ref: str) -> None:
        rec = self.record(ref)
        if not rec["State"].get("Paused"):
            raise Conflict(f"Container {rec['Id']} is not paused")
        self.engine.supervisor.unpause(rec["Id"])

    def wait(self, ref: str, condition: str = "not-running", timeout: float | None = None) -> int:
        """Block until the container meets ``condition``; returns its exit code (Docker's StatusCode)."""
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: \"{condition}\"")
        rec = self.record(ref)
        if condition == "not-running" and not rec["State"].get("Running"):
            if not (self.engine.supervisor_running() and rec["State"].get("Restarting")):
                return int(rec["State"].get("ExitCode") or 0)
        return int(self.engine.supervisor.wait(rec["Id"], condition, timeout))

    def rename(self, ref: str, new_name: str) -> None:
        """Give a container a new name (unique, validated like at create)."""
        from engine.containers import NAME_RE

        rec = self.store.get(ref)
        if not NAME_RE.match(new_name):
            raise InvalidArgument(f'Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        full = "/" + new_name.lstrip("/")
        if rec["Name"] == full:
            raise Conflict(f'Renaming a container with the same name as its current name')
        with self.engine.root.lock("containers"):
            for other in self.store.records():
                if other.get("Name") == full:
                    raise Conflict(f'Conflict. The container name "{full}" is already in use by container '
                                   f'"{other["Id"]}". You have to remove (or rename) that container to be able '
                                   f'to reuse that name.')
            old = rec["Name"]

            def _set(r: dict) -> None:
                r["Name"] = full

            rec = self.store.update_config(rec["Id"], _set)
            # the embedded DNS follows the network state: the new name answers at once, the old one not
            self.engine.networks.manager.rename(rec["Id"], full)
        self.engine.notify(_event("rename", rec, oldName=old))

    # ---- remove
    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        """Delete the container (its record, logs, upper dir; anonymous volumes with ``volumes``)."""
        rec = self.record(ref)
        cid = rec["Id"]
        st = rec["State"]
        if st.get("Running") or st.get("Restarting"):
            if not force:
                if st.get("Paused"):
                    raise Conflict(f"cannot remove container \"{rec['Name']}\": container is paused and must be "
                                   "unpaused first: Unpause and then stop the container before attempting "
                                   "removal or force remove")
                raise Conflict(f"cannot remove container \"{rec['Name']}\": container is running: "
                               "stop the container before removing or force remove")
            self.engine.supervisor.stop(cid, timeout=0, signal="SIGKILL")
        elif self.engine.supervisor_running() and st.get("Status") not in ("created", "exited", "dead"):
            self.engine.supervisor.stop(cid, timeout=0, signal="SIGKILL")
        anon = view.anonymous_volumes(rec)  # Config.Volumes holds the image's too (merged at create)
        self._forget_endpoint(rec)
        self.store.delete(cid)
        if volumes:
            for name in anon:
                with contextlib.suppress(NotFound, Conflict):
                    self.engine.volumes.store.remove(name, force=False, in_use=self.engine.volumes.users)
        self.engine.notify(_event("destroy", rec))

    def _forget_endpoint(self, rec: dict) -> None:
        """Drop the container's network membership. An endpoint the supervisor already released
        (inactive, no address, no veth) holds nothing in the kernel: deleting its state under the
        network lock spares each ``rm`` the bridge sweep and rule re-render of
        ``NetworkManager.forget`` (netlink and nft round trips); anything still held goes through
        ``forget``."""
        store = self._network_store()  # the manager (pyroute2, nft) only when the kernel holds something
        cid = rec["Id"]

        def released(ep: dict | None) -> bool:
            return ep is not None and not ep.get("Active") and not any(
                e.get("IPAddress") or e.get("HostVeth") for e in ep.get("Networks") or [])

        ep = store.endpoint(cid)
        if ep is None:
            return
        if released(ep):
            with store.lock():
                if released(store.endpoint(cid)):
                    store.delete_endpoint(cid)
                    return
        with contextlib.suppress(Exception):
            self.engine.networks.manager.forget(rec)

    def prune(self, filters: dict[str, list[str]] | None = None) -> dict:
        """Remove every stopped container (``docker container prune``)."""
        deleted, reclaimed = [], 0
        flt = dict(filters or {})
        until = flt.pop("until", None)
        for c in self.list(all=True, filters=flt or None):
            if c["State"] in ("running", "paused", "restarting"):
                continue
            if until and c["Created"] >= view.parse_time(until[0]):
                continue
            reclaimed += view.dir_size(self.store.dir(c["Id"]) / "upper")
            with contextlib.suppress(NotFound):
                self.remove(c["Id"])
                deleted.append(c["Id"])
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # ---- read
    def inspect(self, ref: str, size: bool = False) -> dict:
        rec = self.record(ref)
        img = self._image(rec)
        nets = self._network_settings(rec)
        out = view.inspect(rec, img.config if img else {}, self.store.log_path(rec["Id"]), nets,
                           self.store.dir(rec["Id"]))
        if size:
            out["SizeRw"] = view.dir_size(self.store.dir(rec["Id"]) / "upper")
            out["SizeRootFs"] = out["SizeRw"] + (img.size if img else 0)
        return out

    def _list_network_settings(self, rec: dict, nets: dict[str, dict]) -> dict:
        """Ports and Networks for ``list``: the container's endpoint from the network manager's
        state, with the networks read once per ``list`` (``network_settings`` would read them
        again for every container)."""
        from engine.network.ports import Mapping, to_docker

        ep = self._network_store().endpoint(rec["Id"]) or {}
        ports: dict = {}
        if ep.get("Active"):
            with contextlib.suppress(EngineError, TypeError):  # one odd record must not break every `ps`
                ports = to_docker([Mapping(**m) for m in ep.get("Ports") or []], ep.get("ExposedPorts"))
        networks = {}
        for e in ep.get("Networks") or []:
            net = nets.get(e.get("NetworkID") or "") or {}
            name = net.get("Name") or e.get("Ref") or ""
            networks[name] = {"NetworkID": net.get("Id") or e.get("NetworkID") or "",
                              "EndpointID": e.get("EndpointID") or "", "Gateway": e.get("Gateway") or "",
                              "IPAddress": e.get("IPAddress") or "", "IPPrefixLen": e.get("IPPrefixLen") or 0,
                              "MacAddress": e.get("Mac") or "", "Aliases": e.get("Aliases") or None}
        mode = ep.get("Mode") or (rec.get("HostConfig") or {}).get("NetworkMode") or ""
        if mode in ("host", "none"):
            networks[mode] = {"NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                              "MacAddress": "", "Aliases": None}
        return {"Ports": ports, "Networks": networks}

    def _network_records(self) -> dict[str, dict]:
        """Every network of this root by id, as the network manager stores them."""
        return {n["Id"]: n for n in self._network_store().networks()
                if isinstance(n, dict) and n.get("Id")}

    def _network_store(self):
        """The network state on disk; read without the network manager (and pyroute2, nft, ...) so
        ``ps`` and ``container ls`` start fast."""
        if "networks" in vars(self.engine):
            return self.engine.networks.manager.store
        from engine.network.store import Store

        return Store(self.engine.root)

    def _network_settings(self, rec: dict) -> dict:
        try:
            return self.engine.networks.manager.network_settings(rec)
        except Exception:  # noqa: BLE001 - a record without network state shows an empty section
            return view.empty_network_settings()

    def list(self, all: bool = False, filters: dict[str, list[str]] | None = None,
             size: bool = False, limit: int | None = None) -> list[dict]:
        """Docker /containers/json, newest first."""
        flt = view.check_filters(filters)
        out = []
        recs = self._with_states(self.store.records())
        if self.engine.revive(r["State"] for r in recs):  # states are true again (Engine.revive)
            recs = self._with_states(self.store.records())
        recs.sort(key=lambda r: r.get("Created") or "", reverse=True)
        nets = self._network_records()
        settings_of: dict[str, dict] = {}

        def settings(r: dict) -> dict:  # read once per container, for the filter and the summary
            if r["Id"] not in settings_of:
                settings_of[r["Id"]] = self._list_network_settings(r, nets)
            return settings_of[r["Id"]]

        image_ids = None
        if flt.get("ancestor"):
            image_ids = self._ancestor_ids(flt["ancestor"])
        for key in ("before", "since"):  # by creation time of the container named
            if flt.get(key):
                ref = self.store.get(flt[key][-1])
                created = ref.get("Created") or ""
                recs = [r for r in recs if ((r.get("Created") or "") < created if key == "before"
                                            else (r.get("Created") or "") > created)]
        for rec in recs:
            if not all and not rec["State"].get("Running") and not flt.get("status") and not flt.get("exited"):
                if limit is None:
                    continue
            if not view.matches(rec, flt, image_ids, lambda r: self._network_names(r, settings(r))):
                continue
            item = view.summary(rec, settings(rec), self.engine.root.path / "volumes")
            if size:
                item["SizeRw"] = view.dir_size(self.store.dir(rec["Id"]) / "upper")
                img = self._image(rec)
                item["SizeRootFs"] = item["SizeRw"] + (img.size if img else 0)
            out.append(item)
        if limit is not None and limit > 0:
            out = out[:limit]
        return out

    def _with_states(self, records: list[dict]) -> list[dict]:
        out = []
        for rec in records:
            try:
                rec["State"] = self.store.state(rec["Id"])
            except NotFound:
                continue
            out.append(rec)
        return out

    def _network_names(self, rec: dict, settings: dict) -> set[str]:
        names = set()
        hc = rec.get("HostConfig") or {}
        if hc.get("NetworkMode"):
            names.add(hc["NetworkMode"])
        names.update(((rec.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).keys())
        for n, e in settings["Networks"].items():
            names.add(n)
            if e.get("NetworkID"):
                names.add(e["NetworkID"])
        if "default" in names or not names:
            names.add("bridge")
        return names

    def _ancestor_ids(self, refs: list[str]) -> set[str]:
        ids = set()
        for r in refs:
            with contextlib.suppress(NotFound):
                ids.add(self.engine.images.get(r).id)
        return ids

    def logs(self, ref: str, follow: bool = False, stdout: bool = True, stderr: bool = True,
             since: Any = None, until: Any = None, tail: int | str | None = None,
             timestamps: bool = False) -> Iterator["LogEntry"]:
        """The container's json-file log entries (``engine.logs``); ``follow`` streams until it stops."""
        from engine import logs as logmod

        rec = self.record(ref)
        cid = rec["Id"]
        log_cfg = (rec.get("HostConfig") or {}).get("LogConfig") or {}
        if log_cfg.get("Type") in ("none",):
            raise InvalidArgument('configured logging driver does not support reading')

        def still_going() -> bool:
            try:
                st = self.store.state(cid)
            except NotFound:
                return False
            if st.get("Running") or st.get("Restarting"):
                return True
            policy = ((rec.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
            # a container with restart "always" may come back: keep following while the supervisor runs it
            return policy in ("always", "unless-stopped") and st.get("Status") == "restarting"

        return logmod.read_logs(self.store.log_path(cid), follow=follow, stdout=stdout, stderr=stderr,
                                since=since, until=until, tail=tail, alive=still_going)

    # ---- inside a running container
    def _running_pid(self, ref: str) -> tuple[dict, int]:
        rec = self.record(ref)
        st = rec["State"]
        if not st.get("Running") or not st.get("Pid"):
            raise Conflict(f"container {rec['Id']} is not running")
        if st.get("Paused"):
            raise Conflict(f"container {rec['Id']} is paused, unpause the container before exec")
        if st.get("Restarting"):
            raise Conflict(f"Container {rec['Id']} is restarting, wait until the container is running")
        return rec, int(st["Pid"])

    def exec(self, ref: str, cmd: list[str], env: list[str] | None = None, workdir: str | None = None,
             user: str | None = None, tty: bool = False, detach: bool = False, privileged: bool = False,
             stdin: BinaryIO | int | None = None, stdout: BinaryIO | int | None = None,
             stderr: BinaryIO | int | None = None) -> int:
        """Run ``cmd`` inside the running container; its exit code (0 when ``detach``)."""
        from engine import execution

        rec, pid = self._running_pid(ref)
        img = self._image(rec)
        return execution.run_exec(rec, pid, img.config if img else {}, cmd, env=env, workdir=workdir, user=user,
                                  tty=tty, detach=detach, privileged=privileged, stdin=stdin, stdout=stdout,
                                  stderr=stderr)

    def top(self, ref: str, ps_args: str | None = None) -> dict:
        """Docker's /top: {"Titles": [...], "Processes": [[...], ...]} from the cgroup and /proc."""
        from engine import procinfo

        rec, pid = self._running_pid(ref)
        return procinfo.top(rec["Id"], pid, ps_args)

    def stats(self, ref: str, previous: dict | None = None) -> dict:
        """Docker's stats JSON for one sample; ``previous`` (an earlier sample) fills ``precpu_stats``."""
        from engine import procinfo

        rec = self.record(ref)
        return procinfo.stats(rec, previous)

    def port(self, ref: str, private_port: str | None = None) -> dict[str, list[dict]]:
        """Published ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], ...}."""
        rec = self.record(ref)
        ports = self._network_settings(rec).get("Ports") or {}
        out = {k: v for k, v in ports.items() if v}
        if private_port:
            key = private_port if "/" in private_port else f"{private_port}/tcp"
            if key not in out:
                raise NotFound(f"Error: No public port '{key}' published for {rec['Name'].lstrip('/')}")
            return {key: out[key]}
        return out

    def copy_to(self, ref: str, path: str, tar_stream: BinaryIO, keep_owner: bool = False) -> None:
        """Extract a tar stream into directory ``path`` of the container (never following links out of
        its root); files belong to root unless ``keep_owner`` (``cp -a``)."""
        from engine import copying

        rec = self.record(ref)
        copying.extract_into(self._fs_roots(rec, write=True), path, tar_stream, keep_owner=keep_owner)

    def path_stat(self, ref: str, path: str) -> dict:
        """Docker's container path stat: name, size, mode, mtime, linkTarget (+ isDir)."""
        from engine import copying

        rec = self.record(ref)
        return copying.path_stat(self._fs_roots(rec, write=False), path)

    def copy_from(self, ref: str, path: str, out: BinaryIO) -> dict:
        """Write a tar of ``path`` in the container to ``out``; returns Docker's path stat."""
        from engine import copying

        rec = self.record(ref)
        return copying.archive_from(self._fs_roots(rec, write=False), path, out)

    # ---- changes: commit / diff (engine.build.commit), attach to a running container
    def commit(self, ref: str, repo_tag: str | None = None, message: str | None = None, author: str | None = None,
               changes: list[str] | None = None, pause: bool = True) -> str:
        """``docker commit``: the container's changes as a new layer on its image; returns the image id."""
        from engine.build import commit as commitmod

        iid = commitmod.commit(self, ref, repo_tag, message, author, changes, pause)
        self.engine.notify(_event("commit", self.record(ref), comment=message or ""))
        return iid

    def diff(self, ref: str) -> list[dict]:
        """``docker diff``: [{"Kind": 0 changed | 1 added | 2 deleted, "Path": "/x"}] in Docker's order."""
        from engine.build import commit as commitmod

        return commitmod.diff(self, ref)

    def attach_running(self, ref: str, stdin: bool = True, detach_keys: str | None = None,
                       sig_proxy: bool = True) -> int:
        """``docker attach``: relay to a running container from now on; its exit code, or
        ``engine.attachto.DETACHED`` when the detach keys were typed."""
        from engine import attachto

        return attachto.attach(self.engine, self.record(ref), stdin=stdin, detach_keys=detach_keys,
                               sig_proxy=sig_proxy)

    def _fs_roots(self, rec: dict, write: bool) -> list[str]:
        """Where the container's files are: its live root, or (stopped) its upper dir over the layers."""
        st = rec["State"]
        if st.get("Running") and st.get("Pid"):
            return [f"/proc/{int(st['Pid'])}/root"]
        upper = self.store.dir(rec["Id"]) / "upper"
        upper.mkdir(exist_ok=True)
        img = self._image(rec)
        layers = [str(p) for p in reversed(img.layer_dirs())] if img else []
        return [str(upper)] + ([] if write else layers)


def build_progress_renderer(mode: str | None = "auto", out: Any = None) -> Callable[[dict], None]:
    """A renderer for ``Images.build(progress=...)`` events (``auto|plain|tty|quiet``), with a
    ``close()``: compose's ``build`` and ``up --build`` print builds as ``image build`` does."""
    from engine.build.progress import renderer

    return renderer(mode, out)
