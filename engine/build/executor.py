"""``Images.build``: a Dockerfile and a context in, an image in the store out.

Why this shape: like BuildKit, the stages form a graph and only the ones the target
needs are built, each in its own thread (a stage that needs another waits for it, so
independent stages run at the same time); steps are cached (``engine.build.stages``);
the image is written and tagged only at the very end, and every scratch directory
lives under ``$ROOT/builder/tmp/<build>`` and is removed whatever happens, so a failed
build leaves no container, mount or half-written layer behind.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from engine.build import cacheio, resolve
from engine.build.cache import BuildCache, CacheRecord, now_rfc3339
from engine.build.errors import BuildError, Canceled
from engine.build.progress import Progress
from engine.errors import Conflict, DockerfileError, EngineError, InvalidArgument, NotFound, UnsafeContent
from engine.state import DataRoot

HOST_PLATFORM = "linux/amd64"
PREDEFINED = {"BUILDPLATFORM": HOST_PLATFORM, "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "",
              "TARGETPLATFORM": HOST_PLATFORM, "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": ""}


@dataclass
class BuildOptions:
    context: object = "."
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    tags: list[str] = field(default_factory=list)
    target: str | None = None
    build_args: dict | None = None
    labels: dict | None = None
    no_cache: bool = False
    no_cache_filter: list[str] = field(default_factory=list)
    pull: bool = False
    network: str | None = None
    extra_hosts: list[str] = field(default_factory=list)
    shm_size: int | None = None
    additional_contexts: dict | None = None
    secrets: dict | None = None
    cache_from: list[str] = field(default_factory=list)
    cache_to: list[str] = field(default_factory=list)
    platform: str | None = None


class Build:
    """One build (see the module docstring); ``run()`` returns the image id."""

    def __init__(self, store, images, opts: BuildOptions, sink=None):
        self.images = images  # engine.api.Images (pull, when the registry client exists) or None
        self.store = store  # the ImageStore the image is written to
        self.root: DataRoot = self.store.root
        self.opts = opts
        self.progress = Progress(sink)
        self.cache = BuildCache(self.root)
        self.started = time.time()
        self.started_iso = now_rfc3339()
        self.build_args = _resolve_args(opts.build_args)
        self.consumed: set[str] = set()
        self.exported: dict[str, CacheRecord] = {}
        self.failed = threading.Event()
        self.first_error: BaseException | None = None
        self._lock = threading.Lock()
        self._stage_locks: dict[int, threading.Lock] = {}
        self._stage_results: dict[int, object] = {}
        self._images: dict[str, object] = {}
        self._ctx = None
        self._named: dict[str, object] = {}
        self._imported = cacheio.load_imports(opts.cache_from)
        self.tmp, self._tmp_lock = _scratch_root(self.root)
        self.df = None
        self.df_text = ""
        self.needed: list = []

    # --- the build -----------------------------------------------------------------------------
    def run(self) -> str:
        try:
            self.check_platform(self.opts.platform)
            self._load_definition()
            target = self._target()
            self.needed = resolve.stages_needed(self, target)
            self._prewarm()
            self._load_context_if_used()
            img = self._build_stages(target)
            return self._export(img)
        finally:
            if self._ctx is not None:
                self._ctx.close()
            for ctx in self._named.values():
                if hasattr(ctx, "close"):
                    ctx.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
            os.close(self._tmp_lock)

    def _load_definition(self) -> None:
        from engine.build.dockerfile.parser import parse

        v = self.progress.vertex(f"[internal] load build definition from {self._dockerfile_name()}")
        try:
            text, name = resolve.read_dockerfile(self)
            v.status(f"transferring dockerfile: {len(text.encode())}B")
            self.df_text = text
            self.df = parse(text, name)
        except EngineError as e:
            v.done(str(e))
            raise
        v.done()
        self.global_args = dict(PREDEFINED)
        from engine.build.expansion import expand_instr

        for a in self.df.meta_args:
            x = expand_instr(a, self.global_args, self.df.escape, self.df.filename)
            for name, default in x.args:
                value = self.build_args.get(name, default)
                if value is not None:
                    self.global_args[name] = value
                    self.consumed.add(name)

    def _prewarm(self) -> None:
        """Import what the first RUN needs (the runtime, netlink) while the context is read."""
        if any(i.keyword == "RUN" for st in self.needed for i in st.instructions):
            from engine.build.runner import prewarm

            prewarm(self.opts.network or "default")

    def _dockerfile_name(self) -> str:
        if self.opts.dockerfile_inline is not None:
            return "Dockerfile"
        return os.path.basename(self.opts.dockerfile or "Dockerfile")

    def _target(self):
        if not self.df.stages:
            raise BuildError("failed to solve: the Dockerfile has no FROM instruction")
        if not self.opts.target:
            return self.df.stages[-1]
        st = self.df.stage(self.opts.target)
        if st is None or self.opts.target.isdigit():
            raise BuildError(f'failed to solve: target stage "{self.opts.target}" could not be found')
        return st

    def _load_context_if_used(self) -> None:
        if self._ctx is None and resolve.uses_context(self):
            v = self.progress.vertex("[internal] load .dockerignore")
            self._ctx = resolve.open_context(self)
            v.done()
            v = self.progress.vertex("[internal] load build context")
            v.done()

    def _build_stages(self, target):
        with ThreadPoolExecutor(max_workers=max(1, len(self.needed))) as pool:
            futures = [pool.submit(self.stage_result, st) for st in self.needed]
            try:
                wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException as e:  # Ctrl-C or SIGTERM: the running steps are stopped, then it goes on
                with self._lock:
                    if not self.failed.is_set():
                        self.first_error = e
                        self.failed.set()
                wait(futures)  # the running steps see ``failed`` and are killed by the runner
                raise
            if self.failed.is_set():
                wait(futures)  # the other stages' running steps are cancelled (BuildKit does so too)
                raise self.first_error
            for f in futures:
                f.result()
        return self.stage_result(target)

    def stage_result(self, stage):
        """The stage's StageImage, built once (other stages wait for it)."""
        from engine.build.stages import StageBuilder

        with self._lock:
            lock = self._stage_locks.setdefault(stage.index, threading.Lock())
        with lock:
            got = self._stage_results.get(stage.index)
            if isinstance(got, BaseException):
                raise Canceled() from None
            if got is not None:
                return got
            if self.failed.is_set():
                raise Canceled()
            try:
                img = StageBuilder(self, stage).run()
            except BaseException as e:
                self._stage_results[stage.index] = e
                with self._lock:
                    if not self.failed.is_set():
                        self.first_error = e  # the error reported: not the "canceled" of the others
                        self.failed.set()
                raise
            self._stage_results[stage.index] = img
            return img

    def _export(self, img) -> str:
        from engine.build.output import write_image

        v = self.progress.vertex("exporting to image")
        v.status("exporting layers")
        doc = img.document()
        if self.opts.labels:
            labels = dict(doc["config"].get("Labels") or {})
            labels.update(self.opts.labels)
            doc["config"]["Labels"] = labels
        iid = write_image(self.store, doc, img.layers, list(self.opts.tags or []),
                          restore=lambda d: self.cache.restore_blob(d, self.store))
        v.status(f"writing image {iid}")
        for t in resolve.full_names(self.opts.tags):
            v.status(f"naming to {t}")
        v.done()
        cacheio.export_cache(self)
        cacheio.gc_cache(self)
        return iid

    # --- helpers for the stages -----------------------------------------------------------------
    def cache_enabled_for(self, stage) -> bool:
        if self.opts.no_cache:
            return False
        names = {str(stage.index)} | ({stage.name} if stage.name else set())
        return not any(f.lower() in names for f in self.opts.no_cache_filter or [])

    def scratch_dir(self, kind: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.tmp))

    def layer_dirs(self, layers: list[dict]) -> list[Path]:
        """Unpacked dirs of ``layers`` (lowest first), unpacked or restored from the cache as needed."""
        out = []
        for l in layers:
            if not self.store.layers.is_unpacked(l["diff_id"]) and not self.store.blobs.exists(l["digest"]):
                self.cache.restore_blob(l["digest"], self.store)
            out.append(self.store.layers.ensure(l["diff_id"], self.store.blobs.path(l["digest"])))
        return out

    def expand_global(self, word: str | None) -> str:
        from engine.build.dockerfile.shell import expand

        return expand(word or "", self.global_args, self.df.escape)

    def global_arg(self, name: str) -> str | None:
        if name in self.build_args:
            return self.build_args[name]
        return self.global_args.get(name)

    def check_platform(self, platform: str | None) -> None:
        if not platform:
            return
        for p in platform.split(","):
            p = p.strip()
            if p and p not in (HOST_PLATFORM, "linux/x86_64", "linux/amd64/v1", "amd64"):
                raise BuildError(f'failed to solve: platform "{p}" is not supported here: pycompose builds '
                                 f"for the host platform only ({HOST_PLATFORM})")

    def display_ref(self, ref: str) -> str:
        from engine.images import reference

        try:
            return str(reference.parse(ref))
        except EngineError:
            return ref

    def base_image(self, ref: str, from_vertex: str | None):
        return resolve.base_image(self, ref, from_vertex)

    def context(self):
        if self._ctx is None:
            with self._lock:
                if self._ctx is None:
                    self._ctx = resolve.open_context(self)
        return self._ctx

    def named_context(self, name: str):
        return resolve.named_context(self, name)

    def imported_cache(self, key: str) -> CacheRecord | None:
        return cacheio.imported_record(self, key)

    def download(self, url: str, checksum: str | None, dest_is_dir: bool):
        return resolve.download(self, url, checksum, dest_is_dir)

    def error_details(self, vertex_name: str, instr, tail: bytes) -> str:
        return resolve.error_details(self, vertex_name, instr, tail)


def _scratch_root(root: DataRoot) -> tuple[Path, int]:
    """This build's scratch dir, flock-ed while it runs; the dirs of builds that died (killed,
    power loss) are not locked any more and are removed here."""
    parent = root.dir("builder", "tmp")
    for stale in parent.iterdir():
        lock = stale / ".lock"
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            fd = -1
        try:
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif time.time() - stale.lstat().st_mtime < 60:
                continue  # being made right now by another build
            shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass  # a running build holds it
        finally:
            if fd >= 0:
                os.close(fd)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=parent))
    fd = os.open(tmp / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return tmp, fd


def _resolve_args(args: dict | None) -> dict[str, str]:
    """``--build-arg NAME`` (no value) takes NAME from the environment, or is dropped."""
    out = {}
    for k, v in (args or {}).items():
        if v is None:
            if k in os.environ:
                out[k] = os.environ[k]
        else:
            out[k] = str(v)
    return out


def build(store, images, opts: BuildOptions, progress=None) -> str:
    """Run a build into ``store`` (engine.images.ImageStore); ``images`` pulls base images. The image id."""
    resolve.check_tags(opts.tags)
    cacheio.check_exports(opts.cache_to)
    try:
        return Build(store, images, opts, progress).run()
    except BuildError as e:
        if str(e).startswith("failed to solve"):
            raise
        raise BuildError(f"failed to solve: {e}", e.details, e.step_exit_code) from None
    except (NotFound, Conflict, UnsafeContent, InvalidArgument) as e:
        if isinstance(e, DockerfileError):
            raise
        raise BuildError(f"failed to solve: {e}") from None
