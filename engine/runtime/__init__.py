"""The kernel side of a container: spec, start, exec (see docs/ARCHITECTURE.md)."""
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
