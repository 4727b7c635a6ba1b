#!/bin/sh
# pid 1 of the cgroup v2 guest, on the host's filesystem (read-only 9p, tmpfs where
# writes go). Mounts only the unified cgroup2 hierarchy, like a systemd host
# (nsdelegate, controllers enabled at the top), then runs the cgroup tests twice:
#   top        the engine's groups right under /sys/fs/cgroup (pycompose/<id>)
#   delegated  pytest started inside system.slice/pycompose.service, a subtree
#              marked delegated the way systemd marks Delegate=yes (the
#              trusted.delegate xattr) with only "cpu io memory pids" given to it
# Results (junit XML, pytest output, the exit code) go to the host's results
# directory (9p tag "results" at /tmp/results); then the guest powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYCOMPOSE_VM_GUEST=1
say() { echo "pycompose-vm: $*" > /dev/console; }
finish() {
    echo "$1" > /tmp/results/rc
    sync
    say "done (exit $1) at $(cut -d' ' -f1 /proc/uptime)s"
    echo o > /proc/sysrq-trigger
    while :; do :; done  # pid 1 must not exit; the power-off comes from the kernel
}

PATH=$(dirname "$VM_PYTHON"):$PATH  # the python the project is installed into, first (scripts' shebangs)
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
# a checkout under /tmp (CI clones anywhere) stays visible under the guest's own /tmp: held at
# /run/repo first, then bound back at its path once the tmpfs is on /tmp
case "$VM_REPO" in /tmp/*) mkdir -p /run/repo && mount --bind "$VM_REPO" /run/repo ;; esac
mount -t tmpfs -o mode=1777 tmpfs /tmp
case "$VM_REPO" in /tmp/*) mkdir -p "$VM_REPO" && mount --bind /run/repo "$VM_REPO" ;; esac
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
mkdir -p /tmp/results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /tmp/results || { say "no results dir"; finish 3; }
# writable views of the directories programs write to (the host's stay untouched)
# (the checkout gets the host-compiled bytecode stacked on top: see scripts/test-cgroup2-vm)
for d in /etc /var /root "$VM_REPO"; do
    n=$(echo "$d" | tr / _)
    lower=$d
    [ "$d" = "$VM_REPO" ] && [ -d /tmp/results/pyc-tree ] && lower=/tmp/results/pyc-tree:$d
    mkdir -p "/run/ovl/$n/upper" "/run/ovl/$n/work"
    mount -t overlay -o "lowerdir=$lower,upperdir=/run/ovl/$n/upper,workdir=/run/ovl/$n/work" overlay "$d"
done
ip link set lo up
hostname pycompose-vm
say "stage 2 up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), cgroup: $(stat -f -c %T /sys/fs/cgroup)"
cd "$VM_REPO" || finish 3

# Only the unified hierarchy: no v1 controller may be mounted anywhere.
if grep -q ' cgroup ' /proc/self/mounts; then say "a cgroup v1 hierarchy is mounted"; finish 3; fi
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
say "controllers: $(cat /sys/fs/cgroup/cgroup.controllers); enabled: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

run_pytest() {  # run_pytest NAME TESTS: output to the console and the results dir
    say "pytest ($1 layout): $2"
    # plugins named, not discovered: scanning every installed distribution is slow under emulation
    PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$VM_PYTHON" -m pytest -p pytest_timeout -p no:cacheprovider -q -rfEs \
        -o junit_family=xunit1 \
        --junitxml="/tmp/results/junit-$1.xml" $2 > "/tmp/results/pytest-$1.log" 2>&1
    rc=$?
    tail -n 40 "/tmp/results/pytest-$1.log" > /dev/console
    return $rc
}

if [ -n "${VM_CMD:-}" ]; then  # scripts/test-cgroup2-vm --cmd: one command instead of the tests
    sh -c "$VM_CMD" > /dev/console 2>&1
    finish $?
fi
rc=0
modprobe fuse 2>/dev/null  # /dev/fuse: the --device test (a node the v2 device program must let through)
run_pytest top "$VM_TESTS" || rc=1

# The delegated layout a systemd host gives a Delegate=yes service.
svc=/sys/fs/cgroup/system.slice/pycompose.service
mkdir -p "$svc"
echo "+cpu +io +memory +pids" > /sys/fs/cgroup/system.slice/cgroup.subtree_control
"$VM_PYTHON" -c "import os; os.setxattr('$svc', 'trusted.delegate', b'1')"
echo $$ > "$svc/cgroup.procs"
say "now in $(cat /proc/self/cgroup); delegated: $(cat $svc/cgroup.controllers)"
modprobe bfq 2>/dev/null && say "BFQ loaded: blkio weights now go to io.bfq.weight"
run_pytest delegated "${VM_TESTS_DELEGATED:-$VM_TESTS}" || rc=1
if [ -e /sys/fs/cgroup/pycompose ] && [ -n "$(ls -d /sys/fs/cgroup/pycompose/*/ 2>/dev/null)" ]; then
    say "delegated run wrote groups at the top: $(ls /sys/fs/cgroup/pycompose)"
    rc=1
fi
finish $rc
