#!/usr/bin/env bash
# Installs everything (scripts/install.sh) and runs the whole test suite, as root.
# The suite ends with a leak check of kernel objects (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The cgroup v2 tests in a guest kernel (scripts/test-cgroup2-vm): on a full run, when /dev/kvm exists.
vm_rc=0
if [ $# -eq 0 ] && [ -z "${PYCOMPOSE_SKIP_VM:-}" ]; then
    if [ -e /dev/kvm ]; then
        scripts/test-cgroup2-vm || vm_rc=$?
    else
        echo "cgroup v2 guest tests SKIPPED: /dev/kvm is not present on this machine (scripts/test-cgroup2-vm)"
    fi
fi
rc=0
python3 -m pytest -q -p no:cacheprovider "$@" || rc=$?
if [ "$vm_rc" != 0 ]; then
    echo "cgroup v2 guest tests FAILED (scripts/test-cgroup2-vm exit $vm_rc)"
    [ "$rc" != 0 ] || rc=$vm_rc
fi
exit "$rc"
