"""Container records on disk: the one place that reads and writes them.

A container is a directory ``$ROOT/containers/<id>/`` holding

* ``config.json``: what was asked for, written once at create (Docker-shaped:
  Id, Name, Created, Image, ImageRef, Config, HostConfig, NetworkingConfig);
* ``state.json``: what is true now (Docker's ``State`` object plus
  ``RestartCount``), rewritten by the supervisor as the process lives;
* ``<id>-json.log``: the json-file log, and the runtime's own files.

Both the CLI (create, inspect, list) and the supervisor (start, exit, health)
use this module, so every write goes through ``DataRoot.lock`` and
``atomic_write``: two commands running at once never corrupt a record.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from engine.errors import Conflict, InvalidArgument, NotFound
from engine.state import DataRoot, read_json, remove_tree, write_json

ZERO_TIME = "0001-01-01T00:00:00Z"


NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_ADJ = ("admiring", "brave", "calm", "eager", "gallant", "happy", "jolly", "keen", "lucid", "modest",
        "nifty", "quirky", "serene", "stoic", "tender", "vibrant", "wizardly", "zealous")
_NOUN = ("babbage", "curie", "darwin", "euler", "fermi", "galileo", "hopper", "kepler", "lovelace",
         "meitner", "newton", "noether", "pasteur", "ritchie", "turing", "wozniak")


def _pick(words: tuple[str, ...]) -> str:
    """A random word (os.urandom, as secrets.choice: a name, not a secret; secrets' import costs more)."""
    return words[int.from_bytes(os.urandom(4), "big") % len(words)]


def now_iso() -> str:
    """UTC time as Docker prints it (RFC 3339 with nanoseconds)."""
    ns = time.time_ns()  # not datetime: its import is ~1 ms of every create
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ns // 10**9)) + f"{ns // 1000 % 10**6:06d}000Z"


def initial_state() -> dict[str, Any]:
    """Docker's ``State`` of a container that was created and never started."""
    return {
        "Status": "created", "Running": False, "Paused": False, "Restarting": False,
        "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
        "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME, "RestartCount": 0,
    }


class ContainerStore:
    """Create, find, read and update container records under one data root."""

    def __init__(self, root: DataRoot | str | None = None):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.base = self.root.dir("containers")
        self._named: dict[str, tuple[tuple[int, int, int], str]] = {}  # id -> (config.json stat key, Name)

    # ---- paths
    def dir(self, cid: str) -> Path:
        return self.base / cid

    def log_path(self, cid: str) -> Path:
        return self.base / cid / f"{cid}-json.log"

    # ---- lookup
    def ids(self) -> list[str]:
        """Ids of every container whose record is complete (config.json written)."""
        try:
            names = os.listdir(self.base)
        except FileNotFoundError:
            return []
        return [n for n in names if len(n) == 64 and (self.base / n / "config.json").exists()]

    def records(self) -> list[dict]:
        """Every container's config record (skips records removed meanwhile)."""
        out = []
        for cid in self.ids():
            rec = read_json(self.base / cid / "config.json")
            if rec:
                out.append(rec)
        return out

    def resolve(self, ref: str) -> str:
        """Full id for a name (with or without ``/``), a full id or a unique id prefix."""
        if not ref:
            raise NotFound("No such container: ")
        if len(ref) == 64 and "/" not in ref and (self.base / ref / "config.json").exists():
            return ref  # a full id (what the CLI passes after create): one stat, not one per container
        ids = self.ids()
        if ref in ids:
            return ref
        name = "/" + ref.lstrip("/")
        for cid in ids:
            rec = read_json(self.base / cid / "config.json") or {}
            if rec.get("Name") == name:
                return cid
        matches = [cid for cid in ids if cid.startswith(ref)] if re.fullmatch(r"[0-9a-f]+", ref) else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Conflict(f"multiple containers found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def get(self, ref: str) -> dict:
        """The config record of ``ref`` (see ``resolve``)."""
        cid = self.resolve(ref)
        rec = read_json(self.base / cid / "config.json")
        if rec is None:
            raise NotFound(f"No such container: {ref}")
        return rec

    def state(self, cid: str) -> dict:
        """The container's state; a record whose state.json was lost (written unsynced at
        create, so a machine crash can take it) reads as created-and-never-started."""
        st = read_json(self.base / cid / "state.json")
        if st is None:
            if (self.base / cid / "config.json").exists():
                return initial_state()
            raise NotFound(f"No such container: {cid}")
        return st

    # ---- writes
    def create(self, record: dict, name: str | None = None) -> str:
        """Store a new record (``Config``, ``HostConfig``, ... already filled); returns its id.

        Names are unique; a taken name is refused with Docker's message.
        """
        with self.root.lock("containers"):
            self._sweep()
            taken = self._names()
            if name:
                if not NAME_RE.match(name):
                    raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
                full = "/" + name.lstrip("/")
                if full in taken:
                    raise Conflict(
                        f'Conflict. The container name "{full}" is already in use by container '
                        f'"{taken[full]}". You have to remove (or rename) that container to be able to reuse that name.')
            else:
                full = "/" + self._random_name(set(taken))
            cid = os.urandom(32).hex()  # what secrets.token_hex does, without importing secrets (random, hmac)
            # made under a temporary name and renamed whole: a create killed half-way leaves a
            # ".new-" directory that ids() never lists and the next create sweeps away
            tmp = self.base / f".new-{cid}"
            tmp.mkdir(mode=0o710)
            rec = dict(record, Id=cid, Name=full)
            rec.setdefault("Created", now_iso())
            try:
                write_json(tmp / "state.json", initial_state(), sync=False)  # rebuilt by state() if lost
                write_json(tmp / "config.json", rec)
                os.rename(tmp, self.base / cid)
            except BaseException:  # e.g. a full disk: nothing half-made stays
                remove_tree(tmp)
                raise
            return cid

    def _names(self) -> dict[str, str]:
        """Name -> id of every complete record, for create's uniqueness check. A config.json is parsed
        again only when it changed (its inode, size or mtime: every write replaces the file), so the
        N-th create of a project costs N stats instead of N JSON parses (up of 50 made 1,275)."""
        out: dict[str, str] = {}
        fresh: dict[str, tuple[tuple[int, int, int], str]] = {}
        for cid in os.listdir(self.base):
            if len(cid) != 64:
                continue
            path = os.path.join(self.base, cid, "config.json")
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            hit = self._named.get(cid)
            if hit is None or hit[0] != key:
                rec = read_json(path)
                if not rec:
                    continue
                hit = (key, rec.get("Name") or "")
            fresh[cid] = hit
            out[hit[1]] = cid
        self._named = fresh
        return out

    def _sweep(self) -> None:
        """Remove what a killed command left half-made: ``.new-`` directories of a create, and
        record directories whose config.json is gone (a delete stopped before its rmtree ended).
        Called under the ``containers`` lock, which every create holds: nothing live is touched."""
        try:
            names = os.listdir(self.base)
        except FileNotFoundError:
            return
        for n in names:
            if n.startswith(".new-") or (len(n) == 64 and not (self.base / n / "config.json").exists()):
                remove_tree(self.base / n)

    def update_state(self, cid: str, **fields: Any) -> dict:
        """Merge ``fields`` into the state atomically; returns the new state."""
        with self.root.lock(f"c-{cid[:16]}"):
            st = self.state(cid)
            st.update(fields)
            write_json(self.base / cid / "state.json", st)
            return st

    def update_config(self, cid: str, change: Callable[[dict], None]) -> dict:
        """Apply ``change`` to the config record in place, atomically (rename, connect...)."""
        with self.root.lock(f"c-{cid[:16]}"):
            rec = self.get(cid)
            change(rec)
            write_json(self.base / cid / "config.json", rec)
            return rec

    def delete(self, cid: str) -> None:
        """Remove the record and everything in its directory (logs included)."""
        with self.root.lock(f"c-{cid[:16]}"):
            d = self.base / cid
            cfg = d / "config.json"
            if cfg.exists():
                os.unlink(cfg)  # first, so listings stop showing it at once
            remove_tree(d)

    @staticmethod
    def _random_name(taken: set[str]) -> str:
        for _ in range(100):
            n = f"{_pick(_ADJ)}_{_pick(_NOUN)}"
            if "/" + n not in taken:
                return n
        return f"{_pick(_ADJ)}_{_pick(_NOUN)}{int.from_bytes(os.urandom(4), 'big') % 1000}"
