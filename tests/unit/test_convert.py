"""compose service (the loaded model: the canonical JSON Docker Compose v2 prints, with numbers) -> ContainerCreate
body."""
import json
from pathlib import Path

import pytest

from compose import convert as cv
from compose.project import Project
from printed_models import numeric_model

# the corpus lives beside the checkout (../shared/oracle/corpus), wherever the checkout is
ORACLE = Path(__file__).resolve().parents[3] / "shared" / "oracle" / "corpus"


def oracle_model(case: str) -> dict:
    path = ORACLE / case / "expected.json"
    if not path.exists():
        pytest.fail(f"oracle corpus case missing: {path} (the corpus belongs in ../shared/oracle/corpus "
                    f"beside the checkout)")
    return numeric_model(json.loads(path.read_text()))


def body_for(model, svc, **extra):
    proj = Project(name=model["name"], model=model, working_dir="/w", config_files=["/w/compose.yaml"])
    return cv.create_body(proj, svc, model["services"][svc], cv.Extra(config_hash="h", **extra))


def test_labels_identity_and_depends_on():
    m = oracle_model("docker-compose-e2e/restart-test__compose-depends-on")
    b = body_for(m, "with-restart", number=2, image_id="sha256:abc")
    L = b["Labels"]
    assert L[cv.PROJECT] == "oracle" and L[cv.SERVICE] == "with-restart"
    assert L[cv.NUMBER] == "2" and L[cv.ONEOFF] == "False"
    assert L[cv.CONFIG_HASH] == "h" and L[cv.IMAGE] == "sha256:abc"
    assert L[cv.DEPENDS_ON] == "nginx:service_healthy:true"
    assert L[cv.WORKING_DIR] == "/w" and L[cv.CONFIG_FILES] == "/w/compose.yaml"
    assert cv.VERSION in L
    assert b["Cmd"] == ["tail", "-f", "/dev/null"] and "Entrypoint" not in b
    assert b["HostConfig"]["Init"] is True
    assert b["StopSignal"] == "SIGTERM"
    # service labels are kept beside compose's
    assert body_for(m, "nginx")["Labels"]["TEST"] == "test"


def test_healthcheck_in_nanoseconds():
    m = oracle_model("docker-compose-e2e/restart-test__compose-depends-on")
    hc = body_for(m, "nginx")["Healthcheck"]
    assert hc == {"Test": ["CMD-SHELL", "echo | nc -w 5 localhost:80"], "Interval": 2_000_000_000,
                  "Timeout": 1_000_000_000, "Retries": 10}
    assert cv.healthcheck({"healthcheck": {"disable": True}}) == {"Test": ["NONE"]}


def test_ports_long_form():
    m = oracle_model("extra/ports-short-syntax")
    b = body_for(m, "web")
    pb = b["HostConfig"]["PortBindings"]
    assert pb["8080/tcp"] == [{"HostIp": "", "HostPort": "9090"}]
    assert pb["5001/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "5001"}, {"HostIp": "127.0.0.1", "HostPort": ""}]
    assert pb["6060/udp"] == [{"HostIp": "", "HostPort": "6060"}]
    assert pb["3000/tcp"] == [{"HostIp": "", "HostPort": ""}]
    assert "1240/tcp" in b["ExposedPorts"]


def test_volumes_binds_mounts_tmpfs():
    m = oracle_model("extra/volumes-short-syntax")
    hc = body_for(m, "app")["HostConfig"]
    assert {"Type": "volume", "Source": "oracle_data", "Target": "/var/lib/data", "ReadOnly": False} in hc["Mounts"]
    assert {"Type": "volume", "Source": "oracle_data", "Target": "/ro-data", "ReadOnly": True} in hc["Mounts"]
    assert {"Type": "volume", "Source": "", "Target": "/anonymous", "ReadOnly": False} in hc["Mounts"]
    assert any(m_["Target"] == "/cache" and m_["VolumeOptions"] == {"NoCopy": True} for m_ in hc["Mounts"])
    assert "/abs/host/path:/abs:rw" in hc["Binds"]
    assert "${HOME}/configs:/configs:ro" in hc["Binds"]
    assert hc["Tmpfs"] == {"/run": "", "/tmp": "size=64m,mode=1777"}


def test_resources_legacy_and_deploy():
    m = oracle_model("extra/deploy-resources")
    legacy = body_for(m, "legacy")["HostConfig"]
    assert legacy["Memory"] == 1 << 30 and legacy["MemoryReservation"] == 1 << 29
    assert legacy["MemorySwap"] == 2 << 30 and legacy["NanoCpus"] == 500_000_000
    assert legacy["CpuShares"] == 512 and legacy["PidsLimit"] == 50 and legacy["ShmSize"] == 64 << 20
    assert legacy["OomScoreAdj"] == -500
    api = body_for(m, "api")["HostConfig"]
    assert api["Memory"] == 1 << 29 and api["NanoCpus"] == 1_500_000_000 and api["PidsLimit"] == 100
    assert api["MemoryReservation"] == 1 << 27
    assert api["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}


def test_restart_ulimits_sysctls_caps_hosts():
    m = oracle_model("extra/restart-ulimits-sysctls")
    a = body_for(m, "a")
    hc = a["HostConfig"]
    assert hc["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 20000, "Hard": 40000},
                             {"Name": "nproc", "Soft": 65535, "Hard": 65535}]
    assert hc["Sysctls"] == {"net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "0"}
    assert hc["CapAdd"] == ["ALL"] and hc["CapDrop"] == ["NET_ADMIN", "SYS_ADMIN"]
    assert hc["ExtraHosts"] == ["otherhost:50.31.209.229", "somehost:162.242.195.82", "v6host:::1"]
    assert hc["Dns"] == ["8.8.8.8"] and hc["DnsSearch"] == ["example.com"]
    assert hc["SecurityOpt"] == ["no-new-privileges:true"]
    assert a["User"] == "1000:1000" and a["WorkingDir"] == "/app" and a["StopTimeout"] == 60
    b = body_for(m, "b")["HostConfig"]
    assert b["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 5}
    c = body_for(m, "c")["HostConfig"]
    assert c["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}


def test_networks_aliases_and_default_network():
    m = oracle_model("docker-compose-e2e/restart-test__compose-depends-on")
    b = body_for(m, "nginx")
    assert b["HostConfig"]["NetworkMode"] == "oracle_default"
    assert b["NetworkingConfig"] == {"EndpointsConfig": {"oracle_default": {"Aliases": ["nginx"]}}}
    model = {"name": "p", "networks": {"front": {"name": "p_front"}, "back": {"name": "p_back"}},
             "services": {"s": {"image": "busybox", "networks": {
                 "front": {"aliases": ["www"], "ipv4_address": "172.30.0.5"}, "back": {"priority": 100}}}}}
    b = body_for(model, "s")
    assert b["HostConfig"]["NetworkMode"] == "p_back"  # highest priority first
    eps = b["NetworkingConfig"]["EndpointsConfig"]
    assert eps["p_front"] == {"Aliases": ["s", "www"], "IPAMConfig": {"IPv4Address": "172.30.0.5"}}


def test_network_mode_service_needs_its_container():
    model = {"name": "p", "services": {"a": {"image": "x"}, "b": {"image": "x", "network_mode": "service:a"}}}
    assert body_for(model, "b", service_containers={"a": "abc"})["HostConfig"]["NetworkMode"] == "container:abc"
    with pytest.raises(cv.ConvertError, match="service 'a' has no container"):
        body_for(model, "b")


def test_environment_drops_unset_and_names():
    assert cv.environment({"environment": {"A": "1", "B": "", "C": None}}) == ["A=1", "B="]
    assert cv.container_name("p", "web", {}, 3) == "p-web-3"
    assert cv.container_name("p", "web", {"container_name": "x"}, 1) == "x"
    assert cv.oneoff_name("p", "web", "0123456789abcdef") == "p-web-run-0123456789ab"


def test_no_image_is_a_clear_error():
    with pytest.raises(cv.ConvertError, match="neither an image"):
        body_for({"name": "p", "services": {"s": {"command": ["true"]}}}, "s")


def test_build_without_image_runs_the_project_service_image():
    body = body_for({"name": "p", "services": {"s": {"build": {"context": "."}}}}, "s")
    assert body["Image"] == "p-s"
