"""The reroute policy: which leads may be rerouted at all, stated once in the rules.

Every kind of reroute asks the same question before it moves a lead: the updated flow
(a watched field changed), a missed first-touch SLA, an owner who left, recycling,
a dormant lead waking up, and a backfill of changed rules. The answer is in
``flow.yaml``, as protections in the condition language::

    reroute_policy:
      - name: meeting_booked
        description: A lead with a meeting ahead stays with whoever booked it.
        keep_when: {field: lead.open_meetings, greater_than: 0}
      - name: open_deal
        description: A rep's lead whose account has an open opportunity stays; the deal team owns the relationship.
        keep_when:
          all:
            - {field: lead.owner_queue, is_empty}
            - {field: account.open_opportunities, greater_than: 0}

A lead for which any protection holds is not moved, and the first one that holds says
why (:func:`movable`). Protections read the lead as it is now (``lead.*``,
``account.*``, ``match.*``), never ``prior.*``: the policy is about the lead, not about
what changed. Reroutes it refuses are kept in ``reroute_blocked`` (:func:`record_blocked`)
so ``leadroute explain`` can say why a lead did not move.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.language.vocabulary import Columns
from pipelines.routing.ruleset.model import RuleSet
from pipelines.stage import RunInfo
from pipelines.warehouse.db import upsert

__all__ = ["movable", "judge", "screen", "record_blocked"]


def _with_fields(frame: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """The frame with every field the policy names (a hand-made frame's missing fields count as empty)."""
    named = {f for rule in rules.reroute_policy for f in rule.keep_when.fields()}
    missing = sorted(named - set(frame.columns))
    if not missing:
        return frame
    return pd.concat([frame, pd.DataFrame(None, index=frame.index, columns=missing, dtype=object)], axis=1)


def _evidence(frame: pd.DataFrame, fields: list[str]) -> pd.Series:
    """``field = value, ...`` per lead, column by column."""
    out = pd.Series("", index=frame.index, dtype=object)
    for i, f in enumerate(dict.fromkeys(fields)):
        values = frame[f].astype("string").fillna("(empty)").astype(object)
        out = out + ("" if i == 0 else ", ") + f + " = " + values
    return out


def judge(frame: pd.DataFrame, rules: RuleSet) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Per lead: may it move, why not (a sentence), and the protection that holds (its name)."""
    ok = np.ones(len(frame), dtype=bool)
    why = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    rule_of = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if not rules.reroute_policy or frame.empty:
        return ok, why, rule_of
    frame = _with_fields(frame, rules)
    columns = Columns(frame)
    for rule in rules.reroute_policy:
        hit = ok & evaluate(rule.keep_when, frame, rules, columns)
        if not hit.any():
            continue
        said = f": {rule.description}" if rule.description else f" ({rule.keep_when.describe()})"
        evidence = _evidence(frame[hit], rule.keep_when.fields())
        why[hit] = (f"the reroute policy keeps it ({rule.name}){said} [" + evidence + "]").to_numpy(dtype=object)
        rule_of[hit] = rule.name
        ok &= ~hit
    return ok, why, rule_of


def movable(frame: pd.DataFrame, rules: RuleSet) -> tuple[np.ndarray, pd.Series]:
    """Which leads of the routing frame may be rerouted at all (bool array), and for each lead that may
    not, why (a sentence for the trace / explain; None where it may move)."""
    ok, why, _ = judge(frame, rules)
    return ok, why


def screen(frame: pd.DataFrame, rules: RuleSet, entry: str) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """The policy for leads about to go through ``entry``'s flow: only the leads some step of the flow
    would consider (its condition holds) are judged; the others pass, as nothing would move them anyway,
    so a protected lead is only reported when the flow really would have moved it."""
    ok, why, rule_of = judge(frame, rules)
    if ok.all():
        return ok, why, rule_of
    steps = rules.flows[entry].steps if entry in rules.flows else []
    considered = np.zeros(len(frame), dtype=bool)
    columns = Columns(frame)
    for step in steps:
        considered |= evaluate(step.when, frame, rules, columns)
        if considered.all():
            break
    ok = ok | ~considered
    return ok, why.where(~ok, None), rule_of.where(~ok, None)


def record_blocked(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, kind: str, why: pd.Series,
                   rule_of: pd.Series, run: RunInfo) -> int:
    """Keep the reroutes the policy refused (one row per lead and kind, first and last time)."""
    if frame.empty:
        return 0
    rows = pd.DataFrame({"lead_id": frame["lead_id"].to_numpy(), "kind": kind, "rule": rule_of.to_numpy(),
                         "reason": why.to_numpy()})
    con.register("_blocked", rows)
    try:
        merged = con.execute(
            """SELECT b.lead_id, b.kind, b.rule, b.reason, l._modstamp AS lead_modstamp,
                      coalesce(r.first_blocked_at, ?::TIMESTAMP) AS first_blocked_at,
                      ?::TIMESTAMP AS last_blocked_at, ? AS run_id
               FROM _blocked b JOIN lead l USING (lead_id)
               LEFT JOIN reroute_blocked r ON r.lead_id = b.lead_id AND r.kind = b.kind""",
            [run.now, run.now, run.run_id]).df()
    finally:
        con.unregister("_blocked")
    return upsert(con, "reroute_blocked", merged, ["lead_id", "kind"])
