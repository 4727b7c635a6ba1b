"""``Engine.containers``: Docker's container verbs over the records on disk and the supervisor."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator

from engine import containerview as view
from engine.api._events import container_event as _event
from engine.api._resource import EngineResource
from engine.containers import now_iso
from engine.errors import Conflict, EngineError, InvalidArgument, NotFound

if TYPE_CHECKING:
    from engine.api.facade import Engine
    from engine.logs import LogEntry

__all__ = ["Containers", "format_log_time", "stats_figures"]


def format_log_time(stamp: str) -> str:
    """The timestamp ``docker logs -t`` prints for a ``LogEntry.time``: RFC 3339, nanoseconds, UTC."""
    from engine.logs import format_time

    return format_time(stamp)


def stats_figures(sample: dict) -> dict:
    """What ``docker stats`` shows of one stats sample: {"running", "cpu_percent", "mem_usage", "mem_percent",
    "net_io": (rx, tx), "block_io": (read, written)}."""
    from engine import procinfo

    return {"running": sample.get("read") != procinfo.ZERO_TIME, "cpu_percent": procinfo.cpu_percent(sample),
            "mem_usage": procinfo.mem_usage(sample),
            "mem_percent": procinfo.mem_percent(sample), "net_io": procinfo.net_io(sample),
            "block_io": procinfo.block_io(sample)}


class Containers(EngineResource):
    """Docker's container verbs over the records on disk and the supervisor."""

    def _open(self, engine: Engine) -> None:
        self._store = engine._store  # the records, shared with the engine's other resources

    # ---- records
    def record(self, ref: str) -> dict:
        """The config record merged with the live state (``State`` key)."""
        rec = self._store.get(ref)
        for _ in range(2):  # again once the supervisor was revived (Engine.revive)
            try:
                rec["State"] = self._store.state(rec["Id"])
            except NotFound:
                rec["State"] = {}
            if not self._engine.revive([rec["State"]]):
                break
        return rec

    def _image(self, rec: dict):
        """The image record of a container, or None when the image was removed meanwhile (forced)."""
        try:
            return self._engine.images.get(rec.get("Image") or "")
        except NotFound:
            return None

    # ---- create
    def create(self, body: dict, name: str | None = None) -> str:
        """Validate ``body`` (Docker ContainerCreate) and store the container; returns its id."""
        body = dict(body or {})
        image_ref = body.get("Image")
        if not image_ref:
            raise InvalidArgument("No image specified")
        img = self._engine.images.get(image_ref)  # NotFound: "No such image: x"
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
        cid = self._store.create(record, name=name)
        # Config.Hostname stays "" on disk (one write less: each costs an fsync); the runtime, the
        # network layer and inspect all read "" as the id's first 12 hex digits, like Docker's default.
        rec = dict(record, Id=cid, Name="/" + name.lstrip("/") if name else "")
        try:
            for vol in view.anonymous_volumes(rec, img.config):
                self._engine.volumes._store.ensure(vol, {"com.docker.volume.anonymous": ""})
            for vol, _, _ in view.named_volumes(rec):
                self._engine.volumes._store.ensure(vol)  # docker creates named volumes at create
        except BaseException:
            self._store.delete(cid)
            raise
        if not name:
            rec = self._store.get(cid)
        self._engine.notify(_event("create", rec))
        return cid

    def _check_networks(self, hc: dict, net: dict) -> None:
        """Docker refuses at create a network that does not exist ("network x not found")."""
        wanted = set((net.get("EndpointsConfig") or {}).keys())
        mode = hc.get("NetworkMode") or "bridge"
        for key in ("NetworkMode", "PidMode", "IpcMode"):
            v = str(hc.get(key) or "")
            if v.startswith("container:"):
                self._store.resolve(v.split(":", 1)[1])  # "No such container: x"
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
        self._engine.networks._manager.check_ports(hc, config.get("ExposedPorts"))

    def _host_binding_ip(self, network: str) -> str:
        """The ``com.docker.network.bridge.host_binding_ipv4`` option of network ``network``, if any."""
        from engine.network.netconf import HOST_BINDING_OPT

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
        self._engine.supervisor.start(rec["Id"])

    def start_many(self, refs: list[str]) -> dict[str, EngineError]:
        """Start several containers with one supervisor request (compose up's batch), each as ``start``
        would (a running one is left alone, a paused one refused); returns the error of each ref
        that did not start, by ref: the others run. No record is read here: the supervisor finds
        each by id, name or prefix and knows what runs."""
        refs = list(refs)
        if not refs:
            return {}
        return self._engine.supervisor.start_many(refs)

    def attach(self, ref: str, tty: bool = False, stdin: bool = True, history: bool = True) -> int:
        """Start ``ref`` and relay our stdin (and terminal, with ``tty``) and its output until it
        exits, like ``docker run -i``/``-it`` in the foreground; returns its exit code.

        The container must have been created with OpenStdin (and StdinOnce, so that the end
        of our stdin is the end of its stdin). ``history=False``: output from now on only, as
        ``docker attach`` to a running container shows."""
        from engine import attach as _attach

        rec = self.record(ref)
        return _attach.run_interactive(self._engine, rec["Id"], tty=tty, stdin=stdin, history=history,
                                       stdin_fifo=self._store.dir(rec["Id"]) / "stdin.fifo")

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        rec = self.record(ref)
        self._engine.supervisor.stop(rec["Id"], timeout=timeout, signal=signal)

    def kill(self, ref: str, signal: str | int = "SIGKILL") -> None:
        rec = self.record(ref)
        sig = view.parse_signal(signal)
        st = rec["State"]
        if not st.get("Running"):
            raise Conflict(f"cannot kill container: {ref}: container {rec['Id']} is not running")
        self._engine.supervisor.kill(rec["Id"], sig)

    def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        rec = self.record(ref)
        self._engine.supervisor.restart(rec["Id"], timeout=timeout, signal=signal)

    def pause(self, ref: str) -> None:
        rec = self.record(ref)
        st = rec["State"]
        if not st.get("Running"):
            raise Conflict(f"Container {rec['Id']} is not running")
        if st.get("Paused"):
            raise Conflict(f"Container {rec['Id']} is already paused")
        self._engine.supervisor.pause(rec["Id"])

    def unpause(self, ref: str) -> None:
        rec = self.record(ref)
        if not rec["State"].get("Paused"):
            raise Conflict(f"Container {rec['Id']} is not paused")
        self._engine.supervisor.unpause(rec["Id"])

    def wait(self, ref: str, condition: str = "not-running", timeout: float | None = None) -> int:
        """Block until the container meets ``condition``; returns its exit code (Docker's StatusCode)."""
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: \"{condition}\"")
        rec = self.record(ref)
        if condition == "not-running" and not rec["State"].get("Running"):
            if not (rec["State"].get("Restarting") and self._engine.supervisor_running()):
                return int(rec["State"].get("ExitCode") or 0)
        return int(self._engine.supervisor.wait(rec["Id"], condition, timeout))

    def rename(self, ref: str, new_name: str) -> None:
        """Give a container a new name (unique, validated like at create)."""
        from engine.containers import NAME_RE

        rec = self._store.get(ref)
        if not NAME_RE.match(new_name):
            raise InvalidArgument(f'Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        full = "/" + new_name.lstrip("/")
        if rec["Name"] == full:
            raise Conflict(f'Renaming a container with the same name as its current name')
        with self._engine.root.lock("containers"):
            for other in self._store.records():
                if other.get("Name") == full:
                    raise Conflict(f'Conflict. The container name "{full}" is already in use by container '
                                   f'"{other["Id"]}". You have to remove (or rename) that container to be able '
                                   f'to reuse that name.')
            old = rec["Name"]

            def _set(r: dict) -> None:
                r["Name"] = full

            rec = self._store.update_config(rec["Id"], _set)
            # the embedded DNS follows the network state: the new name answers at once, the old one not
            self._engine.networks._manager.rename(rec["Id"], full)
        self._engine.notify(_event("rename", rec, oldName=old))

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
            self._engine.supervisor.stop(cid, timeout=0, signal="SIGKILL")
        elif st.get("Status") not in ("created", "exited", "dead") and self._engine.supervisor_running():
            self._engine.supervisor.stop(cid, timeout=0, signal="SIGKILL")
        anon = view.anonymous_volumes(rec)  # Config.Volumes holds the image's too (merged at create)
        self._forget_endpoint(rec)
        self._store.delete(cid)
        if volumes:
            for name in anon:
                with contextlib.suppress(NotFound, Conflict):
                    self._engine.volumes.remove(name)
        self._engine.notify(_event("destroy", rec))

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
            self._engine.networks._manager.forget(rec)

    def remove_many(self, waves: list[list[str]], timeouts: dict[str, int | None] | None = None,
                    volumes: bool = False, progress: Callable[[str, str], None] | None = None,
                    ) -> dict[str, EngineError]:
        """Stop and remove many containers at once (``compose down``): each wave's containers are
        stopped together (stop signal, SIGKILL after ``timeouts[id]``, else their StopTimeout, else
        10 s), the next wave once they are down, then all are removed as ``remove(force=True,
        volumes=volumes)`` would, in one supervisor request (engine.api._removal). ``progress(id,
        step)``: stopping, stopped, removing, removed as they happen. Returns id -> error for each
        container not found or not removed; the others are removed all the same."""
        from engine.api import _removal

        return _removal.remove_many(self, self._engine, waves, timeouts or {}, volumes, progress)

    def prune(self, filters: dict[str, list[str]] | None = None) -> dict:
        """Remove every stopped container (``docker container prune``)."""
        deleted, reclaimed = [], 0
        flt = dict(filters or {})
        until = flt.pop("until", None)
        for c in self.list(all=True, filters=flt or None):
            if c["State"] in ("running", "paused", "restarting"):
                continue
            if until and c["Created"] >= view.since_until_seconds(until[0]):
                continue
            reclaimed += view.dir_size(self._store.dir(c["Id"]) / "upper")
            with contextlib.suppress(NotFound):
                self.remove(c["Id"])
                deleted.append(c["Id"])
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # ---- read
    def inspect(self, ref: str, size: bool = False) -> dict:
        rec = self.record(ref)
        img = self._image(rec)
        nets = self._network_settings(rec)
        out = view.inspect(rec, img.config if img else {}, self._store.log_path(rec["Id"]), nets,
                           self._store.dir(rec["Id"]))
        if size:
            out["SizeRw"] = view.dir_size(self._store.dir(rec["Id"]) / "upper")
            out["SizeRootFs"] = out["SizeRw"] + (img.size if img else 0)
        return out

    def _list_network_settings(self, rec: dict, nets: dict[str, dict]) -> dict:
        """Ports and Networks for ``list``: the container's endpoint from the network manager's
        state, with the networks read once per ``list`` (``network_settings`` would read them
        again for every container)."""
        ep = self._network_store().endpoint(rec["Id"]) or {}
        ports: dict = {}
        if ep.get("Active") and (ep.get("Ports") or ep.get("ExposedPorts")):  # else {}: no import needed
            from engine.network.ports import Mapping, to_docker

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
        if "networks" in vars(self._engine):
            return self._engine.networks._manager.store
        from engine.network.store import Store

        return Store(self._engine.root)

    def _network_settings(self, rec: dict) -> dict:
        try:
            return self._engine.networks._manager.network_settings(rec)
        except Exception:  # noqa: BLE001 - a record without network state shows an empty section
            return view.empty_network_settings()

    def list(self, all: bool = False, filters: dict[str, list[str]] | None = None,
             size: bool = False, limit: int | None = None) -> list[dict]:
        """Docker /containers/json, newest first."""
        flt = view.check_filters(filters)
        out = []
        recs = self._with_states(self._store.records())
        if self._engine.revive(r["State"] for r in recs):  # states are true again (Engine.revive)
            recs = self._with_states(self._store.records())
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
                ref = self._store.get(flt[key][-1])
                created = ref.get("Created") or ""
                recs = [r for r in recs if ((r.get("Created") or "") < created if key == "before"
                                            else (r.get("Created") or "") > created)]
        for rec in recs:
            if not all and not rec["State"].get("Running") and not flt.get("status") and not flt.get("exited"):
                if limit is None:
                    continue
            if not view.matches(rec, flt, image_ids, lambda r: self._network_names(r, settings(r))):
                continue
            item = view.summary(rec, settings(rec), self._engine.root.path / "volumes")
            if size:
                item["SizeRw"] = view.dir_size(self._store.dir(rec["Id"]) / "upper")
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
                rec["State"] = self._store.state(rec["Id"])
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
                ids.add(self._engine.images.get(r).id)
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
                st = self._store.state(cid)
            except NotFound:
                return False
            if st.get("Running") or st.get("Restarting"):
                return True
            policy = ((rec.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
            # a container with restart "always" may come back: keep following while the supervisor runs it
            return policy in ("always", "unless-stopped") and st.get("Status") == "restarting"

        return logmod.read_logs(self._store.log_path(cid), follow=follow, stdout=stdout, stderr=stderr,
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

        rec = self.record(ref)
        iid = commitmod.commit(self._engine.images._store, rec, self._image(rec), self._store.dir(rec["Id"]) / "upper",
                               repo_tag, message, author, changes, holding=commitmod.paused(self, rec, pause))
        self._engine.notify(_event("commit", self.record(ref), comment=message or ""))
        return iid

    def diff(self, ref: str) -> list[dict]:
        """``docker diff``: [{"Kind": 0 changed | 1 added | 2 deleted, "Path": "/x"}] in Docker's order."""
        from engine.build import commit as commitmod

        rec = self.record(ref)
        return commitmod.diff(self._store.dir(rec["Id"]) / "upper", self._image(rec))

    def attach_running(self, ref: str, stdin: bool = True, detach_keys: str | None = None,
                       sig_proxy: bool = True) -> int:
        """``docker attach``: relay to a running container from now on; its exit code, or
        ``engine.attachto.DETACHED`` when the detach keys were typed."""
        from engine import attachto

        rec = self.record(ref)
        return attachto.attach(self._engine, rec, stdin=stdin, detach_keys=detach_keys, sig_proxy=sig_proxy,
                               stdin_fifo=self._store.dir(rec["Id"]) / "stdin.fifo")

    def _fs_roots(self, rec: dict, write: bool) -> list[str]:
        """Where the container's files are: its live root, or (stopped) its upper dir over the layers."""
        st = rec["State"]
        if st.get("Running") and st.get("Pid"):
            return [f"/proc/{int(st['Pid'])}/root"]
        upper = self._store.dir(rec["Id"]) / "upper"
        upper.mkdir(exist_ok=True)
        img = self._image(rec)
        layers = [str(p) for p in reversed(img.layer_dirs())] if img else []
        return [str(upper)] + ([] if write else layers)
