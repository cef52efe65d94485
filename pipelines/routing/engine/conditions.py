"""Conditions compiled to boolean columns: one vectorised evaluation per condition node.

A step's ``when`` is a tree of :mod:`pipelines.routing.language.model` conditions; each leaf
becomes one pandas operation over the whole batch (an operator from the closed
vocabulary, a table lookup, a comparison with the value leadroute saw last time),
and ``all`` / ``any`` / ``not`` combine the resulting arrays. No row-by-row Python,
no ``eval``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.routing.language.model import (
    ChangedCondition,
    Condition,
    FieldCondition,
    GroupCondition,
    InTableCondition,
    NotCondition,
)
from pipelines.routing.language.vocabulary import OPERATORS, Columns, to_mask
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.tables.lookup import lookup


def evaluate(cond: Condition | None, frame: pd.DataFrame, rules: RuleSet, columns: Columns | None = None) -> np.ndarray:
    """The condition as a boolean array over the frame's rows (no condition: every row).

    ``columns`` (the frame's :class:`Columns`) lets every step of a flow share each
    field's normalised text; without it, one is made for this call.
    """
    if cond is None:
        return np.ones(len(frame), dtype=bool)
    columns = columns if columns is not None else Columns(frame)
    if isinstance(cond, FieldCondition):
        return columns[cond.field].evaluate(OPERATORS[cond.op], cond.value)
    if isinstance(cond, GroupCondition):
        masks = [evaluate(c, frame, rules, columns) for c in cond.items]
        return np.logical_and.reduce(masks) if cond.kind == "all" else np.logical_or.reduce(masks)
    if isinstance(cond, NotCondition):
        return ~evaluate(cond.item, frame, rules, columns)
    if isinstance(cond, InTableCondition):
        found = lookup(rules.tables[cond.table], rules.table_rows[cond.table], frame, cond.lookup, columns)
        return found["line"].notna().to_numpy()
    if isinstance(cond, ChangedCondition):
        return changed(cond, frame, columns)
    raise TypeError(f"unknown condition {cond!r}")


def changed(cond: ChangedCondition, frame: pd.DataFrame, columns: Columns) -> np.ndarray:
    """The field differs from the value leadroute saw last time (``prior.<field>``), and from/to hold."""
    prior_col = f"prior.{cond.field}"
    if prior_col not in frame.columns:  # a new lead has no earlier value: nothing changed
        return np.zeros(len(frame), dtype=bool)
    now, before = columns[cond.field].text, columns[prior_col].text
    now, before = now.mask(now == ""), before.mask(before == "")
    out = ~((now == before).fillna(False) | (now.isna() & before.isna()))
    if cond.from_values is not None:
        out &= OPERATORS["in"].apply(columns[prior_col], cond.from_values).fillna(False)
    if cond.to_values is not None:
        out &= OPERATORS["in"].apply(columns[cond.field], cond.to_values).fillna(False)
    return to_mask(out)
