"""The checks every tick runs: which rows each looks at and what it expects of them.

Each :class:`Check` builds a frame from the warehouse in SQL and lists Great
Expectations 1.x expectations over it. ``blocking`` checks guard what the CRM push
depends on (every lead decided or quarantined; every target owner an active user or
a queue): when one fails, the push does not run and nothing wrong reaches the CRM.
The others warn: they show in the Dagster UI with the failing-row counts and
examples, and in ``leadroute report``.

A tick checks its **delta** (``CheckContext.scope == "delta"``): the records this run
extracted, unified or enriched, not the whole tables again, so a tick costs what its
new rows cost. Table-wide guarantees stay table-wide where they are cheap to keep: the
coverage check looks at this tick's leads *and* at every lead anywhere still without a
decision or a quarantine item (one anti-join in SQL). ``scope == "full"`` (the default
when called directly, as the tests do) checks everything: a whole-table audit, which no job
schedules yet.
A frame with no rows passes without loading Great Expectations (seconds of imports).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipelines.enrich.settings import EnrichmentSettings
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
    scope: str = "full"  # "delta": this run's rows only (what a tick checks); "full": every row

    @property
    def delta(self) -> bool:
        return self.scope == "delta"


@dataclass(frozen=True)
class Check:
    name: str
    asset: str
    blocking: bool
    description: str
    id_column: str
    frame: Callable[[duckdb.DuckDBPyConnection, CheckContext], pd.DataFrame]
    # (the ``great_expectations.expectations`` module, the context, the frame) -> the expectations
    expectations: Callable[[object, CheckContext, pd.DataFrame], list]


def _extracted_frame(con, ctx):
    where = "WHERE _run_id IN (SELECT unnest($runs::VARCHAR[]))" if ctx.delta else ""
    return con.execute(
        f"""SELECT 'lead' AS object, "Id" AS record_id, 'lead:' || "Id" AS record, _modstamp FROM raw_lead {where}
            UNION ALL SELECT 'account', "Id", 'account:' || "Id", _modstamp FROM raw_account {where}
            UNION ALL SELECT 'user', "Id", 'user:' || "Id", _modstamp FROM raw_user {where}""",
        {"runs": list(ctx.run.lineage)} if ctx.delta else None,
    ).df()


def _extracted(gxe, ctx, frame):
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="record_id", description="every record has an Id"),
        gxe.ExpectColumnValuesToBeUnique(column="record", description="one row per record"),
        gxe.ExpectColumnValuesToMatchRegex(column="record_id", regex=CRM_ID, description="Ids are 15 or 18 characters"),
        gxe.ExpectColumnValuesToNotBeNull(column="_modstamp", description="every record has a readable SystemModstamp"),
    ]


def _unified_frame(con, ctx):
    where = "WHERE _unified_at IN (SELECT unnest(?::TIMESTAMP[]))" if ctx.delta else ""
    return con.execute(f"SELECT lead_id, email, owner_id, created_at, employees FROM lead {where}",
                       [list(ctx.run.lineage_nows)] if ctx.delta else None).df()


def _unified(gxe, ctx, frame):
    mostly = ctx.quality.checks.email_format_mostly
    return [
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


def _enriched_frame(con, ctx):
    where = "WHERE _enriched_at IN (SELECT unnest(?::TIMESTAMP[]))" if ctx.delta else ""
    return con.execute(f"""SELECT lead_id, country_code, subdivision_code, split_part(subdivision_code, '-', 1)
                                  AS subdivision_country, size_band, sales_region FROM lead_enriched {where}""",
                       [list(ctx.run.lineage_nows)] if ctx.delta else None).df()


def _enriched(gxe, ctx, frame):
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
    return out


def _coverage_frame(con, ctx):
    """Every lead in scope has a decision with its ledger row, or an open quarantine item: nothing is
    dropped silently. Raw ids are keyed the way unify keys them, so a raw id and its lead compare equal.
    In a tick: the leads it extracted or decided, and every lead that fails anywhere (set-based: one
    pass over the tables, no lead-by-lead lookups).

    Every lead, every tick, so its cost is the tables': the raw key is worked out once per raw record
    (it was three times, once per join), and the decided and quarantined ids are only tested for
    membership, not made distinct first (at 600,000 leads: 0.8 -> 0.45 s of CPU, the same rows)."""
    raw_key = clean_sql("Id")
    delta = ("WHERE s._run_id IN (SELECT unnest($runs::VARCHAR[])) OR NOT s.decided_or_quarantined "
             "OR s.lead_id IN (SELECT lead_id FROM routing_decision WHERE run_id IN (SELECT unnest($runs::VARCHAR[])))"
             ) if ctx.delta else ""
    return con.execute(
        f"""WITH decided AS (SELECT d.lead_id FROM routing_decision d
                             WHERE d.decision_id IN (SELECT decision_id FROM ledger WHERE kind = 'owner')),
                 held AS (SELECT record_id FROM quarantine WHERE object = 'lead' AND resolved_at IS NULL),
                 r AS (SELECT {raw_key} AS lead_id, r."Id" AS raw_id, r._run_id FROM raw_lead r),
                 s AS (SELECT r.lead_id, r._run_id,
                              (r.lead_id IN (SELECT lead_id FROM decided)
                               OR r.raw_id IN (SELECT record_id FROM held)
                               OR r.lead_id IN (SELECT record_id FROM held)) AS decided_or_quarantined
                       FROM r LEFT JOIN lead l ON l.lead_id = r.lead_id
                       WHERE {open_lead("l")})
            SELECT s.lead_id, s.decided_or_quarantined FROM s {delta}""",
        {"runs": list(ctx.run.lineage)} if ctx.delta else None,
    ).df()


def _coverage(gxe, ctx, frame):
    return [gxe.ExpectColumnValuesToBeInSet(
        column="decided_or_quarantined", value_set=[True],
        description="every lead has a routing decision (with its ledger row) or a quarantine item with the reason")]


def _owners_frame(con, ctx):
    """What the push will write (already a delta: the writes waiting): every target owner is an active
    user or a CRM queue."""
    return con.execute(
        """SELECT g.lead_id, g.target_owner_id,
                  (g.target_owner_id IN (SELECT queue_id FROM crm_queue)
                   OR g.target_owner_id IN (SELECT user_id FROM crm_user WHERE is_active)) AS owner_is_active
           FROM ledger g WHERE g.kind = 'owner' AND g.status IN ('pending', 'in_flight')"""
    ).df()


def _owners(gxe, ctx, frame):
    return [gxe.ExpectColumnValuesToBeInSet(
        column="owner_is_active", value_set=[True],
        description="every owner the push will write is an active user or a queue")]


def _decisions_frame(con, ctx):
    return con.execute(
        # A lead the tick found owned is kept (recorded) and may then be moved by day 2: it moves once.
        """SELECT lead_id, CASE WHEN action <> 'keep' THEN lead_id END AS moved_lead_id, reason,
                  coalesce(owner_id, queue) AS routed_to
           FROM routing_decision WHERE run_id IN (SELECT unnest(?::VARCHAR[]))""",
        [list(ctx.run.lineage)],
    ).df()


def _decisions(gxe, ctx, frame):
    return [
        gxe.ExpectColumnValuesToBeUnique(column="moved_lead_id", description="a lead moves at most once per tick"),
        gxe.ExpectColumnValuesToNotBeNull(column="routed_to", description="an owner or a named queue"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="reason", min_value=10,
                                                description="a reason a sales-ops person can read"),
    ]


CHECKS: list[Check] = [
    Check("extracted_records_valid", "raw_crm", False, "Extracted records have Ids and versions, once each.",
          "record", _extracted_frame, _extracted),
    Check("unified_leads_valid", "unified", False, "Unified leads: ids, well-formed emails, owners, headcounts.",
          "lead_id", _unified_frame, _unified),
    Check("enriched_leads_valid", "enriched", False,
          "Enriched leads: ISO countries, states that are subdivisions of their country, known bands.", "lead_id",
          _enriched_frame, _enriched),
    Check("every_lead_decided_or_quarantined", "routing_decision", True,
          "Blocks the push unless every lead has a decision or a quarantine item.", "lead_id",
          _coverage_frame, _coverage),
    # After day-2 rerouting (the `reroutes` asset), so they see every write the push will make and every
    # decision of the tick, first routings and reroutes alike.
    Check("owners_are_active", "reroutes", True,
          "Blocks the push unless every owner it would write is an active user or a queue.", "lead_id",
          _owners_frame, _owners),
    Check("decisions_explained", "reroutes", False,
          "This tick's decisions: one per lead, an owner or a queue, a readable reason.", "lead_id",
          _decisions_frame, _decisions),
]
