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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


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

    line: int | None = None
    key_lines: dict[str, int]

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int | None = None
    item_lines: list[int]


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader (libyaml's C parser when PyYAML has it: rules load in a pre-commit
    hook, and the pure-Python parser is most of the time spent there), keeping lines."""


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


def load_yaml(path: str | Path, display: str | None = None) -> Any:
    """Load a YAML file keeping line numbers; malformed YAML raises a ConfigError at its line."""
    path = Path(path)
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(SourceRef(name), "file not found")]) from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(SourceRef(name, line), f"malformed YAML: {problem}")]) from None
    return data


def locate(data: Any, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest node of ``data`` on the path ``loc`` (a pydantic error location)."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part) or line
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
        line = getattr(node, "line", None) or line
    return line


def problems_from_validation(exc: ValidationError, data: Any, file: str) -> list[ConfigProblem]:
    """Turn a pydantic ValidationError into problems that name the file, line and key path."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = ".".join(str(p) for p in loc if not str(p).startswith(("tagged-union", "literal")))
        msg = err["msg"].removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key (check its spelling)"
        problems.append(
            ConfigProblem(SourceRef(file, locate(data, loc)), f"{path}: {msg}" if path else msg)
        )
    return problems


def read_csv(path: str | Path, display: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV into (line number, row) pairs, with values stripped; empty cells become ''.

    Raises a ConfigError naming the file and line for ragged rows and duplicate headers.
    """
    path = Path(path)
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(SourceRef(name), "file not found")]) from None
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    problems = []
    for record in reader:
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
        problems.append(ConfigProblem(SourceRef(name), "empty file: expected a header row"))
    if problems:
        raise ConfigError(problems)
    return rows


def csv_header(path: str | Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [h.strip() for h in next(csv.reader(fh), [])]
