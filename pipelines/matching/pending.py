"""What the matching stages have to do this tick, each in one light query.

A tick with no new or changed account and no new lead must not load the matching
engine (rapidfuzz, recordlinkage and scikit-learn under it take seconds to import),
so the assets ask here first and import the engine only when there is work. The
conditions are the ones the stages themselves select their rows by: one definition.
"""

from __future__ import annotations

import duckdb

from pipelines.matching.fields import FIELDS
from pipelines.matching.versions import KEY_VERSION
from pipelines.warehouse import inputs

# An account whose stored keys are missing, older than the account, or of an older key version.
STALE_KEYS = f"k.account_id IS NULL OR a._modstamp > k._modstamp OR k._key_version IS DISTINCT FROM {KEY_VERSION}"
LIVE_ACCOUNT = "NOT coalesce(a.is_deleted, false)"
# Keys of accounts deleted (or gone) since they were keyed.
REMOVED_KEYS = ("SELECT k.account_id FROM account_match_key k LEFT JOIN account a USING (account_id) "
                "WHERE a.account_id IS NULL OR coalesce(a.is_deleted, false)")


def lead_inputs(con: duckdb.DuckDBPyConnection) -> str:
    """SQL (over the lead table as ``l``): the hash of the lead fields matching reads, stored with each
    match, so a lead changed elsewhere (its owner, its status) keeps it (:mod:`pipelines.warehouse.inputs`)."""
    return inputs.inputs_hash(con, "lead", "l", FIELDS)


def leads_pending(con: duckdb.DuckDBPyConnection) -> str:
    """SQL: leads with no match yet, or newer than their match in a field matching reads."""
    return inputs.pending("m", "lead_id", "e", lead_inputs(con))


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                            "AND database_name = current_database()", [table]).fetchall()[0][0])


def master_work(con: duckdb.DuckDBPyConnection) -> int:
    """Accounts to key, keys to remove, master rows missing or extra, and account domains to clear: 0 when
    the master is current (with no domain list or field configured, which the master re-reads every run)."""
    if not _has(con, "account_match_key") or not _has(con, "account_master"):
        return int(con.execute("SELECT count(*) FROM account").fetchall()[0][0]) or 1
    # Listed domains first: the master clears rows of a list or CRM field no longer configured.
    listed = int(con.execute("SELECT count(*) FROM account_domain").fetchall()[0][0]) if _has(con, "account_domain") else 0
    if not listed and _keyed_as_they_are(con):
        return 0
    row = con.execute(f"""
        SELECT (SELECT count(*) FROM account a LEFT JOIN account_match_key k USING (account_id)
                WHERE {LIVE_ACCOUNT} AND ({STALE_KEYS})),
               (SELECT count(*) FROM ({REMOVED_KEYS})),
               (SELECT count(*) FROM account a WHERE {LIVE_ACCOUNT}) - (SELECT count(*) FROM account_master)
    """).fetchall()[0]
    return int(row[0]) + int(row[1]) + abs(int(row[2])) + listed


def _keyed_as_they_are(con: duckdb.DuckDBPyConnection) -> bool:
    """The quiet tick's answer, without joining a million accounts to their keys twice: the live
    accounts and their keys hold the same accounts at the same versions
    (:func:`pipelines.warehouse.inputs.same_versions`), every key of this key version, and a master
    row for each. Anything else, :func:`master_work` counts."""
    return (inputs.same_versions(con, f"account a WHERE {LIVE_ACCOUNT}", "a.account_id",
                                 "account_match_key", "account_id")
            and con.execute(f"""SELECT (SELECT count(*) FROM account_match_key
                                        WHERE _key_version IS DISTINCT FROM {KEY_VERSION}) = 0
                                   AND (SELECT count(*) FROM account_master)
                                       = (SELECT count(*) FROM account a WHERE {LIVE_ACCOUNT})""").fetchone()[0])


def newer_leads(con: duckdb.DuckDBPyConnection) -> str | None:
    """A temp table of the enriched leads newer than their match or without one, or None when there
    is none (:func:`pipelines.warehouse.inputs.newer_keys`; every enriched lead before any match is
    stored). What to keep and what to match is asked of these leads alone; ``inputs.forget`` it after."""
    name = "_match_newer"
    if _has(con, "lead_match"):
        return inputs.newer_keys(con, name, "lead_enriched s", "lead_match", "lead_id")
    return inputs.key_table(con, name, "SELECT lead_id AS k FROM lead_enriched")


def leads_to_match(con: duckdb.DuckDBPyConnection, newer: str | None) -> int:
    """Enriched leads with no match yet or changed since in a field matching reads, among ``newer``
    (:func:`newer_leads`)."""
    if newer is None:
        return 0
    if not _has(con, "lead_match"):
        return int(con.execute(f"SELECT count(*) FROM {newer}").fetchall()[0][0])
    return int(con.execute(
        "SELECT count(*) FROM lead_enriched e JOIN lead l USING (lead_id) LEFT JOIN lead_match m USING (lead_id) "
        f'WHERE {inputs.among("e", "lead_id", newer)} AND {leads_pending(con)}').fetchall()[0][0])


def keep_unchanged_matches(con: duckdb.DuckDBPyConnection, newer: str | None) -> int:
    """How many leads newer than their match only in fields matching does not read were marked current."""
    if newer is None or not _has(con, "lead_match"):
        return 0
    return inputs.keep_current(con, "lead_match", "lead_id", "lead_enriched s JOIN lead l USING (lead_id)",
                               lead_inputs(con), newer)


def domains_configured(con: duckdb.DuckDBPyConnection, settings) -> bool:
    """Whether the master has account domains to re-read every run (an ops list, or the configured CRM
    domain field present on the account table): then even a tick with no account changed runs it."""
    field = settings.domains.crm_field
    return bool(settings.listed_domains) or bool(field and con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() AND table_name = 'account' "
        "AND column_name = ?", [field]).fetchall()[0][0])
