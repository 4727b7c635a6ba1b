"""From a Project to the files of the chosen layout (kustomize, plain or helm), in memory.

WHY a separate step: the CLI and the tests call the same function, and nothing touches the
disk until every file has been rendered.
"""
from __future__ import annotations

from compose.kube.context import Options
from compose.kube.convert import Bundle, convert
from compose.kube.helm import helm_files
from compose.kube.kustomize import kustomize_files, plain_files
from compose.kube.output import header

FORMATS = ("kustomize", "plain", "helm")


def render(project, options: Options) -> tuple[dict[str, str], Bundle]:
    """``(relative path -> text, bundle)`` for ``project`` (a compose.project.Project)."""
    bundle = convert(project.name, project.model, project.environment, options)
    head = header(project.config_files, project.working_dir, project.name)
    if options.format == "plain":
        return plain_files(bundle, head), bundle
    if options.format == "helm":
        return helm_files(bundle, head, project.name), bundle
    return kustomize_files(bundle, head), bundle
