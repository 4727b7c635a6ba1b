"""``pycompose bridge convert``: the compose model as Kubernetes objects (pure, no engine).

Modules, one job each: convert (orchestration) -> workloads, pod, containers, probes,
depends (depends_on waits, Jobs), services, policies (NetworkPolicies), storage (volumes,
claims), configs (ConfigMaps, Secrets); coverage (the key table the docs print and the
warnings come from); names, quantities; yamlout (deterministic YAML); kustomize and helm
(layouts on disk); output (writes a layout, all or nothing).
"""
