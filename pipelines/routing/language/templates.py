"""Text with ``{namespace.field}`` placeholders: read once from the rules, filled per lead column by column.

Task subjects and descriptions and ``set:`` values may name fields::

    task: {subject: "New contact at {account.name}: call {lead.first_name}"}

:func:`parse_template` splits the text into literal and field parts when the rules load
(the validator then checks every field exists); :func:`fill` fills it for a whole batch.
"""

from __future__ import annotations

import re

import pandas as pd

from pipelines.routing.language.node import Node
from pipelines.sourcefile import SourceRef

PLACEHOLDER = re.compile(r"\{([a-z_]+\.[A-Za-z0-9_.]+)\}")


class Template(Node):
    """Text with ``{namespace.field}`` placeholders, filled per lead (vectorised)."""

    text: str
    parts: list[tuple[str, str]]  # ("text", "..."), ("field", "lead.company")

    def fields(self) -> list[str]:
        return [v for k, v in self.parts if k == "field"]


def parse_template(text: str, where: SourceRef) -> Template:
    """``"Call {lead.first_name}"`` -> text and field parts (fields are checked by the validator)."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(("text", text[pos:m.start()]))
        parts.append(("field", m.group(1)))
        pos = m.end()
    if pos < len(text):
        parts.append(("text", text[pos:]))
    return Template(where=where, text=text, parts=parts)


def fill(template: Template, frame: pd.DataFrame) -> pd.Series:
    """The template filled for every row of ``frame`` (an empty field leaves an empty gap)."""
    out = pd.Series("", index=frame.index, dtype=object)
    for kind, value in template.parts:
        out = out + (value if kind == "text" else frame[value].astype("string").fillna("").astype(object))
    return out.str.replace(r"\s+", " ", regex=True).str.strip()
