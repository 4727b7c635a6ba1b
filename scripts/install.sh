#!/usr/bin/env bash
# Installs everything pycompose needs on a Debian 12 machine, as root:
# Debian packages (busybox-static for the test image, nftables, iproute2) and the
# project itself (editable, with its test extras) into the machine's python3.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt_install_missing "PKG..." [apt-get install option...]: installs those of the packages not installed yet
apt_install_missing() {
    local pkgs="$1" missing="" p
    shift
    for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    [ -n "$missing" ] || return 0
    echo "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@" $missing >/dev/null
}

APT_PKGS="busybox-static nftables iproute2 procps docker-registry skopeo apache2-utils debootstrap"
apt_install_missing "$APT_PKGS"
# scripts/test-cgroup2-vm's guest: qemu, Debian's kernel (booted with cgroup v2 only), cpio for its
# initramfs; without recommends (no firmware, no GUI bits)
VM_PKGS="qemu-system-x86 linux-image-amd64 cpio"
apt_install_missing "$VM_PKGS" --no-install-recommends

pip_install() {
    if ! python3 -m pip install -q "$@" 2>/tmp/pycompose-pip.err; then
        if grep -q externally-managed /tmp/pycompose-pip.err; then
            python3 -m pip install -q --break-system-packages "$@"
        else
            cat /tmp/pycompose-pip.err >&2; return 1
        fi
    fi
}
pip_install -e '.[test]'
# an editable install runs from this tree: compile it now, as a wheel install does, so no command
# pays for compiling on start-up (PYTHONDONTWRITEBYTECODE would otherwise keep it from ever happening)
python3 -m compileall -q -j 0 compose engine >/dev/null
echo "pycompose installed: $(command -v pycompose)"
