"""``docker attach``: our terminal and stdin wired to a container that already runs.

Why apart from ``engine.attach`` (``run -i``): attaching never starts anything, and
it ends three ways: the container exits (its exit code), the detach keys are
typed (``read escape sequence``, the container keeps running), or our own end.
Output is the container's json-file log from the moment of the call; input goes
to its pty master (tty containers, through the same ``pidfd_getfd`` duplicate as
``run -it``) or its stdin FIFO. Like Docker, the detach keys are watched only on
a terminal's input, and ``--sig-proxy`` forwards our signals only to containers
without a terminal (with one, Ctrl-C is a byte the container's tty turns into SIGINT).
"""
from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import threading
import time
import tty as _tty
from pathlib import Path

from engine.errors import Conflict, EngineError, InvalidArgument

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}
PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGALRM)


def parse_detach_keys(spec: str) -> bytes:
    """``ctrl-p,ctrl-q`` -> b"\\x10\\x11" (Docker's rules: one character or ``ctrl-<a-z@[\\]^_>``)."""
    out = bytearray()
    for key in spec.split(","):
        k = key.strip()
        if len(k) == 1:
            out.append(ord(k))
        elif k.lower().startswith("ctrl-") and len(k) == 6:
            c = k[5].lower()
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in _CTRL_SPECIAL:
                out.append(_CTRL_SPECIAL[c])
            else:
                raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
        else:
            raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
    if not out:
        raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class DetachMatcher:
    """Holds back a partial detach sequence; a byte that breaks it releases what was held."""

    def __init__(self, keys: bytes):
        self.keys, self.held = keys, b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, detach?)."""
        out = bytearray()
        for b in data:
            if b == self.keys[len(self.held)]:
                self.held += bytes([b])
                if len(self.held) == len(self.keys):
                    self.held = b""
                    return bytes(out), True
                continue
            out += self.held
            self.held = b""
            if b == self.keys[0]:
                self.held = bytes([b])
                if len(self.keys) == 1:
                    return bytes(out), True
            else:
                out.append(b)
        return bytes(out), False


def _check_state(rec: dict) -> None:
    st = rec.get("State") or {}
    if st.get("Paused"):
        raise Conflict("You cannot attach to a paused container, unpause it first")
    if st.get("Restarting"):
        raise Conflict("You cannot attach to a restarting container, wait until it is running")
    if not st.get("Running"):
        raise Conflict("You cannot attach to a stopped container, start it first")


def attach(eng, rec: dict, stdin: bool = True, detach_keys: str | None = None, sig_proxy: bool = True, *,
           stdin_fifo: Path) -> int | None:
    """Relay until the container exits (its exit code) or the detach keys are typed (None);
    ``stdin_fifo``: the container's stdin FIFO (in its record dir), fed from our stdin."""
    _check_state(rec)
    keys = parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS)
    cfg = rec.get("Config") or {}
    tty, cid = bool(cfg.get("Tty")), rec["Id"]
    use_stdin = stdin and bool(cfg.get("OpenStdin"))
    if tty and use_stdin and not os.isatty(0):
        raise EngineError("the input device is not a TTY")
    since = time.time()
    ended, detached = threading.Event(), threading.Event()
    out_thread = threading.Thread(target=_pump_output, args=(eng, cid, since, ended), daemon=True)
    with contextlib.ExitStack() as stack:
        if use_stdin and tty:
            stack.enter_context(_tty_input(eng, rec, keys, detached, ended))
        elif use_stdin:
            from engine.attach import feed_fifo

            threading.Thread(target=feed_fifo, args=(stdin_fifo, ended),
                             daemon=True).start()
        if sig_proxy and not tty:
            stack.enter_context(_proxy_signals(eng, cid))
        out_thread.start()
        while not ended.wait(0.1):  # the main thread stays free to run the signal handlers
            if detached.is_set():
                return None
    out_thread.join()
    return eng.containers.wait(cid)


def _pump_output(eng, cid: str, since: float, ended: threading.Event) -> None:
    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        for e in eng.containers.logs(cid, follow=True, since=since):
            stream = out if e.stream == "stdout" else err
            stream.write(e.data)
            stream.flush()
    except (OSError, EngineError):
        pass
    finally:
        ended.set()


@contextlib.contextmanager
def _tty_input(eng, rec: dict, keys: bytes, detached: threading.Event, ended: threading.Event):
    """Raw terminal input to the container's pty master, watching for the detach keys."""
    from engine.attach import console_master
    from engine.runtime.tty import get_winsize, set_winsize

    sup = eng.supervisor.running_pid()
    if not sup:
        raise EngineError("cannot attach: the container supervisor is not running")
    master = console_master(sup, int(rec["State"]["Pid"]))
    matcher = DetachMatcher(keys)
    saved = termios.tcgetattr(0)
    old_winch = None

    def resize(*_):
        with contextlib.suppress(OSError):
            set_winsize(master, *get_winsize(0))

    def pump() -> None:
        while not ended.is_set():
            r, _, _ = select.select([0], [], [], 0.2)
            if not r:
                continue
            data = os.read(0, 4096)
            if not data:
                return
            data, detach = matcher.feed(data)
            try:
                if data:
                    os.write(master, data)
            except OSError:
                return
            if detach:
                detached.set()
                return

    try:
        resize()
        _tty.setraw(0, termios.TCSANOW)  # like docker's MakeRaw: input typed already is kept
        with contextlib.suppress(ValueError):
            old_winch = signal.signal(signal.SIGWINCH, resize)
        threading.Thread(target=pump, daemon=True).start()
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
        if old_winch is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGWINCH, old_winch)
        os.close(master)


@contextlib.contextmanager
def _proxy_signals(eng, cid: str):
    """Our signals go to the container instead of ending us (Docker's --sig-proxy)."""
    def forward(signum, _frame):
        with contextlib.suppress(EngineError):
            eng.containers.kill(cid, signal.Signals(signum).name)

    old = {}
    try:
        for s in PROXIED:
            with contextlib.suppress(ValueError):
                old[s] = signal.signal(s, forward)
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
