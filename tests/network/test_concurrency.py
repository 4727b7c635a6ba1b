"""Two commands at once never hand out the same address or host port (DataRoot.lock + state)."""
import threading

from engine.network import NetworkManager
from sandbox import record


def test_parallel_prepares_from_separate_managers_get_distinct_leases(tmp_path):
    root = str(tmp_path / "root")
    NetworkManager(root).create("front", ipam={"Config": [{"Subnet": "10.230.0.0/24"}]})
    recs = [record(f"c{i}", ports={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}) for i in range(12)]
    errors = []

    def prep(rec):
        try:
            NetworkManager(root).prepare(rec)  # one manager per thread, like separate processes
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=prep, args=(r,)) for r in recs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    m = NetworkManager(root)
    eps = [m.store.endpoint(r["Id"]) for r in recs]
    ips = [e["Networks"][0]["IPAddress"] for e in eps]
    ports = [e["Ports"][0]["host_port"] for e in eps]
    assert len(set(ips)) == 12 and all(ip.startswith("10.230.0.") for ip in ips)
    assert len(set(ports)) == 12
    for r in recs:
        m.forget(r)
    assert m.store.endpoints() == []
