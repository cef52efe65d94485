"""Day-2 decisions in the engine's format: one row per lead, with a reason and a self-contained trace.

The engine decides through flows; day-2 reroutes (an SLA miss, a rep who left, recycling)
decide from a day2.yaml rule. Either way :func:`pipelines.ledger.decisions.record` takes the
same columns (lead_id, step, action, owner_id, queue, reason, trace, side_actions, pool), so
the ledger and the push never know the difference. The trace carries a ``reroute`` object
(kind, rule, what was missed or found), which ``leadroute explain`` and the KPIs read.
Built column by column (:mod:`pipelines.routing.engine.trace`), never one JSON document per lead in Python.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipelines.routing.engine import trace

COLUMNS = ["lead_id", "step", "action", "owner_id", "queue", "reason", "trace", "side_actions", "pool"]


def _column(value, n: int) -> np.ndarray:
    if isinstance(value, (pd.Series, np.ndarray, list)):
        return np.asarray(value, dtype=object)
    return np.full(n, value, dtype=object)


def build(*, lead_ids, step: str, action, owner_id, queue, detail, kind: str, version: str, description: str,
          condition: str, reroute: dict[str, object] | None = None, per_lead: dict[str, object] | None = None,
          side_actions=None, pool=None, evidence=None) -> pd.DataFrame:
    """Decisions for ``lead_ids`` decided by day-2 rule ``step`` (``kind``: sla, inactive_owner, recycled...).

    ``reroute`` holds values shared by every lead, ``per_lead`` columns that differ (both go into the trace's
    ``reroute`` object); ``detail`` is how the owner or queue was found (the reason is ``step: detail``).
    """
    ids = np.asarray(lead_ids, dtype=object)
    n = len(ids)
    detail = _column(detail, n).astype(str)
    fixed = {"kind": kind, **(reroute or {})}
    body = ", ".join(f"{trace.text(k)}: {json.dumps(v, default=str)}" for k, v in fixed.items())
    inner = np.full(n, "{" + body, dtype=object)
    for key, values in (per_lead or {}).items():
        inner = inner + trace.encode(_column(values, n), f", {trace.text(key)}: ")
    inner = inner + "}"
    evidence = _column(evidence, n) if evidence is not None else np.full(n, "{}", dtype=object)
    side = _column(side_actions, n) if side_actions is not None else np.full(n, None, dtype=object)
    head = ("{" + f'"entry": {trace.text(kind)}, "rules_version": {trace.text(version)}, "not_applicable": [], '
            f'"attempts": [], "decided_by": {trace.text(step)}, "step_description": {trace.text(description)}, '
            f'"condition": {json.dumps(condition)}, "evidence": ')
    out = head + evidence + trace.encode(detail, ', "detail": ') + ', "reroute": ' + inner
    has_side = pd.notna(side)
    out[has_side] = out[has_side] + ', "side_actions": ' + side[has_side]
    out = out + "}"
    return pd.DataFrame({
        "lead_id": ids, "step": step, "action": _column(action, n), "owner_id": _column(owner_id, n),
        "queue": _column(queue, n), "reason": step + ": " + detail, "trace": out, "side_actions": side,
        "pool": _column(pool, n),
    })


def with_reroute(decided: pd.DataFrame, kind: str, rule: str, note: pd.Series | np.ndarray | str) -> pd.DataFrame:
    """Engine decisions (a flow routed them) marked as a day-2 reroute: the reason starts with why they moved,
    and the trace gains the ``reroute`` object."""
    if decided.empty:
        return decided
    out = decided.copy()
    note = _column(note, len(out)).astype(str)
    out["reason"] = (rule + ": " + note + "; " + out["reason"].astype(str)).to_numpy(dtype=object)
    extra = (', "reroute": {"kind": ' + trace.text(kind) + ', "rule": ' + trace.text(rule) + trace.encode(note, ', "why": ')
             + "}}")
    out["trace"] = out["trace"].astype(str).str.slice(0, -1).to_numpy(dtype=object) + extra
    return out


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
