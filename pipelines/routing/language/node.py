"""The base of every node of the rules language: it knows the file and line ops wrote it at.

Rules files are read by :func:`pipelines.sourcefile.read_settings`, which keeps the line of
every key and item and tells the models the file (validation context ``{"file": ...}``).
A node takes its :class:`~pipelines.sourcefile.SourceRef` from there, so every problem
the checks find later, and every decision's trace, points at the line ops wrote.

A parent that knows more than the YAML node itself (the step an action belongs to, the
name of a pool) hands it down as :class:`Written`: the node as written, where, and how
messages name it ("step 'hot_inbound'", "the fallback of pool 'webinar'").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from pipelines.routing.language.problems import where as where_of
from pipelines.sourcefile import SourceRef


class Written(NamedTuple):
    """A node as ops wrote it, where, and the name messages give it."""

    node: Any
    where: SourceRef
    label: str = ""


def file_of(info: ValidationInfo | None) -> str:
    return (info.context or {}).get("file", "") if info is not None else ""


def at(info: ValidationInfo | None, node: Any, key: Any = None) -> SourceRef:
    """Where ``node`` (or its ``key``) was written, in the file being read."""
    return where_of(file_of(info), node, key)


class Node(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")
    where: SourceRef

    @model_validator(mode="before")
    @classmethod
    def _where(cls, data: Any, info: ValidationInfo) -> Any:
        """A node read from a file takes its file and line from there."""
        if isinstance(data, dict) and "where" not in data:
            return {**data, "where": at(info, data)}
        return data


def repeated(nodes: Iterable[Any]) -> Any | None:
    """The first node whose ``name`` an earlier node already has, or None when every name is used once."""
    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            return node
        seen.add(node.name)
    return None
