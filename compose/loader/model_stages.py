"""The model stages: the normalised document typed like compose-go, then profiles, consistency,
env and label files, the services named on the command line, and what ``config`` prints.

Each stage is a function of ``ModelState``; ``MODEL_STAGES`` is their order (Compose's).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compose.errors import LoadError
from compose.loader.envfiles import resolve_env_files, resolve_label_files
from compose.loader.model import project_json, reorder_struct, strip_model_extensions
from compose.loader.stages import Stage
from compose.loader.validate import check_consistency


@dataclass
class ModelState:
    """What the model stages read and fill in."""

    doc: dict                      # the normalised document (no name)
    name: str
    env: dict[str, str]
    positions: dict
    requested_profiles: list[str]
    selected: list[str]            # services named on the command line
    skip: frozenset[str]
    model: dict = field(default_factory=dict)
    all_services: dict = field(default_factory=dict)
    enabled: dict = field(default_factory=dict)
    disabled: dict = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)
    yaml_source: dict = field(default_factory=dict)


def _typing(st: ModelState) -> None:
    st.model = project_json({**st.doc, "name": st.name}, ext=True)
    st.all_services = dict(st.model.get("services") or {})


def _apply_profiles(st: ModelState) -> None:
    st.profiles = list(st.requested_profiles) or [p.strip() for p in st.env.get("COMPOSE_PROFILES", "").split(",")]
    st.enabled = {n: s for n, s in st.all_services.items() if _has_profile(s, st.profiles)}
    st.disabled = {n: s for n, s in st.all_services.items() if n not in st.enabled}
    st.model["services"] = st.enabled


def _consistency(st: ModelState) -> None:
    """Cross references, conflicting settings and depends_on cycles (compose.loader.consistency)."""
    check_consistency(st.model, st.positions, disabled=st.disabled)


def _service_files(st: ModelState, names=None) -> None:
    """env_file (unless the "env_files" stage is skipped) and label_file contents, per service."""
    for n in st.enabled if names is None else names:
        if "env_files" not in st.skip:
            resolve_env_files(st.enabled[n], st.env, True)
        resolve_label_files(st.enabled[n])


def _select_services(st: ModelState) -> None:
    """Naming a service on the command line enables its profiles; only it and its dependencies stay."""
    if not st.selected:
        return
    extra = list(st.profiles)
    for n in st.selected:
        if n not in st.enabled:
            if n not in st.disabled:
                raise LoadError(f"no such service: {n}")
            extra += st.disabled[n].get("profiles") or []
    before = st.model["services"]
    st.enabled = {n: s for n, s in st.all_services.items() if _has_profile(s, extra)}
    st.disabled = {n: s for n, s in st.all_services.items() if n not in st.enabled}
    st.profiles = extra
    _service_files(st, [n for n in st.enabled if n not in before])
    keep = _dependencies(st.enabled, st.selected)
    kept = {}
    for n in sorted(st.enabled):
        if n in keep:
            svc = st.enabled[n]
            if svc.get("depends_on"):
                svc["depends_on"] = {d: v for d, v in svc["depends_on"].items() if d in keep}
                if not svc["depends_on"]:
                    del svc["depends_on"]
            kept[n] = svc
    st.enabled = st.model["services"] = kept


def _deploy_order(st: ModelState) -> None:
    """``scale`` wins over ``deploy.replicas``; keys back in Go's field order."""
    for svc in st.enabled.values():
        deploy = svc.get("deploy")
        if "scale" in svc and deploy is not None:
            deploy["replicas"] = svc["scale"]
            reorder_struct(deploy, "DeployConfig")
        reorder_struct(svc, "ServiceConfig")


def _unused_resources(st: ModelState) -> None:
    _without_unnecessary(st.model)


def _extensions(st: ModelState) -> None:
    """YAML output shows service-level ``x-*`` keys; JSON output and the rest of pycompose do not."""
    st.yaml_source = {k: st.model[k] for k in sorted(st.model)}
    st.model = strip_model_extensions(st.yaml_source)


MODEL_STAGES = (
    Stage("typing", _typing),
    Stage("profiles", _apply_profiles),
    Stage("consistency", _consistency),
    Stage("service_files", _service_files),
    Stage("select", _select_services),
    Stage("deploy", _deploy_order),
    Stage("unused_resources", _unused_resources),
    Stage("extensions", _extensions),
)


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
