"""``pycompose image|container|volume|network``: the Docker engine's verbs, flags and columns.

Each module follows compose/cli/main.py's contract (``add_arguments``, ``run``);
``engine.cli.common`` holds the shared table/format/size helpers.
"""

__all__: list[str] = []  # a package of modules: compose/cli/main.py loads each verb module by name
