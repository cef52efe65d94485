"""Routing Preview: route one hypothetical lead under the rules in the working tree, writing nothing.

The lead goes the way a real one goes: its fields are enriched by the enrich stage's code,
matched to the account master by the match stage's code, and routed by the engine, all in
an in-memory database that reads the warehouse (attached read-only) and copies only the
tables the stages would write for it. A pool is shown as the pool: which member gets a lead
depends on turns and availability when it arrives. Nothing reaches the warehouse or the CRM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.enrich.enrich import enrich_leads
from pipelines.enrich.settings import EnrichmentSettings
from pipelines.matching.match import match_leads
from pipelines.matching.settings import MatchingSettings
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.stages.simulate import evaluate
from pipelines.stage import RunInfo

PREVIEW_ID = "00Q(preview)"
COPIED = ("lead", "lead_enriched", "lead_match")  # what enrich and match write for a lead; the rest is read


@dataclass
class Preview:
    lead: dict
    enriched: dict
    match: dict
    decision: dict


def fields_of(mapping: FieldMapping) -> list[str]:
    """The lead fields a preview may set: the unified lead's columns (fields.yaml)."""
    return [f for f in mapping.objects["lead"].fields if f not in ("lead_id", "owner_id", "created_at", "is_deleted",
                                                                     "is_converted", "created_by_id")]


def preview(warehouse: Path, rules: RuleSet, mapping: FieldMapping, enrichment: EnrichmentSettings,
            matching: MatchingSettings, values: dict[str, str], now: datetime) -> Preview:
    with duckdb.connect() as mem:
        mem.execute("SET TimeZone = 'UTC'")
        mem.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
        tables = [r[0] for r in mem.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh'").fetchall()]
        for table in tables:
            how = "TABLE" if table in COPIED else "VIEW"
            mem.execute(f'CREATE {how} main."{table}" AS SELECT * FROM wh."{table}"')
        mem.execute("USE memory")
        intake = [q for q in rules.intake_queues]
        queue_id = mem.execute("SELECT queue_id FROM crm_queue WHERE developer_name = ? LIMIT 1",
                               [intake[0] if intake else ""]).fetchall()
        row = {"lead_id": PREVIEW_ID, "owner_id": queue_id[0][0] if queue_id else None, "created_at": now,
               "is_deleted": False, "is_converted": False, "status": "New", "_modstamp": now, "_unified_at": now,
               **values}
        cols = [c for c in row if c in {r[0] for r in mem.execute("DESCRIBE lead").fetchall()}]
        mem.execute(f'INSERT INTO lead ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                    f'VALUES ({", ".join("?" for _ in cols)})', [row[c] for c in cols])
        lead = mem.execute("SELECT * FROM lead WHERE lead_id = ?", [PREVIEW_ID]).df()
        enriched = enrich_leads(lead, enrichment)
        target = {r[0] for r in mem.execute("DESCRIBE lead_enriched").fetchall()}
        enriched = enriched[[c for c in enriched.columns if c in target]]
        mem.register("_enriched", enriched)
        mem.execute("INSERT INTO lead_enriched BY NAME SELECT * FROM _enriched")
        mem.unregister("_enriched")
        match_leads(mem, matching, RunInfo("preview", now))
        decided = evaluate(mem, rules, mapping, pd.Series([PREVIEW_ID]), now)
        match = mem.execute("""SELECT m.account_id, a.name AS account_name, a.type AS account_type, m.confidence,
                                      m.reason, m.matched_lead_id FROM lead_match m
                               LEFT JOIN account a USING (account_id) WHERE lead_id = ?""", [PREVIEW_ID]).df()
        names = dict(mem.execute("SELECT user_id, name FROM crm_user").fetchall())
    decision = decided.iloc[0].to_dict() if len(decided) else {}
    if isinstance(decision.get("owner_id"), str):
        decision["owner_name"] = names.get(decision["owner_id"], decision["owner_id"])
    decision["trace"] = json.loads(decision["trace"]) if isinstance(decision.get("trace"), str) else {}
    return Preview(lead=row, enriched=enriched.iloc[0].to_dict() if len(enriched) else {},
                   match=match.iloc[0].to_dict() if len(match) else {}, decision=decision)
