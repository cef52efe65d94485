"""Reading ops-owned YAML and CSV so that every error can name its file and line.

Ops edit ``routing_rules/`` in git. When something is wrong, the message must
point at the line they wrote, the value they wrote, and what was expected. YAML
mappings are loaded as :class:`LineDict` (a ``dict`` that remembers the line of
each key), so a pydantic validation error's location can be turned back into
``file:line``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


@dataclass(frozen=True)
class SourceRef:
    """Where a piece of configuration came from."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with ops-owned configuration."""

    where: SourceRef
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


class ConfigError(ValueError):
    """Configuration that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def problems_markdown(problems: list[ConfigProblem], limit: int = 50) -> str:
    """Problems as a markdown list (the first ``limit``), for a Dagster asset's page."""
    return "\n".join(f"- `{p}`" for p in problems[:limit]) or "no problems"


class LineDict(dict):
    """A mapping that remembers the line of itself and of each of its keys."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line: int | None = None
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)

    @classmethod
    def like(cls, values: dict, node: Any, line: int | None = None) -> LineDict:
        """``values`` as a mapping read from the same place as ``node`` (its lines; ``line`` for the mapping)."""
        out = cls(values)
        out.line = line if line is not None else getattr(node, "line", None)
        out.key_lines = dict(getattr(node, "key_lines", {}))
        return out


class LineList(list):
    line: int | None = None
    item_lines: list[int]


# Bounds on what one ops-owned file may hold. Rules are small hand-written files: these are far
# above any real one, and low enough that a careless or hostile edit (a file that never ends,
# anchors that expand to billions of values, nesting thousands deep) is an error in well under a
# second instead of a hang, an exhausted memory or a crash of the C parser.
MAX_SETTINGS_BYTES = 2 * 1024 * 1024  # a YAML settings file
MAX_TABLE_BYTES = 8 * 1024 * 1024  # a CSV or GeoJSON table (every US zip code is about 1 MiB)
MAX_DEPTH = 40  # nested mappings and lists (the shipped rules use 8)
MAX_NODES = 100_000  # values in one YAML file, every use of an alias counted again
MAX_VALUE_CHARS = 10_000  # one YAML scalar (a description is a few hundred)
MAX_CELL_CHARS = 128 * 1024  # one CSV cell (a WKT polygon may be long)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def read_text(path: str | Path, display: str | None = None, *, limit: int = MAX_SETTINGS_BYTES,
              bom: bool = False) -> str:
    """The text of an ops-owned file, read the one safe way: a regular file, at most ``limit``
    bytes, decoded as UTF-8; anything else is a :class:`ConfigError` at its file (and line).

    Never reads past ``limit`` (``/dev/zero``, a FIFO or ``/proc`` files cannot hang or exhaust
    memory), never shows the file's content in a message. ``bom``: a leading byte-order mark
    (Excel's "CSV UTF-8") is dropped.
    """
    path = Path(path)
    name = display or str(path)

    def fail(message: str, line: int | None = 1) -> ConfigError:  # the whole file: shown at its first line
        return ConfigError([ConfigProblem(SourceRef(name, line), message)])

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise fail("file not found", None) from None  # no line to show
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise fail("is not a regular file (a device, pipe or socket); rules files are plain text files")
    if info.st_size > limit:
        raise fail(f"the file has {info.st_size:,} bytes, above the {_mib(limit)} limit for a rules file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise fail(f"the file is larger than the {_mib(limit)} limit for a rules file")
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise fail(f"not UTF-8: byte 0x{data[exc.start]:02x} at line {line}; save the file as UTF-8", line) from None


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader (libyaml's C parser when PyYAML has it: rules load in a pre-commit
    hook, and the pure-Python parser is most of the time spent there), keeping lines.

    Booleans follow YAML 1.2: only ``true``/``false`` (any case of the first letter or all
    caps) are booleans, so ``NO`` (Norway), ``ON`` (Ontario), ``yes`` and ``off`` stay strings.
    """


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _check_events(text: str, name: str) -> None:
    """Nesting depth and value lengths, from the parser's flat stream of events (no recursion:
    libyaml's composer is recursive C and crashes the process on nesting 100,000 deep)."""
    depth = 0
    for event in yaml.parse(text, Loader=_LineLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError([ConfigProblem(SourceRef(name, event.start_mark.line + 1),
                                                 f"nested more than {MAX_DEPTH} levels deep; flatten it")])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_VALUE_CHARS:
            raise ConfigError([ConfigProblem(SourceRef(name, event.start_mark.line + 1),
                                             f"a value of {len(event.value):,} characters, above the limit of "
                                             f"{MAX_VALUE_CHARS:,}; shorten it")])


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Every value counted as often as aliases repeat it, and the depth aliases nest to: an anchor
    used ten times inside an anchor used ten times... is billions of values to validate and route."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size and not done:
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else
                    list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            if key in open_:
                raise ConfigError([ConfigProblem(SourceRef(name, node.start_mark.line + 1),
                                                 "an alias refers to the anchor that contains it")])
            open_.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        open_.discard(key)
        size[key] = 1 + sum(size[id(c)] for c in children)
        depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
        if size[key] > MAX_NODES:
            raise ConfigError([ConfigProblem(SourceRef(name, node.start_mark.line + 1),
                                             f"expands to more than {MAX_NODES:,} values (aliases repeat their "
                                             f"anchors); list the values once, or use a table")])
        if depth[key] > MAX_DEPTH:
            raise ConfigError([ConfigProblem(SourceRef(name, node.start_mark.line + 1),
                                             f"nested more than {MAX_DEPTH} levels deep (through aliases); flatten it")])


def parse_yaml(text: str, name: str) -> Any:
    """YAML text as data (mappings as :class:`LineDict`, lists as :class:`LineList`), within the
    bounds above; malformed or unbounded YAML raises a ConfigError at its line."""
    try:
        _check_events(text, name)
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, name)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(SourceRef(name, line), f"malformed YAML: {problem}")]) from None
    except ConfigError:
        raise
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:  # bounded above; a last guard
        raise ConfigError([ConfigProblem(SourceRef(name, 1), f"cannot read the YAML ({type(exc).__name__})")]) from None


def load_yaml(path: str | Path, display: str | None = None) -> Any:
    """Load a YAML file keeping line numbers; malformed YAML raises a ConfigError at its line."""
    path = Path(path)
    name = display or str(path)
    return parse_yaml(read_text(path, name), name)


def locate(data: Any, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest node of ``data`` on the path ``loc`` (a pydantic error location).

    A part of the path that is not in the file (a model's own grouping of keys the file writes
    side by side, a union's tag) is stepped over: the line is that of the deepest node found.
    """
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part) or line
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            continue
        line = getattr(node, "line", None) or line
    return line


# The type of a validation error a validator words for ops itself (see :func:`problem`).
WORDED = "worded"


def problem(message: str, where: SourceRef | None = None) -> PydanticCustomError:
    """A validation error worded for ops: shown as it is (no key path), at ``where`` or else at its node.

    Raise it from a pydantic validator; :func:`problems_from_validation` turns it into a
    :class:`ConfigProblem` at the file and line.
    """
    ctx = {"message": message, "file": where.file if where else None, "line": where.line if where else None}
    return PydanticCustomError(WORDED, "{message}", ctx)


def _display_path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as ops read it: keys and indexes, without unions' and validators' tags."""
    return ".".join(str(p) for p in loc
                    if not str(p).startswith(("tagged-union", "literal", "function-", "~")))


def _friendly(err: Any) -> str:
    if err.get("type") == "extra_forbidden":
        return "unknown key (check its spelling)"
    return err["msg"].removeprefix("Value error, ")


def labelled(exc: ValidationError, label: str) -> ValidationError:
    """``exc`` with every message prefixed by ``label`` (``"pool 'p': "``), for a model whose problems
    ops find by its name; other messages name their key path, relative to the model."""
    errors = []
    for err in exc.errors():
        if err["type"] == WORDED:
            ctx = {**err["ctx"], "message": label + err["ctx"]["message"]}
        else:
            path = _display_path(tuple(err["loc"]))
            ctx = {"message": label + (f"{path}: " if path else "") + _friendly(err), "file": None, "line": None}
        errors.append(InitErrorDetails(type=PydanticCustomError(WORDED, "{message}", ctx), loc=tuple(err["loc"]),
                                       input=err.get("input")))
    return ValidationError.from_exception_data(exc.title, errors)


def problems_from_validation(exc: ValidationError, data: Any, file: str) -> list[ConfigProblem]:
    """Turn a pydantic ValidationError into problems that name the file, line and key path."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == WORDED:
            ctx = err["ctx"]
            line = ctx["line"] if ctx.get("file") is not None else None
            if line is None:  # a scalar has no line of its own: the nearest node on its path has
                line = locate(data, loc) or 1
            problems.append(ConfigProblem(SourceRef(ctx.get("file") or file, line), ctx["message"]))
            continue
        path = _display_path(loc)
        msg = _friendly(err)
        line = locate(data, loc) or 1  # a key missing from an empty file: its first line
        problems.append(ConfigProblem(SourceRef(file, line), f"{path}: {msg}" if path else msg))
    return problems


M = TypeVar("M", bound=BaseModel)


def read_settings(path: str | Path, model: type[M], *, display: str | None = None, missing_ok: bool = False,
                  not_a_mapping: str = "expected a mapping", values: dict[str, Any] | None = None
                  ) -> tuple[M, Any]:
    """A settings file as its typed model, and the file as read (every node with its line).

    The one way a YAML file of ``routing_rules/`` is read: parsed keeping the line of every
    key and item, validated once by ``model`` (its validators know the file through the
    context ``{"file": ...}``), and every problem raised as a :class:`ConfigError` at
    ``file:line``. ``missing_ok``: a missing file is an empty one (the model's defaults).
    ``values`` are set on the model besides the file's keys (e.g. where it was read from).
    """
    path = Path(path)
    name = display or str(path)
    data: Any = LineDict() if missing_ok and not path.exists() else load_yaml(path, name)
    if data is None:  # an empty file
        data = LineDict()
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(SourceRef(name, getattr(data, "line", None) or 1), not_a_mapping)])
    try:
        model_input = LineDict.like({**data, **values}, data) if values else data
        return model.model_validate(model_input, context={"file": name}), data
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, data, name)) from None


def read_csv(path: str | Path, display: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV into (line number, row) pairs, with values stripped; empty cells become ''.

    Raises a ConfigError naming the file and line for ragged rows and duplicate headers.
    """
    path = Path(path)
    name = display or str(path)
    text = read_text(path, name, limit=MAX_TABLE_BYTES, bom=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    problems = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num or 1
            why = (f"a cell is longer than {MAX_CELL_CHARS:,} characters" if "field larger" in str(exc)
                   else f"malformed CSV ({exc})")
            problems.append(ConfigProblem(SourceRef(name, line), why))
            break
        line = reader.line_num
        if not record or all(not c.strip() for c in record):
            continue
        if header is None:
            header = [h.strip() for h in record]
            dupes = {h for h in header if header.count(h) > 1}
            if dupes:
                problems.append(ConfigProblem(SourceRef(name, line), f"duplicate column(s) {sorted(dupes)}"))
            continue
        if len(record) != len(header):
            problems.append(
                ConfigProblem(
                    SourceRef(name, line),
                    f"row has {len(record)} cells but the header has {len(header)} "
                    f"({', '.join(header)}); a comma inside a value needs quotes",
                )
            )
            continue
        rows.append((line, {h: c.strip() for h, c in zip(header, record)}))
    if header is None:
        problems.append(ConfigProblem(SourceRef(name, 1), "empty file: expected a header row"))
    if problems:
        raise ConfigError(problems)
    return rows


def csv_header(path: str | Path) -> list[str]:
    """The header of a CSV (of any size: only its first line is read), as UTF-8."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [h.strip() for h in next(csv.reader(fh), [])]
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(SourceRef(str(path), 1), f"not UTF-8: byte 0x{exc.object[exc.start]:02x} "
                                                                  f"at line 1; save the file as UTF-8")]) from None
