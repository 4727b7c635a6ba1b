"""``pycompose bridge convert``: the project as Kubernetes manifests, like ``docker compose bridge convert``.

WHY in pycompose: the model is already resolved exactly as Docker Compose resolves it, so the
conversion needs no Docker Desktop and no transformer image, and ``compose.kube`` writes the
same layout (``out/base`` plus a kustomize overlay in ``out/overlays/desktop``).
"""
from __future__ import annotations

import os
import sys

HELP = "Convert compose files to Kubernetes manifests, Helm charts, or another model"


def add_arguments(parser, command):
    sub = parser.add_subparsers(dest="bridge_command", metavar="COMMAND")
    sub.required = True
    conv = sub.add_parser("convert", prog="pycompose bridge convert",
                          help="Convert compose files to Kubernetes manifests",
                          description="Convert compose files to Kubernetes manifests, a kustomize overlay "
                                      "or a Helm chart")
    conv.add_argument("-o", "--output", default="out", help='The output directory for the Kubernetes '
                      'resources (default "out")')
    conv.add_argument("--namespace", default=None, help="Kubernetes namespace (default: the project name)")
    conv.add_argument("--format", choices=["kustomize", "plain", "helm"], default="kustomize",
                      help="kustomize: base/ + overlays/desktop/ (default); plain: one directory; helm: a chart")
    conv.add_argument("--publish", choices=["loadbalancer", "nodeport"], default="loadbalancer",
                      help="Service type for published ports (default loadbalancer)")
    conv.add_argument("--stateful", action="store_true",
                      help="Run single-replica services with named volumes as StatefulSets")
    conv.add_argument("--allow-hostpath", action="store_true",
                      help="Map bind mounts to hostPath volumes (refused by default)")


def options_from(args):
    from compose.errors import UsageError
    from compose.kube.context import Options
    from compose.kube.names import is_dns_label

    if args.namespace is not None and not is_dns_label(args.namespace):
        raise UsageError(f"--namespace {args.namespace!r}: a namespace is a DNS label "
                         "(lower case a-z, 0-9 and '-', at most 63 characters)")
    return Options(namespace=args.namespace, format=args.format, publish=args.publish,
                   stateful=args.stateful, allow_hostpath=args.allow_hostpath)


def run(args, gopts) -> int:
    from compose.kube.output import write
    from compose.kube.render import render
    from compose.loader import LoadOptions, load

    options = options_from(args)
    project = load(LoadOptions.from_global(gopts))
    files, bundle = render(project, options)
    for line in bundle.warnings:
        sys.stderr.write(f"WARN[0000] {line}\n")
    out_dir = args.output
    write(files, out_dir)
    for rel in sorted(files):
        print(f"Kubernetes resource {os.path.join(out_dir, rel)} created")
    return 0
