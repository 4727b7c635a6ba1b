"""The loader pipeline: runs the stages in Compose's order and builds the Project.

WHY one orchestrating module: every stage module stays a pure function of its inputs;
the order, what each file sees (its environment, its base directory) and which stages
the ``config`` flags skip are decided here only.
"""
from __future__ import annotations

import os
import sys

from compose.errors import LoadError
from compose.loader import LoadOptions, warn
from compose.loader.canonical import canonical, omit_empty, set_defaults
from compose.loader.discover import project_name, resolve_setup
from compose.loader.dotenv import DotenvError, parse as parse_dotenv
from compose.loader.extends import apply_extends, apply_resets
from compose.loader.include import apply_include
from compose.loader.locate import locate
from compose.loader.interpolate import Warner, interpolate, substitute, InvalidTemplate, MissingRequired
from compose.loader.merge import enforce_unicity, merge
from compose.loader.model import project_json, reorder_struct, strip_model_extensions
from compose.loader.normalize import normalize, resolve_environment, resolve_relative_paths
from compose.loader.validate import check_consistency, validate_schema
from compose.loader.yamlread import Document, Positions, read_documents
from compose.project import Project


class _Ctx:
    def __init__(self, options: LoadOptions, env: dict[str, str], warner):
        self.options = options
        self.env = env
        self.warner = warner
        self.positions: Positions = {}
        self.documents: list = []  # (filename, Document) read so far: positions for errors


def _read_content(path: str, options: LoadOptions) -> bytes:
    if path == "-":
        stream = options.stdin if options.stdin is not None else sys.stdin
        data = stream.read()
        return data.encode() if isinstance(data, str) else data
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise LoadError(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise LoadError(f"read {path}: is a directory") from None
    except PermissionError:
        raise LoadError(f"open {path}: permission denied") from None


def _process_documents(docs, filename: str, acc: dict, env: dict, working_dir: str, ctx: _Ctx,
                       *, extends: bool, include: bool, validate: bool, included: list[str]) -> dict:
    opts = ctx.options
    for doc in docs:
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            raise LoadError("top-level object must be a mapping", file=filename)
        if opts.interpolate:
            data = interpolate(data, env.get, ctx.warner, doc.positions)
        if extends:
            apply_extends(data, filename, working_dir, lambda p: _read_extends_base(p, env, ctx),
                          doc.reset_paths)
        apply_resets(acc, doc.reset_paths)
        if include:
            apply_include(data, working_dir, env, included + [filename],
                          lambda files, wd, e, inc: _load_included(files, wd, e, inc, ctx))
        acc = merge(acc, data)
        ctx.positions.update(doc.positions)
        acc = enforce_unicity(acc)
        if validate:
            validate_schema(acc, ctx.positions)
            if "version" in acc:
                warn(f"{filename}: the attribute `version` is obsolete, it will be ignored, "
                     "please remove it to avoid potential confusion")
                del acc["version"]
        acc = canonical(acc, lenient=not opts.interpolate)
        acc = omit_empty(acc)
        acc = enforce_unicity(acc)
    return acc


def _read_extends_base(path: str, env: dict, ctx: _Ctx):
    docs = read_documents(_read_content(path, ctx.options), path)
    ctx.documents.extend((path, d) for d in docs)
    acc = _process_documents(docs, path, {}, env, os.path.dirname(path), ctx,
                             extends=False, include=False, validate=False, included=[])
    services = acc.get("services")
    if not isinstance(services, dict):
        raise LoadError(f"cannot extend service in {path}: no services section")
    resolve_relative_paths(acc, os.path.dirname(path))
    resets = [p for d in docs for p in d.reset_paths]
    return services, resets


def _load_included(files: list[str], working_dir: str, env: dict, included: list[str], ctx: _Ctx) -> dict:
    acc: dict = {}
    for f in files:
        docs = read_documents(_read_content(f, ctx.options), f)
        ctx.documents.extend((f, d) for d in docs)
        acc = _process_documents(docs, f, acc, env, working_dir, ctx, extends=True, include=True,
                                 validate=True, included=included)
    acc = set_defaults(acc)
    _check_resources(acc)
    resolve_relative_paths(acc, working_dir)
    resolve_environment(acc, env)
    return acc


def _check_resources(doc: dict) -> None:
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
    import ipaddress

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


def _names_in_files(parsed: list) -> list[str]:
    names = []
    for _fname, docs in parsed:
        if isinstance(docs, LoadError):
            continue
        for d in docs:
            if isinstance(d.data, dict) and isinstance(d.data.get("name"), str):
                names.append(d.data["name"])
    return names


# ----------------------------------------------------------------- typed stage helpers


def _resolve_service_env(svc: dict, env: dict, discard: bool) -> None:
    """Compose's WithServicesEnvironmentResolved: env_file contents into environment."""
    environment = svc.get("environment") or {}
    for k, v in list(environment.items()):
        if v is None and k in env:
            environment[k] = env[k]
    from_files: dict[str, str] = {}
    for ef in svc.get("env_file") or []:
        if isinstance(ef, str):
            path, required, fmt = ef, True, ""
        else:
            path, required, fmt = ef.get("path", ""), ef.get("required", False), ef.get("format", "")
        if not os.path.exists(path):
            if required:
                raise LoadError(f"env file {path} not found: stat {path}: no such file or directory")
            continue
        if fmt and fmt != "raw":
            raise LoadError(f"unsupported env_file format {fmt!r}")
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
        if fmt == "raw":
            _parse_raw_env(text, path, env, from_files)
            continue

        def lookup(k, _svc_env=environment):
            if k in env:
                return env[k]
            v = _svc_env.get(k)
            return v

        try:
            parse_dotenv(text, lookup, from_files, filename=path)
        except DotenvError:
            raise
    if from_files or environment:
        merged = dict(from_files)
        merged.update(environment)
        svc["environment"] = {k: merged[k] for k in sorted(merged)}
    if discard:
        svc.pop("env_file", None)


def _parse_raw_env(text: str, path: str, env: dict, out: dict) -> None:
    """``format: raw``: docker run --env-file's KEY=VALUE lines, values taken verbatim."""
    if text.startswith("\ufeff"):
        text = text[1:]
    for n, line in enumerate(text.splitlines(), 1):
        line = line.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.lstrip(" \t")
        if any(c in key for c in " \t\n\v\f\r"):
            raise LoadError(f"failed to parse env_file {path}: variable '{key}' contains whitespaces")
        if sep:
            out[key] = value
        elif key in env:
            out[key] = env[key]


def _resolve_label_files(svc: dict) -> None:
    files = svc.get("label_file")
    if not files:
        return
    labels: dict[str, str] = {}
    for f in files:
        if not os.path.exists(f):
            raise LoadError(f"label file {f} not found: stat {f}: no such file or directory")
        with open(f, "rb") as fh:
            parse_dotenv(fh.read().decode("utf-8", errors="replace"), lambda k: labels.get(k), labels, filename=f)
    labels.update(svc.get("labels") or {})
    if labels:
        svc["labels"] = {k: labels[k] for k in sorted(labels)}
    svc.pop("label_file", None)


def _has_profile(svc: dict, profiles: list[str]) -> bool:
    sp = svc.get("profiles") or []
    if not sp:
        return True
    return any(p == "*" or p in sp for p in profiles)


def _dependencies(services: dict, names: list[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        if n not in services:
            raise LoadError(f"no such service: {n}")
        seen.add(n)
        for d in (services[n].get("depends_on") or {}):
            if d in services:
                stack.append(d)
    return seen


def _without_unnecessary(model: dict) -> None:
    services = model.get("services") or {}
    need = {"networks": set(), "volumes": set(), "secrets": set(), "configs": set(), "models": set()}
    for svc in services.values():
        need["models"].update((svc.get("models") or {}).keys())
        need["networks"].update((svc.get("networks") or {}).keys())
        for v in svc.get("volumes") or []:
            if v.get("type") == "volume" and v.get("source"):
                need["volumes"].add(v["source"])
        for s in svc.get("secrets") or []:
            need["secrets"].add(s.get("source"))
        for s in (svc.get("build") or {}).get("secrets") or []:
            need["secrets"].add(s.get("source"))
        for c in svc.get("configs") or []:
            need["configs"].add(c.get("source"))
    for key, names in need.items():
        section = model.get(key)
        if section is None:
            continue
        kept = {k: v for k, v in section.items() if k in names}
        if kept:
            model[key] = kept
        else:
            del model[key]


# ----------------------------------------------------------------- run


def run(options: LoadOptions) -> Project:
    """The loader; every LoadError leaves with a position (compose.loader.locate)."""
    documents: list = []  # (filename, Document) of every file read, for error positions
    try:
        return _run(options, documents)
    except LoadError as e:
        located = locate(e, documents)
        if located is e:
            raise
        raise located from None


def _run(options: LoadOptions, documents: list) -> Project:
    environ = dict(os.environ if options.environ is None else options.environ)
    cwd = os.path.abspath(options.cwd or os.getcwd())
    files, working_dir, env, env_files = resolve_setup(options.files, options.project_directory,
                                                       options.env_files, environ, cwd, warn)
    parsed = []
    for f in files:
        try:
            parsed.append((f, read_documents(_read_content(f, options), f)))
            documents.extend([(f, d) for d in parsed[-1][1]] or [(f, Document(None))])
        except LoadError as e:  # reported when the file is processed, after the name
            parsed.append((f, e))
    warner = Warner()

    def interp_name(raw: str) -> str:
        if not options.interpolate:
            return raw
        try:
            return substitute(raw, env.get, warner)
        except (InvalidTemplate, MissingRequired) as e:
            raise LoadError(f"error while interpolating name: {e}") from None

    name = project_name(options.project_name, env, _names_in_files(parsed), working_dir,
                        interp_name, options.normalize)
    if not name:
        raise LoadError("project name must not be empty")
    env["COMPOSE_PROJECT_NAME"] = name
    ctx = _Ctx(options, env, warner)
    ctx.documents = documents
    acc: dict = {}
    for fname, docs in parsed:
        if isinstance(docs, LoadError):
            raise docs
        acc = _process_documents(docs, fname, acc, env, working_dir, ctx,
                                 extends=True, include=True, validate=True, included=[])
    acc = set_defaults(acc)
    _check_resources(acc)
    if options.resolve_paths:
        resolve_relative_paths(acc, working_dir)
    resolve_environment(acc, env)
    if not acc:
        raise LoadError("empty compose file")
    if options.normalize:
        acc["name"] = name
        normalize(acc, env)
    acc.pop("name", None)
    return _to_project(acc, name, files, working_dir, env, env_files, options, ctx)


def _to_project(doc: dict, name: str, files, working_dir, env, env_files, options: LoadOptions,
                ctx: _Ctx) -> Project:
    if not options.interpolate:
        # `config --no-interpolate` prints the raw model, untyped (as Compose does)
        model = {"name": name, **doc}
        return Project(name=name, working_dir=working_dir, config_files=files, environment=env,
                       model=model, env_files=env_files, profiles=list(options.profiles),
                       all_services=sorted((doc.get("services") or {})))
    doc = dict(doc)
    doc["name"] = name
    model = project_json(doc, ext=True)
    all_services = dict(model.get("services") or {})
    profiles = list(options.profiles)
    if not profiles:
        profiles = [p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",")]
    enabled = {n: s for n, s in all_services.items() if _has_profile(s, profiles)}
    disabled = {n: s for n, s in all_services.items() if n not in enabled}
    model["services"] = enabled
    if options.consistency:
        _consistency(model, disabled, ctx)
    for svc in enabled.values():
        if options.resolve_env_files:
            _resolve_service_env(svc, env, True)
        _resolve_label_files(svc)
    # naming a service on the command line enables its profiles
    selected = list(options.services)
    if selected:
        extra = list(profiles)
        for n in selected:
            if n not in enabled:
                if n not in disabled:
                    raise LoadError(f"no such service: {n}")
                extra += disabled[n].get("profiles") or []
        enabled = {n: s for n, s in all_services.items() if _has_profile(s, extra)}
        disabled = {n: s for n, s in all_services.items() if n not in enabled}
        profiles = extra
        for n in enabled:
            if n not in model["services"]:
                if options.resolve_env_files:
                    _resolve_service_env(enabled[n], env, True)
                _resolve_label_files(enabled[n])
        keep = _dependencies(enabled, selected)
        new = {}
        for n in sorted(enabled):
            if n in keep:
                svc = enabled[n]
                if svc.get("depends_on"):
                    svc["depends_on"] = {d: v for d, v in svc["depends_on"].items() if d in keep}
                    if not svc["depends_on"]:
                        del svc["depends_on"]
                new[n] = svc
        enabled = new
        model["services"] = enabled
    for svc in enabled.values():
        deploy = svc.get("deploy")
        if "scale" in svc and deploy is not None:
            deploy["replicas"] = svc["scale"]
            reorder_struct(deploy, "DeployConfig")
        reorder_struct(svc, "ServiceConfig")
    if not options.all_resources:
        _without_unnecessary(model)
    yaml_source = {k: model[k] for k in sorted(model)}
    model = strip_model_extensions(yaml_source)
    return Project(name=name, working_dir=working_dir, config_files=files, environment=env, model=model,
                   model_with_extensions=yaml_source,
                   env_files=env_files, profiles=[p for p in profiles if p],
                   all_services=sorted(all_services), disabled_services=disabled)


def _consistency(model: dict, disabled: dict, ctx: _Ctx) -> None:
    """Cross references, conflicting settings and depends_on cycles (compose.loader.validate,
    which also runs compose.graph's cycle check)."""
    check_consistency(model, ctx.positions, disabled=disabled)
