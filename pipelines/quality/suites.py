"""The checks every tick runs: which rows each looks at and what it expects of them.

Each :class:`Check` builds a frame from the warehouse in SQL and lists Great
Expectations 1.x expectations over it. ``blocking`` checks guard what the CRM push
depends on (every lead decided or quarantined; every target owner an active user or
a queue): when one fails, the push does not run and nothing wrong reaches the CRM.
The others warn: they show in the Dagster UI with the failing-row counts and
examples, and in ``leadroute report``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipelines.enrich.settings import EnrichmentSettings
from pipelines.quality.gx import expectations
from pipelines.quality.settings import QualitySettings
from pipelines.stage import RunInfo
from pipelines.unify.columns import EMAIL_PATTERN, clean_sql
from pipelines.warehouse.schema import open_lead

CRM_ID = r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$"


@dataclass(frozen=True)
class CheckContext:
    run: RunInfo
    quality: QualitySettings
    enrichment: EnrichmentSettings


@dataclass(frozen=True)
class Check:
    name: str
    asset: str
    blocking: bool
    description: str
    id_column: str
    build: Callable[[duckdb.DuckDBPyConnection, CheckContext], tuple[pd.DataFrame, list]]


def _extracted(con, ctx):
    gxe = expectations()
    frame = con.execute(
        """SELECT 'lead' AS object, "Id" AS record_id, 'lead:' || "Id" AS record, _modstamp FROM raw_lead
           UNION ALL SELECT 'account', "Id", 'account:' || "Id", _modstamp FROM raw_account
           UNION ALL SELECT 'user', "Id", 'user:' || "Id", _modstamp FROM raw_user"""
    ).df()
    return frame, [
        gxe.ExpectColumnValuesToNotBeNull(column="record_id", description="every record has an Id"),
        gxe.ExpectColumnValuesToBeUnique(column="record", description="one row per record"),
        gxe.ExpectColumnValuesToMatchRegex(column="record_id", regex=CRM_ID, description="Ids are 15 or 18 characters"),
        gxe.ExpectColumnValuesToNotBeNull(column="_modstamp", description="every record has a readable SystemModstamp"),
    ]


def _unified(con, ctx):
    gxe = expectations()
    frame = con.execute("SELECT lead_id, email, owner_id, created_at, employees FROM lead").df()
    mostly = ctx.quality.checks.email_format_mostly
    return frame, [
        gxe.ExpectColumnValuesToNotBeNull(column="lead_id", description="every lead has an id"),
        gxe.ExpectColumnValuesToBeUnique(column="lead_id", description="one row per lead"),
        gxe.ExpectColumnValuesToMatchRegex(column="email", regex=f"^{EMAIL_PATTERN}$", mostly=mostly,
                                           description=f"emails are well formed (at least {mostly:.0%})"),
        gxe.ExpectColumnValuesToNotBeNull(column="owner_id", description="every lead has an owner or a queue"),
        gxe.ExpectColumnValuesToNotBeNull(column="created_at", description="every lead has a creation time"),
        gxe.ExpectColumnValuesToBeBetween(column="employees", min_value=1, max_value=5_000_000,
                                          description="headcounts are plausible"),
    ]


@functools.cache
def _iso_countries() -> list[str]:
    import pycountry

    return sorted(c.alpha_2 for c in pycountry.countries)


@functools.cache
def _iso_subdivisions() -> dict[str, tuple[str, ...]]:
    """ISO 3166-2 subdivision codes by country."""
    import pycountry

    by_country: dict[str, list[str]] = {}
    for s in pycountry.subdivisions:
        by_country.setdefault(s.country_code, []).append(s.code)
    return {c: tuple(sorted(codes)) for c, codes in by_country.items()}


def _enriched(con, ctx):
    gxe = expectations()
    frame = con.execute("""SELECT lead_id, country_code, subdivision_code, split_part(subdivision_code, '-', 1)
                                  AS subdivision_country, size_band, sales_region FROM lead_enriched""").df()
    bands = sorted({b.band for items in ctx.enrichment.size_bands.values() for b in items})
    # The subdivisions of the countries present, not all 5,000: GX's cost grows with the set.
    by_country = _iso_subdivisions()
    present = set(frame["subdivision_country"].dropna()) | set(frame["country_code"].dropna())
    subdivisions = sorted(code for c in present for code in by_country.get(c, ()))
    out = [
        gxe.ExpectColumnValuesToBeUnique(column="lead_id", description="one row per lead"),
        gxe.ExpectColumnValuesToBeInSet(column="country_code", value_set=_iso_countries(),
                                        mostly=ctx.quality.checks.country_code_mostly,
                                        description="countries are ISO 3166-1 codes"),
        gxe.ExpectColumnValuesToBeInSet(column="subdivision_code", value_set=subdivisions,
                                        description="states are ISO 3166-2 subdivisions"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="subdivision_country", column_B="country_code",
                                            ignore_row_if="either_value_is_missing",
                                            description="a lead's state is a subdivision of its country"),
        gxe.ExpectColumnValuesToBeInSet(column="size_band", value_set=bands,
                                        description="size bands are the ones enrichment.yaml defines"),
    ]
    if ctx.enrichment.regions:
        out.append(gxe.ExpectColumnValuesToBeInSet(column="sales_region", value_set=sorted(ctx.enrichment.regions),
                                                   description="sales regions are the ones enrichment.yaml defines"))
    return frame, out


def _coverage(con, ctx):
    """Every lead in scope has a decision with its ledger row, or an open quarantine item: nothing is
    dropped silently. Raw ids are keyed the way unify keys them, so a raw id and its lead compare equal."""
    gxe = expectations()
    raw_key = clean_sql("Id")
    frame = con.execute(
        f"""SELECT {raw_key} AS lead_id,
                  EXISTS (SELECT 1 FROM routing_decision d JOIN ledger g ON g.decision_id = d.decision_id
                          AND g.kind = 'owner' WHERE d.lead_id = {raw_key})
                  OR EXISTS (SELECT 1 FROM quarantine q WHERE q.object = 'lead' AND q.record_id IN (r."Id", {raw_key})
                             AND q.resolved_at IS NULL) AS decided_or_quarantined
           FROM raw_lead r LEFT JOIN lead l ON l.lead_id = {raw_key}
           WHERE {open_lead("l")}"""
    ).df()
    return frame, [gxe.ExpectColumnValuesToBeInSet(
        column="decided_or_quarantined", value_set=[True],
        description="every lead has a routing decision (with its ledger row) or a quarantine item with the reason")]


def _owners(con, ctx):
    """What the push will write: every target owner is an active user or a CRM queue."""
    gxe = expectations()
    frame = con.execute(
        """SELECT g.lead_id, g.target_owner_id,
                  (g.target_owner_id IN (SELECT queue_id FROM crm_queue)
                   OR g.target_owner_id IN (SELECT user_id FROM crm_user WHERE is_active)) AS owner_is_active
           FROM ledger g WHERE g.kind = 'owner' AND g.status IN ('pending', 'in_flight')"""
    ).df()
    return frame, [gxe.ExpectColumnValuesToBeInSet(
        column="owner_is_active", value_set=[True],
        description="every owner the push will write is an active user or a queue")]


def _decisions(con, ctx):
    gxe = expectations()
    frame = con.execute(
        # A lead the tick found owned is kept (recorded) and may then be moved by day 2: it moves once.
        """SELECT lead_id, CASE WHEN action <> 'keep' THEN lead_id END AS moved_lead_id, reason,
                  coalesce(owner_id, queue) AS routed_to
           FROM routing_decision WHERE run_id = ?""",
        [ctx.run.run_id],
    ).df()
    return frame, [
        gxe.ExpectColumnValuesToBeUnique(column="moved_lead_id", description="a lead moves at most once per tick"),
        gxe.ExpectColumnValuesToNotBeNull(column="routed_to", description="an owner or a named queue"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="reason", min_value=10,
                                                description="a reason a sales-ops person can read"),
    ]


CHECKS: list[Check] = [
    Check("extracted_records_valid", "raw_crm", False, "Extracted records have Ids and versions, once each.",
          "record", _extracted),
    Check("unified_leads_valid", "unified", False, "Unified leads: ids, well-formed emails, owners, headcounts.",
          "lead_id", _unified),
    Check("enriched_leads_valid", "enriched", False,
          "Enriched leads: ISO countries, states that are subdivisions of their country, known bands.", "lead_id",
          _enriched),
    Check("every_lead_decided_or_quarantined", "routing_decision", True,
          "Blocks the push unless every lead has a decision or a quarantine item.", "lead_id", _coverage),
    # After day-2 rerouting (the `reroutes` asset), so they see every write the push will make and every
    # decision of the tick, first routings and reroutes alike.
    Check("owners_are_active", "reroutes", True,
          "Blocks the push unless every owner it would write is an active user or a queue.", "lead_id", _owners),
    Check("decisions_explained", "reroutes", False,
          "This tick's decisions: one per lead, an owner or a queue, a readable reason.", "lead_id", _decisions),
]
