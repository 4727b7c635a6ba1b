"""``RUN``: its command line, environment, mounts and cache key, run by ``runner.run_step``.

Why separate from the COPY and metadata steps: a RUN is the only step that starts a
process, so it alone needs the runner, the network mode, the secrets and the
``--mount`` translation (stage and image binds become stacked layer dirs, cache mounts
persist under the data root, secrets come from files or environment variables).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from engine.build.cache import key_of
from engine.build.errors import BuildError
from engine.build.imageconfig import StageImage, with_shell

PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


def command_of(img: StageImage, instr) -> list[str]:
    """argv of a RUN, heredocs included the way BuildKit runs them."""
    docs = list(instr.heredocs or [])
    if not docs:
        return with_shell(img, instr.command, instr.prepend_shell)
    line = instr.command[0] if instr.command else ""
    only_doc = len(docs) == 1 and line.strip() in (f"<<{docs[0].name}", f"<<-{docs[0].name}",
                                                   f"<<'{docs[0].name}'", f'<<"{docs[0].name}"',
                                                   f"<<-'{docs[0].name}'", f'<<-"{docs[0].name}"')
    if only_doc:
        body = docs[0].content
        if body.startswith("#!"):
            return ["/bin/sh", "-c", _shebang_script(body)]
        return with_shell(img, [body], True)
    script = line
    for d in docs:
        script += "\n" + d.content + d.name
    return with_shell(img, [script], True)


def _shebang_script(body: str) -> str:
    """Run a ``#!`` heredoc with its interpreter: written to a temp file inside the step."""
    marker = "PYCOMPOSE_HEREDOC_EOF"
    return (f"f=$(mktemp 2>/dev/null || echo /tmp/.heredoc.$$); cat > \"$f\" <<'{marker}'\n{body}{marker}\n"
            f"chmod +x \"$f\" && \"$f\"; rc=$?; rm -f \"$f\"; exit $rc")


def run_env(img: StageImage, build_args: dict[str, str]) -> list[str]:
    """The step's environment: the image's Env, then declared ARGs and the proxy build args."""
    env = list(img.config.get("Env") or [])
    have = {e.partition("=")[0] for e in env}
    for k, v in img.args.items():
        if v is not None and k not in have:
            env.append(f"{k}={v}")
            have.add(k)
    for k in PROXY_ARGS:
        if k in build_args and build_args[k] is not None and k not in have:
            env.append(f"{k}={build_args[k]}")
    return env


def history_text(img: StageImage, argv: list[str]) -> str:
    """``RUN |2 A=1 B=2 /bin/sh -c make # buildkit``: BuildKit's created_by of a RUN."""
    env = img.env_dict()  # every declared ARG is listed, with the value the step sees (ENV wins)
    args = [f"{k}={env.get(k, v if v is not None else '')}" for k, v in img.args.items()]
    prefix = [f"|{len(args)}"] + args if args else []
    return "RUN " + " ".join(prefix + argv) + " # buildkit"


def mount_plan(sb, instr) -> tuple[list, list, list[str]]:
    """(StepMounts, cache-key descriptions, extra env) for ``RUN --mount``s."""
    from engine.build.stepmounts import StepMount

    mounts, desc, extra_env = [], [], []
    for m in instr.mounts or []:
        target = m.target or ""
        if m.type == "cache":
            if m.from_:
                _seed_cache(sb, m)
            mounts.append(StepMount("cache", target=target, id=m.id or target, sharing=m.sharing or "shared",
                                    uid=m.uid, gid=m.gid, mode=m.mode, readonly=m.readonly))
            desc.append(["cache", target, m.id or target, m.readonly])
        elif m.type == "bind":
            sm, d = sb.bind_mount(m)
            mounts.append(sm)
            desc.append(d)
        elif m.type == "tmpfs":
            mounts.append(StepMount("tmpfs", target=target, size=m.size))
            desc.append(["tmpfs", target, m.size])
        elif m.type == "secret":
            sm = _secret(sb, m)
            if sm is not None:
                mounts.append(sm)
                if m.env and sm.data is not None:
                    extra_env.append(f"{m.env}={sm.data.decode(errors='replace')}")
            desc.append(["secret", target, m.id])
        else:
            raise BuildError(f"RUN --mount=type={m.type} is not available in pycompose builds "
                             "(cache, bind, secret and tmpfs are)")
    return mounts, desc, extra_env


def _seed_cache(sb, m) -> None:
    """``--mount=type=cache,from=stage,source=dir``: a new cache dir starts as a copy of that dir."""
    from engine.build.copyops import CopyJob, Writer
    from engine.build.sources import context_sources, fs_sources
    from engine.build.stepmounts import cache_mount_dir

    data = cache_mount_dir(sb.build.root, m.id or m.target or "") / "data"
    if data.exists():
        return
    data.parent.mkdir(parents=True, exist_ok=True)
    ctx, fs, _ = sb.copy_origin(m.from_)
    found = fs_sources(fs, m.source or "/") if fs is not None else context_sources(ctx, m.source or ".")
    seed = Path(tempfile.mkdtemp(dir=data.parent, prefix=".seed-"))
    try:
        w = Writer(CopyJob(seed, None, "/", True))
        for src in found:
            w.write(src, w.target_of(src))
        w.finish()
        os.chmod(seed, 0o755 if m.mode is None else m.mode)
        os.chown(seed, m.uid or 0, m.gid or 0)
        os.rename(seed, data)
    except OSError:
        pass  # another step seeded it meanwhile
    finally:
        shutil.rmtree(seed, ignore_errors=True)


def _secret(sb, m):
    from engine.build.stepmounts import StepMount

    sid = m.id or os.path.basename(m.target or "")
    spec = (sb.build.opts.secrets or {}).get(sid)
    if spec is None:
        if m.required:
            raise BuildError(f"secret {sid}: not found")
        return None
    data = None
    if spec.get("env") is not None or spec.get("environment") is not None:
        name = spec.get("env") or spec.get("environment")
        if name not in os.environ:
            raise BuildError(f"secret {sid}: environment variable {name} is not set")
        data = os.environ[name].encode()
    else:
        path = spec.get("file") or spec.get("src") or spec.get("source")
        if not path or not os.path.isfile(path):
            raise BuildError(f"secret {sid}: failed to read {path}: no such file")
        with open(path, "rb") as f:
            data = f.read()
    target = m.target or (f"/run/secrets/{sid}" if not m.env else "")
    if not target:
        return _EnvOnly(data)
    return StepMount("secret", target=target, id=sid, data=data, mode=m.mode, uid=m.uid, gid=m.gid,
                     required=m.required)


class _EnvOnly:
    """A secret given only as an environment variable (``env=``, no target)."""

    type = "env"

    def __init__(self, data: bytes):
        self.data = data


def run_key(img: StageImage, argv: list[str], env: list[str], network: str, desc: list) -> str:
    return key_of("run", img.key, argv, env, img.config.get("WorkingDir") or "/", img.config.get("User") or "",
                  network, desc)


def execute(sb, img: StageImage, argv: list[str], env: list[str], mounts: list, network: str, vertex,
            instr) -> dict | None:
    """Run the step in a container; its layer (None when it changed nothing)."""
    from engine.build.errors import Canceled
    from engine.build.output import commit_upper
    from engine.build.runner import StepCancelled, run_step

    build = sb.build
    scratch = build.scratch_dir("run")
    upper, work = scratch / "upper", scratch / "work"
    upper.mkdir(mode=0o755)
    work.mkdir()
    tail: list[bytes] = []

    def output(b: bytes) -> None:
        vertex.log(b)
        stamp = f"{time.time() - vertex.started:.3f} ".encode()
        if not tail or tail[-1].endswith(b"\n"):
            b = stamp + b
        tail.append(b.replace(b"\n", b"\n" + stamp).removesuffix(stamp))
        if len(tail) > 64:
            del tail[:32]

    try:
        lowers = [Path(p) for p in reversed(build.layer_dirs(img.layers))]
        real_mounts = [m for m in mounts if getattr(m, "type", "") != "env"]
        try:
            code = run_step(build.root, lowers, upper, work, argv, env, img.config.get("WorkingDir") or "/",
                            img.config.get("User") or "", real_mounts, network, list(build.opts.extra_hosts or []),
                            build.opts.shm_size, output, cancel=build.failed)
        except StepCancelled:
            raise Canceled() from None
        if code != 0:
            msg = f'process "{" ".join(argv)}" did not complete successfully: exit code: {code}'
            raise BuildError(msg, details=sb.error_details(vertex, instr, b"".join(tail)), exit_code=code)
        return commit_upper(build.store, upper, adopt=True, from_overlay=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
