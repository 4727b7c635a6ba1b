"""10,000 generated compose documents (schema-shaped, and near-valid: one thing broken) through
the whole loader: each loads, or fails with a LoadError that says where (file:line:col); never
a traceback. Hypothesis draws one seed per document (composed strategies cost ~50 ms a document,
a seeded generator ~0.5 ms) and is derandomized, so a failure reproduces; the figures are
printed at the end."""
from __future__ import annotations

import collections
import os
import random
import tempfile
import traceback

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import ComposeError, LoadError
from compose.loader import LoadOptions, load
from compose_fuzzdocs import near_valid

CASES = int(os.environ.get("PYCOMPOSE_FUZZ_DOCS", "10000"))
ENV = {"VAR": "value", "NAME": "fuzzproj", "IMG": "busybox"}
seen: collections.Counter = collections.Counter()
bad: list[str] = []


def _load(workdir: str, text: str) -> None:
    path = os.path.join(workdir, "compose.yaml")
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)
    load(LoadOptions(files=[path], project_name="fuzz", environ=dict(ENV), cwd=workdir))


def test_generated_documents_load_or_fail_with_a_position():
    workdir = tempfile.mkdtemp(prefix="pyc-loader-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    seen.clear()
    bad.clear()

    @settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 2**64))
    def one(seed):
        text, kind = near_valid(random.Random(seed))
        try:
            _load(workdir, text)
            seen[f"{kind}: loaded"] += 1
        except LoadError as e:
            seen[f"{kind}: LoadError"] += 1
            if not (e.file and e.line is not None and e.column is not None):
                seen["errors without a position"] += 1
                bad.append(f"no position: {e}\n--- document ({kind}):\n{text}")
        except ComposeError as e:
            seen["errors without a position"] += 1
            bad.append(f"{type(e).__name__} (not a LoadError): {e}\n--- document ({kind}):\n{text}")
        except Exception:  # noqa: BLE001 - exactly what this test hunts
            seen["tracebacks"] += 1
            bad.append(f"{traceback.format_exc()}\n--- document ({kind}):\n{text}")

    try:
        one()
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    total = sum(v for k, v in seen.items() if k.endswith(("loaded", "LoadError")))
    print(f"\nloader fuzz: {total} documents; " + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
    assert not bad, f"{len(bad)} of {total} documents failed; first:\n" + "\n\n".join(bad[:3])
