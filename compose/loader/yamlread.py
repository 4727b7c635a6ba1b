"""Read compose YAML the way Docker Compose (go-yaml v3) does, keeping node positions.

WHY our own node walk instead of ``yaml.safe_load``: PyYAML speaks YAML 1.1 (``yes`` is a
bool, ``22:22`` a base-60 int, ``0777``-only octals) while Compose's go-yaml v3 speaks
(mostly) YAML 1.2; Compose also gives ``!reset``/``!override`` a meaning and refuses
duplicate keys. Walking the composed nodes gives all of that plus the file:line:col of
every key and list item, which the validator needs for its error messages. Parsing
itself stays in libyaml (CParser) for speed.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from compose.errors import LoadError

Positions = dict[tuple, tuple[str, int, int]]
"""YAML key path (str keys, int list indexes) -> (file, 1-based line, 1-based column)."""

_PLAIN = "!pycompose-plain"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

try:  # libyaml when available: parsing 500 services must stay well under a second
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - pure Python fallback
    from yaml.parser import Parser as _Parser  # type: ignore
    from yaml.reader import Reader
    from yaml.scanner import Scanner
    from yaml.composer import Composer

    class _Parser(Reader, Scanner, _Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            Composer.__init__(self)


class _Resolver(yaml.resolver.BaseResolver):
    """Marks plain scalars so the walk below resolves them with YAML 1.2 rules."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        if kind is SequenceNode:
            return _SEQ
        return _MAP


class _Composer(_Parser, _Resolver):
    def __init__(self, stream):
        _Parser.__init__(self, stream)
        _Resolver.__init__(self)


_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT_RE = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64) after dropping '_' (what go-yaml v3 does)."""
    plain = text.replace("_", "")
    if not _INT_RE.match(plain):
        return None
    sign = -1 if plain.startswith("-") else 1
    body = plain.lstrip("+-")
    low = body.lower()
    if low.startswith("0x"):
        v = int(body[2:], 16)
    elif low.startswith("0o"):
        v = int(body[2:], 8)
    elif low.startswith("0b"):
        v = int(body[2:], 2)
    elif len(body) > 1 and body.startswith("0"):
        v = int(body[1:], 8)
    else:
        v = int(body)
    v *= sign
    if -(2**63) <= v < 2**64:
        return v
    return None


def resolve_plain(text: str):
    """Value of a plain (unquoted) scalar under go-yaml v3's rules."""
    if text in _NULLS:
        return None
    c = text[0]
    if c in "tTfF":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if c in "+-0123456789.":
        if c == "." or c in "+-" and text[1:2] == ".":
            low = text.lower()
            if low in (".inf", "+.inf"):
                return math.inf
            if low == "-.inf":
                return -math.inf
            if low == ".nan":
                return math.nan
        v = _go_int(text)
        if v is not None:
            return v
        plain = text.replace("_", "")
        if _FLOAT_RE.match(plain):
            return float(plain)
        return text
    return text


@dataclass
class Document:
    """One YAML document of a compose file."""

    data: object
    positions: Positions = field(default_factory=dict)
    # paths (tuples of str, list indexes as str, "*" never) tagged !reset / !override
    reset_paths: list[tuple] = field(default_factory=list)


MAX_NODES = 1_000_000  # values built for one document, aliases expanded (a "billion laughs" stops here)


class _Walker:
    def __init__(self, filename: str):
        self.filename = filename
        self.positions: Positions = {}
        self.reset_paths: list[tuple] = []
        self.open: set[int] = set()  # collections being built: an alias back to one of them is a cycle
        self.built = 0

    def error(self, node, message: str, path: tuple = ()) -> LoadError:
        mark = node.start_mark
        return LoadError(message, file=self.filename, line=mark.line + 1, column=mark.column + 1,
                         path=format_path(path) if path else None)

    def pos(self, path: tuple, node) -> None:
        m = node.start_mark
        self.positions[path] = (self.filename, m.line + 1, m.column + 1)

    def walk(self, node, path: tuple, record: bool = True):
        """Returns (value, keep): keep is False for a !reset node."""
        self.built += 1
        if self.built > MAX_NODES:
            raise self.error(node, f"document too large: more than {MAX_NODES} values once aliases are "
                                   f"expanded", path)
        if isinstance(node, (SequenceNode, MappingNode)):
            if id(node) in self.open:
                raise self.error(node, "an alias refers to the collection that contains it", path)
            self.open.add(id(node))
            try:
                return self._walk(node, path, record)
            finally:
                self.open.discard(id(node))
        return self._walk(node, path, record)

    def _walk(self, node, path: tuple, record: bool):
        tag = node.tag
        if tag == "!reset":
            self.reset_paths.append(path)
            return None, False
        if tag == "!override":
            self.reset_paths.append(path)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path), True
        if isinstance(node, SequenceNode):
            out = []
            for item in node.value:
                p = path + (len(out),)
                value, keep = self.walk(item, p, record)
                if keep:
                    if record:
                        self.pos(p, item)
                    out.append(value)
            return out, True
        return self.mapping(node, path, record), True

    def scalar(self, node, path):
        tag, text = node.tag, node.value
        if tag == _PLAIN:
            return resolve_plain(text)
        if tag == _STR or tag in ("!override",):
            return text if tag == _STR or node.style else resolve_plain(text)
        if tag == "tag:yaml.org,2002:int":
            v = _go_int(text)
            if v is None:
                raise self.error(node, f"cannot decode {text!r} as an integer", path)
            return v
        if tag == "tag:yaml.org,2002:float":
            try:
                return float(text.replace("_", ""))
            except ValueError:
                raise self.error(node, f"cannot decode {text!r} as a float", path) from None
        if tag == "tag:yaml.org,2002:bool":
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise self.error(node, f"cannot decode {text!r} as a boolean", path)
        if tag == "tag:yaml.org,2002:null":
            return None
        # unknown local tags (!foo): go-yaml keeps the text
        return text if node.style else resolve_plain(text)

    def mapping(self, node, path, record):
        out: dict = {}
        seen: dict[str, int] = {}
        merges = []
        for knode, vnode in node.value:
            if isinstance(knode, ScalarNode) and knode.tag == _PLAIN and knode.value == "<<":
                merges.append(vnode)
                continue
            if not isinstance(knode, ScalarNode):
                raise self.error(knode, "mapping keys must be strings", path)
            key = self.scalar(knode, path)
            if key is None:
                key = "null" if knode.value else ""
            if isinstance(key, bool):
                key = "true" if key else "false"
            elif isinstance(key, float):
                key = knode.value
            elif not isinstance(key, str):
                key = str(key)
            line = knode.start_mark.line + 1
            if key in seen:
                raise self.error(knode, f"mapping key {key!r} already defined at line {seen[key]}", path)
            seen[key] = line
            p = path + (key,)
            value, keep = self.walk(vnode, p, record)
            if keep:
                if record:
                    self.pos(p, knode)
                out[key] = value
        for mnode in merges:
            sources = mnode.value if isinstance(mnode, SequenceNode) else [mnode]
            for src in sources:
                while getattr(src, "tag", None) is None:  # pragma: no cover
                    break
                if not isinstance(src, MappingNode):
                    raise self.error(src, "map merge requires map or sequence of maps as the value", path)
                if id(src) in self.open:
                    raise self.error(src, "a merge key refers to the mapping that contains it", path)
                self.open.add(id(src))
                try:
                    merged = self.mapping(src, path, False)
                finally:
                    self.open.discard(id(src))
                for k, v in merged.items():
                    if k not in out:
                        out[k] = v
                        if record and path + (k,) not in self.positions:
                            self.pos(path + (k,), src)
        return out


def format_path(path: tuple) -> str:
    """``("services", "web", "ports", 1)`` -> ``services.web.ports[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def read_documents(text: str | bytes, filename: str) -> list[Document]:
    """Parse every document of a compose file; a syntax error becomes a LoadError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    loader = _Composer(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            w = _Walker(filename)
            data, keep = w.walk(node, ())
            docs.append(Document(data if keep else None, w.positions, w.reset_paths))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = (e.problem or e.context or "invalid YAML").strip()
        if e.context and e.problem:
            msg = f"{e.context}, {e.problem}"
        raise LoadError(f"invalid YAML: {msg}", file=filename,
                        line=mark.line + 1 if mark else None,
                        column=mark.column + 1 if mark else None) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow: its place in the text
        before = text[:e.position]
        raise LoadError(f"invalid YAML: {e.reason} (character {e.character!r})", file=filename,
                        line=before.count("\n") + 1, column=e.position - (before.rfind("\n") + 1) + 1) from None
    except yaml.YAMLError as e:
        raise LoadError(f"invalid YAML: {e}", file=filename) from None
    except RecursionError:
        raise LoadError("invalid YAML: nested too deeply", file=filename) from None
    finally:
        try:
            loader.dispose()
        except Exception:  # pragma: no cover
            pass
    return docs


def read_file(path: str, display: str | None = None) -> list[Document]:
    with open(path, "rb") as fh:
        return read_documents(fh.read(), display or path)
