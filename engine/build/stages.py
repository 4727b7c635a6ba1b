"""One stage of a Dockerfile built step by step: FROM, then each instruction, cached.

Every step has a cache key chained from the previous one (ARG excepted: its value only
matters where a RUN sees it, and the RUN's key holds it). A hit replays the recorded
result (layer and time), so a build where nothing changed produces the same image id;
a miss runs the step and records it.
"""
from __future__ import annotations

from engine.build import copystep, runstep
from engine.build.cache import CacheRecord, key_of, now_rfc3339
from engine.build.dockerfile import ast
from engine.build.errors import BuildError, Canceled
from engine.build.expansion import expand_instr
from engine.build.imageconfig import StageImage, apply_meta, from_base, scratch_image

FS_KINDS = ("RUN", "COPY", "ADD", "WORKDIR")


class StageBuilder:
    def __init__(self, build, stage: ast.Stage):
        self.build = build
        self.stage = stage
        self.label = stage.name or f"stage-{stage.index}"
        self.total = 1 + sum(1 for i in stage.instructions if i.keyword in FS_KINDS)
        self.step = 1
        self.use_cache = build.cache_enabled_for(stage)

    # --- naming -----------------------------------------------------------------------------
    def vertex_name(self, n: int, text: str) -> str:
        """BuildKit's "[name 2/5] RUN ...": a named stage, or "stage-N" among several, is prefixed."""
        if self.stage.name or len(self.build.df.stages) > 1:
            return f"[{self.label} {n}/{self.total}] {text}"
        return f"[{n}/{self.total}] {text}"

    def shown(self, img: StageImage, instr) -> str:
        """The step as BuildKit names it: the instruction with the variables in effect substituted."""
        from engine.build.dockerfile.expand import display_name

        return display_name(instr.original, img.lookup(), self.build.df.escape)

    # --- the stage --------------------------------------------------------------------------
    def run(self) -> StageImage:
        img = self.from_()
        for instr in list(self.stage.instructions):
            if self.build.failed.is_set():
                raise Canceled()
            img = self.dispatch(img, instr)
        return img

    def from_(self) -> StageImage:
        b = self.build
        base = b.expand_global(self.stage.base)
        platform = b.expand_global(self.stage.platform) if self.stage.platform else None
        b.check_platform(platform)
        if base.lower() == "scratch":
            img = scratch_image(b.started_iso)
        elif b.df.stage(base) is not None and b.df.stage(base).index < self.stage.index \
                and not base.isdigit():
            img = b.stage_result(b.df.stage(base)).clone()
            img.args = {}
        else:
            rec = b.base_image(base, self.vertex_name(1, f"FROM {b.display_ref(base)}"))
            img = from_base(rec.image_config, rec.layers, key_of("image", rec.id))
        img.cmd_set = False
        img.args = {}
        triggers = list(img.config.get("OnBuild") or [])
        if triggers:
            img.config["OnBuild"] = None
            from engine.build.dockerfile.parser import parse_trigger

            for t in triggers:
                img = self.dispatch(img, parse_trigger(t, b.df.escape))
        return img

    def dispatch(self, img: StageImage, instr) -> StageImage:
        kw = instr.keyword
        if kw == "ARG":
            return self.arg(img, instr)
        x = expand_instr(instr, img.lookup(), self.build.df.escape, self.build.df.filename)
        if kw == "RUN":
            return self.run_instr(img, x, instr)
        if kw in ("COPY", "ADD"):
            return self.copy_instr(img, x, instr, kw == "ADD")
        if kw == "WORKDIR":
            return self.workdir(img, x, instr)
        return self.meta(img, x, kw)

    # --- ARG and metadata -----------------------------------------------------------------------
    def arg(self, img: StageImage, instr) -> StageImage:
        parts = []
        for name, default in instr.args:
            if name in self.build.build_args:
                value = self.build.build_args[name]
            elif default is not None:
                value = expand_instr(ast.ArgInstr(instr.line, instr.end_line, instr.original,
                                                  args=[(name, default)]), img.lookup(), self.build.df.escape,
                                     self.build.df.filename).args[0][1]
            else:
                value = self.build.global_arg(name)
            img.args[name] = value
            self.build.consumed.add(name)
            parts.append(f"{name}={value}" if value is not None else name)
        img.add_history("ARG " + " ".join(parts), True)
        return img

    def meta(self, img: StageImage, x, kw: str) -> StageImage:
        before = img.clone()
        apply_meta(img, x, kw)
        desc = img.history[-1]["created_by"]
        key = key_of("meta", before.key, desc)
        rec = self.lookup(key)
        if rec is None:
            rec = self.record(key, None, desc)
        img.key = key
        img.created = rec.created
        img.history[-1]["created"] = rec.created
        return img

    # --- cache --------------------------------------------------------------------------------
    def lookup(self, key: str) -> CacheRecord | None:
        if not self.use_cache:
            return None
        rec = self.build.cache.get(key, self.build.store)
        if rec is None:
            rec = self.build.imported_cache(key)
        if rec is not None:
            self.build.exported[key] = rec
        return rec

    def record(self, key: str, layer: dict | None, desc: str) -> CacheRecord:
        rec = CacheRecord(key, layer, now_rfc3339(), desc)
        self.build.cache.put(rec, self.build.store)
        self.build.exported[key] = rec
        return rec

    def apply(self, img: StageImage, key: str, rec: CacheRecord, created_by: str) -> StageImage:
        if rec.layer:
            img.layers.append(rec.layer)
        img.key, img.created = key, rec.created
        img.add_history(created_by, rec.layer is None)
        return img

    def _fs_step(self, img: StageImage, key: str, text: str, created_by: str, work) -> StageImage:
        """Look the step up; on a miss run ``work(vertex) -> layer`` and record it."""
        self.step += 1
        v = self.build.progress.vertex(self.vertex_name(self.step, text))
        rec = self.lookup(key)
        if rec is not None:
            v.cached()
            v.done()
            return self.apply(img, key, rec, created_by)
        try:
            layer = work(v)
        except BuildError as e:
            v.done("canceled" if self.build.failed.is_set() else str(e))
            raise
        except Exception as e:
            v.done(str(e))
            raise
        rec = self.record(key, layer, created_by)
        v.done()
        return self.apply(img, key, rec, created_by)

    # --- filesystem steps -------------------------------------------------------------------
    def run_instr(self, img: StageImage, x, instr) -> StageImage:
        if getattr(x, "security", None) == "insecure":
            raise BuildError("failed to solve: granting entitlement security.insecure is not allowed by build "
                             "daemon configuration")
        argv = runstep.command_of(img, x)
        env = runstep.run_env(img, self.build.build_args)
        mounts, desc, extra_env = runstep.mount_plan(self, x)
        network = x.network or self.build.opts.network or "default"
        if network == "bridge":
            network = "default"
        heredocs = [[h.name, h.content] for h in x.heredocs]
        key = key_of(runstep.run_key(img, argv, env, network, desc), heredocs)
        created_by = runstep.history_text(img, argv)
        return self._fs_step(img, key, self.shown(img, instr), created_by,
                             lambda v: runstep.execute(self, img, argv, env + extra_env, mounts, network, v, instr))

    def copy_instr(self, img: StageImage, x, instr, is_add: bool) -> StageImage:
        try:
            plan = copystep.plan_copy(self, img, x, is_add)
        except BuildError as e:
            self.step += 1
            v = self.build.progress.vertex(self.vertex_name(self.step, self.shown(img, instr)))
            v.done(str(e))
            e.details = self.error_details(v, instr, b"")
            raise
        key = copystep.copy_key(img, x, plan, is_add)
        return self._fs_step(img, key, self.shown(img, instr), copystep.history_text(x, is_add),
                             lambda v: copystep.execute(self, img, x, plan))

    def workdir(self, img: StageImage, x, instr) -> StageImage:
        import posixpath

        path = x.word
        if not path.startswith("/"):
            path = posixpath.join(img.config.get("WorkingDir") or "/", path)
        path = posixpath.normpath(path)
        img.config["WorkingDir"] = path
        user = img.config.get("User") or ""
        key = key_of("workdir", img.key, path, user)
        created_by = "WORKDIR " + path
        if path == "/":
            img.key = key
            img.add_history(created_by, True)
            return img
        return self._fs_step(img, key, self.shown(img, instr), created_by, lambda v: self._mkdir(img, path, user))

    def _mkdir(self, img: StageImage, path: str, user: str) -> dict | None:
        from engine.build.copyops import CopyJob, Writer
        from engine.build.fsview import LayeredFS
        from engine.build.output import commit_upper

        dirs = self.build.layer_dirs(img.layers)
        base = LayeredFS(dirs)
        e = base.lookup(base.resolve(path))
        if e is not None and e.is_dir:
            return None
        owner = None
        if user:
            owner = copystep.parse_chown(user, lambda: dirs)
        scratch = self.build.scratch_dir("workdir")
        upper = scratch / "upper"
        upper.mkdir(mode=0o755)
        try:
            w = Writer(CopyJob(upper, base, path, True, owner))
            w.ensure_dir(list(w.dest), None)
            return commit_upper(self.build.store, upper, adopt=True)
        finally:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)

    # --- sources from elsewhere -----------------------------------------------------------------
    def copy_origin(self, from_: str):
        """(context-like, LayeredFS, key) for ``--from``: a stage, a named context or an image."""
        from engine.build.fsview import LayeredFS

        b = self.build
        st = b.df.stage(from_)
        if st is not None:
            if st.index >= self.stage.index:
                raise BuildError(f"invalid from flag value {from_}: circular dependency detected on stage: "
                                 f"{self.label}")
            img = b.stage_result(st)
            return None, LayeredFS(b.layer_dirs(img.layers)), img.key
        named = b.named_context(from_)
        if named is not None:
            return named, None, None
        rec = b.base_image(from_, None)
        return None, LayeredFS(rec.layer_dirs()), rec.id

    def bind_mount(self, m):
        """A ``RUN --mount=type=bind`` as a StepMount and its cache-key description."""
        from pathlib import Path

        from engine.build.stepmounts import StepMount

        b = self.build
        sub = (m.source or "").lstrip("/")
        if not m.from_:
            ctx = b.context()
            digest = ctx.digest([ctx.rel_of(ctx.host(sub))]) if sub else ctx.digest([""])
            return (StepMount("bind", target=m.target, source=Path(ctx.root), subpath=sub, readonly=m.readonly),
                    ["bind", m.target, "context", sub, digest, m.readonly])
        ctx, fs, key = self.copy_origin(m.from_)
        if ctx is not None:
            return (StepMount("bind", target=m.target, source=Path(ctx.root), subpath=sub, readonly=m.readonly),
                    ["bind", m.target, m.from_, sub, ctx.digest([sub] if sub else [""]), m.readonly])
        layers = [Path(p) for p in fs.top_first]
        return (StepMount("bind", target=m.target, layers=layers, subpath=sub, readonly=m.readonly),
                ["bind", m.target, key, sub, m.readonly])

    def error_details(self, vertex, instr, tail: bytes) -> str:
        return self.build.error_details(vertex.name, instr, tail)
