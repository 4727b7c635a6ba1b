"""The CLI entry point: version, help, unknown commands, no tracebacks."""
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "compose.cli.main", *args], capture_output=True, text=True)


def test_version_prints_version():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("pycompose version v")


def test_unknown_command_is_an_error_without_traceback():
    r = run("frobnicate")
    assert r.returncode == 1
    assert "unknown command" in r.stderr
    assert "Traceback" not in r.stderr


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("config", "up", "down", "container", "network"):
        assert f"  {cmd}" in r.stdout
