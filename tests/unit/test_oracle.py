"""`pycompose config` against Docker Compose v2.40.3's recorded output (../shared/oracle).

Every corpus case (config --format json, --services, --volumes, --images) runs through
the oracle's own comparison code. To keep the unit suite fast, the candidate runs
in-process (``compose.cli.main.main`` with the case's environment, working directory
and argv) instead of one subprocess per check: the same code path minus interpreter
start-up. The number of failures may never grow past KNOWN_FAILURES (ideally empty;
each entry says why).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPARE = os.path.normpath(os.path.join(ROOT, "..", "shared", "oracle", "compare.py"))

# case id -> why it still fails
KNOWN_FAILURES: dict[str, str] = {}


def _in_process_run(argv, cwd, env, timeout):
    """Stand-in for compare.run: runs pycompose's main() in this process."""
    from compose.cli import main as cli
    import compose.loader as loader

    loader._warned.clear()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli.main(argv[1:])
            except SystemExit as e:  # pragma: no cover - main() returns codes
                rc = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.skipif(not os.path.exists(COMPARE), reason="../shared/oracle is not present")
@pytest.mark.timeout(900)
def test_config_matches_docker_compose_oracle(monkeypatch):
    spec = importlib.util.spec_from_file_location("oracle_compare", COMPARE)
    compare = importlib.util.module_from_spec(spec)
    sys.modules["oracle_compare"] = compare
    spec.loader.exec_module(compare)
    monkeypatch.setattr(compare, "run", _in_process_run)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        compare.main(["--cmd", "pycompose {args}", "--lists", "-q", "-j", "1"])
    out = buf.getvalue()
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    assert m, out[-3000:]
    failed = sorted({line.split()[1] for line in out.splitlines() if line.startswith("FAIL ")})
    unexpected = [c for c in failed if c not in KNOWN_FAILURES]
    assert not unexpected, "new oracle failures:\n" + "\n".join(
        line for line in out.splitlines() if line.startswith("FAIL "))
    assert int(m.group(2)) <= len(KNOWN_FAILURES)
