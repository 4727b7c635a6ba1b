"""Compose's image pulls and pushes over engine.api: ``pull``, ``push``, and the pulls before ``up``.

As in Docker Compose v2 (pkg/compose/pull.go, push.go): one pull per distinct image,
in parallel, each shown as an ``Image <ref>`` line with its layers as child lines
(``Pulling`` ... ``Pulled``); the service's ``platform:`` (or ``DOCKER_DEFAULT_PLATFORM``)
goes to the pull; a failed pull of an image that a service can build is not an error.
Push pushes the services that have both ``build`` and ``image`` (plus ``build.tags``).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from compose import pullpolicy as pp
from compose.errors import ComposeError
from compose.options import ServiceOptions


@dataclass
class PushOptions(ServiceOptions):
    """``push``'s flags; ``pull`` has the same and two more (PullOptions)."""
    ignore_failures: bool = False
    include_deps: bool = False
    quiet: bool = False


@dataclass
class PullOptions(PushOptions):
    ignore_buildable: bool = False
    policy: str | None = None


class ImageMissing(ComposeError):
    """A service's image is not here and its pull policy forbids pulling it."""


# ------------------------------------------------------------- progress bridge

class LayerEvents:
    """Progress dicts of one pull/push -> child lines under ``Image <ref>`` in compose's view."""

    def __init__(self, progress: Any, parent: str):
        self.progress, self.parent = progress, parent

    def __call__(self, msg: dict) -> None:
        lid, status = msg.get("id"), msg.get("status") or ""
        if not lid or status.startswith("Pulling from") or "digest:" in status:
            return
        from engine.api import progress_text

        self.progress.event("", lid, status, progress_text(msg.get("progressDetail"), width=80),
                            parent=self.parent)


def local_image(engine: Any, image: str) -> dict | None:
    """The engine's inspect dict of ``image``, or None when it is not here."""
    from engine.errors import NotFound

    try:
        return engine.images.inspect(image)
    except NotFound:
        return None


def platform_of(service: dict) -> str | None:
    return service.get("platform") or os.environ.get("DOCKER_DEFAULT_PLATFORM") or None


def pull_image(b: Any, image: str, service: dict, quiet: bool = False) -> dict:
    """Pull one image with its lines in ``b.progress``; the engine's error is re-raised after
    the line shows it (Warning when the image can be built instead)."""
    kind = "Image"
    b.progress.event(kind, image, "Pulling")
    try:
        result = b.engine.images.pull(image, platform=platform_of(service),
                                      progress=None if quiet else LayerEvents(b.progress, f"{kind} {image}"))
    except Exception as e:  # noqa: BLE001 - shown on the line, then raised to the caller
        b.progress.event(kind, image, "Warning" if service.get("build") is not None else "Error", str(e))
        raise
    b.progress.event(kind, image, "Pulled")
    return result


def _run_parallel(jobs: list[Callable[[], Any]], parallel: int) -> list[BaseException | None]:
    """Run the jobs in threads (all at once, or ``parallel`` at a time); one error slot per job."""
    if not jobs:
        return []
    workers = len(jobs) if not parallel or parallel < 0 else max(1, min(parallel, len(jobs)))
    errors: list[BaseException | None] = [None] * len(jobs)

    def one(i: int) -> None:
        try:
            jobs[i]()
        except Exception as e:  # noqa: BLE001 - collected, the caller decides
            errors[i] = e

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pycompose-pull") as ex:
        list(ex.map(one, range(len(jobs))))
    return errors


def _buildable(image: str, services: dict[str, dict]) -> bool:
    return any(s.get("image") == image and s.get("build") is not None for s in services.values())


# ------------------------------------------------------------- before up / create / run

def pull_missing(b: Any, names: Iterable[str], policy: str | None = None, quiet: bool = False) -> None:
    """Pull what ``names`` need before anything is created (Compose's pullRequiredImages):
    per ``pull_policy`` (``policy`` from ``--pull`` overrides it), one pull per image."""
    wanted = images_to_pull(b, names, policy)
    jobs = [(lambda i=i, s=s: pull_image(b, i, s, quiet)) for i, s in wanted.items()]
    errors = _run_parallel(jobs, b.parallel)
    for (image, s), err in zip(wanted.items(), errors):
        if err is not None and not _buildable(image, b.project.services):
            raise err


def images_to_pull(b: Any, names: Iterable[str], policy: str | None = None) -> dict[str, dict]:
    """image -> the first service wanting it, for the images ``up`` must pull (pull_missing's choice)."""
    services = {n: b.project.services[n] for n in names if n in b.project.services}
    services = pp.with_policy(services, policy)
    now = time.time()
    wanted: dict[str, dict] = {}
    for n, s in services.items():
        image = s.get("image")
        if not image or image in wanted:
            continue
        kind, _ = pp.parse(s.get("pull_policy"))
        local = None if kind == pp.ALWAYS else local_image(b.engine, image)
        if pp.must_pull(s, local, now):
            wanted[image] = s
        elif local is None and kind == pp.NEVER and not _buildable(image, b.project.services):
            raise ImageMissing(f"service {n!r}: image {image} not found locally and its pull_policy is never")
    return wanted


def pull_for(b: Any, services: list[str], no_deps: bool = False, policy: str | None = None,
             quiet: bool = False) -> None:
    """The pulls of ``up``/``create`` for the services they will converge (named ones and their
    dependencies unless ``--no-deps``); unknown names are left for the plan to report."""
    pull_missing(b, _up_selection(b, services, no_deps), policy, quiet)


def _up_selection(b: Any, services: list[str], no_deps: bool) -> list[str]:
    known = [n for n in services if n in b.project.services]
    return known if no_deps and services else b.with_dependencies(known or list(b.project.services))


def dry_run_pulls(b: Any, services: list[str], no_deps: bool = False, policy: str | None = None) -> list[str]:
    """``up --dry-run``: the images it would pull; the plan then takes them as present."""
    images = list(images_to_pull(b, _up_selection(b, services, no_deps), policy))
    b.dry_run_images = set(images)
    return images


# ------------------------------------------------------------- pycompose pull

def pull_command(b: Any, opts: PullOptions) -> None:
    """``pycompose pull``: every selected service image, skipped as Compose skips them."""
    names = _selected(b, opts.services, opts.include_deps)
    services = pp.with_policy({n: b.project.services[n] for n in names}, opts.policy)
    jobs, pulled = [], {}
    for n, s in services.items():
        image = s.get("image")
        local = local_image(b.engine, image) if image else None
        why = pp.skip_reason(s, local, opts.ignore_buildable)
        if why is not None:
            b.progress.event("Image" if image else "", image or n, "Skipped", why)
            continue
        if image in pulled:
            continue
        pulled[image] = n
        jobs.append((image, s))
    errors = _run_parallel([(lambda i=i, s=s: pull_image(b, i, s, opts.quiet)) for i, s in jobs], b.parallel)
    must_build = [pulled[i] for (i, s), e in zip(jobs, errors) if e is not None and s.get("build") is not None]
    if must_build:
        b.progress.message("WARNING: Some service image(s) must be built from source by running:\n"
                           f"    pycompose build {' '.join(must_build)}")
    if opts.ignore_failures:
        return
    failed = [e for (i, s), e in zip(jobs, errors) if e is not None and s.get("build") is None]
    if failed:
        raise failed[0] if len(failed) == 1 else PullFailures(failed)


class PullFailures(ComposeError):
    """Several images could not be pulled: one line each."""

    def __init__(self, errors: list[BaseException]):
        super().__init__("\n".join(_daemon_text(e) for e in errors))


def _daemon_text(e: BaseException) -> str:
    text = str(e)
    if _is_registry_error(e) and not text.lower().startswith("error"):
        return f"Error response from daemon: {text}"
    return text


def _is_registry_error(e: BaseException) -> bool:
    import engine.errors as ee

    cls = getattr(ee, "RegistryError", None)
    return cls is not None and isinstance(e, cls)


def _selected(b: Any, services: list[str], include_deps: bool) -> list[str]:
    b.check_services(services)
    if not services:
        return list(b.project.services)
    return b.with_dependencies(services) if include_deps else [n for n in b.project.services if n in services]


# ------------------------------------------------------------- pycompose push

def push_command(b: Any, opts: PushOptions) -> None:
    """``pycompose push``: services with ``build`` and ``image``, each tag (image + build.tags)."""
    names = _selected(b, opts.services, opts.include_deps)
    tags: list[str] = []
    for n in names:
        s = b.project.services[n]
        if s.get("build") is None or not s.get("image"):
            b.progress.event("", n, "Skipped")
            continue
        for t in [s["image"], *((s.get("build") or {}).get("tags") or [])]:
            if t not in tags:
                tags.append(t)

    def push(tag: str) -> None:
        b.progress.event("", tag, "Pushing")
        try:
            b.engine.images.push(tag, progress=None if opts.quiet else LayerEvents(b.progress, tag))
        except Exception as e:  # noqa: BLE001 - shown on the line, raised or kept per --ignore-push-failures
            b.progress.event("", tag, "Error" if not opts.ignore_failures else "Warning", str(e))
            raise
        b.progress.event("", tag, "Pushed")

    errors = _run_parallel([(lambda t=t: push(t)) for t in tags], b.parallel)
    failed = [e for e in errors if e is not None]
    if failed and not opts.ignore_failures:
        raise failed[0]


# ------------------------------------------------------------- config --resolve-image-digests

def docker_ref(image: str) -> tuple[str, str | None, str | None]:
    """distribution's ParseDockerRef, split: (fully qualified name, tag, digest); with a digest
    the tag is dropped, without either the tag is ``latest``."""
    rest, _, digest = image.partition("@")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
    first, sep, remainder = rest.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost") or first.lower() != first:
        domain, path = "docker.io", rest
    else:
        domain, path = first, remainder
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if digest:
        tag = None
    elif tag is None:
        tag = "latest"
    return f"{domain}/{path}", tag, digest or None


def resolve_images(engine: Any, model: dict, *others: dict | None) -> None:
    """Pin every service image of ``model`` (and the same services in ``others``) to its registry
    digest, written as compose-go writes it: ``docker.io/library/x:tag@sha256:...``."""
    for name, svc in (model.get("services") or {}).items():
        image = svc.get("image")
        if not image:
            continue
        full, tag, digest = docker_ref(image)
        if digest is None:
            named = f"{full}:{tag}"
            try:
                digest = engine.images.resolve_digest(named)
            except Exception as e:  # noqa: BLE001 - Compose's wording around the engine's reason
                raise ComposeError(f"failed to resolve digest for {named}: {_daemon_text(e)}") from None
        pinned = f"{full}:{tag}@{digest}" if tag else f"{full}@{digest}"
        svc["image"] = pinned
        for other in others:
            osvc = ((other or {}).get("services") or {}).get(name)
            if isinstance(osvc, dict) and "image" in osvc:
                osvc["image"] = pinned
