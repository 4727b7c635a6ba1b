"""Validation, in two stages of the loader, with errors a user can act on.

* ``validate_schema(doc, positions)`` on the merged, interpolated document before
  canonicalisation: the compose-spec JSON schema (compose-go v2.9.1's, what Compose v2.40.3
  accepts; compose.loader.schema compiles it, compose.loader.schema_errors words its refusals)
  plus the value formats the schema leaves to the loader (compose.loader.formats). A failure
  names the file, line and column, the key path and what was expected, e.g.
  ``compose.yaml:12:9: services.web.ports[1]: "80:80:80:80" is not a valid port mapping``.
* ``check_consistency(project, positions)`` on the canonical model (compose.loader.consistency).
"""
from __future__ import annotations

from compose.loader.consistency import check_consistency, check_resources
from compose.loader.formats import check_duration, check_formats, check_size, parse_port_spec
from compose.loader.positioned import error_at
from compose.loader.schema import schema_is_valid
from compose.loader.schema_errors import schema_error
from compose.loader.yamlread import Positions, format_path

__all__ = ["validate_schema", "check_consistency", "check_resources", "format_path", "Positions",
           "check_duration", "parse_port_spec", "check_size", "schema_is_valid"]


def validate_schema(doc: dict, positions: Positions) -> None:
    """Check the merged, interpolated document against the compose-spec schema and the value formats.

    Raises ``LoadError`` naming file:line:col, the key path and what was expected.
    """
    if not isinstance(doc, dict):
        raise error_at("top-level object must be a mapping", (), positions)
    if not schema_is_valid(doc):
        error = schema_error(doc, positions)
        if error is not None:
            raise error
    check_formats(doc, positions)
