"""Which files, which project directory, which environment and which project name.

WHY Compose's exact precedence: ``-f`` beats ``COMPOSE_FILE`` beats the default names
(looked up from the working directory upwards, with their ``override`` file);
``--project-directory`` beats the first file's directory; the OS environment beats
``.env``; ``-p`` beats ``COMPOSE_PROJECT_NAME`` beats a top-level ``name:`` beats the
directory name. Users rely on each of these to pick their project.
"""
from __future__ import annotations

import os
import re

from compose.errors import LoadError
from compose.loader.dotenv import read_env_files

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml",
                  "docker-compose.override.yml", "docker-compose.override.yaml")

_NAME_CHARS = re.compile(r"[a-z0-9_-]")


def normalize_project_name(name: str) -> str:
    """Lowercase, keep [a-z0-9_-], strip leading '_' and '-' (Compose's NormalizeProjectName)."""
    return "".join(_NAME_CHARS.findall(name.lower())).lstrip("_-")


def invalid_name_error(name: str) -> LoadError:
    return LoadError(f"invalid project name {name!r}: must consist only of lowercase alphanumeric "
                     "characters, hyphens, and underscores as well as start with a letter or number")


def first_file_dir(files: list[str], cwd: str) -> str:
    for f in files:
        if f != "-":
            return os.path.dirname(os.path.abspath(os.path.join(cwd, f)))
    return cwd


def find_default_files(start: str, warn) -> list[str]:
    """compose.yaml & co. from ``start`` upwards, plus the matching override file."""
    d = start
    while True:
        found = [os.path.join(d, n) for n in DEFAULT_FILES if os.path.exists(os.path.join(d, n))]
        if found:
            if len(found) > 1 and warn:
                warn(f"Found multiple config files with supported names: {', '.join(found)}")
                warn(f"Using {found[0]}")
            out = [found[0]]
            overrides = [os.path.join(d, n) for n in OVERRIDE_FILES if os.path.exists(os.path.join(d, n))]
            if overrides:
                if len(overrides) > 1 and warn:
                    warn(f"Found multiple override files with supported names: {', '.join(overrides)}")
                    warn(f"Using {overrides[0]}")
                out.append(overrides[0])
            return out
        parent = os.path.dirname(d)
        if parent == d:
            return []
        d = parent


def _default_env_files(explicit: list[str], wd: str, environ: dict) -> list[str] | None:
    if explicit:
        return list(explicit)
    disable = environ.get("COMPOSE_DISABLE_ENV_FILE")
    if disable is not None and disable.lower() in ("1", "t", "true"):
        return None
    p = os.path.join(wd, ".env")
    if os.path.isfile(p):
        return [p]
    return None


def resolve_setup(files: list[str], project_directory: str | None, env_files: list[str],
                  environ: dict[str, str], cwd: str, warn=None):
    """-> (config files (absolute, or '-'), working dir, environment, env files used)."""
    env = dict(environ)
    if "PWD" not in env:
        env["PWD"] = cwd
    explicit_env = [f if os.path.isabs(f) else os.path.abspath(os.path.join(cwd, f)) for f in env_files]
    if not explicit_env and environ.get("COMPOSE_ENV_FILES"):
        explicit_env = [f if os.path.isabs(f) else os.path.abspath(os.path.join(cwd, f))
                        for f in environ["COMPOSE_ENV_FILES"].split(",") if f]
    wd_fixed = os.path.abspath(os.path.join(cwd, project_directory)) if project_directory else None
    config = list(files)

    def working_dir():
        return wd_fixed or first_file_dir(config, cwd)

    used = _default_env_files(explicit_env, working_dir(), environ) or []
    for k, v in read_env_files(used, env).items():
        env.setdefault(k, v)
    if not config and "COMPOSE_FILE" in env:
        sep = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        for f in env["COMPOSE_FILE"].split(sep):
            if f == "-":
                config.append(f)
                continue
            p = os.path.abspath(os.path.join(cwd, f))
            if not os.path.exists(p):
                raise LoadError(f"stat {p}: no such file or directory")
            config.append(p)
    if not config:
        config = find_default_files(working_dir(), warn)
        if not config:
            raise LoadError("no configuration file provided: not found")
    again = _default_env_files(explicit_env, working_dir(), environ)
    if again is not None and again != used:
        for k, v in read_env_files(again, env).items():
            env.setdefault(k, v)
        used = again
    out_files = [f if f == "-" else os.path.abspath(os.path.join(cwd, f)) for f in config]
    return out_files, working_dir(), env, used


def project_name(explicit: str | None, env: dict[str, str], names_in_files: list[str],
                 working_dir: str, interpolate_name, normalize: bool = True) -> str:
    """Compose's precedence for the project name (see module doc)."""
    if explicit:
        if normalize_project_name(explicit) != explicit:
            raise invalid_name_error(explicit)
        return explicit
    from_env = env.get("COMPOSE_PROJECT_NAME")
    if from_env:
        if normalize_project_name(from_env) != from_env:
            raise invalid_name_error(from_env)
        return from_env
    raw = ""
    for n in names_in_files:
        if n:
            raw = n
    if raw:
        name = interpolate_name(raw) if interpolate_name else raw
        if normalize:
            name = normalize_project_name(name)
        if name:
            return name
    return normalize_project_name(os.path.basename(working_dir.rstrip("/")) or "")
