"""jsonschema's errors turned into one sentence a user can act on, at the first place in the files."""
from __future__ import annotations

import difflib
import json
import re
from typing import Any, Iterable

from compose.errors import LoadError
from compose.loader.positioned import show, where
from compose.loader.schema import is_type, load_schema, uniq_key, validator
from compose.loader.yamlread import Positions, format_path

_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
               "integer": "an integer", "boolean": "a boolean", "null": "null"}


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "object"))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for cls, name in _JSON_TYPES if isinstance(value, cls)), type(value).__name__)


def _deref(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = load_schema()["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _schema_types(schema: Any) -> list[str]:
    """The JSON types a (sub)schema can accept at its top level."""
    schema = _deref(schema)
    if not isinstance(schema, dict):
        return []
    if "type" in schema:
        return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            out: list[str] = []
            for sub in schema[key]:
                out += [t for t in _schema_types(sub) if t not in out]
            return out
    if "enum" in schema:
        return sorted({_json_type(e) for e in schema["enum"]})
    return []


def _accepts_type(schema: Any, value: Any) -> bool:
    types = _schema_types(schema)
    if not types:
        return True
    return any(is_type(value, t) for t in types)


def _words(types: list[str]) -> str:
    names = [_TYPE_WORDS.get(t, t) for t in types]
    if "a number" in names and "an integer" in names:
        names.remove("an integer")
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, [c for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _rank(err) -> tuple:
    """Sort key to pick the most useful error among several: deepest path first, then not a oneOf."""
    return (-len(err.absolute_path), err.validator in ("oneOf", "anyOf"))


def _explain(err) -> tuple[tuple, str, tuple]:
    """(position path, sentence, shown path) for one jsonschema error.

    oneOf/anyOf descend to the relevant branch. An unknown key is located at the key
    itself but shown with its parent's path, as the sentence already names it.
    """
    path, message = _sentence(err)
    if message.startswith(("additional propert", "invalid ")) and path and not isinstance(path[-1], int):
        return path, message, path[:-1]
    return path, message, path


def _sentence(err) -> tuple[tuple, str]:
    path = tuple(err.absolute_path)
    value = err.instance
    v = err.validator
    if v in ("oneOf", "anyOf"):
        branches: dict[int, list] = {}
        for sub in err.context or []:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        options = err.validator_value
        matching = [i for i, s in enumerate(options) if _accepts_type(s, value)]
        if not matching:
            types: list[str] = []
            for s in options:
                types += [t for t in _schema_types(s) if t not in types]
            return path, f"must be {_words(types)}" if types else "does not match any allowed form"
        failing = [i for i in matching if branches.get(i)]
        if not failing:
            return path, "is ambiguous: it matches more than one allowed form"
        # the branch whose errors go deepest is the one the user was writing
        best_branch = min(failing, key=lambda i: min(_rank(e) for e in branches[i]))
        best = min(branches[best_branch], key=_rank)
        return _sentence(best)
    if v == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return path, f"must be {_words(expected)}"
    if v == "additionalProperties":
        schema = err.schema
        allowed = list((schema.get("properties") or {}))
        patterns = [re.compile(p) for p in (schema.get("patternProperties") or {})]
        extra = [k for k in value if k not in allowed and not any(p.search(k) for p in patterns)]
        if not extra:
            return path, "has an additional property that is not allowed"
        key = extra[0]
        if not allowed and patterns:  # a name map: services, volumes, ...
            what = {"services": "service", "volumes": "volume", "networks": "network", "secrets": "secret",
                    "configs": "config", "models": "model"}.get(str(path[-1]) if path else "", "key")
            return path + (key,), (f'invalid {what} name "{key}": only letters, digits, ".", "_" and "-" '
                                   "are allowed")
        if len(extra) == 1:
            return path + (key,), f'additional property "{key}" is not allowed{_did_you_mean(key, allowed)}'
        names = ", ".join(f'"{k}"' for k in extra)
        return path + (key,), f"additional properties {names} are not allowed{_did_you_mean(key, allowed)}"
    if v == "enum":
        opts = ", ".join(json.dumps(o) for o in err.validator_value)
        return path, f"must be one of: {opts} (got {show(value)})"
    if v == "const":
        return path, f"must be {json.dumps(err.validator_value)}"
    if v == "required":
        missing = [r for r in err.validator_value if isinstance(value, dict) and r not in value]
        name = missing[0] if missing else err.validator_value[0]
        return path, f'missing required property "{name}"'
    if v == "minimum":
        return path, f"must be greater than or equal to {err.validator_value} (got {show(value)})"
    if v == "maximum":
        return path, f"must be less than or equal to {err.validator_value} (got {show(value)})"
    if v == "uniqueItems":
        seen: dict = {}
        for i, item in enumerate(value):
            k = uniq_key(item)
            if k in seen:
                return path + (i,), f"duplicate entry {show(item)} (already at {format_path(path + (seen[k],))})"
            seen[k] = i
        return path, "must not contain duplicate entries"
    if v == "pattern":
        if path and path[-1] == "pull_policy":
            return path, (f'{show(value)} is not a valid pull policy: use always, never, missing, build, '
                          "if_not_present, refresh, daily, weekly or every_<duration>")
        if path and path[-1] == "container_name":
            return path, (f"{show(value)} is not a valid container name: it must start with a letter or "
                          'digit and contain only letters, digits, "_", "." and "-"')
        return path, f"{show(value)} does not match the pattern {err.validator_value}"
    if v in ("minItems", "maxItems", "minLength", "minProperties"):
        return path, f"{v} {err.validator_value} not satisfied"
    if v == "not":
        return path, f"{show(value)} is not allowed here"
    return path, err.message


def _first_by_position(errors: list, positions: Positions | None):
    """The error appearing first in the files (then the deepest one): what a reader meets first."""
    def key(item):
        path, _msg, _shown, err = item
        file, line, col = where(positions, path)
        return (file or "", line or 0, col or 0, _rank(err))

    return min(errors, key=key)


def _string_keys(value: Any) -> Any:
    """YAML allows ``1: x`` as a key; Compose reads every key as a string, and so does jsonschema here."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def schema_error(doc: dict, positions: Positions | None) -> LoadError | None:
    """The error to report for a document the schema refuses: the one met first in the files."""
    errors = list(validator().iter_errors(_string_keys(doc)))
    if not errors:
        return None
    explained = [(*_explain(e), e) for e in errors]
    path, message, shown, _ = _first_by_position(explained, positions)
    file, line, column = where(positions, path)
    return LoadError(message, file=file, line=line, column=column, path=format_path(shown) or None)
