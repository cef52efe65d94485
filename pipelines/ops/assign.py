"""A manual decision (``leadroute assign LEAD --to REP|QUEUE --reason …``), through the ledger like any other.

The decision is recorded with ``entry = manual`` and step ``(manual)``, replacing the lead's
current decision; its ledger row is pushed by the next tick's push, once, and reconciled like
every write. ``leadroute explain`` shows it with who decided and why. The reroute policy
(``flow.yaml`` ``reroute_policy``) protects the lead from a hand move as from any reroute: a
protected lead is refused with the protection's reason unless ``--force``. Afterwards the
manual decision is the lead's current one: day-2 routing treats it as any other decision.
With ``credit_back``, the previous owner gets the turn back in the pool that gave them the lead.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.ledger import decisions as decision_log
from pipelines.ops.credit import credit
from pipelines.ops.overrides import OverrideError, find_rep
from pipelines.routing.engine import policy
from pipelines.routing.frame.build import build_frame
from pipelines.stage import RunInfo
from pipelines.warehouse.db import transaction
from pipelines.warehouse.schema import open_lead

MANUAL_STEP = "(manual)"


def assign(con: duckdb.DuckDBPyConnection, rules, mapping: FieldMapping, lead_id: str, to: str, *, reason: str,
           by: str, run: RunInfo, force: bool = False, credit_back: bool = False) -> dict:
    """Decide ``lead_id`` by hand: to a rep (user_id, email or name) or a queue of queues.yaml."""
    if not reason.strip():
        raise OverrideError("say why (--reason): explain and the audit trail show it")
    lead = con.execute(f"SELECT l.lead_id, l.owner_id FROM lead l WHERE l.lead_id = ? AND {open_lead('l')}",
                       [lead_id]).fetchall()
    if not lead:
        raise OverrideError(f"no open lead {lead_id!r} in the warehouse (converted, deleted, or not extracted yet)")
    queue_ids = dict(con.execute("SELECT developer_name, queue_id FROM crm_queue").fetchall())
    if to in rules.queues or to in queue_ids:
        owner, queue, action, target = None, to, "queue", f"queue {to}"
    else:
        try:
            rep = find_rep(rules.reps, to)
        except OverrideError:
            raise OverrideError(f"--to {to!r} is neither a rep of reps.csv nor a queue "
                                f"({', '.join(rules.queues)})") from None
        owner, queue, action, target = rep["user_id"], None, "user", rep["name"]
    frame = build_frame(con, mapping, pd.Series([lead_id]))
    ok, why, _ = policy.judge(frame, rules)
    if not ok[0] and not force:
        raise OverrideError(f"{lead_id}: {why.iloc[0]}; add --force to move it anyway")
    current = con.execute("SELECT pool, owner_id FROM current_decision WHERE lead_id = ?", [lead_id]).fetchall()
    text = f"{MANUAL_STEP}: {target}, decided by {by}: {reason.strip()}" + (" (forced past the reroute policy)"
                                                                          if not ok[0] else "")
    with transaction(con):  # the decision and the credit commit together
        decided = decision_log.record(con, pd.DataFrame([{
            "lead_id": lead_id, "step": MANUAL_STEP, "action": action, "owner_id": owner, "queue": queue,
            "reason": text,
            "trace": json.dumps({"entry": "manual", "decided_by": MANUAL_STEP, "by": by, "detail": text}),
        }]), entry="manual", rules_version=rules.version, queue_ids=queue_ids, run=run)
        credited = None
        if credit_back and current and current[0][0] and current[0][1]:
            pool, previous = current[0]
            if pool in rules.pools:
                credited = credit(con, rules, previous, pool=pool, leads=1, by=by, now=run.now,
                                  reason=f"{lead_id} reassigned by hand: {reason.strip()}")
        return {"decision_id": decided["decision_id"].iloc[0], "target": target, "reason": text, "credited": credited}
