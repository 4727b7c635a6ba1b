"""Where every compose service key lands in Kubernetes: mapped, approximated (how) or refused (why).

WHY one table: docs/KUBERNETES.md prints it (beside kompose's and Compose bridge's behaviour)
and the converter warns from it, so what the docs promise and what the command says cannot
drift apart; a test checks that every key of the compose-spec service schema has a row.
"""
from __future__ import annotations

from dataclasses import dataclass

MAPPED, APPROXIMATED, REFUSED = "mapped", "approximated", "refused"


@dataclass(frozen=True)
class Row:
    status: str
    ours: str        # what `pycompose bridge convert` does (how, or why not)
    kompose: str     # kompose convert's behaviour
    bridge: str      # docker compose bridge convert's default transformer


M, A, R = MAPPED, APPROXIMATED, REFUSED
_IGN = "ignored"

KEYS: dict[str, Row] = {
    "annotations": Row(M, 'pod template annotations',
        _IGN, _IGN),
    "attach": Row(R, "a property of `up`'s log output; Kubernetes has no attached output (use kubectl"
                     ' logs)',
        _IGN, _IGN),
    "blkio_config": Row(R, 'Kubernetes has no block-IO weights or throttles',
        _IGN, _IGN),
    "build": Row(A, 'the image `<project>-<service>` (or `image:`) is used; it must be built and '
                    'pushed to a registry the cluster pulls from (pycompose build, then push)',
        'builds and pushes with --build', 'image name only'),
    "cap_add": Row(M, 'securityContext.capabilities.add',
        'converted', 'converted'),
    "cap_drop": Row(M, 'securityContext.capabilities.drop',
        'converted', 'converted'),
    "cgroup": Row(A, '`private` is what every pod gets; `host` is refused',
        _IGN, _IGN),
    "cgroup_parent": Row(R, 'the kubelet owns the cgroup hierarchy',
        'warned as unsupported', _IGN),
    "command": Row(M, "container args (Kubernetes' name for CMD)",
        'converted', 'converted'),
    "configs": Row(M, 'ConfigMap per config (file, content, environment), mounted at the target with '
                      'subPath; external configs are expected to exist as ConfigMaps',
        'ConfigMap', 'converted'),
    "container_name": Row(A, 'pods get generated names; the container is named after the service',
        'object and container name', 'container name'),
    "cpu_count": Row(R, 'Windows-only CPU count',
        _IGN, _IGN),
    "cpu_percent": Row(R, 'Windows-only CPU percentage',
        _IGN, _IGN),
    "cpu_period": Row(A, 'with cpu_quota: limits.cpu = quota / period',
        _IGN, _IGN),
    "cpu_quota": Row(A, 'limits.cpu = quota / period (default period 100ms)',
        _IGN, _IGN),
    "cpu_rt_period": Row(R, 'no real-time scheduling budget in Kubernetes',
        _IGN, _IGN),
    "cpu_rt_runtime": Row(R, 'no real-time scheduling budget in Kubernetes',
        _IGN, _IGN),
    "cpus": Row(M, 'resources.limits.cpu',
        'ignored (deploy.resources is converted)', 'ignored (the template reads keys the model lacks)'),
    "cpuset": Row(R, "CPU pinning is the kubelet's static CPU manager policy, not a pod field",
        'warned as unsupported', _IGN),
    "cpu_shares": Row(A, "resources.requests.cpu = shares / 1024 (the kubelet's inverse conversion)",
        'warned as unsupported', _IGN),
    "credential_spec": Row(R, 'Windows gMSA credential specs',
        'not applicable (Windows)', _IGN),
    "depends_on": Row(M, 'init containers that resolve a name in the cluster DNS: service_started '
                         'waits for `<dep>-pods` (resolves once a pod runs), service_healthy for '
                         '`<dep>-ready` (ready endpoints only: resolves once its healthcheck passed);'
                         ' service_completed_successfully runs the dependency as a Job and waits for '
                         'it (kubectl wait)',
        'warned as unsupported', _IGN),
    "deploy": Row(A, 'mode global -> DaemonSet, replicas, resources, labels; update_config -> rolling'
                     ' update; placement constraints on node.labels -> nodeSelector; restart_policy '
                     '-> restartPolicy; endpoint_mode dnsrr -> headless Service; other fields warned',
        'mode, replicas, resources, labels, placement (affinity), update_config, restart_policy', 'mode'),
    "develop": Row(R, 'a development-loop feature of `watch`, not a deployment setting',
        _IGN, _IGN),
    "device_cgroup_rules": Row(R, 'devices are granted by device plugins in Kubernetes',
        _IGN, _IGN),
    "devices": Row(R, 'host devices need a device plugin (or privileged pods)',
        'warned as unsupported', _IGN),
    "dns": Row(A, 'dnsConfig.nameservers, added to the cluster DNS (replacing it would break Service '
                  'names)',
        'warned as unsupported', 'dnsConfig.nameservers'),
    "dns_opt": Row(M, 'dnsConfig.options',
        _IGN, 'dnsConfig.options'),
    "dns_search": Row(M, 'dnsConfig.searches',
        'warned as unsupported', 'dnsConfig.searches'),
    "domainname": Row(R, "a pod's FQDN comes from its Service subdomain, not a free domain name",
        'pod subdomain', _IGN),
    "entrypoint": Row(M, "container command (Kubernetes' name for ENTRYPOINT)",
        'converted', 'converted'),
    "env_file": Row(M, 'resolved into env by the loader (exactly as `config` prints it)',
        'converted (ConfigMap)', 'resolved by Compose'),
    "environment": Row(M, 'container env, sorted',
        'converted', 'converted'),
    "expose": Row(M, "ports of the service's ClusterIP Service",
        'Service ports', 'container ports'),
    "extends": Row(M, 'resolved by the loader',
        'converted', 'resolved by Compose'),
    "external_links": Row(R, 'containers outside the project do not exist in the cluster',
        'warned as unsupported', _IGN),
    "extra_hosts": Row(M, 'hostAliases (`host-gateway` refused: no Docker host in a cluster)',
        'warned as unsupported', _IGN),
    "gpus": Row(A, 'resources.limits `nvidia.com/gpu` (count; `all` -> 1)',
        _IGN, _IGN),
    "group_add": Row(M, 'pod securityContext.supplementalGroups (numeric groups; names refused)',
        'supplementalGroups', 'supplementalGroups'),
    "healthcheck": Row(M, 'readiness and liveness exec probes (CMD, CMD-SHELL via /bin/sh -c); '
                          'interval, timeout, retries, start_period mapped; start_interval -> '
                          'startupProbe; disable -> none',
        'liveness probe (readiness via labels)', 'liveness probe'),
    "hostname": Row(M, 'pod hostname',
        'converted', _IGN),
    "image": Row(M, 'container image',
        'converted', 'converted'),
    "init": Row(A, "shareProcessNamespace: the pod's pause process is PID 1 and reaps zombies",
        _IGN, _IGN),
    "ipc": Row(A, '`host` -> hostIPC; `private`/`shareable` are the default; `service:`/`container:` '
                  'refused',
        'warned as unsupported', _IGN),
    "isolation": Row(R, 'Windows isolation technology',
        'not applicable (Windows)', _IGN),
    "label_file": Row(M, 'resolved into labels by the loader',
        'resolved by compose-go', 'resolved by Compose'),
    "labels": Row(M, 'workload and pod labels; values Kubernetes does not accept as label values go '
                     'to annotations',
        'annotations', _IGN),
    "links": Row(A, 'the service name already resolves; a link alias becomes an extra Service',
        'warned as unsupported', _IGN),
    "logging": Row(R, "log drivers are node-level in Kubernetes (kubectl logs reads the runtime's "
                      'logs)',
        'warned as unsupported', _IGN),
    "mac_address": Row(R, 'pod MAC addresses belong to the CNI plugin',
        'warned as unsupported', _IGN),
    "mem_limit": Row(M, 'resources.limits.memory',
        'converted', 'ignored (the template reads keys the model lacks)'),
    "mem_reservation": Row(M, 'resources.requests.memory',
        'ignored (deploy reservations are converted)', _IGN),
    "mem_swappiness": Row(R, 'swap behaviour is a node setting',
        _IGN, _IGN),
    "memswap_limit": Row(R, 'swap is a node setting (NodeSwap), not a container limit',
        'warned as unsupported', _IGN),
    "models": Row(R, 'Docker Model Runner is not part of Kubernetes',
        _IGN, 'model runner overlay'),
    "network_mode": Row(A, '`host` -> hostNetwork; `none` -> no network membership and a '
                           'NetworkPolicy denying all egress (the pod keeps its loopback and cluster '
                           'DNS); `service:`/`container:` refused',
        'warned as unsupported', _IGN),
    "networks": Row(M, 'NetworkPolicies: pods carry one label per network, only pods sharing a '
                       'network may connect; aliases -> extra Services; `internal` also limits '
                       'egress; fixed addresses refused',
        'NetworkPolicy per network', 'NetworkPolicy per network'),
    "oom_kill_disable": Row(R, 'the kubelet manages OOM behaviour by QoS class',
        _IGN, _IGN),
    "oom_score_adj": Row(R, 'the kubelet sets oom_score_adj from the QoS class',
        _IGN, _IGN),
    "pid": Row(A, '`host` -> hostPID; `service:`/`container:` refused (one process namespace per pod)',
        'converted (host)', _IGN),
    "pids_limit": Row(R, 'pid limits are a kubelet setting (podPidsLimit)',
        _IGN, _IGN),
    "platform": Row(A, 'nodeSelector kubernetes.io/os and kubernetes.io/arch',
        _IGN, _IGN),
    "ports": Row(M, 'container ports; published ports -> a `<service>-published` Service '
                    '(LoadBalancer, or NodePort with --publish nodeport); host_ip refused',
        'Service ports', 'Service, LoadBalancer in the desktop overlay'),
    "post_start": Row(A, 'lifecycle.postStart exec (first hook; its user, privileged, environment and'
                         ' working_dir cannot be set)',
        _IGN, _IGN),
    "pre_stop": Row(A, 'lifecycle.preStop exec (first hook; its user, privileged, environment and '
                       'working_dir cannot be set)',
        _IGN, _IGN),
    "privileged": Row(M, 'securityContext.privileged',
        'converted', 'converted'),
    "profiles": Row(M, 'only the services of the active profiles are converted',
        'converted (--profile)', 'resolved by Compose'),
    "provider": Row(R, 'provider services run a plugin on the Docker host',
        _IGN, _IGN),
    "pull_policy": Row(M, 'imagePullPolicy (always -> Always, never -> Never, '
                          'missing/if_not_present/build -> IfNotPresent, daily/weekly/every_* -> '
                          'Always)',
        'label kompose.image-pull-policy', 'converted'),
    "pull_refresh_after": Row(R, 'the kubelet has no pull schedule',
        _IGN, _IGN),
    "read_only": Row(M, 'securityContext.readOnlyRootFilesystem',
        'converted', 'converted'),
    "restart": Row(A, 'Jobs: `no` -> Never, `on-failure` -> OnFailure; Deployments, StatefulSets and '
                      'DaemonSets always restart their pods (Kubernetes accepts only Always there)',
        'converted (a Pod for no/on-failure)', 'restartPolicy'),
    "runtime": Row(A, 'runtimeClassName (a RuntimeClass of that name must exist)',
        _IGN, _IGN),
    "scale": Row(M, 'replicas',
        'replicas', 'replicas'),
    "secrets": Row(M, 'Secret per secret (file, environment), mounted at the target (default '
                      '/run/secrets/<name>) with subPath; mode -> items mode; external secrets are '
                      'expected to exist',
        'Secret (not external)', 'converted'),
    "security_opt": Row(A, 'no-new-privileges -> allowPrivilegeEscalation false; seccomp=unconfined '
                           'and apparmor -> profiles; label -> seLinuxOptions; others refused',
        'warned as unsupported', _IGN),
    "shm_size": Row(A, 'a memory-backed emptyDir at /dev/shm with that sizeLimit',
        'warned as unsupported', _IGN),
    "stdin_open": Row(M, 'container stdin',
        'converted', _IGN),
    "stop_grace_period": Row(M, 'terminationGracePeriodSeconds',
        'converted', _IGN),
    "stop_signal": Row(A, 'lifecycle.stopSignal (needs the ContainerStopSignals feature; pod os '
                          'linux)',
        'warned as unsupported', _IGN),
    "storage_opt": Row(R, 'per-container storage driver options do not exist in Kubernetes',
        _IGN, _IGN),
    "sysctls": Row(A, "Kubernetes' safe sysctls -> pod securityContext.sysctls; others refused (they "
                      'need --allowed-unsafe-sysctls on every kubelet)',
        'warned as unsupported', 'converted (all)'),
    "tmpfs": Row(M, 'emptyDir with medium Memory (size -> sizeLimit)',
        'converted', _IGN),
    "tty": Row(M, 'container tty',
        'converted', _IGN),
    "ulimits": Row(R, 'Kubernetes has no per-container ulimits (they come from the container runtime)',
        'warned as unsupported', _IGN),
    "use_api_socket": Row(R, 'there is no Docker API socket in a cluster',
        _IGN, _IGN),
    "user": Row(M, 'runAsUser / runAsGroup (numeric only; names refused, Kubernetes needs ids)',
        'runAsUser', 'runAsUser'),
    "userns_mode": Row(A, '`host` -> hostUsers true; other modes refused',
        'not applicable', _IGN),
    "uts": Row(R, 'a pod shares the host UTS namespace only with hostNetwork',
        'warned as unsupported', _IGN),
    "volumes": Row(M, 'named volumes -> PersistentVolumeClaims (StatefulSet volumeClaimTemplates with'
                      " --stateful; a claim starts empty, Docker's copy of the image's files into a "
                      'new volume does not happen); bind mounts refused, or hostPath with '
                      '--allow-hostpath; tmpfs -> emptyDir Memory; anonymous volumes -> emptyDir; '
                      'image -> image volume',
        'PVC (hostPath or emptyDir with --volumes)', 'PVC, hostPath, emptyDir'),
    "volumes_from": Row(R, 'volumes belong to pods in Kubernetes; mount the same named volume instead',
        'shared PVC', _IGN),
    "working_dir": Row(M, 'container workingDir',
        'converted', 'converted'),
}

STATUS_ORDER = (MAPPED, APPROXIMATED, REFUSED)


def shares(keys: list[str] | None = None) -> dict[str, int]:
    """How many keys land in each place."""
    counts = {s: 0 for s in STATUS_ORDER}
    for k in keys if keys is not None else KEYS:
        counts[KEYS[k].status] += 1
    return counts


def present(value) -> bool:
    return value not in (None, "", [], {}, False)


def key_warnings(service: str, svc: dict) -> list[str]:
    """One line per approximated or refused key the service sets."""
    out = []
    for key in sorted(svc):
        row = KEYS.get(key)
        if row is None or not present(svc[key]) or row.status == MAPPED:
            continue
        out.append(warning(service, key, row.status, row.ours))
    return out


def warning(service: str, key: str, status: str, text: str) -> str:
    return f'service "{service}": {key}: {status}: {text}'


def markdown_table() -> str:
    """The table docs/KUBERNETES.md shows (a test keeps the two equal)."""
    lines = ["| key | pycompose bridge convert | kompose | Compose bridge |",
             "|---|---|---|---|"]
    for key in sorted(KEYS):
        row = KEYS[key]
        lines.append(f"| `{key}` | **{row.status}**: {row.ours} | {row.kompose} | {row.bridge} |")
    return "\n".join(lines) + "\n"
