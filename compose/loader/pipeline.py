"""The loader pipeline: compose files in, one Project out, through named stages in Compose's order.

WHY one orchestrating module: every stage module stays a pure function of its inputs; the
order, what each file sees (its environment, its base directory) and which stages run are
decided here only. Three lists of stages (compose.loader.stages), each skippable by name:

* per document: interpolate, extends, resets, include, merge, validate, canonical;
* per project, once every file is merged: defaults, resources, paths, environment, normalize;
* on the typed model (compose.loader.model_stages): typing, profiles, consistency,
  service_files, select, deploy, unused_resources, extensions.

``LoadOptions.skip`` names stages to skip; the ``config`` flags map onto it
(compose.loader.stages.skipped_by_options).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from compose.errors import LoadError
from compose.loader import LoadOptions, warn
from compose.loader.canonical import canonical, omit_empty, set_defaults
from compose.loader.discover import project_name, resolve_setup
from compose.loader.extends import apply_extends, apply_resets
from compose.loader.include import apply_include
from compose.loader.interpolate import InvalidTemplate, MissingRequired, Warner, interpolate, substitute
from compose.loader.locate import locate
from compose.loader.merge import enforce_unicity, merge
from compose.loader.model_stages import MODEL_STAGES, ModelState
from compose.loader.normalize import normalize, resolve_environment, resolve_relative_paths
from compose.loader.stages import Stage, run_stages, skipped_by_options
from compose.loader.validate import check_resources, validate_schema
from compose.loader.yamlread import Document, Positions, read_documents
from compose.project import Project

# what an extends base file goes through: its own documents only, checked where it is used
_BASE_FILE_SKIPS = frozenset({"extends", "include", "validate"})
_INCLUDED_SKIPS = frozenset({"not_empty", "normalize"})


class _Ctx:
    """What every file of one load shares: options, project environment, warnings, positions."""

    def __init__(self, options: LoadOptions, env: dict[str, str], warner, documents: list):
        self.options = options
        self.env = env
        self.warner = warner
        self.skip = skipped_by_options(options)
        self.positions: Positions = {}
        self.documents = documents  # (filename, Document) read so far: positions for errors


def _read_content(path: str, options: LoadOptions) -> bytes:
    if path == "-":
        stream = options.stdin if options.stdin is not None else sys.stdin
        data = stream.read()
        return data.encode() if isinstance(data, str) else data
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise LoadError(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise LoadError(f"read {path}: is a directory") from None
    except PermissionError:
        raise LoadError(f"open {path}: permission denied") from None


# ----------------------------------------------------------------- document stages


@dataclass
class _DocStep:
    """One YAML document on its way into the accumulated project document ``acc``."""

    data: dict
    doc: Document
    filename: str
    acc: dict
    env: dict
    working_dir: str
    included: list
    ctx: _Ctx


def _interpolate(s: _DocStep) -> None:
    s.data = interpolate(s.data, s.env.get, s.ctx.warner, s.doc.positions)


def _extends(s: _DocStep) -> None:
    apply_extends(s.data, s.filename, s.working_dir, lambda p: _read_extends_base(p, s.env, s.ctx),
                  s.doc.reset_paths)


def _resets(s: _DocStep) -> None:
    apply_resets(s.acc, s.doc.reset_paths)


def _include(s: _DocStep) -> None:
    apply_include(s.data, s.working_dir, s.env, s.included + [s.filename],
                  lambda files, wd, e, inc: _load_included(files, wd, e, inc, s.ctx))


def _merge(s: _DocStep) -> None:
    s.acc = enforce_unicity(merge(s.acc, s.data))
    s.ctx.positions.update(s.doc.positions)


def _validate(s: _DocStep) -> None:
    validate_schema(s.acc, s.ctx.positions)
    if "version" in s.acc:
        warn(f"{s.filename}: the attribute `version` is obsolete, it will be ignored, "
             "please remove it to avoid potential confusion")
        del s.acc["version"]


def _canonical(s: _DocStep) -> None:
    s.acc = enforce_unicity(omit_empty(canonical(s.acc, lenient="interpolate" in s.ctx.skip)))


DOCUMENT_STAGES = (
    Stage("interpolate", _interpolate),
    Stage("extends", _extends),
    Stage("resets", _resets),
    Stage("include", _include),
    Stage("merge", _merge),
    Stage("validate", _validate),
    Stage("canonical", _canonical),
)


def _process_documents(docs, filename: str, acc: dict, env: dict, working_dir: str, ctx: _Ctx,
                       included: list[str], skip: frozenset[str] = frozenset()) -> dict:
    """Every document of one file through DOCUMENT_STAGES into ``acc`` (returned)."""
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            raise LoadError("top-level object must be a mapping", file=filename)
        step = _DocStep(doc.data, doc, filename, acc, env, working_dir, included, ctx)
        acc = run_stages(DOCUMENT_STAGES, step, ctx.skip | skip).acc
    return acc


def _read_file(path: str, ctx: _Ctx) -> list[Document]:
    docs = read_documents(_read_content(path, ctx.options), path)
    ctx.documents.extend((path, d) for d in docs)
    return docs


def _read_extends_base(path: str, env: dict, ctx: _Ctx):
    docs = _read_file(path, ctx)
    acc = _process_documents(docs, path, {}, env, os.path.dirname(path), ctx, [], _BASE_FILE_SKIPS)
    services = acc.get("services")
    if not isinstance(services, dict):
        raise LoadError(f"cannot extend service in {path}: no services section")
    resolve_relative_paths(acc, os.path.dirname(path))
    resets = [p for d in docs for p in d.reset_paths]
    return services, resets


def _load_included(files: list[str], working_dir: str, env: dict, included: list[str], ctx: _Ctx) -> dict:
    acc: dict = {}
    for f in files:
        acc = _process_documents(_read_file(f, ctx), f, acc, env, working_dir, ctx, included)
    # an included project is complete in itself (paths relative to its own directory); the
    # including project normalises it with everything else
    return _finish_document(acc, working_dir, env, None, _INCLUDED_SKIPS)


# ----------------------------------------------------------------- project stages


@dataclass
class _ProjectStep:
    doc: dict
    working_dir: str
    env: dict
    name: str | None


def _normalize(s: _ProjectStep) -> None:
    s.doc["name"] = s.name
    normalize(s.doc, s.env)


PROJECT_STAGES = (
    Stage("defaults", lambda s: set_defaults(s.doc)),
    Stage("resources", lambda s: check_resources(s.doc)),
    Stage("paths", lambda s: resolve_relative_paths(s.doc, s.working_dir)),
    Stage("environment", lambda s: resolve_environment(s.doc, s.env)),
    Stage("not_empty", lambda s: _not_empty(s.doc)),
    Stage("normalize", _normalize),
)


def _not_empty(doc: dict) -> None:
    if not doc:
        raise LoadError("empty compose file")


def _finish_document(acc: dict, working_dir: str, env: dict, name: str | None, skip: frozenset[str]) -> dict:
    """The merged document of every file through PROJECT_STAGES."""
    return run_stages(PROJECT_STAGES, _ProjectStep(acc, working_dir, env, name), skip).doc


# ----------------------------------------------------------------- run


def _names_in_files(parsed: list) -> list[str]:
    names = []
    for _fname, docs in parsed:
        if isinstance(docs, LoadError):
            continue
        for d in docs:
            if isinstance(d.data, dict) and isinstance(d.data.get("name"), str):
                names.append(d.data["name"])
    return names


def run(options: LoadOptions) -> Project:
    """The loader; every LoadError leaves with a position (compose.loader.locate)."""
    documents: list = []  # (filename, Document) of every file read, for error positions
    try:
        return _run(options, documents)
    except LoadError as e:
        located = locate(e, documents, options)
        if located is e:
            raise
        raise located from None


def _run(options: LoadOptions, documents: list) -> Project:
    environ = dict(os.environ if options.environ is None else options.environ)
    cwd = os.path.abspath(options.cwd or os.getcwd())
    files, working_dir, env, env_files = resolve_setup(options.files, options.project_directory,
                                                       options.env_files, environ, cwd, warn)
    parsed = []
    for f in files:
        try:
            parsed.append((f, read_documents(_read_content(f, options), f)))
            documents.extend([(f, d) for d in parsed[-1][1]] or [(f, Document(None))])
        except LoadError as e:  # reported when the file is processed, after the name
            parsed.append((f, e))
    ctx = _Ctx(options, env, Warner(), documents)
    name = _project_name(options, env, parsed, working_dir, ctx)
    env["COMPOSE_PROJECT_NAME"] = name
    acc: dict = {}
    for fname, docs in parsed:
        if isinstance(docs, LoadError):
            raise docs
        acc = _process_documents(docs, fname, acc, env, working_dir, ctx, [])
    doc = _finish_document(acc, working_dir, env, name, ctx.skip)
    doc.pop("name", None)
    project = dict(name=name, working_dir=working_dir, config_files=files, environment=env, env_files=env_files)
    if "typing" in ctx.skip:
        # `config --no-interpolate` prints the raw model, untyped (as Compose does)
        return Project(**project, model={"name": name, **doc}, profiles=list(options.profiles),
                       all_services=sorted((doc.get("services") or {})))
    st = ModelState(doc, name, env, ctx.positions, list(options.profiles), list(options.services), ctx.skip)
    run_stages(MODEL_STAGES, st, ctx.skip)
    return Project(**project, model=st.model, model_with_extensions=st.yaml_source,
                   profiles=[p for p in st.profiles if p], all_services=sorted(st.all_services),
                   disabled_services=st.disabled)


def _project_name(options: LoadOptions, env: dict, parsed: list, working_dir: str, ctx: _Ctx) -> str:
    """-p, COMPOSE_PROJECT_NAME, the files' ``name:`` (interpolated) or the directory's name."""
    def interp_name(raw: str) -> str:
        if "interpolate" in ctx.skip:
            return raw
        try:
            return substitute(raw, env.get, ctx.warner)
        except (InvalidTemplate, MissingRequired) as e:
            raise LoadError(f"error while interpolating name: {e}") from None

    name = project_name(options.project_name, env, _names_in_files(parsed), working_dir,
                        interp_name, "normalize" not in ctx.skip)
    if not name:
        raise LoadError("project name must not be empty")
    return name
