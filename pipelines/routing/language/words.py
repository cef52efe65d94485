"""Rules in the words a sales-ops person reads: "lead.lead_source is Web - Demo Request or Webinar".

Conditions are stored in every decision's trace as text, so these words are what
``leadroute explain``, the Dagster UI and the reports show. Values read as a list
people write ("A, B or C"), never as a Python list; the field names stay as ops
wrote them in flow.yaml, so the line an explanation quotes can be found in the rules.
"""

from __future__ import annotations

import ast
import re
from typing import Any

# operator -> (verb, how a list of values joins: "or" / "and")
OPERATOR_WORDS: dict[str, tuple[str, str]] = {
    "equals": ("is", "or"), "not_equals": ("is not", "or"),
    "in": ("is", "or"), "not_in": ("is not", "or"),
    "is_empty": ("is empty", ""), "is_not_empty": ("is not empty", ""),
    "greater_than": ("is more than", "or"), "at_least": ("is at least", "or"),
    "less_than": ("is less than", "or"), "at_most": ("is at most", "or"),
    "between": ("is between", "and"),
    "starts_with": ("starts with", "or"), "ends_with": ("ends with", "or"),
    "contains": ("contains", "or"), "not_contains": ("contains none of", "or"),
    "contains_word": ("contains the word", "or"),
    "includes_any": ("includes", "or"), "includes_all": ("includes", "and"),
    "is_true": ("is true", ""), "is_false": ("is false or empty", ""),
}


def value(v: Any) -> str:
    """One value as people write it: 20 not 20.0, yes/no for booleans."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def listing(values: Any, joiner: str = "or") -> str:
    """``["A", "B", "C"]`` -> ``"A, B or C"``; a single value as itself."""
    items = [value(v) for v in (values if isinstance(values, (list, tuple, set)) else [values])]
    if len(items) <= 1:
        return items[0] if items else "(nothing)"
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def condition(field: str, op: str, v: Any = None) -> str:
    """A field condition in words: ``lead.lead_score is at least 20``."""
    verb, joiner = OPERATOR_WORDS.get(op, (op.replace("_", " "), "or"))
    if not joiner:
        return f"{field} {verb}"
    return f"{field} {verb} {listing(v, joiner)}"


_LIST = re.compile(r"\[[^\[\]]*\]")


def unlist(text: str) -> str:
    """Rewrite Python list reprs left in older stored traces (``in ['A', 'B']``) as words (``A or B``)."""

    def one(m: re.Match) -> str:
        try:
            items = ast.literal_eval(m.group(0))
        except (ValueError, SyntaxError):
            return m.group(0)
        return listing(items) if isinstance(items, list) else m.group(0)

    return _LIST.sub(one, text)
