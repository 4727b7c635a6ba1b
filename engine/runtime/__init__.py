"""The kernel side of a container: spec, start, exec (see docs/ARCHITECTURE.md).

Modules, one job each:

* ``spec``       ContainerSpec / ProcessSpec / Mount / Device: what to start, as plain data
* ``build``      build_spec(record, image_config, layer_dirs, container_dir, volumes): Docker's rules
* ``users``      user/group names from the image's /etc/passwd and /etc/group (through the layers)
* ``caps``       capability names and Docker's cap_add/cap_drop/privileged rules
* ``limits``     ulimits and namespaced sysctls, validated before anything exists
* ``seccomp``    the syscall filter (Docker's default profile, compiled per capability set)
* ``start``      start(spec, stdio, cgroup, prestart, console) -> pid of the container's pid 1
* ``rootfs``     overlay root, /proc, /dev, /sys, user mounts, pivot_root, masked/read-only paths
* ``cgroupfs``   /sys/fs/cgroup as the container sees it (inside its cgroup namespace)
* ``securejoin`` container paths resolved without leaving the root
* ``process``    identity (rlimits, groups, uid/gid, caps, seccomp, no_new_privs) and execve
* ``init``       --init: pid 1 that forwards signals and reaps zombies
* ``exec``       exec_process(pid, process, stdio, cgroup_paths, tty) -> pid
* ``tty``        ptys in the container's own devpts
* ``etcfiles``   /etc/hostname, hosts, resolv.conf defaults in the container's directory
* ``handshake``  errors and pids across the fork, fds onto 0/1/2
"""
from engine.runtime.errors import StartError
from engine.runtime.spec import ContainerSpec, Mount, Namespaces, ProcessSpec, Rlimit

__all__ = ["ContainerSpec", "Mount", "Namespaces", "ProcessSpec", "Rlimit", "StartError", "start",
           "build_spec", "exec_process"]


def __getattr__(name):  # lazy: importing the spec must not pull in the runtime machinery
    if name == "start":
        from engine.runtime.start import start
        return start
    if name == "build_spec":
        from engine.runtime.build import build_spec
        return build_spec
    if name == "exec_process":
        from engine.runtime.exec import exec_process
        return exec_process
    raise AttributeError(name)
