"""Engine integration follow-ups: lazy network imports, create-time port check, rename in DNS,
exec under the container's seccomp setting, hostname vs. a shared network namespace."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_reading_network_state_does_not_import_netlink_or_dns_libraries():
    # ps / container ls / inspect / network ls build the manager but never talk netlink
    mods = _modules_after("import engine.network\nfrom engine.network import NetworkManager\n"
                          "import engine.network.manager")
    assert "engine.network.manager" in mods
    assert not {m for m in mods if m.split(".")[0] in ("pyroute2", "dnslib")}


def test_netlink_is_imported_when_a_link_function_needs_it():
    mods = _modules_after("from engine.network import links\nlinks.link_exists('lo')")
    assert "pyroute2" in mods
