"""``bridge convert`` mapping rows: compose snippets -> the Kubernetes objects they become.

Each test is one row of docs/KUBERNETES.md's table (or a group of close rows): a small compose
file written to a temporary project, converted in-process, then the objects a user would
apply are read back and checked, and each is validated strictly (tests/unit/test_kube_support).
"""
from __future__ import annotations

import base64
import textwrap

import pytest

from test_kube_support import convert_dir, validate


class Converted:
    def __init__(self, files, bundle):
        self.files, self.bundle = files, bundle
        self.objects = [obj for _stem, obj in bundle.objects]
        for obj in self.objects:
            assert validate(obj) == [], (obj["kind"], obj["metadata"]["name"], validate(obj))

    def get(self, kind: str, name: str) -> dict:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert found, f"no {kind} {name}: {[(o['kind'], o['metadata']['name']) for o in self.objects]}"
        return found[0]

    def names(self, kind: str) -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.objects if o["kind"] == kind)

    def pod(self, name: str, kind: str = "Deployment") -> dict:
        return self.get(kind, name)["spec"]["template"]["spec"]

    def container(self, name: str, kind: str = "Deployment") -> dict:
        return self.pod(name, kind)["containers"][0]

    def warned(self, *parts: str) -> bool:
        return any(all(p in w for p in parts) for w in self.bundle.warnings)


@pytest.fixture
def conv(tmp_path):
    def run(compose: str, files: dict[str, str] | None = None, environ: dict | None = None, **opts) -> Converted:
        (tmp_path / "compose.yaml").write_text(textwrap.dedent(compose))
        for name, text in (files or {}).items():
            (tmp_path / name).write_text(text)
        env = {"PATH": "/usr/bin:/bin", **(environ or {})}
        return Converted(*convert_dir(str(tmp_path), ["-p", "shop"], environ=env, **opts))
    return run


def test_namespace_is_the_project_name_or_the_flag(conv):
    c = conv("services: {web: {image: nginx}}\n")
    assert c.names("Namespace") == ["shop"]
    assert c.get("Deployment", "web")["metadata"]["namespace"] == "shop"
    c = conv("services: {web: {image: nginx}}\n", namespace="staging")
    assert c.names("Namespace") == ["staging"]
    assert c.get("Service", "web")["metadata"]["namespace"] == "staging"


def test_replicas_from_scale_and_deploy_and_global_mode(conv):
    c = conv("""
        services:
          a: {image: nginx, scale: 3}
          b: {image: nginx, deploy: {replicas: 2}}
          c: {image: nginx, deploy: {mode: global}}
    """)
    assert c.get("Deployment", "a")["spec"]["replicas"] == 3
    assert c.get("Deployment", "b")["spec"]["replicas"] == 2
    ds = c.get("DaemonSet", "c")
    assert "replicas" not in ds["spec"]
    assert c.get("Deployment", "a")["spec"]["strategy"] == {"type": "Recreate"}


def test_stateful_service_gets_a_claim_template_and_a_governing_service(conv):
    compose = """
        services:
          db:
            image: postgres
            volumes: [pgdata:/var/lib/postgresql/data]
          cache:
            image: redis
            labels: {com.pycompose.kube.stateful: "true"}
            volumes: [cachedata:/data]
        volumes:
          pgdata:
            labels: {com.pycompose.kube.size: 5Gi}
          cachedata: {}
    """
    c = conv(compose)
    assert c.names("StatefulSet") == ["cache"]            # the label asks for it
    assert "db" in c.names("Deployment")
    assert c.get("PersistentVolumeClaim", "pgdata")["spec"]["resources"]["requests"]["storage"] == "5Gi"
    c = conv(compose, stateful=True)
    sts = c.get("StatefulSet", "db")
    assert sts["spec"]["serviceName"] == "db-pods"
    [claim] = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "pgdata"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert {"mountPath": "/var/lib/postgresql/data", "name": "pgdata"} in sts["spec"]["template"]["spec"][
        "containers"][0]["volumeMounts"]
    assert c.get("Service", "db-pods")["spec"] == {
        "clusterIP": "None", "publishNotReadyAddresses": True,
        "selector": {"com.docker.compose.project": "shop", "com.docker.compose.service": "db"}}
    assert "pgdata" not in c.names("PersistentVolumeClaim")


def test_container_fields(conv, tmp_path):
    c = conv("""
        services:
          app:
            image: registry.example/app:1.2
            entrypoint: ["/bin/app"]
            command: ["serve", "--port", "$$(PORT)"]
            environment: {B: "2", A: "1"}
            env_file: [app.env]
            working_dir: /srv
            user: "1000:2000"
            read_only: true
            privileged: true
            cap_add: [NET_ADMIN]
            cap_drop: [CAP_MKNOD]
            init: true
            tty: true
            stdin_open: true
            stop_grace_period: 1m30s
            pull_policy: always
    """, files={"app.env": "FROM_FILE=yes\n"})
    ctr = c.container("app")
    assert ctr["image"] == "registry.example/app:1.2"
    assert ctr["imagePullPolicy"] == "Always"
    assert ctr["command"] == ["/bin/app"]
    assert ctr["args"] == ["serve", "--port", "$$(PORT)"]   # kept literal: Kubernetes would expand $(PORT)
    assert ctr["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
                          {"name": "FROM_FILE", "value": "yes"}]
    assert ctr["workingDir"] == "/srv"
    assert ctr["tty"] is True and ctr["stdin"] is True
    assert ctr["securityContext"] == {"runAsUser": 1000, "runAsGroup": 2000, "readOnlyRootFilesystem": True,
                                      "privileged": True, "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}}
    pod = c.pod("app")
    assert pod["shareProcessNamespace"] is True
    assert pod["terminationGracePeriodSeconds"] == 90
    assert pod["enableServiceLinks"] is False
    assert c.warned('"app"', "init", "approximated")


def test_user_names_sysctls_and_ulimits_are_warned_not_dropped_silently(conv):
    c = conv("""
        services:
          app:
            image: nginx
            user: nginx
            sysctls: {net.ipv4.tcp_syncookies: "0", net.core.somaxconn: "1024"}
            ulimits: {nofile: {soft: 1024, hard: 2048}}
    """)
    assert "securityContext" not in c.container("app")
    assert c.pod("app")["securityContext"] == {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "0"}]}
    assert c.warned('"app"', "user", "refused", "numeric")
    assert c.warned('"app"', "sysctls", "refused", "net.core.somaxconn")
    assert c.warned('"app"', "ulimits", "refused")


def test_resources_from_deploy_and_legacy_keys(conv):
    c = conv("""
        services:
          a:
            image: nginx
            deploy:
              resources:
                limits: {cpus: "1.5", memory: 512M}
                reservations: {cpus: "0.25", memory: 128M}
          b: {image: nginx, mem_limit: 1g, cpus: 0.5, mem_reservation: 256m}
    """)
    assert c.container("a")["resources"] == {"limits": {"cpu": "1500m", "memory": "512Mi"},
                                             "requests": {"cpu": "250m", "memory": "128Mi"}}
    assert c.container("b")["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"},
                                             "requests": {"memory": "256Mi"}}


def test_healthcheck_becomes_readiness_liveness_and_startup_probes(conv):
    c = conv("""
        services:
          cmd:
            image: nginx
            healthcheck: {test: ["CMD", "curl", "-f", "http://localhost"], interval: 10s, timeout: 3s,
                          retries: 4, start_period: 20s}
          shell:
            image: nginx
            healthcheck: {test: "pg_isready -U app", start_period: 10s, start_interval: 2s}
          off:
            image: nginx
            healthcheck: {disable: true}
    """)
    cmd = c.container("cmd")
    expected = {"exec": {"command": ["curl", "-f", "http://localhost"]}, "periodSeconds": 10,
                "timeoutSeconds": 3, "failureThreshold": 4, "initialDelaySeconds": 20}
    assert cmd["readinessProbe"] == expected and cmd["livenessProbe"] == expected
    assert "startupProbe" not in cmd
    shell = c.container("shell")
    sh = ["/bin/sh", "-c", "pg_isready -U app"]
    assert shell["readinessProbe"]["exec"]["command"] == sh
    assert shell["startupProbe"] == {"exec": {"command": sh}, "periodSeconds": 2, "timeoutSeconds": 30,
                                     "failureThreshold": 5 + 3}
    assert "initialDelaySeconds" not in shell["livenessProbe"]
    off = c.container("off")
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(off)


def test_depends_on_conditions_become_init_containers_and_a_job(conv):
    c = conv("""
        services:
          db:
            image: postgres
            healthcheck: {test: ["CMD", "pg_isready"]}
          cache: {image: redis}
          migrate: {image: app, command: ["migrate"]}
          api:
            image: app
            depends_on:
              db: {condition: service_healthy}
              cache: {condition: service_started}
              migrate: {condition: service_completed_successfully}
    """)
    pod = c.pod("api")
    waits = {i["name"]: i for i in pod["initContainers"]}
    assert sorted(waits) == ["wait-for-cache", "wait-for-db", "wait-for-migrate"]
    env = {e["name"]: e.get("value") for e in waits["wait-for-db"]["env"]}
    assert env["SERVICE"] == "db-ready"
    assert "nslookup" in waits["wait-for-db"]["command"][2]
    assert {e["name"]: e.get("value") for e in waits["wait-for-cache"]["env"]}["SERVICE"] == "cache-pods"
    assert waits["wait-for-migrate"]["command"] == ["kubectl", "wait", "--for=condition=complete",
                                                   "--timeout=-1s", "job/migrate"]
    assert pod["serviceAccountName"] == "compose-wait"
    # healthy: a headless Service of ready endpoints; started: one that publishes pods not ready yet
    assert c.get("Service", "db-ready")["spec"]["clusterIP"] == "None"
    assert "publishNotReadyAddresses" not in c.get("Service", "db-ready")["spec"]
    assert c.get("Service", "cache-pods")["spec"]["publishNotReadyAddresses"] is True
    job = c.get("Job", "migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert "migrate" not in c.names("Deployment")
    role = c.get("Role", "compose-wait")
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]
    assert c.get("RoleBinding", "compose-wait")["subjects"][0]["namespace"] == "shop"
    assert c.names("ServiceAccount") == ["compose-wait"]


def test_services_for_dns_aliases_and_published_ports(conv):
    compose = """
        services:
          web:
            image: nginx
            expose: ["9000"]
            ports: ["8080:80", "30053:53/udp"]
            networks:
              default: {aliases: [www]}
          worker: {image: busybox}
    """
    c = conv(compose)
    web = c.get("Service", "web")["spec"]
    assert web["type"] == "ClusterIP"
    assert [(p["port"], p["protocol"]) for p in web["ports"]] == [(53, "UDP"), (80, "TCP"), (9000, "TCP")]
    assert c.get("Service", "www")["spec"]["selector"] == web["selector"]
    assert c.get("Service", "worker")["spec"] == {
        "clusterIP": "None", "selector": {"com.docker.compose.project": "shop",
                                          "com.docker.compose.service": "worker"}}
    published = c.get("Service", "web-published")["spec"]
    assert published["type"] == "ClusterIP"   # the base; the desktop overlay patches the type
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in published["ports"]] == \
        [(8080, 80, "TCP"), (30053, 53, "UDP")]
    assert "type: LoadBalancer" in c.files["overlays/desktop/web-published-service.yaml"]
    c = conv(compose, format="plain", publish="nodeport")
    assert "web-published-service.yaml" in c.files
    plain = c.files["web-published-service.yaml"]
    assert "type: NodePort" in plain and "nodePort: 30053" in plain and "nodePort: 8080" not in plain
    assert c.warned('"web"', "ports", "8080 is outside the NodePort range")


def test_network_policies_for_two_networks(conv):
    c = conv("""
        services:
          proxy: {image: nginx, networks: [front], ports: ["80:80"]}
          api: {image: app, networks: [front, back]}
          db: {image: postgres, networks: [back]}
        networks:
          front: {}
          back: {internal: true}
    """)
    labels = {s: c.get("Deployment", s)["spec"]["template"]["metadata"]["labels"] for s in ("proxy", "api", "db")}
    net = "com.docker.compose.network."
    assert {k for k in labels["api"] if k.startswith(net)} == {net + "front", net + "back"}
    assert {k for k in labels["db"] if k.startswith(net)} == {net + "back"}
    deny = c.get("NetworkPolicy", "default-deny-ingress")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    front = c.get("NetworkPolicy", "front-network-policy")["spec"]
    assert front["podSelector"] == {"matchLabels": {net + "front": "true"}}
    assert front["ingress"] == [{"from": [{"podSelector": {"matchLabels": {net + "front": "true"}}}]}]
    assert front["policyTypes"] == ["Ingress", "Egress"]      # api is on front too: it keeps its way out
    assert front["egress"] == [{}]
    back = c.get("NetworkPolicy", "back-network-policy")["spec"]
    assert back["policyTypes"] == ["Ingress", "Egress"]            # internal: no way out
    assert back["egress"][0] == {"to": [{"podSelector": {"matchLabels": {net + "back": "true"}}}]}
    assert back["egress"][1]["ports"][0] == {"port": 53, "protocol": "UDP"}
    outside = c.get("NetworkPolicy", "proxy-published-ingress")["spec"]
    assert outside["ingress"] == [{"ports": [{"port": 80, "protocol": "TCP"}]}]
    # proxy and db share no network: no policy selects db for ingress from proxy
    db_policies = [o for o in c.objects if o["kind"] == "NetworkPolicy"
                   and set(o["spec"]["podSelector"].get("matchLabels", {}).items()) <= set(labels["db"].items())]
    admitted = {k for p in db_policies for rule in p["spec"].get("ingress") or []
                for peer in rule.get("from") or [] for k in peer["podSelector"]["matchLabels"]}
    assert admitted == {net + "back"} and net + "back" not in labels["proxy"]


def test_volumes_bind_tmpfs_and_claims(conv, tmp_path):
    compose = """
        services:
          app:
            image: nginx
            volumes:
              - data:/data
              - ./site:/usr/share/nginx/html:ro
              - type: tmpfs
                target: /cache
                tmpfs: {size: 64m}
            tmpfs: ["/run"]
        volumes:
          data:
            labels: {com.pycompose.kube.size: 10Gi, com.pycompose.kube.storage-class: fast}
    """
    c = conv(compose)
    ctr, pod = c.container("app"), c.pod("app")
    mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
    assert "/usr/share/nginx/html" not in mounts
    assert c.warned('"app"', "volumes", "refused", "bind mount", "--allow-hostpath")
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols[mounts["/data"]["name"]]["persistentVolumeClaim"] == {"claimName": "data"}
    assert vols[mounts["/cache"]["name"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    assert vols[mounts["/run"]["name"]]["emptyDir"] == {"medium": "Memory"}
    pvc = c.get("PersistentVolumeClaim", "data")["spec"]
    assert pvc == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                   "storageClassName": "fast"}
    c = conv(compose, allow_hostpath=True)
    mounts = {m["mountPath"]: m for m in c.container("app")["volumeMounts"]}
    html = mounts["/usr/share/nginx/html"]
    assert html["readOnly"] is True
    vols = {v["name"]: v for v in c.pod("app")["volumes"]}
    assert vols[html["name"]]["hostPath"] == {"path": str(tmp_path / "site")}


def test_configs_and_secrets_from_files_content_and_environment(conv):
    c = conv("""
        services:
          app:
            image: nginx
            configs:
              - source: nginx_conf
                target: /etc/nginx/nginx.conf
              - inline
            secrets:
              - db_password
              - source: token
                target: api-token
                mode: 0400
        configs:
          nginx_conf: {file: ./nginx.conf}
          inline: {content: "hello"}
        secrets:
          db_password: {file: ./db_password.txt}
          token: {environment: API_TOKEN}
    """, files={"nginx.conf": "events {}\n", "db_password.txt": "s3cret"}, environ={"API_TOKEN": "tok"})
    assert c.get("ConfigMap", "nginx-conf")["data"] == {"nginx_conf": "events {}\n"}
    assert c.get("ConfigMap", "inline")["data"] == {"inline": "hello"}
    assert base64.b64decode(c.get("Secret", "db-password")["data"]["db_password"]) == b"s3cret"
    assert base64.b64decode(c.get("Secret", "token")["data"]["token"]) == b"tok"
    mounts = {m["mountPath"]: m for m in c.container("app")["volumeMounts"]}
    vols = {v["name"]: v for v in c.pod("app")["volumes"]}
    conf = mounts["/etc/nginx/nginx.conf"]
    assert conf["subPath"] == "nginx_conf" and conf["readOnly"] is True
    assert vols[conf["name"]]["configMap"] == {"name": "nginx-conf", "items": [{"key": "nginx_conf",
                                                                                "path": "nginx_conf"}]}
    assert "/inline" in mounts
    pw = mounts["/run/secrets/db_password"]
    assert vols[pw["name"]]["secret"]["secretName"] == "db-password"
    token = mounts["/run/secrets/api-token"]
    assert vols[token["name"]]["secret"]["items"] == [{"key": "token", "path": "token", "mode": 0o400}]


def test_labels_and_annotations_carried_over(conv):
    c = conv("""
        services:
          app:
            image: nginx
            labels: {tier: web, description: "the public web front"}
            annotations: {example.com/owner: team-a}
            deploy: {labels: {com.example.role: api}}
    """)
    dep = c.get("Deployment", "app")
    meta = dep["spec"]["template"]["metadata"]
    assert meta["labels"]["tier"] == "web"
    assert meta["annotations"] == {"description": "the public web front", "example.com/owner": "team-a"}
    assert dep["metadata"]["labels"]["com.example.role"] == "api"


def test_restart_policy_for_jobs_and_deployments(conv):
    c = conv("""
        services:
          once: {image: busybox, restart: "on-failure:3"}
          api: {image: app, depends_on: {once: {condition: service_completed_successfully}}}
          web: {image: nginx, restart: "no"}
    """)
    job = c.get("Job", "once")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert job["spec"]["backoffLimit"] == 3
    assert "restartPolicy" not in c.pod("web")
    assert c.warned('"web"', "restart", "approximated", "only restartPolicy Always")


def test_refused_keys_warn_with_service_and_key(conv):
    c = conv("""
        services:
          legacy:
            image: nginx
            ulimits: {nproc: 65535}
            logging: {driver: syslog}
            devices: ["/dev/ttyUSB0:/dev/ttyUSB0"]
            cgroup_parent: custom
            mac_address: "02:42:ac:11:00:02"
            extra_hosts: ["gw=host-gateway", "db=10.0.0.5"]
    """)
    for key in ("ulimits", "logging", "devices", "cgroup_parent", "mac_address", "extra_hosts"):
        assert c.warned('service "legacy"', f"{key}: refused"), key
    assert c.pod("legacy")["hostAliases"] == [{"hostnames": ["db"], "ip": "10.0.0.5"}]


def test_service_names_are_made_dns_safe_and_say_so(conv):
    c = conv("services: {my_api: {image: nginx}}\n")
    assert c.names("Deployment") == ["my-api"]
    assert c.warned('"my_api"', "named 'my-api'")


def test_pod_level_settings(conv):
    c = conv("""
        services:
          app:
            image: nginx
            hostname: front
            dns: [1.1.1.1]
            dns_search: [example.com]
            dns_opt: ["ndots:2", use-vc]
            extra_hosts: ["db=10.0.0.5", "cache=10.0.0.5"]
            group_add: ["1001"]
            platform: linux/arm64
            deploy:
              placement: {constraints: ["node.labels.disk==ssd", "node.role==manager"]}
            security_opt: ["no-new-privileges:true", "seccomp=unconfined", "apparmor=unconfined"]
            stop_signal: SIGQUIT
            post_start: [{command: ["sh", "-c", "echo up"]}]
            pre_stop: [{command: ["nginx", "-s", "quit"]}]
          host: {image: busybox, network_mode: host, pid: host, ipc: host, init: true}
          isolated: {image: busybox, network_mode: none}
    """)
    assert c.get("NetworkPolicy", "isolated-no-network")["spec"] == {
        "podSelector": {"matchLabels": {"com.docker.compose.project": "shop",
                                        "com.docker.compose.service": "isolated"}},
        "policyTypes": ["Egress"], "egress": []}
    pod = c.pod("app")
    assert pod["hostname"] == "front"
    assert pod["dnsConfig"] == {"nameservers": ["1.1.1.1"], "searches": ["example.com"],
                                "options": [{"name": "ndots", "value": "2"}, {"name": "use-vc"}]}
    assert pod["hostAliases"] == [{"hostnames": ["cache", "db"], "ip": "10.0.0.5"}]
    assert pod["securityContext"] == {"supplementalGroups": [1001]}
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64", "disk": "ssd"}
    assert c.warned('"app"', "deploy", "refused", "node.role==manager")
    ctr = c.container("app")
    assert ctr["securityContext"] == {"allowPrivilegeEscalation": False, "seccompProfile": {"type": "Unconfined"},
                                      "appArmorProfile": {"type": "Unconfined"}}
    assert ctr["lifecycle"] == {"postStart": {"exec": {"command": ["sh", "-c", "echo up"]}},
                                "preStop": {"exec": {"command": ["nginx", "-s", "quit"]}},
                                "stopSignal": "SIGQUIT"}
    assert pod["os"] == {"name": "linux"}
    host = c.pod("host")
    assert host["hostNetwork"] is True and host["hostPID"] is True and host["hostIPC"] is True
    assert "shareProcessNamespace" not in host and c.warned('"host"', "init: refused")
    labels = c.get("Deployment", "host")["spec"]["template"]["metadata"]["labels"]
    assert not [k for k in labels if k.startswith("com.docker.compose.network.")]


def test_link_aliases_cpu_shares_gpus_and_anonymous_or_external_volumes(conv):
    c = conv("""
        services:
          db:
            image: postgres
            cpu_shares: 512
            volumes: ["/var/lib/postgresql/data", "shared:/shared"]
          app:
            image: app
            links: ["db:database"]
            gpus: [{driver: nvidia, count: 2}]
        volumes:
          shared: {external: true, name: team-shared}
    """)
    assert c.get("Service", "database")["spec"]["selector"]["com.docker.compose.service"] == "db"
    assert c.container("db")["resources"] == {"requests": {"cpu": "500m"}}
    assert c.container("app")["resources"] == {"limits": {"nvidia.com/gpu": "2"}}
    vols = {v["name"]: v for v in c.pod("db")["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c.container("db")["volumeMounts"]}
    assert vols[mounts["/var/lib/postgresql/data"]]["emptyDir"] == {}
    assert vols[mounts["/shared"]]["persistentVolumeClaim"] == {"claimName": "team-shared"}
    assert c.names("PersistentVolumeClaim") == []          # external: expected to exist
    assert c.warned('"db"', "volumes", "anonymous volume")
    assert c.warned('"db"', "volumes", "external volume 'shared'")


def test_conversion_is_deterministic(conv):
    compose = """
        services:
          b: {image: nginx, networks: [n2, n1], environment: {Z: "1", A: "2"}, ports: ["81:80", "80:80"]}
          a: {image: nginx, depends_on: [b], networks: [n1]}
        networks: {n1: {}, n2: {}}
    """
    first = conv(compose)
    second = conv(compose)
    assert first.files == second.files
    assert [e["name"] for e in first.container("b")["env"]] == ["A", "Z"]
    assert [p["port"] for p in first.get("Service", "b-published")["spec"]["ports"]] == [80, 81]


def test_labels_of_volumes_networks_and_secrets_carry_over(conv):
    c = conv("""
        services:
          app:
            image: nginx
            volumes: [data:/data]
            networks: [front]
            secrets: [token]
            deploy: {rollback_config: {parallelism: 1}}
        volumes:
          data: {labels: {backup: nightly, com.pycompose.kube.size: 2Gi}}
        networks:
          front: {labels: {zone: dmz}}
        secrets:
          token: {environment: TOKEN, labels: {owner: team-a}}
    """, environ={"TOKEN": "x"})
    assert c.get("PersistentVolumeClaim", "data")["metadata"]["labels"] == {
        "backup": "nightly", "com.docker.compose.volume": "data"}
    assert c.get("NetworkPolicy", "front-network-policy")["metadata"]["labels"] == {"zone": "dmz"}
    assert c.get("Secret", "token")["metadata"]["labels"] == {"owner": "team-a"}
    assert c.warned('"app"', "deploy", "refused", "rollback_config")


def test_port_names_bind_propagation_and_dependency_restart(conv):
    c = conv("""
        services:
          db: {image: postgres}
          app:
            image: nginx
            ports: [{target: 80, published: "8080", name: web}, {target: 81, published: "8081", name: Bad_Name}]
            volumes:
              - {type: bind, source: /srv/plugins, target: /plugins, bind: {propagation: rslave}}
            depends_on: {db: {condition: service_started, restart: true}}
    """, allow_hostpath=True)
    ports = c.get("Service", "app-published")["spec"]["ports"]
    assert [p["name"] for p in ports] == ["web", "tcp-8081"]
    assert c.warned('"app"', "ports", "'Bad_Name'")
    [mount] = c.container("app")["volumeMounts"]
    assert mount["mountPropagation"] == "HostToContainer"
    assert c.warned('"app"', "depends_on", "restart: true")


def test_derived_service_names_never_collide_with_service_names(conv):
    c = conv("""
        services:
          web: {image: nginx, ports: ["80:80"]}
          web-published: {image: nginx, expose: ["80"]}
    """)
    services = [o["metadata"]["name"] for o in c.objects if o["kind"] == "Service"]
    assert len(services) == len(set(services))
    assert c.get("Service", "web-published")["spec"]["selector"]["com.docker.compose.service"] == "web-published"
    [published] = [o for o in c.objects if o["kind"] == "Service" and o["metadata"]["name"].startswith(
        "web-published-")]
    assert published["spec"]["selector"]["com.docker.compose.service"] == "web"


def test_configs_whose_names_fold_alike_stay_apart(conv):
    c = conv("""
        services:
          app: {image: nginx, configs: [a_b, a-b]}
        configs:
          a_b: {content: one}
          a-b: {content: two}
    """)
    maps = {o["metadata"]["name"]: o for o in c.objects if o["kind"] == "ConfigMap"}
    assert len(maps) == 2 and "a-b" in maps
    vols = {v["configMap"]["name"] for v in c.pod("app")["volumes"]}
    assert vols == set(maps)


def test_container_names_stay_unique_and_runtime_names_are_checked(conv):
    c = conv("""
        services:
          db: {image: postgres}
          wait-for-db: {image: busybox, depends_on: [db], runtime: gvisor}
          odd: {image: busybox, runtime: "Not A Name"}
    """)
    pod = c.pod("wait-for-db")
    assert pod["containers"][0]["name"] == "wait-for-db"
    assert [i["name"] for i in pod["initContainers"]] == ["wait-for-db-init"]
    assert pod["runtimeClassName"] == "gvisor"
    assert "runtimeClassName" not in c.pod("odd") and c.warned('"odd"', "runtime: refused")
