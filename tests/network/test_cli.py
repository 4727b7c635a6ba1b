"""``pycompose network`` end to end through the CLI entry (state only: no container is attached)."""
import json

import pytest

from compose.cli.main import main


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYCOMPOSE_ROOT", str(tmp_path / "root"))

    def run(*argv):
        code = main(["network", *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_create_ls_inspect_rm(cli):
    code, out, _ = cli("create", "--subnet", "10.201.0.0/24", "--gateway", "10.201.0.254",
                       "--ip-range", "10.201.0.128/25", "--internal", "-l", "team=net", "-o",
                       "com.docker.network.driver.mtu=1450", "mynet")
    assert code == 0 and len(out.strip()) == 64
    net_id = out.strip()
    code, out, _ = cli("ls")
    lines = out.splitlines()
    assert lines[0] == "NETWORK ID     NAME      DRIVER    SCOPE"
    assert f"{net_id[:12]}   mynet     bridge    local" in lines
    assert [l.split()[1] for l in lines[1:]] == ["bridge", "host", "mynet", "none"]
    code, out, _ = cli("ls", "-q", "--no-trunc", "--filter", "label=team=net")
    assert out.split() == [net_id]
    code, out, _ = cli("ls", "--format", "json", "--filter", "name=myn")
    row = json.loads(out)
    assert row["Name"] == "mynet" and row["Internal"] == "true" and row["Labels"] == "team=net"
    code, out, _ = cli("inspect", net_id[:6])
    (doc,) = json.loads(out)
    assert doc["Name"] == "mynet" and doc["Internal"] is True and doc["Containers"] == {}
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.201.0.0/24", "Gateway": "10.201.0.254",
                                      "IPRange": "10.201.0.128/25"}]
    assert doc["Options"] == {"com.docker.network.driver.mtu": "1450"}
    code, out, _ = cli("inspect", "-f", "{{.Name}} {{.Driver}} {{json .Labels}}", "mynet")
    assert out == 'mynet bridge {"team": "net"}\n'
    code, out, err = cli("rm", "mynet", "bridge")
    assert code == 1 and out == "mynet\n"
    assert err == "Error response from daemon: bridge is a pre-defined network and cannot be removed\n"


@pytest.mark.parametrize("argv,msg", [
    (["create", "dup"], "error: network with name dup already exists\n"),
    (["create", "--subnet", "10.202.0.0/24", "--gateway", "10.203.0.1", "x"],
     "no matching subnet for gateway 10.203.0.1\n"),
    (["create", "--subnet", "nonsense", "x"], "error: invalid subnet nonsense: invalid CIDR address: nonsense\n"),
    (["create", "-d", "overlay", "x"], 'error: plugin "overlay" not found\n'),
    (["create", "bad name"], 'error: invalid network name "bad name": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n'),
    (["ls", "--filter", "colour=red"], "error: invalid filter 'colour'\n"),
    (["disconnect", "dup", "nosuchcontainer"], "No such container: nosuchcontainer\n"),
])
def test_errors_are_one_line_and_leave_nothing(cli, argv, msg):
    assert cli("create", "dup")[0] == 0
    before = cli("ls", "-q")[1]
    code, out, err = cli(*argv)
    assert code == 1 and err == msg
    assert cli("ls", "-q")[1] == before


def test_overlapping_subnet_refused(cli):
    assert cli("create", "--subnet", "10.210.0.0/16", "one")[0] == 0
    code, _, err = cli("create", "--subnet", "10.210.5.0/24", "two")
    assert code == 1 and "Pool overlaps with other one on this address space" in err


def test_auto_subnets_do_not_repeat(cli):
    subnets = set()
    for i in range(3):
        cli("create", f"n{i}")
        subnets.add(json.loads(cli("inspect", f"n{i}")[1])[0]["IPAM"]["Config"][0]["Subnet"])
    assert len(subnets) == 3


def test_prune_removes_unused_custom_networks_only(cli):
    cli("create", "-l", "keep=1", "kept")
    cli("create", "gone")
    code, out, _ = cli("prune", "-f", "--filter", "label!=keep")
    assert out == "Deleted Networks:\ngone\n"
    assert [l.split()[1] for l in cli("ls")[1].splitlines()[1:]] == ["bridge", "host", "kept", "none"]


def test_create_dual_stack_pairs_gateways_with_their_subnet(cli):
    code, _, err = cli("create", "--ipv6", "--subnet", "10.211.0.0/24", "--subnet", "fd00:211::/64",
                       "--gateway", "fd00:211::fe", "--gateway", "10.211.0.254", "dual")
    assert code == 0, err
    doc = json.loads(cli("inspect", "dual")[1])[0]
    assert doc["EnableIPv6"] is True
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.211.0.0/24", "Gateway": "10.211.0.254"},
                                     {"Subnet": "fd00:211::/64", "Gateway": "fd00:211::fe"}]
    code, _, err = cli("create", "--subnet", "10.212.0.0/24", "--gateway", "10.99.0.1", "bad")
    assert code == 1 and err == "no matching subnet for gateway 10.99.0.1\n"
    code, _, err = cli("create", "--subnet", "fd00:213::/64", "v6only")
    assert code == 1 and "IPv6 is not enabled" in err
