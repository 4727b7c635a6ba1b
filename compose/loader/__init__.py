"""The compose loader: compose files in, one ``Project`` out.

Public API (stable, used by the orchestration side)::

    from compose.loader import LoadOptions, load
    project = load(LoadOptions(files=["compose.yaml"], project_name=None, profiles=[]))
    project.model        # the dict `pycompose config --format json` prints
    project.services     # name -> service dict (same shapes as in model)

The stages, each a pure function in its own module, run in Compose's order as named lists
(compose.loader.pipeline): per document interpolate, extends, resets, include, merge,
validate, canonical; per project defaults, resources, paths, environment, not_empty,
normalize; on the typed model typing, profiles, consistency, service_files, select, deploy,
unused_resources, extensions. ``LoadOptions.skip`` switches stages off by name.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

__all__ = ["LoadOptions", "load", "load_dict", "warn"]

_warned: set[str] = set()


def warn(message: str) -> None:
    """One warning line on stderr (Compose's logrus format), each message once."""
    if message in _warned:
        return
    _warned.add(message)
    sys.stderr.write(f'WARN[0000] {message} \n')


@dataclass
class LoadOptions:
    """What the CLI's global options (and ``config``'s flags) ask of the loader."""

    files: list[str] = field(default_factory=list)          # -f (repeatable, "-" = stdin)
    project_name: str | None = None                         # -p
    project_directory: str | None = None                    # --project-directory
    env_files: list[str] = field(default_factory=list)      # --env-file (repeatable)
    profiles: list[str] = field(default_factory=list)       # --profile (repeatable)
    services: list[str] = field(default_factory=list)       # services named on the command line
    compatibility: bool = False
    interpolate: bool = True
    normalize: bool = True
    resolve_paths: bool = True
    consistency: bool = True
    resolve_env_files: bool = True    # env_file contents into environment (and env_file dropped)
    all_resources: bool = False       # keep networks/volumes/... no service uses
    skip: frozenset[str] = frozenset()      # stage names not to run (compose.loader.pipeline)
    environ: dict[str, str] | None = None   # default: os.environ
    cwd: str | None = None                  # default: os.getcwd()
    stdin: object = None                    # default: sys.stdin (for "-f -")

    @classmethod
    def from_global(cls, gopts, **overrides) -> "LoadOptions":
        """From compose.cli.main.GlobalOptions."""
        return cls(files=list(gopts.files), project_name=gopts.project_name,
                   project_directory=gopts.project_directory, env_files=list(gopts.env_files),
                   profiles=list(gopts.profiles), compatibility=getattr(gopts, "compatibility", False),
                   **overrides)


def load(options: LoadOptions):
    """Load the project described by ``options`` -> compose.project.Project."""
    from compose.loader.pipeline import run

    return run(options)


def load_dict(options: LoadOptions) -> dict:
    """The model only (``config --format json``)."""
    return load(options).model
