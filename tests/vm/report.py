"""Print every test the cgroup v2 guest ran, with its result, from its junit XML files.

Usage: report.py RESULTS_DIR  (written by tests/vm/guest-run.sh). Exit 1 when a test
failed or a layout has no results (the guest died before writing them).
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LAYOUTS = ("top", "delegated")


def outcome(case: ET.Element) -> str:
    for tag, word in (("failure", "FAILED"), ("error", "ERROR"), ("skipped", "SKIPPED")):
        el = case.find(tag)
        if el is not None:
            msg = (el.get("message") or "").splitlines()
            return f"{word}: {msg[0][:150]}" if msg and word != "FAILED" else word
    return "passed"


def main(results: Path) -> int:
    bad = 0
    for layout in LAYOUTS:
        xml = results / f"junit-{layout}.xml"
        if not xml.exists():
            print(f"[{layout}] no results: the guest did not finish this run")
            bad += 1
            continue
        counts: dict[str, int] = {}
        print(f"cgroup v2 guest, {layout} layout:")
        for case in ET.parse(xml).getroot().iter("testcase"):
            res = outcome(case)
            word = res.split(":")[0].lower()
            counts[word] = counts.get(word, 0) + 1
            name = f"{case.get('file') or case.get('classname', '').replace('.', '/') + '.py'}::{case.get('name')}"
            print(f"  {res.split(':')[0]:<8} {name}{res[len(res.split(':')[0]):]}")
            if word in ("failed", "error"):
                bad += 1
        print(f"  [{layout}] " + ", ".join(f"{n} {w}" for w, n in sorted(counts.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
