#!/bin/busybox sh
# /init of the cgroup v2 guest's initramfs (made by scripts/test-cgroup2-vm).
# Loads the modules the 9p root needs, mounts the host's filesystem read-only and
# switches to it, where tests/vm/guest-run.sh takes over as pid 1. /vm.env (written
# by the host script) names the repository, the python and the tests to run.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
echo "pycompose-vm: stage 1 up $(cut -d' ' -f1 /proc/uptime)s" > /dev/console
while read -r mod; do
    insmod "$mod" || echo "pycompose-vm: insmod $mod failed" > /dev/console
done < /modules.list
mkdir -p /newroot
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot; then
    echo "pycompose-vm: cannot mount the host's filesystem" > /dev/console
    echo o > /proc/sysrq-trigger
fi
. /vm.env
umount /dev
umount /proc
exec switch_root /newroot /bin/sh "$VM_REPO/tests/vm/guest-run.sh"
