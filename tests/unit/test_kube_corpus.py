"""Every valid project of the compose oracle corpus converts and validates strictly.

The corpus (../shared/oracle/corpus, next to the repository) holds the projects Docker
Compose v2.40.3 accepted (expected.json recorded); each is converted in-process with the
case's global arguments, environment and working directory, as tests/unit/test_oracle.py
runs them, and every file written is parsed back and validated against the newest
Kubernetes schemas (kubernetes-validate, strict: no unknown fields). Three passes: the
defaults (kustomize), plain files with --allow-hostpath --stateful --publish nodeport, and the
Helm chart rendered with its values (test_kube_support.helm_template).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from compose.kube.context import Options
from compose.kube.render import render
from test_kube_support import helm_template, load_dir, validate

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "oracle" / "corpus"


def valid_cases() -> list[Path]:
    assert CORPUS.is_dir(), f"the oracle corpus is missing: {CORPUS}"
    return sorted(p.parent for p in CORPUS.glob("*/*/expected.json") if (p.parent / "cmd.json").is_file())


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _objects(files: dict[str, str]) -> list[tuple[str, dict]]:
    out = []
    for rel, text in sorted(files.items()):
        for doc in yaml.load_all(text, Loader=_LOADER):
            if doc and doc.get("kind") != "Kustomization":
                out.append((rel, doc))
    return out


def _load_case(case: Path):
    meta = json.loads((case / "cmd.json").read_text())
    env = dict(meta["env"])
    env.update(meta.get("extra_env") or {})
    cwd = os.path.normpath(os.path.join(case, meta.get("workdir", ".")))
    return load_dir(cwd, meta["global_args"], environ=env)


def _convert_case(case: Path, **opts):
    return render(_load_case(case), Options(**opts))


def test_every_valid_corpus_project_converts_and_validates():
    cases = valid_cases()
    assert len(cases) > 400
    failures, converted, objects = [], 0, 0
    checked: dict[str, list[str]] = {}   # many projects yield identical objects: validate each once
    for case in cases:
        try:
            project = _load_case(case)
        except Exception as e:  # noqa: BLE001 - docker compose accepted it, so must we
            failures.append(f"{case.relative_to(CORPUS)}: load: {type(e).__name__}: {e}")
            continue
        for opts in ({}, {"format": "plain", "allow_hostpath": True, "stateful": True, "publish": "nodeport"},
                     {"format": "helm"}):
            try:
                files, _bundle = render(project, Options(**opts))
                if opts.get("format") == "helm":
                    rendered = [("helm", d) for d in helm_template(files)]
                else:
                    rendered = _objects(files)
            except Exception as e:  # noqa: BLE001 - any exception is a failure of this case
                failures.append(f"{case.relative_to(CORPUS)} {opts}: {type(e).__name__}: {e}")
                continue
            ids = [(o["kind"], o["metadata"]["name"]) for rel, o in rendered
                   if not rel.startswith("overlays/")]        # overlay files are patches of base objects
            if len(ids) != len(set(ids)):
                failures.append(f"{case.relative_to(CORPUS)} {opts}: two objects share a name: "
                                f"{sorted(i for i in ids if ids.count(i) > 1)}")
            for rel, obj in rendered:
                objects += 1
                key = json.dumps(obj, sort_keys=True)
                if key not in checked:
                    checked[key] = validate(obj)
                for err in checked[key]:
                    failures.append(f"{case.relative_to(CORPUS)} {opts} {rel}: {err}")
        converted += 1
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:40])
    print(f"\n{converted} corpus projects converted and validated ({objects} objects)")
