"""Consistency of the canonical model: references to undefined services, networks, volumes,
secrets, configs and models, conflicting settings and dependency cycles, worded like Compose's
own messages (compose-go ``loader/validate.go``), plus the source position."""
from __future__ import annotations

import ipaddress
from typing import Any

from compose.errors import LoadError
from compose.loader.formats import port_range
from compose.loader.positioned import error_at, where
from compose.loader.yamlread import Positions

INVALID = "invalid compose project"

def check_resources(doc: dict) -> None:
    """compose-go's post-merge checks on top-level resources."""
    for section in ("volumes", "networks", "secrets", "configs"):
        for name, res in (doc.get(section) or {}).items():
            if not isinstance(res, dict):
                continue
            if section == "volumes" and res.get("external") is True:
                for k in res:
                    if k not in ("name", "external") and not k.startswith("x-"):
                        raise LoadError(f'volumes.{name}: conflicting parameters "external" and "{k}" specified')
            if section in ("secrets", "configs"):
                keys = ("file", "environment") if section == "secrets" else ("file", "environment", "content")
                count = sum(1 for k in keys if k in res)
                if count > 1:
                    raise LoadError(f"{section}.{name}: {'|'.join(keys)} attributes are mutually exclusive")
                if count == 0 and "driver" not in res and "external" not in res:
                    raise LoadError(f"{section}.{name}: one of {'|'.join(keys)} must be set")
    for sname, svc in (doc.get("services") or {}).items():
        if not isinstance(svc, dict):
            continue
        for i, port in enumerate(svc.get("ports") or []):
            if isinstance(port, dict) and "host_ip" in port:
                try:
                    ipaddress.ip_address(str(port["host_ip"]))
                except ValueError:
                    raise LoadError(f"services.{sname}.ports.{i}: invalid ip address: {port['host_ip']}") from None
        for key in ("gpus",):
            for d in svc.get(key) or []:
                if isinstance(d, dict) and "count" in d and "device_ids" in d:
                    raise LoadError(f'services.{sname}.{key}: "count" and "device_ids" attributes are exclusive')
        devs = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices")
        for d in devs or []:
            if isinstance(d, dict) and "count" in d and "device_ids" in d:
                raise LoadError(f'services.{sname}.deploy.resources.reservations.devices: "count" and '
                                f'"device_ids" attributes are exclusive')
        for w in ((svc.get("develop") or {}).get("watch") or []):
            if isinstance(w, dict) and w.get("path") == "":
                raise LoadError(f"services.{sname}.develop.watch.path: value can't be blank")


def _float32(v: Any) -> float:
    import struct

    return struct.unpack("f", struct.pack("f", float(v)))[0]


def check_consistency(project: dict, positions: Positions | None = None, *,
                      disabled: dict | None = None) -> None:
    """Check the canonical model's cross references and conflicting settings (compose-go's order).

    ``disabled``: services switched off by profiles (name -> service), so a dependency on one
    is told apart from a dependency on a service that does not exist.
    """
    try:
        _check_consistency(project, positions, disabled)
    except LoadError:
        raise
    except (TypeError, AttributeError, ValueError, KeyError) as e:
        # the canonical model is typed by construction; a value of the wrong shape still
        # deserves a sentence rather than a traceback
        raise LoadError(f"invalid compose model: {e.__class__.__name__}: {e}") from e


def _check_consistency(project: dict, positions: Positions | None, disabled: dict | None) -> None:
    services = project.get("services") or {}

    def fail(message: str, path: tuple) -> LoadError:
        return error_at(message, path, positions, show_path=False)

    for name, s in services.items():
        s = s or {}
        at = ("services", name)
        _check_image_and_build(name, s, at, services, fail)
        _check_networks(name, s, at, project.get("networks") or {}, fail)
        test = (s.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise fail('healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"',
                       at + ("healthcheck", "test"))
        _check_dependencies(name, s, at, services, disabled, fail)
        _check_resource_references(name, s, at, project, fail)
        _check_scale(name, s, at, fail)
        _check_limits(name, s, at, fail)
        for i, watch in enumerate(((s.get("develop") or {}).get("watch")) or []):
            if not watch.get("target") and watch.get("action") not in ("rebuild", "restart"):
                raise fail(f"services.{name}.develop.watch: target is required for non-rebuild actions: {INVALID}",
                           at + ("develop", "watch", i))
        _check_mounts(name, s, at, fail)
        _check_ports(name, s, at, fail)
    for name, secret in (project.get("secrets") or {}).items():
        secret = secret or {}
        if not secret.get("external") and not secret.get("file") and not secret.get("environment"):
            raise fail(f'secret "{name}" must declare either `file` or `environment`: {INVALID}', ("secrets", name))
    _check_container_names(services, fail)
    _check_cycles(services, positions)


def _check_image_and_build(name: str, s: dict, at: tuple, services: dict, fail) -> None:
    build = s.get("build")
    if not build and not s.get("image") and not s.get("provider"):
        raise fail(f'service "{name}" has neither an image nor a build context specified: {INVALID}', at)
    if not isinstance(build, dict):
        return
    if build.get("dockerfile_inline") and build.get("dockerfile"):
        raise fail(f'service "{name}" declares mutualy exclusive dockerfile and dockerfile_inline: '
                   f"{INVALID}", at + ("build",))
    for ctx_name, ctx in (build.get("additional_contexts") or {}).items():
        if isinstance(ctx, str) and ctx.startswith("service:"):
            target = ctx[len("service:"):]
            where_ = at + ("build", "additional_contexts", ctx_name)
            if target not in services:
                raise fail(f'service "{name}" declares unknown service "{target}" as additional '
                           f"contexts {ctx_name}", where_)
            if not (services[target] or {}).get("build"):
                raise fail(f'service "{name}" declares non-buildable service "{target}" as additional '
                           f"contexts {ctx_name}", where_)
    platforms = build.get("platforms") or []
    if platforms and s.get("platform") and s["platform"] not in platforms:
        raise fail(f'service.build.platforms MUST include service.platform "{s["platform"]}": {INVALID}',
                   at + ("platform",))


def _check_networks(name: str, s: dict, at: tuple, networks: dict, fail) -> None:
    if s.get("network_mode") and s.get("networks"):
        raise fail(f"service {name} declares mutually exclusive `network_mode` and `networks`: {INVALID}",
                   at + ("network_mode",))
    for net in s.get("networks") or {}:
        if net not in networks:
            raise fail(f'service "{name}" refers to undefined network {net}: {INVALID}', at + ("networks", net))


def _check_dependencies(name: str, s: dict, at: tuple, services: dict, disabled: dict | None, fail) -> None:
    """depends_on (and the implicit dependencies) on services that exist, or are switched off by a profile."""
    from compose.graph import service_dependencies

    for dep, cfg in service_dependencies(s).items():
        if dep in services:
            continue
        if disabled and dep in disabled:
            if cfg.get("required", True):
                profiles = (disabled[dep] or {}).get("profiles") or []
                raise fail(f'service "{dep}" is required by "{name}" but is disabled. Can be enabled by '
                           f"profiles [{' '.join(profiles)}]", at + ("depends_on", dep))
            continue
        if not cfg.get("required", True) and disabled is None:
            continue  # maybe switched off by a profile: without the list, give it the benefit of the doubt
        raise fail(f'service "{name}" depends on undefined service "{dep}": {INVALID}', at + ("depends_on", dep))
    for key in ("network_mode", "ipc", "pid", "uts", "cgroup"):
        ref = s.get(key)
        if isinstance(ref, str) and ref.startswith("service:") and ref[8:] not in services:
            raise fail(f"service \"{ref[8:]}\" not found for {key} '{ref}'", at + (key,))


def _source(ref) -> Any:
    return ref.get("source") if isinstance(ref, dict) else ref


def _check_resource_references(name: str, s: dict, at: tuple, project: dict, fail) -> None:
    """Volumes, build secrets, configs, models and secrets a service uses are declared."""
    volumes, secrets = project.get("volumes") or {}, project.get("secrets") or {}
    for i, vol in enumerate(s.get("volumes") or []):
        if isinstance(vol, dict) and vol.get("type") == "volume" and vol.get("source") \
                and vol["source"] not in volumes:
            raise fail(f'service "{name}" refers to undefined volume {vol["source"]}: {INVALID}', at + ("volumes", i))
    build = s.get("build")
    if isinstance(build, dict):
        for i, sec in enumerate(build.get("secrets") or []):
            if _source(sec) not in secrets:
                raise fail(f'service "{name}" refers to undefined build secret {_source(sec)}: {INVALID}',
                           at + ("build", "secrets", i))
    for i, cfg in enumerate(s.get("configs") or []):
        if _source(cfg) not in (project.get("configs") or {}):
            raise fail(f'service "{name}" refers to undefined config {_source(cfg)}: {INVALID}', at + ("configs", i))
    for model in s.get("models") or {}:
        # `config` never prints top-level models, so a model without the section cannot be judged
        if "models" in project and model not in (project.get("models") or {}):
            raise fail(f'service "{name}" refers to undefined model {model}: {INVALID}', at + ("models", model))
    for i, sec in enumerate(s.get("secrets") or []):
        if _source(sec) not in secrets:
            raise fail(f'service "{name}" refers to undefined secret {_source(sec)}: {INVALID}', at + ("secrets", i))


def _check_container_names(services: dict, fail) -> None:
    owners: dict[str, str] = {}
    for name, s in services.items():
        cname = (s or {}).get("container_name")
        if cname:
            if cname in owners:
                raise fail(f'services.{name}: container name "{cname}" is already in use by service '
                           f'"{owners[cname]}"', ("services", name, "container_name"))
            owners[cname] = name


def _check_cycles(services: dict, positions: Positions | None) -> None:
    from compose.errors import DependencyCycleError
    from compose.graph import ServiceGraph

    cycle = ServiceGraph(services).find_cycle()
    if cycle:
        file, line, column = where(positions, ("services", cycle[0], "depends_on"))
        raise DependencyCycleError("dependency cycle: " + " -> ".join(cycle), file=file, line=line, column=column)


def _check_scale(name: str, s: dict, at: tuple, fail) -> None:
    scale = s.get("scale")
    replicas = (s.get("deploy") or {}).get("replicas")
    if scale is not None and replicas is not None and scale != replicas:
        raise fail(f"services.{name}: can't set distinct values on 'scale' and 'deploy.replicas': {INVALID}",
                   at + ("deploy", "replicas"))
    if scale is not None and scale < 0:
        raise fail(f"services.{name}.scale: must be greater than or equal to 0", at + ("scale",))
    if replicas is not None and replicas < 0:
        raise fail(f"services.{name}.deploy.replicas: must be greater than or equal to 0", at + ("deploy", "replicas"))
    effective = scale if scale is not None else replicas if replicas is not None else 1
    if effective > 1 and s.get("container_name"):
        attr = "scale" if scale is not None else "deploy.replicas"
        raise fail(f"services.{name}: can't set container_name and {attr} as container name must be unique: "
                   f"{INVALID}", at + ("container_name",))


def _check_limits(name: str, s: dict, at: tuple, fail) -> None:
    resources = ((s.get("deploy") or {}).get("resources")) or {}
    limits, reservations = resources.get("limits"), resources.get("reservations")
    pairs = [
        ("cpus", "deploy.resources.limits.cpus", limits, "cpus", _float32),
        ("mem_limit", "deploy.resources.limits.memory", limits, "memory", int),
        ("mem_reservation", "deploy.resources.reservations.memory", reservations, "memory", int),
        ("pids_limit", "deploy.resources.limits.pids", limits, "pids", int),
    ]
    if s.get("deploy") is None:
        return
    for key, other, section, sub, conv in pairs:
        value = s.get(key)
        if not value or section is None:
            continue
        mine = conv(value)
        theirs = conv(section.get(sub) or 0)
        if mine != 0 and mine != theirs:
            raise fail(f"services.{name}: can't set distinct values on '{key}' and '{other}': {INVALID}",
                       at + (key,))


def _check_mounts(name: str, s: dict, at: tuple, fail) -> None:
    mounts: dict[str, str] = {}
    for i, tmpfs in enumerate(s.get("tmpfs") or []):
        loc = f"services.{name}.tmpfs[{i}]"
        target = str(tmpfs).split(":", 1)[0]
        if target in mounts:
            raise fail(f"{loc}: target {target} already mounted as {mounts[target]}", at + ("tmpfs", i))
        mounts[target] = loc
    for i, vol in enumerate(s.get("volumes") or []):
        if not isinstance(vol, dict):
            continue
        loc = f"services.{name}.volumes[{i}]"
        target = vol.get("target")
        if target in mounts:
            raise fail(f"{loc}: target {target} already mounted as {mounts[target]}", at + ("volumes", i))
        mounts[target] = loc


def _check_ports(name: str, s: dict, at: tuple, fail) -> None:
    for i, port in enumerate(s.get("ports") or []):
        if not isinstance(port, dict):
            continue
        where = f"services.{name}.ports[{i}]"
        target, published = port.get("target"), port.get("published")
        try:
            if target is not None:
                lo, hi = port_range(str(target))
                if lo == 0:
                    raise ValueError("container port must be between 1 and 65535")
            if published not in (None, ""):
                port_range(str(published))
        except ValueError as e:
            raise fail(f"{where}: invalid port: {e}", at + ("ports", i))
