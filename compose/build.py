"""Compose's builds: a service's ``build:`` section -> ``engine.api`` ``Images.build``.

As Docker Compose v2 (pkg/compose/build.go, build_bake.go) does it:

* the image is named by ``image:``, else ``<project>-<service>``; ``build.tags`` are extra tags;
  built images carry the labels com.docker.compose.project / .service / .version;
* ``pycompose build`` builds every selected service that has ``build:`` (``--with-dependencies``
  adds the services they depend on); ``up``/``create``/``run`` build the ones whose image is
  missing, all of them with ``--build`` (or ``pull_policy: build``), none with ``--no-build``;
* ``additional_contexts: {name: "service:other"}`` builds ``other`` first and hands its image over;
* ``--build-arg`` overrides ``build.args``; a bare ``NAME`` takes the project environment;
* ``platforms`` may only name this host's platform (pycompose builds natively, no emulation).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

from compose import convert as cv
from compose.errors import ComposeError, UsageError
from compose.options import ServiceOptions

SERVICE_PREFIX = "service:"
ALWAYS, MISSING, NEVER = "always", "missing", "never"  # when up/create/run build


class BuildFailed(ComposeError):
    """A service's build failed; the message is the builder's, prefixed like Compose's."""


@dataclass
class BuildOptions(ServiceOptions):
    """``build``'s flags, and what up/create/run ask of the builds they start."""
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    build_args: list[str] = field(default_factory=list)  # --build-arg K=V / K
    with_dependencies: bool = False
    progress: str = "auto"  # auto | plain | tty | quiet (the build output)


def image_name(project: str, name: str, service: dict) -> str:
    """``image:``, or Compose's default ``<project>-<service>``."""
    return service.get("image") or f"{project}-{name}"


# ------------------------------------------------------------- build section -> Images.build arguments

def _extra_hosts(hosts: Any) -> list[str]:
    """Compose's ``host=ip`` (canonical form) as Docker's ``host:ip``."""
    if isinstance(hosts, dict):
        pairs = [(h, ip) for h, ips in hosts.items() for ip in (ips if isinstance(ips, list) else [ips])]
    else:
        pairs = [tuple(h.split("=", 1)) if "=" in h else tuple(h.split(":", 1)) for h in hosts or []]
    return [f"{h}:{ip}" for h, ip in pairs]


def _secrets(b: Any, name: str, refs: list[dict]) -> dict[str, dict]:
    """``build.secrets`` -> {id: {"file": path} | {"env": NAME}}; id = target, else source."""
    defs = (b.project.model.get("secrets") or {}) if b.project else {}
    env = getattr(b.project, "environment", None) or {}
    out: dict[str, dict] = {}
    for ref in refs or []:
        ref = {"source": ref} if isinstance(ref, str) else ref
        src = ref.get("source")
        d = defs.get(src)
        if d is None:
            raise ComposeError(f"service {name!r} refers to undefined build secret {src}")
        sid = ref.get("target") or src
        if d.get("environment"):
            var = d["environment"]
            if var not in os.environ and var in env:
                os.environ[var] = env[var]  # the builder reads env secrets from this process, as bake does
            out[sid] = {"env": var}
        elif d.get("file"):
            out[sid] = {"file": d["file"]}
        else:
            raise ComposeError(f"service {name!r}: build secret {src} must be a file or an environment variable")
    return out


def _host_platform() -> str:
    import platform

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return f"linux/{arch}"


def _norm_platform(p: str) -> str:
    parts = p.lower().split("/")
    if len(parts) == 3 and parts[1] == "arm64" and parts[2] == "v8":
        parts = parts[:2]
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(parts[1] if len(parts) > 1 else "", None)
    if arch:
        parts[1] = arch
    return "/".join(parts)


def check_platforms(name: str, service: dict) -> str | None:
    """The platform to build for: the host's, or a clear error for any other one."""
    host = _host_platform()
    build = service.get("build") or {}
    wanted = list(build.get("platforms") or [])
    if service.get("platform"):
        wanted.append(service["platform"])
    for p in wanted:
        if _norm_platform(p) != host:
            raise ComposeError(f"service {name!r}: cannot build for platform {p}: pycompose builds natively for "
                               f"this host's platform only ({host})")
    return host if wanted else None


def build_kwargs(b: Any, name: str, opts: BuildOptions, built: dict[str, str] | None = None) -> dict:
    """The ``Images.build`` keyword arguments of one service (``built``: images of services built before)."""
    service = b.project.services[name]
    build = service.get("build") or {}
    env = getattr(b.project, "environment", None) or dict(os.environ)
    context = build.get("context") or b.project.working_dir or "."
    if "://" in context or context.startswith("git@"):
        raise ComposeError(f"service {name!r}: remote build contexts are not available: {context}")
    image = image_name(b.name, name, service)
    args = dict(build.get("args") or {})
    args.update(cv.flag_pairs(opts.build_args, env, "invalid --build-arg {!r}: expected NAME=VALUE or NAME"))
    labels = dict(build.get("labels") or {})
    labels.update({cv.VERSION: _compose_version(), cv.PROJECT: b.name, cv.SERVICE: name})
    contexts = {}
    for key, value in (build.get("additional_contexts") or {}).items():
        if value.startswith(SERVICE_PREFIX):
            other = value[len(SERVICE_PREFIX):]
            ref = (built or {}).get(other) or image_name(b.name, other, b.project.services.get(other) or {})
            value = f"docker-image://{ref}"
        contexts[key] = value
    tags = [image] + [t for t in (build.get("tags") or []) if t != image]
    return dict(context=context, dockerfile=None if build.get("dockerfile_inline") else build.get("dockerfile"),
                dockerfile_inline=build.get("dockerfile_inline"), tags=tags, target=build.get("target"),
                build_args=args, labels=labels, no_cache=bool(build.get("no_cache") or opts.no_cache),
                no_cache_filter=list(build.get("no_cache_filter") or []), pull=bool(build.get("pull") or opts.pull),
                network=build.get("network"), extra_hosts=_extra_hosts(build.get("extra_hosts")),
                shm_size=build.get("shm_size") or None, additional_contexts=contexts,
                secrets=_secrets(b, name, build.get("secrets") or []), cache_from=list(build.get("cache_from") or []),
                cache_to=list(build.get("cache_to") or []), platform=check_platforms(name, service))


def _compose_version() -> str:
    from compose import __version__

    return __version__


# ------------------------------------------------------------- what to build, in which order

def build_dependencies(b: Any, names: Iterable[str]) -> list[str]:
    """``names`` plus the services their ``additional_contexts: service:x`` need (transitively)."""
    out = list(names)
    i = 0
    while i < len(out):
        build = (b.project.services.get(out[i]) or {}).get("build") or {}
        for value in (build.get("additional_contexts") or {}).values():
            if isinstance(value, str) and value.startswith(SERVICE_PREFIX):
                other = value[len(SERVICE_PREFIX):]
                if other not in b.project.services:
                    raise ComposeError(f"service {out[i]!r}: additional_contexts refers to undefined service {other}")
                if other not in out:
                    out.append(other)
        i += 1
    return out


def build_order(b: Any, names: list[str]) -> list[str]:
    """Services whose images others' additional_contexts use come first (stable otherwise)."""
    order: list[str] = []
    active: set[str] = set()

    def visit(n: str) -> None:
        if n in order:
            return
        if n in active:
            raise ComposeError(f"build dependency cycle through service {n!r} (additional_contexts)")
        active.add(n)
        for dep in build_dependencies(b, [n])[1:]:
            if dep in names:
                visit(dep)
        active.discard(n)
        order.append(n)

    for n in names:
        visit(n)
    return order


def to_build(b: Any, names: Iterable[str], mode: str) -> list[str]:
    """Which of ``names`` need a build before up/create/run: ``mode`` always|missing|never."""
    if mode == NEVER:
        return []
    out = []
    for n in build_dependencies(b, names):
        s = b.project.services[n]
        if s.get("build") is None:
            continue
        if mode == ALWAYS or s.get("pull_policy") == "build" or not _present(b, image_name(b.name, n, s)):
            out.append(n)
    return out


def _present(b: Any, image: str) -> bool:
    try:
        return bool(b.engine.images.exists(image))
    except Exception:  # noqa: BLE001 - a bad reference is "not present": the build reports it
        return False


# ------------------------------------------------------------- running builds

def build_services(b: Any, names: list[str], opts: BuildOptions) -> dict[str, str]:
    """Build ``names`` one after the other (dependencies first); {image name: image id}.

    The builder runs each Dockerfile's independent stages concurrently already; one build
    at a time keeps its progress readable and the machine's cores for those stages.
    """
    names = build_order(b, [n for n in names if (b.project.services.get(n) or {}).get("build") is not None])
    for n in names:  # every bad value is reported before anything is built
        check_platforms(n, b.project.services[n])
    built: dict[str, str] = {}
    ids: dict[str, str] = {}
    from engine.api import build_progress_renderer

    for n in names:
        image = image_name(b.name, n, b.project.services[n])
        if image in ids:
            built[n] = image
            continue
        kwargs = build_kwargs(b, n, opts, built)
        mode = "quiet" if opts.quiet else {"json": "plain", None: "auto"}.get(opts.progress, opts.progress)
        render = build_progress_renderer(mode, sys.stderr)
        try:
            ids[image] = b.engine.images.build(progress=render, **kwargs)
        except Exception as e:  # noqa: BLE001 - the builder's message, with its Dockerfile excerpt
            render.close()
            raise _failure(n, e) from None
        render.close()
        built[n] = image
        b.progress.event("Image", image, "Built")
    return ids


def _failure(name: str, e: BaseException) -> BaseException:
    from engine.errors import EngineError

    if not isinstance(e, EngineError):
        return e
    details = getattr(e, "details", "") or ""
    if details:
        sys.stderr.write(details.rstrip("\n") + "\n")
    msg = str(e)
    if msg.startswith("ERROR: "):
        msg = msg[len("ERROR: "):]
    err = BuildFailed(f"failed to solve: service {name!r}: {msg}" if not msg.startswith("failed to solve")
                      else f"service {name!r}: {msg}")
    err.exit_code = getattr(e, "exit_code", 1) or 1
    return err


def build_for(b: Any, services: list[str], no_deps: bool, mode: str, progress: str = "auto",
              quiet: bool = False) -> dict[str, str]:
    """The builds of ``up``/``create``/``run`` for what they will converge (named services and their
    dependencies unless ``--no-deps``), before anything is created."""
    known = [n for n in services if n in b.project.services]
    names = known if no_deps and services else b.with_dependencies(known or list(b.project.services))
    wanted = to_build(b, names, mode)
    if not wanted:
        return {}
    b.progress.close()  # the live view pauses while the build prints its own progress
    return build_services(b, wanted, BuildOptions(services=wanted, progress=progress, quiet=quiet))


def check_build_flags(build: bool, no_build: bool) -> str:
    """``--build`` / ``--no-build`` -> the build mode of up/create/run."""
    if build and no_build:
        raise UsageError("--build and --no-build are incompatible")
    return ALWAYS if build else NEVER if no_build else MISSING


# ------------------------------------------------------------- pycompose build --print

def bake_definition(b: Any, names: list[str], opts: BuildOptions) -> dict:
    """What ``docker compose build --print`` prints: the equivalent ``docker buildx bake`` file."""
    targets: dict[str, dict] = {}
    group = []
    for n in sorted(b.project.services):
        s = b.project.services[n]
        build = s.get("build")
        if build is None:
            continue
        kw = build_kwargs(b, n, opts)
        t = n.replace(".", "_")
        contexts = {}
        for k, v in sorted((build.get("additional_contexts") or {}).items()):
            other = v[len(SERVICE_PREFIX):] if v.startswith(SERVICE_PREFIX) else None
            contexts[k] = f"target:{other.replace('.', '_')}" if other is not None else v
        target = {"context": kw["context"], "contexts": contexts,
                  "dockerfile": None if kw["dockerfile_inline"] else
                  os.path.join(kw["context"], kw["dockerfile"] or "Dockerfile"),
                  "dockerfile-inline": _escape(kw["dockerfile_inline"]),
                  "args": {k: _escape(v) for k, v in sorted(kw["build_args"].items())},
                  "labels": dict(sorted(kw["labels"].items())),
                  "tags": list(build.get("tags") or []) + [image_name(b.name, n, s)],
                  "cache-from": kw["cache_from"], "cache-to": kw["cache_to"], "target": kw["target"],
                  "secret": [f"id={k},type=env,env={v['env']}" if "env" in v else f"id={k},type=file,src={v['file']}"
                             for k, v in kw["secrets"].items()],
                  "platforms": list(build.get("platforms") or []), "pull": kw["pull"], "no-cache": kw["no_cache"],
                  "network": kw["network"], "no-cache-filter": kw["no_cache_filter"], "shm-size": kw["shm_size"],
                  "extra-hosts": _bake_hosts(kw["extra_hosts"]), "output": ["type=docker"]}
        targets[t] = {k: v for k, v in target.items() if v not in (None, "", [], {}, False, 0)}
        if n in names:
            group.append(t)
    return {"group": {"default": {"targets": group}}, "target": targets}


def _escape(text: str | None) -> str | None:
    """Bake interpolates ``${``: Compose doubles the dollar so values reach the build as written."""
    return text.replace("${", "$${") if text else text


def _bake_hosts(hosts: list[str]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for h in hosts:
        name, _, ip = h.partition(":")
        out.setdefault(name, []).append(ip)
    return {k: ",".join(v) for k, v in sorted(out.items())}


def print_bake(b: Any, names: list[str], opts: BuildOptions) -> None:
    print(json.dumps(bake_definition(b, names, opts), indent=2))


# ------------------------------------------------------------- down --rmi

def _with_tag(ref: str) -> str:
    """``app`` -> ``app:latest`` (Compose compares images by their familiar name with a tag)."""
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in ref else f"{ref}:latest"


def images_to_remove(b: Any, mode: str, remove_orphans: bool = False) -> list[str]:
    """``down --rmi local|all``, as Compose's image pruner: ``local`` removes the images this project
    built (labelled with it, or named ``<project>-<service>``); ``all`` also every ``image:``."""
    services = b.project.services if b.project else {}
    known = set((b.project.all_services or services) if b.project else ())
    images: list[str] = []
    if mode == "all":
        images += [s["image"] for s in services.values() if s.get("image") and _present(b, s["image"])]
    try:
        built = b.engine.images.list(filters={"label": [f"{cv.PROJECT}={b.name}"], "dangling": ["false"]})
    except Exception:  # noqa: BLE001 - an engine without label filters: the named ones below still go
        built = []
    for img in built:
        tags = img.get("RepoTags") or []
        if tags and (remove_orphans or (img.get("Labels") or {}).get(cv.SERVICE) in known):
            images.append(tags[0])
    for n, s in services.items():
        if not s.get("image") and _present(b, f"{b.name}-{n}"):
            images.append(f"{b.name}-{n}")
    return sorted({_with_tag(i) for i in images})
