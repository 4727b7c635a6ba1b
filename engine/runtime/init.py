"""``--init``: pid 1 as a tiny reaper, the way Docker's tini behaves.

Why not a binary: there is no static tini here, and the container's pid 1 is
already a forked copy of this process with every module it needs loaded, so
after pivot_root it forks the real command and stays behind as pid 1: it
forwards signals to the command, reaps orphans re-parented to it, and exits
with the command's status (128+N when the command died of signal N).
Nothing here may import anything: the host's Python library is gone after
pivot_root.
"""
from __future__ import annotations

import os
import signal

# Signals pid 1 passes on to the command (tini's set: everything catchable
# except the ones the kernel generates for the reaper itself).
FORWARDED = tuple(s for s in signal.Signals
                  if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD, signal.SIGSEGV,
                               signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT,
                               signal.SIGTRAP, signal.SIGSYS, signal.SIGTTIN, signal.SIGTTOU,
                               signal.SIGTSTP))


def block_signals() -> set:
    """Block forwarded signals over the fork so none is lost or handled in the child."""
    return signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)


def child_reset(old_mask: set) -> None:
    """In the command's process, before exec: default dispositions, original mask."""
    for s in FORWARDED:
        try:
            signal.signal(s, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def reap_forever(child: int, old_mask: set) -> None:
    """Forward signals to ``child``, reap everything, exit with ``child``'s status."""
    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for s in FORWARDED:
        try:
            signal.signal(s, forward)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
            os._exit(os.WEXITSTATUS(status))
