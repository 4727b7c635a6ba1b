"""What every mapping step shares: the project, the options, names and the warnings.

WHY a context object: the steps stay small functions of (context, service) while names
(services, volumes, networks) are assigned once and warnings are collected in one ordered,
de-duplicated list that the CLI prints and the tests read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compose.kube.coverage import warning
from compose.kube.names import NameTable, dns_label

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NETWORK_LABEL = "com.docker.compose.network"    # + "." + network name (Compose bridge's key)
SIZE_LABEL = "com.pycompose.kube.size"            # on a top-level volume: the PVC's request
STORAGE_CLASS_LABEL = "com.pycompose.kube.storage-class"
ACCESS_MODE_LABEL = "com.pycompose.kube.access-mode"
STATEFUL_LABEL = "com.pycompose.kube.stateful"    # on a service: "true" asks for a StatefulSet
DEFAULT_SIZE = "1Gi"
WAIT_IMAGE = "busybox:1.37"                       # init containers that wait for a Service
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.34.0"  # init containers that wait for a Job
WAIT_ACCOUNT = "compose-wait"                     # ServiceAccount allowed to read Jobs


@dataclass
class Options:
    """``bridge convert``'s flags."""

    namespace: str | None = None
    format: str = "kustomize"          # kustomize | plain | helm
    publish: str = "loadbalancer"      # loadbalancer | nodeport
    stateful: bool = False
    allow_hostpath: bool = False


@dataclass
class Context:
    project_name: str
    model: dict
    environment: dict[str, str]
    options: Options
    namespace: str = ""
    warnings: list[str] = field(default_factory=list)
    services: NameTable = field(default_factory=lambda: NameTable(letter_first=True))
    volumes: NameTable = field(default_factory=NameTable)
    configs: NameTable = field(default_factory=NameTable)     # ConfigMap names
    secrets: NameTable = field(default_factory=NameTable)     # Secret names
    content: set = field(default_factory=set)             # (section, name) with an object written
    jobs: set[str] = field(default_factory=set)           # services run as Jobs
    waits_on_jobs: bool = False

    def __post_init__(self):
        if not self.namespace:
            self.namespace = self.options.namespace or dns_label(self.project_name)

    @property
    def compose_services(self) -> dict[str, dict]:
        return self.model.get("services") or {}

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def warn_key(self, service: str, key: str, status: str, text: str) -> None:
        self.warn(warning(service, key, status, text))

    def name(self, service: str) -> str:
        """The Kubernetes name of a compose service (workload and Service)."""
        return self.services.assign(service)

    def selector(self, service: str) -> dict[str, str]:
        return {PROJECT_LABEL: self.namespace_label, SERVICE_LABEL: self.name(service)}

    @property
    def namespace_label(self) -> str:
        return dns_label(self.project_name)

    def carry_labels(self, what: str, labels: dict | None, skip: tuple[str, ...] = ()) -> tuple[dict, dict]:
        """Compose labels of ``what`` (e.g. 'volume "data"') -> (labels, annotations for values that
        cannot be label values); invalid keys are warned and left out."""
        from compose.kube.names import is_label_value, is_qualified_key

        good, annotations = {}, {}
        for k, v in sorted((labels or {}).items()):
            v = "" if v is None else str(v)
            if k.startswith(skip):
                continue
            if not is_qualified_key(k):
                self.warn(f"{what}: label {k!r} refused: not a valid Kubernetes label or annotation key")
            elif is_label_value(v):
                good[k] = v
            else:
                annotations[k] = v
        return good, annotations

    def image(self, service: str) -> str:
        return self.compose_services[service].get("image") or f"{self.project_name}-{service}"
