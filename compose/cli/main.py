"""Entry point of the ``pycompose`` command.

Start-up must stay fast (``pycompose --version`` < 100 ms), so this module
imports nothing heavy: it parses the global options, looks the command up in
``COMMANDS`` and imports only that command's module. Each command module
provides::

    HELP = "one line"                       # optional, shown by --help of the command
    def add_arguments(parser, command): ...  # argparse flags; command: the name typed
    def run(args, gopts) -> int: ...         # args.command is set; gopts: GlobalOptions below

Errors are typed exceptions (``compose.errors.ComposeError``,
``engine.errors.EngineError``) rendered here once, as one line on stderr with
exit code 1; a Python traceback is printed only with ``PYCOMPOSE_DEBUG=1``.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys

from compose import __version__

# argparse passes each message through gettext, which looks for a catalogue on disk at every call
# (70+ calls to build a command's parser, ~4 ms); Python ships no argparse catalogue and the
# messages stay English, as Docker's are.
argparse._ = lambda message: message  # type: ignore[attr-defined]
argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural  # type: ignore[attr-defined]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the width found as ``shutil.get_terminal_size`` finds it ($COLUMNS,
    else the terminal of stdout, else 80), without importing shutil for it: argparse builds a
    formatter for each flag added, and shutil (zlib, bz2, lzma) was ~2 ms of every command."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


def _columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80

# command name -> (module, one-line help). Modules are imported lazily.
COMMANDS: dict[str, tuple[str, str]] = {
    # compose commands (compose/cli/)
    "config": ("compose.cli.config", "Parse, resolve and render compose file in canonical format"),
    "up": ("compose.cli.up", "Create and start containers"),
    "down": ("compose.cli.down", "Stop and remove containers, networks"),
    "create": ("compose.cli.lifecycle", "Creates containers for a service"),
    "start": ("compose.cli.lifecycle", "Start services"),
    "stop": ("compose.cli.lifecycle", "Stop services"),
    "restart": ("compose.cli.lifecycle", "Restart service containers"),
    "kill": ("compose.cli.lifecycle", "Force stop service containers"),
    "rm": ("compose.cli.lifecycle", "Removes stopped service containers"),
    "pause": ("compose.cli.lifecycle", "Pause services"),
    "unpause": ("compose.cli.lifecycle", "Unpause services"),
    "scale": ("compose.cli.lifecycle", "Scale services"),
    "wait": ("compose.cli.lifecycle", "Block until containers of all (or specified) services stop"),
    "ps": ("compose.cli.ps", "List containers"),
    "logs": ("compose.cli.logs", "View output from containers"),
    "exec": ("compose.cli.exec", "Execute a command in a running container"),
    "run": ("compose.cli.run", "Run a one-off command on a service"),
    "attach": ("compose.cli.exec", "Attach local standard input, output, and error streams to a service's running container"),
    "top": ("compose.cli.info", "Display the running processes"),
    "port": ("compose.cli.info", "Print the public port for a port binding"),
    "images": ("compose.cli.info", "List images used by the created containers"),
    "volumes": ("compose.cli.info", "List volumes"),
    "ls": ("compose.cli.info", "List running compose projects"),
    "events": ("compose.cli.info", "Receive real time events from containers"),
    "stats": ("compose.cli.info", "Display a live stream of container(s) resource usage statistics"),
    "cp": ("compose.cli.exec", "Copy files/folders between a service container and the local filesystem"),
    "version": ("compose.cli.version", "Show the pycompose version information"),
    "build": ("compose.cli.build", "Build or rebuild services"),
    "pull": ("compose.cli.pull", "Pull service images"),
    "push": ("compose.cli.pull", "Push service images"),
    "bridge": ("compose.cli.bridge", "Convert compose files to Kubernetes manifests, Helm charts, or another model"),
    # engine verbs, docker's names (engine/cli/)
    "image": ("engine.cli.image", "Manage images"),
    "container": ("engine.cli.container", "Manage containers"),
    "volume": ("engine.cli.volume", "Manage volumes"),
    "network": ("engine.cli.network", "Manage networks"),
    "builder": ("engine.cli.builder", "Manage builds"),
    "login": ("engine.cli.login", "Authenticate to a registry"),
    "logout": ("engine.cli.login", "Log out from a registry"),
}


class GlobalOptions:
    """Options that come before the command, as Docker Compose v2 takes them.

    A plain class, not a dataclass: importing dataclasses (inspect, ast, dis, tokenize) would
    cost ``pycompose --version`` about a fifth of its run time."""

    def __init__(self, files: list[str] | None = None, project_name: str | None = None,
                 profiles: list[str] | None = None, env_files: list[str] | None = None,
                 project_directory: str | None = None, ansi: str = "auto", progress: str = "auto",
                 parallel: int = -1, dry_run: bool = False, compatibility: bool = False):
        self.files = list(files or [])
        self.project_name = project_name
        self.profiles = list(profiles or [])
        self.env_files = list(env_files or [])
        self.project_directory = project_directory
        self.ansi, self.progress, self.parallel = ansi, progress, parallel
        self.dry_run, self.compatibility = dry_run, compatibility

    def __repr__(self) -> str:
        return f"GlobalOptions({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def _global_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pycompose",
        usage="pycompose [OPTIONS] COMMAND",
        description="Define and run multi-container applications, with pycompose's own container engine.",
        add_help=False,
        formatter_class=HelpFormatter,
    )
    p.add_argument("-f", "--file", dest="files", action="append", default=[], metavar="FILE")
    p.add_argument("-p", "--project-name", dest="project_name")
    p.add_argument("--profile", dest="profiles", action="append", default=[])
    p.add_argument("--env-file", dest="env_files", action="append", default=[])
    p.add_argument("--project-directory", dest="project_directory")
    p.add_argument("--ansi", choices=["never", "always", "auto"], default="auto")
    p.add_argument("--progress", choices=["auto", "tty", "plain", "json", "quiet"], default="auto")
    p.add_argument("--parallel", type=int, default=-1)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--compatibility", action="store_true")
    p.add_argument("-v", "--version", action="store_true")
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("command", nargs="?")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def _usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = [
        "Usage:  pycompose [OPTIONS] COMMAND",
        "",
        "Define and run multi-container applications, with pycompose's own container engine.",
        "",
        "Options:",
        "      --ansi string                Control when to print ANSI control characters (\"never\"|\"always\"|\"auto\")",
        "      --compatibility              Run compose in backward compatibility mode",
        "      --dry-run                    Execute command in dry run mode",
        "      --env-file stringArray       Specify an alternate environment file",
        "  -f, --file stringArray           Compose configuration files",
        "      --parallel int               Control max parallelism, -1 for unlimited (default -1)",
        "      --profile stringArray        Specify a profile to enable",
        "      --progress string            Set type of progress output (auto, tty, plain, json, quiet)",
        "      --project-directory string   Specify an alternate working directory",
        "  -p, --project-name string        Project name",
        "  -v, --version                    Show the pycompose version information",
        "",
        "Commands:",
    ]
    for name, (_, help_) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {help_}")
    lines += ["", "Run 'pycompose COMMAND --help' for more information on a command."]
    return "\n".join(lines)


def _render_error(exc: BaseException) -> int:
    msg = str(exc) or exc.__class__.__name__
    if _is_registry_error(exc) and not msg.lower().startswith("error"):
        msg = f"Error response from daemon: {msg}"  # docker's words for what its daemon refused
    sys.stderr.write(f"{msg}\n" if msg.lower().startswith(("error", "service ", "no ")) else f"error: {msg}\n")
    return int(getattr(exc, "exit_code", 1) or 1)


def _is_registry_error(exc: BaseException) -> bool:
    import engine.errors

    cls = getattr(engine.errors, "RegistryError", None)
    return cls is not None and isinstance(exc, cls)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    gp = _global_parser()
    try:
        ns = gp.parse_args(argv)
    except SystemExit as e:  # argparse already printed the usage error
        return 2 if e.code else 0
    if ns.version and not ns.command:
        print(f"pycompose version v{__version__}")
        return 0
    if ns.help and not ns.command or not ns.command:
        print(_usage())
        return 0 if ns.help else 1
    if ns.command not in COMMANDS:
        sys.stderr.write(f"unknown command: \"pycompose {ns.command}\"\n\nRun 'pycompose --help' for more information\n")
        return 1
    gopts = GlobalOptions(
        files=ns.files, project_name=ns.project_name, profiles=ns.profiles, env_files=ns.env_files,
        project_directory=ns.project_directory, ansi=ns.ansi, progress=ns.progress,
        parallel=ns.parallel, dry_run=ns.dry_run, compatibility=ns.compatibility,
    )
    rest = list(ns.rest)
    if ns.help:
        rest.insert(0, "--help")
    debug = os.environ.get("PYCOMPOSE_DEBUG") == "1"
    try:
        import importlib

        module_name, help_ = COMMANDS[ns.command]
        mod = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=f"pycompose {ns.command}", description=getattr(mod, "HELP", help_),
                                         formatter_class=HelpFormatter)
        mod.add_arguments(parser, ns.command)
        try:
            args = parser.parse_args(rest)
        except SystemExit as e:
            return 0 if not e.code else 1
        args.command = ns.command
        _collector_on()
        code = mod.run(args, gopts)
        return int(code or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place errors are rendered
        if debug:
            raise
        from compose.errors import ComposeError
        from engine.errors import EngineError

        if isinstance(exc, (ComposeError, EngineError)):
            return _render_error(exc)
        if isinstance(exc, (OSError,)) and exc.strerror:
            sys.stderr.write(f"error: {exc.strerror}: {exc.filename or ''}\n".rstrip() + "\n")
            return 1
        sys.stderr.write(f"internal error: {exc.__class__.__name__}: {exc} (set PYCOMPOSE_DEBUG=1 for a traceback)\n")
        return 1


_collector_held = False  # entry() turned the cyclic GC off for the start-up
_YOUNG_OBJECTS = 50_000  # the young generation of the command (Python's default 700: ~15 collections in a run)


def entry() -> None:
    """The ``pycompose`` command (console script and ``python -m``): ``main``, then the exit.

    The cyclic GC is off until the command runs: the start-up (imports, parsers) allocates tens of
    thousands of objects that live until the exit, and the GC walked them ~25 times (3-6 ms of
    ``container run``). They are then frozen (never walked again) and the GC is on for the command
    itself, so a long ``logs -f`` or ``events`` collects its cycles as usual."""
    global _collector_held
    if gc.isenabled():
        gc.disable()
        _collector_held = True
    exit_now(main())


def _collector_on() -> None:
    """The GC back on for the command, the start-up's objects frozen (see ``entry``)."""
    global _collector_held
    if _collector_held:
        _collector_held = False
        gc.freeze()
        gc.set_threshold(_YOUNG_OBJECTS, *gc.get_threshold()[1:])
        gc.enable()


def exit_now(code: int) -> None:
    """Exit without the interpreter's teardown, once nothing needs it: freeing every module and
    object of a run costs ~20 ms per command (a fifth of ``ps``). What the teardown would still do is
    done here: atexit hooks (weakref finalizers, temporary files) and the flush of our streams.
    A thread that is not a daemon is waited for by the normal exit instead, as is a stream that
    cannot be flushed (its error is reported as Python reports it)."""
    threading = sys.modules.get("threading")  # not imported: no thread was started through it
    if threading is not None:
        main_thread = threading.main_thread()
        if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
            sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code & 0xFF)


if __name__ == "__main__":  # pragma: no cover
    entry()
