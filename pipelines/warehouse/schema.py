"""Every warehouse table, its key and its columns, declared once.

The warehouse is a DuckDB file. Data moves forward only: each stage reads the
tables of the stage before it and writes its own. Only the ledger, the pool
state and the watermarks carry memory from tick to tick; everything else can be
rebuilt from the CRM.

Two kinds of tables:
- *fixed* tables, fully declared here;
- *mapped* tables (``raw_*`` and the unified ``lead``/``account``/...), whose
  system columns are declared here and whose business columns come from the
  field mapping ``routing_rules/fields.yaml`` (orgs differ; the mapping is data).

All timestamps are UTC without a time zone (DuckDB ``TIMESTAMP``); every
connection sets ``TimeZone='UTC'``. Meanings several stages share are declared once
too: the view ``current_decision`` (each lead's latest decision) and
:func:`open_lead` (neither converted nor deleted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 2  # 2: routing_decision.is_current (see migrations.py)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    stage: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    mapped: bool = False  # business columns added from the field mapping

    def ddl(self, extra: list[Column] | None = None) -> str:
        cols = list(self.columns) + list(extra or [])
        body = ",\n  ".join(f'"{c.name}" {c.type}' for c in cols)
        # A mapped table of an object the mapping leaves out (tasks, events) has no key column: no key.
        if self.key and set(self.key) <= {c.name for c in cols}:
            body += ",\n  PRIMARY KEY (" + ", ".join(f'"{k}"' for k in self.key) + ")"
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" (\n  {body}\n)'

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _cols(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in specs)


# System columns every raw table carries next to the mapped CRM fields (all VARCHAR:
# raw is raw; typing happens in unify, where a bad value is quarantined, not fatal).
RAW_SYSTEM = _cols(
    ("_modstamp", "TIMESTAMP", "the record's SystemModstamp, parsed"),
    ("_extracted_at", "TIMESTAMP", "when this version was extracted"),
    ("_run_id", "VARCHAR", "the run that extracted it"),
)

# System columns of the unified (canonical) tables.
UNIFIED_SYSTEM = _cols(
    ("_modstamp", "TIMESTAMP", "the source record version this row was computed from"),
    ("_unified_at", "TIMESTAMP", ""),
    ("_first_filled", "VARCHAR", "fill rates' before: a signature of the mapping's first sources, then 1/0 per "
                                 "column (did its first source have a value); NULL until fill rates next look"),
)

# Enrichment columns leads and accounts share (see pipelines/enrich/).
_GEOGRAPHY = (
    ("country_code", "VARCHAR", "ISO 3166-1 alpha-2 (Puerto Rico per enrichment.yaml)"),
    ("state_code", "VARCHAR", "ISO 3166-2 subdivision code without country, e.g. CA"),
    ("subdivision_code", "VARCHAR", "ISO 3166-2 with country, e.g. US-CA"),
    ("zip5", "VARCHAR", "US ZIP code, 5 digits"),
    ("county", "VARCHAR", "from the ZIP code"),
    ("time_zone", "VARCHAR", "IANA time zone of the ZIP code"),
    ("region", "VARCHAR", "UN region: Americas, Europe, Asia, Africa, Oceania"),
    ("subregion", "VARCHAR", "UN subregion, e.g. Western Europe"),
    ("continent", "VARCHAR", "Europe, North America, South America, Asia, Africa, Oceania"),
    ("sales_region", "VARCHAR", "the sales region of enrichment.yaml, e.g. EMEA"),
)
_FIRMOGRAPHICS = (
    ("company_industry", "VARCHAR", "the CRM's industry, else purchased data's (per enrichment.yaml)"),
    ("company_industry_source", "VARCHAR", "crm:<field> or the purchased data's label"),
    ("company_employees", "BIGINT"),
    ("company_employees_source", "VARCHAR"),
    ("company_revenue", "DOUBLE"),
    ("company_revenue_source", "VARCHAR"),
    ("company_naics", "VARCHAR", "NAICS code, digits"),
    ("company_naics_source", "VARCHAR"),
    ("naics_sector", "VARCHAR", "NAICS sector name, e.g. Manufacturing"),
    ("size_band", "VARCHAR", "per enrichment.yaml size_bands, by employees else revenue"),
    ("size_band_basis", "VARCHAR", "employees or revenue"),
)

_raw = lambda obj, doc: Table(  # noqa: E731
    f"raw_{obj}", "extract", doc, RAW_SYSTEM, key=("Id",), mapped=True
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "schema_version",
            "warehouse",
            "Applied schema versions, with the leadroute release that applied each (pipelines/warehouse/migrations.py).",
            _cols(("version", "INTEGER"), ("applied_at", "TIMESTAMP"), ("code_version", "VARCHAR")),
            key=("version",),
        ),
        Table(
            "watermark",
            "extract",
            "Per CRM object, the SystemModstamp up to which changes are reconciled, and when "
            "that read happened (`read_at`, the tick's clock). `pending_value` and `pending_read_at` "
            "are the current tick's; they become `value` and `read_at` only after the push for "
            "those records is reconciled.",
            _cols(
                ("object", "VARCHAR"),
                ("value", "TIMESTAMP"),
                ("pending_value", "TIMESTAMP"),
                ("pending_run_id", "VARCHAR"),
                ("updated_at", "TIMESTAMP"),
                ("read_at", "TIMESTAMP"),
                ("pending_read_at", "TIMESTAMP"),
            ),
            key=("object",),
        ),
        _raw("lead", "Lead records as extracted, latest version per Id."),
        _raw("account", "Account records as extracted, latest version per Id."),
        _raw("user", "User records as extracted."),
        _raw("opportunity", "Opportunity records as extracted."),
        _raw("queue", "Queues (Group of type Queue) as extracted."),
        _raw("task", "Tasks (calls, emails, to-dos) as extracted: a completed one on a lead is a touch."),
        _raw("event", "Events (meetings) as extracted: one ahead protects a lead from rerouting."),
        Table(
            "extract_log",
            "extract",
            "What each run extracted: one row per run and object.",
            _cols(
                ("run_id", "VARCHAR"),
                ("object", "VARCHAR"),
                ("since", "TIMESTAMP"),
                ("until", "TIMESTAMP"),
                ("records", "INTEGER"),
                ("new_versions", "INTEGER"),
                ("extracted_at", "TIMESTAMP"),
            ),
            key=("run_id", "object"),
        ),
        Table(
            "quarantine",
            "any",
            "Records a stage could not process, with the reason. A record leaves quarantine "
            "(resolved_at is set) when a fixed version of it passes the stage.",
            _cols(
                ("stage", "VARCHAR"),
                ("object", "VARCHAR"),
                ("record_id", "VARCHAR"),
                ("reason", "VARCHAR", "short code, e.g. missing_id, bad_timestamp, no_identity"),
                ("detail", "VARCHAR", "what was wrong, in words, with the value"),
                ("payload", "JSON", "the record as received"),
                ("record_modstamp", "VARCHAR"),
                ("first_seen_at", "TIMESTAMP"),
                ("last_seen_at", "TIMESTAMP"),
                ("resolved_at", "TIMESTAMP"),
                ("run_id", "VARCHAR"),
            ),
            key=("stage", "object", "record_id"),
        ),
        Table("lead", "unify", "Leads with canonical columns.", UNIFIED_SYSTEM, ("lead_id",), True),
        Table("account", "unify", "Accounts with canonical columns.", UNIFIED_SYSTEM, ("account_id",), True),
        Table("crm_user", "unify", "CRM users with canonical columns.", UNIFIED_SYSTEM, ("user_id",), True),
        Table(
            "opportunity", "unify", "Opportunities with canonical columns.", UNIFIED_SYSTEM,
            ("opportunity_id",), True,
        ),
        Table("crm_queue", "unify", "CRM queues by developer name.", UNIFIED_SYSTEM, ("queue_id",), True),
        Table("crm_task", "unify", "CRM tasks with canonical columns (who_id: the lead).", UNIFIED_SYSTEM,
              ("task_id",), True),
        Table("crm_event", "unify", "CRM events (meetings) with canonical columns (who_id: the lead).", UNIFIED_SYSTEM,
              ("event_id",), True),
        Table(
            "fill_rate_count",
            "unify",
            "The counts behind each unified object's fill rates (pipelines/unify/fill_rates.py), kept as "
            "unify writes rows, so a tick's fill rates cost its own rows, not a scan of a million.",
            _cols(
                ("object", "VARCHAR"),
                ("signature", "VARCHAR", "the mapped fields and first sources the counts are of"),
                ("counts", "VARCHAR", "JSON: records, and per column before, after and by source"),
                ("counted_at", "TIMESTAMP", "when every row was last counted (a changed mapping counts again)"),
            ),
            key=("object",),
        ),
        Table(
            "lead_enriched",
            "enrich",
            "Leads plus derived and reference-data fields used by matching and routing (as lead.<column>). "
            "Leads with an open quarantine item are kept out, so they are not routed until fixed.",
            _cols(
                ("lead_id", "VARCHAR"),
                ("email_domain", "VARCHAR", "registered domain of the email"),
                ("website_domain", "VARCHAR", "registered domain of the website"),
                ("domain", "VARCHAR", "the company domain: work email domain, else website"),
                ("is_free_mail", "BOOLEAN"),
                ("domain_kind", "VARCHAR", "free_mail, edu, gov, mil or business"),
                ("company_norm", "VARCHAR", "normalised company name"),
                ("postal_code_norm", "VARCHAR"),
                *_GEOGRAPHY,
                ("state_code_source", "VARCHAR", "crm, or zip when the CRM had no state"),
                ("country_code_source", "VARCHAR", "crm, or phone when the CRM had no country"),
                ("geo_latitude", "DOUBLE", "the CRM's latitude, else the ZIP's centre"),
                ("geo_longitude", "DOUBLE"),
                ("geo_source", "VARCHAR", "crm or zip"),
                ("phone_country", "VARCHAR", "ISO country of the phone number"),
                ("phone_region", "VARCHAR", "the number's place (phonenumbers' geocoder), e.g. California, Berlin"),
                ("phone_area_code", "VARCHAR", "geographic area code, e.g. 415"),
                *_FIRMOGRAPHICS,
                ("_modstamp", "TIMESTAMP"),
                ("_enriched_at", "TIMESTAMP"),
                ("_inputs", "UBIGINT", "hash of the unified columns enrichment read: a record changed "
                                      "elsewhere keeps its enriched row"),
            ),
            key=("lead_id",),
        ),
        Table(
            "account_enriched",
            "enrich",
            "Accounts plus derived fields used by matching and routing (as account.<column>).",
            _cols(
                ("account_id", "VARCHAR"),
                ("website_domain", "VARCHAR"),
                ("name_norm", "VARCHAR"),
                ("_key_version", "INTEGER", "the match keys' version (pipelines/matching/versions.py) whose "
                                           "normalisers wrote name_norm and website_domain"),
                *_GEOGRAPHY,
                *_FIRMOGRAPHICS,
                ("_modstamp", "TIMESTAMP"),
                ("_enriched_at", "TIMESTAMP"),
                ("_inputs", "UBIGINT", "hash of the unified columns enrichment read: a record changed "
                                      "elsewhere keeps its enriched row"),
            ),
            key=("account_id",),
        ),
        Table(
            "account_domain",
            "master",
            "Every web domain of an account besides its Website: from the CRM field matching.yaml "
            "`domains.crm_field` names and the ops list `domains.file`; rebuilt by each master run.",
            _cols(
                ("account_id", "VARCHAR"),
                ("domain", "VARCHAR", "registered domain, e.g. example.de"),
                ("source", "VARCHAR", "where it is listed: 'CRM field domains' or '<file> line N'"),
            ),
            key=("account_id", "domain"),
        ),
        Table(
            "account_match_key",
            "master",
            "Each account's match keys (normalised name, domain, phone, address...), computed when "
            "the account changes so a tick only normalises its new leads.",
            _cols(
                ("account_id", "VARCHAR"),
                ("name", "VARCHAR", "company name, comparison form"),
                ("name_key", "VARCHAR", "the name without spaces"),
                ("name_site", "VARCHAR", "the site part of an 'Agency - Site' name"),
                ("name_branch", "VARCHAR", "the branch closing brackets name: las vegas for 'Spago (Las Vegas)'"),
                ("name_where", "VARCHAR", "where the name says the company is, after its legal form: "
                                          "'80802 munich germany' for 'Allianz SE 80802 Munich Germany'"),
                ("acronym", "VARCHAR", "initials of a multi-word name"),
                ("tokens", "VARCHAR[]", "identifying words of the name, for shared-word blocking"),
                ("domain", "VARCHAR", "registered domain of the website (never free mail)"),
                ("domain_label", "VARCHAR", "the domain without its suffix: ibm for ibm.co.jp"),
                ("domain_country", "VARCHAR", "the country of a country-code domain suffix"),
                ("is_free_mail", "BOOLEAN"),
                ("email", "VARCHAR", "the first email address, lower case (accounts in the CRM hold none)"),
                ("phone", "VARCHAR", "E.164"),
                ("phone_local", "VARCHAR", "the last seven digits: survives a missing area code"),
                ("street", "VARCHAR", "house number, street name, type, direction (no unit)"),
                ("house_number", "VARCHAR"),
                ("street_key", "VARCHAR", "the street name without spaces, type or directions"),
                ("unit", "VARCHAR", "suite, room, floor"),
                ("address_tokens", "VARCHAR[]", "house number:street word, for address blocking"),
                ("city", "VARCHAR"),
                ("state", "VARCHAR"),
                ("postal_code", "VARCHAR"),
                ("country", "VARCHAR", "ISO 3166-1 alpha-2"),
                ("latitude", "DOUBLE"),
                ("longitude", "DOUBLE"),
                ("birthdate", "VARCHAR", "a person's date of birth as YYYYMMDD (CRM accounts hold none)"),
                ("completeness", "INTEGER", "how many match fields are known"),
                ("_modstamp", "TIMESTAMP", "the account version the keys were computed from"),
                ("_key_version", "INTEGER", "the key definitions' version: older keys are recomputed"),
                ("_keyed_at", "TIMESTAMP"),
            ),
            key=("account_id",),
        ),
        Table(
            "account_duplicate",
            "master",
            "Pairs of CRM accounts the engine judges to be one company (the edges of the duplicate "
            "clusters). Nothing is merged in the CRM.",
            _cols(
                ("account_id", "VARCHAR", "the smaller id of the pair"),
                ("duplicate_id", "VARCHAR"),
                ("confidence", "DOUBLE"),
                ("score", "DOUBLE", "match weight in bits"),
                ("reason", "VARCHAR"),
                ("_found_at", "TIMESTAMP"),
            ),
            key=("account_id", "duplicate_id"),
        ),
        Table(
            "matching_parameters",
            "master",
            "The matching model learned from the org's own records at the last rebuild (dedupe: accounts "
            "against accounts; link: leads against accounts): m, u and weight per comparison level.",
            _cols(
                ("kind", "VARCHAR", "dedupe or link"),
                ("comparison", "VARCHAR"),
                ("level", "VARCHAR"),
                ("m", "DOUBLE", "share of true matches at this level"),
                ("u", "DOUBLE", "share of non-matches at this level"),
                ("weight", "DOUBLE", "log2(m / u) in bits, bounded"),
                ("source", "VARCHAR", "learned, labels, prior, pinned or small table"),
                ("prior", "DOUBLE", "log2 odds of a match before evidence"),
                ("match_rate", "DOUBLE", "probability that two random records match"),
                ("notes", "VARCHAR", "JSON list"),
                ("stats", "VARCHAR", "JSON: records, pairs sampled, seconds"),
                ("settings_hash", "VARCHAR", "matching.yaml's model and blocking the model was learned with"),
                ("_learned_at", "TIMESTAMP"),
            ),
            key=("kind", "comparison", "level"),
        ),
        Table(
            "account_master",
            "master",
            "One row per CRM account: its master entity (duplicate cluster), the cluster's "
            "survivor and its place in the hierarchy, so each row stands alone.",
            _cols(
                ("account_id", "VARCHAR"),
                ("master_id", "VARCHAR", "the survivor account of the duplicate cluster"),
                ("is_survivor", "BOOLEAN"),
                ("cluster_size", "INTEGER", "CRM accounts in the duplicate cluster"),
                ("survivor_reason", "VARCHAR", "why the survivor was chosen over the others"),
                ("parent_id", "VARCHAR"),
                ("ultimate_parent_id", "VARCHAR"),
                ("global_ultimate_id", "VARCHAR", "top of the hierarchy (same as ultimate_parent_id)"),
                ("domestic_ultimate_id", "VARCHAR", "highest account reached through parents in the same country"),
                ("depth", "INTEGER", "0 for a top-level account"),
                ("hierarchy_path", "VARCHAR", "ultimate parent > ... > this account"),
                ("hierarchy_issue", "VARCHAR", "cycle or dangling parent, if any"),
                ("_built_at", "TIMESTAMP"),
            ),
            key=("account_id",),
        ),
        Table(
            "kept_blocks",
            "match",
            "The accounts' side of blocking kept between ticks (pipelines/matching/block_index.py): per "
            "key table, the tables holding each rule's rows with their sort keys, block sizes and places "
            "in sorted blocks, and what "
            "they were built from.",
            _cols(
                ("relation", "VARCHAR", "the key table: account_match_key"),
                ("fingerprint", "VARCHAR", "the blocking rules the tables were built with"),
                ("records", "BIGINT", "records in the key table when they were last brought up to date"),
                ("tables", "VARCHAR", "JSON: rule position -> its tables"),
            ),
            key=("relation",),
        ),
        Table(
            "kept_blocks_changed",
            "master",
            "Records whose keys changed, came or went (the master stage compares the keys it rewrites) "
            "since the kept blocks were last brought up to date: their blocks are redone at the next match.",
            _cols(
                ("relation", "VARCHAR"),
                ("id", "VARCHAR"),
            ),
        ),
        Table(
            "lead_match",
            "match",
            "The account (and lead) each lead matched, with confidence and the evidence.",
            _cols(
                ("lead_id", "VARCHAR"),
                ("account_id", "VARCHAR", "the account routing uses: survivor, at the configured hierarchy level"),
                ("master_id", "VARCHAR"),
                ("confidence", "DOUBLE"),
                ("reason", "VARCHAR", "which evidence agreed"),
                ("matched_lead_id", "VARCHAR", "lead-to-lead: an existing lead of the same company"),
                ("matched_lead_owner_id", "VARCHAR"),
                ("matched_account_id", "VARCHAR", "the CRM account record that matched best"),
                ("method", "VARCHAR", "account, lead or none"),
                ("hierarchy_level", "VARCHAR", "the level routed to: account, parent, domestic_ultimate..."),
                ("score", "DOUBLE", "match weight in bits (log2 odds)"),
                ("evidence", "VARCHAR", "each comparison's level and weight"),
                ("candidates", "INTEGER", "accounts compared with the lead"),
                ("_modstamp", "TIMESTAMP"),
                ("_matched_at", "TIMESTAMP"),
                ("_inputs", "UBIGINT", "hash of the lead fields matching read: a lead changed elsewhere keeps its match"),
            ),
            key=("lead_id",),
        ),
        Table(
            "routing_decision",
            "route",
            "Immutable routing decisions. A reroute is a new decision that names the one it replaces.",
            _cols(
                ("decision_id", "VARCHAR"),
                ("lead_id", "VARCHAR"),
                ("entry", "VARCHAR", "new, updated, reroute, backfill"),
                ("step", "VARCHAR", "the rule step that decided"),
                ("action", "VARCHAR", "account_owner, table, pool, queue, user, keep, ..."),
                ("owner_id", "VARCHAR", "target owner (a user or queue id), empty when only a queue name is known"),
                ("queue", "VARCHAR", "queue name when routed to a queue"),
                ("pool", "VARCHAR", "the distribution pool the rules sent the lead to (its fallback may have placed it)"),
                ("reason", "VARCHAR", "one line a sales-ops person understands"),
                ("trace", "JSON", "steps tried, conditions, table row or pool state used"),
                ("rules_version", "VARCHAR"),
                ("replaces_decision_id", "VARCHAR"),
                ("lead_modstamp", "TIMESTAMP", "the lead version decided on"),
                ("partition_day", "DATE", "the lead's creation day"),
                ("run_id", "VARCHAR"),
                ("created_at", "TIMESTAMP"),
                ("is_current", "BOOLEAN", "the lead's current decision (its latest, by LATEST_DECISION): set when "
                                          "the decision is recorded, cleared when a newer one is"),
            ),
            key=("decision_id",),
        ),
        Table(
            "decision_match",
            "route",
            "The match a decision was made on, kept with it: the lead's match may change later, "
            "the explanation of this decision must not.",
            _cols(
                ("decision_id", "VARCHAR"),
                ("account_id", "VARCHAR"),
                ("confidence", "DOUBLE"),
                ("reason", "VARCHAR"),
                ("method", "VARCHAR"),
                ("matched_lead_id", "VARCHAR"),
            ),
            key=("decision_id",),
        ),
        Table(
            "ledger",
            "push",
            "One row per CRM write a decision asks for. Push reads pending rows only, so a "
            "re-run never pushes twice.",
            _cols(
                ("decision_id", "VARCHAR"),
                ("kind", "VARCHAR", "owner, convert, task, fields"),
                ("lead_id", "VARCHAR"),
                ("previous_owner_id", "VARCHAR"),
                ("target_owner_id", "VARCHAR"),
                ("payload", "JSON", "what to write for non-owner kinds"),
                ("status", "VARCHAR", "pending, in_flight (sent, answer not yet recorded), pushed, failed, "
                                                "skipped_unchanged, skipped_deleted (the record was deleted in the CRM), "
                                                "superseded, held"),
                ("attempts", "INTEGER"),
                ("last_error_code", "VARCHAR"),
                ("last_error", "VARCHAR"),
                ("next_attempt_at", "TIMESTAMP"),
                ("pushed_at", "TIMESTAMP"),
                ("crm_record_id", "VARCHAR", "id the CRM returned (task, contact)"),
                ("reconciled_at", "TIMESTAMP", "when a push read the record back, found this write already "
                                               "there (an answer lost to a crash or a timeout) and marked it "
                                               "pushed without writing again"),
                ("run_id", "VARCHAR", "the run that created the row"),
                ("last_run_id", "VARCHAR", "the run that last changed its status"),
                ("created_at", "TIMESTAMP"),
                ("updated_at", "TIMESTAMP"),
            ),
            key=("decision_id", "kind"),
        ),
        Table(
            "notification_outbox",
            "notify",
            "One row per message to a person or a channel (rules `notify:`, the manager digest): sent only once "
            "its decision's owner change is in the CRM, and never twice (marked sending, committed, before it "
            "leaves; a row found sending later is unconfirmed, reported and not resent).",
            _cols(
                ("message_key", "VARCHAR", "decision id + recipient (digest: digest:<day>:<manager>), so a "
                                           "re-run never makes a second message"),
                ("decision_id", "VARCHAR", "the decision it tells of; empty for a digest"),
                ("lead_id", "VARCHAR"),
                ("recipient", "VARCHAR", "owner, manager, channel:<name> or digest"),
                ("user_id", "VARCHAR", "the person (owner or manager) written to"),
                ("address", "VARCHAR", "their email in reps.csv"),
                ("channel", "VARCHAR", "email, or the channel's name (LEADROUTE_NOTIFY_CHANNEL_<NAME>)"),
                ("subject", "VARCHAR"),
                ("body", "VARCHAR"),
                ("status", "VARCHAR", "pending, sending (left, answer not recorded), sent, failed, unconfirmed "
                                      "(a tick died while sending: maybe delivered, never resent), skipped"),
                ("attempts", "INTEGER", "ticks that tried to send it"),
                ("next_attempt_at", "TIMESTAMP", "a failed send waits until then"),
                ("last_error", "VARCHAR", "why it failed, was skipped or is unconfirmed"),
                ("sent_at", "TIMESTAMP"),
                ("run_id", "VARCHAR", "the run that created the row"),
                ("last_run_id", "VARCHAR", "the run that last changed its status"),
                ("created_at", "TIMESTAMP"),
                ("updated_at", "TIMESTAMP"),
            ),
            key=("message_key",),
        ),
        Table(
            "route_watch",
            "route",
            "Per decided lead, the values of the fields the `updated` flow watches, as leadroute last "
            "saw them, so a lead is re-routed when those change (never on the echo of our own push).",
            _cols(
                ("lead_id", "VARCHAR"),
                ("watched", "JSON", "watched field -> value as text, when last looked at"),
                ("lead_modstamp", "TIMESTAMP", "the lead version last looked at"),
                ("checked_at", "TIMESTAMP"),
            ),
            key=("lead_id",),
        ),
        Table(
            "pool_state",
            "route",
            "Persistent state of each distribution pool, so fairness can be checked, not trusted. "
            "One row per pool, written by every run that routed leads through it.",
            _cols(
                ("pool", "VARCHAR"),
                ("method", "VARCHAR", "round_robin, weighted_round_robin or load_balanced"),
                ("pointer", "BIGINT", "leads given out by the pool's distribution method, ever (sticky ones excluded)"),
                ("last_user_id", "VARCHAR", "round robin resumes after this member"),
                ("turn", "DOUBLE", "the turn value of the last lead given out; members joining or returning start here"),
                ("assigned_total", "BIGINT", "leads the pool assigned, ever (distributed + sticky)"),
                ("sticky_total", "BIGINT", "leads that went to the member who had the company's earlier lead"),
                ("unassigned_total", "BIGINT", "leads nobody in the pool could take (they went to the fallback)"),
                ("members", "INTEGER", "members at the last run"),
                ("available", "INTEGER", "members available at the last run"),
                ("last_run_assigned", "INTEGER", "leads assigned by the last run"),
                ("last_run_unassigned", "INTEGER", "leads passed to the fallback by the last run"),
                ("last_detail", "VARCHAR", "the last run's summary: who was skipped and why"),
                ("updated_at", "TIMESTAMP"),
            ),
            key=("pool",),
        ),
        Table(
            "pool_turn_set",
            "route",
            "Each time ops set whose turn it is in a round-robin pool (`leadroute pool turn POOL --next REP`): "
            "who, why and when; the pool's next run starts its rotation there.",
            _cols(
                ("pool", "VARCHAR"),
                ("set_at", "TIMESTAMP"),
                ("next_user_id", "VARCHAR", "the member whose turn it was made"),
                ("next_name", "VARCHAR"),
                ("set_by", "VARCHAR", "who set it"),
                ("why", "VARCHAR"),
                ("was_next_user_id", "VARCHAR", "whose turn it was before"),
            ),
            key=("pool", "set_at"),
        ),
        Table(
            "pool_member_state",
            "route",
            "Per pool and member: leads today and this week (the rep's local day and ISO week), caps, "
            "their turn, and how often and why they were skipped. Fair share: compare assigned_total "
            "across the members of a pool, with effective_weight; skips explain the gaps.",
            _cols(
                ("pool", "VARCHAR"),
                ("user_id", "VARCHAR"),
                ("name", "VARCHAR"),
                ("assigned_total", "BIGINT", "leads this member got from this pool, ever"),
                ("sticky_total", "BIGINT", "of which sticky (same company as an earlier lead)"),
                ("assigned_day", "DATE", "the member's local date assigned_today counts"),
                ("assigned_today", "INTEGER"),
                ("assigned_week", "DATE", "Monday of the member's local ISO week assigned_this_week counts"),
                ("assigned_this_week", "INTEGER"),
                ("last_assigned_at", "TIMESTAMP"),
                ("next_turn", "DOUBLE", "round robin / weighted: the member's next turn (lowest goes first)"),
                ("skipped_total", "BIGINT", "leads distributed while this member could not take one "
                                           "(= skipped_unavailable_total + skipped_cap_total)"),
                ("skipped_unavailable_total", "BIGINT", "... because inactive, out of office, on holiday, "
                                                       "outside working hours or not started"),
                ("skipped_cap_total", "BIGINT", "... because a daily or weekly cap was reached"),
                ("last_skip_reason", "VARCHAR"),
                ("last_skipped_at", "TIMESTAMP"),
                ("status", "VARCHAR", "at the last run: available, or why not (inactive, crm_inactive, "
                                      "not_started, out_of_office, holiday, off_hours, daily_cap, weekly_cap, paused)"),
                ("status_reason", "VARCHAR", "the same in words"),
                ("effective_weight", "DOUBLE", "weight x ramp factor at the last run (1 for plain round robin)"),
                ("open_workload", "INTEGER", "open leads owned in the CRM at the last run (load_balanced pools)"),
                ("daily_cap", "INTEGER", "the tightest daily cap at the last run (pool or reps.csv); empty: none"),
                ("weekly_cap", "INTEGER", "the tightest weekly cap at the last run; empty: none"),
                ("updated_at", "TIMESTAMP"),
                ("credit_owed", "INTEGER", "turns ops gave back (`leadroute pool credit`) not yet used: the "
                                           "member goes that many turns early"),
                ("credited_total", "BIGINT", "turns ops gave back, ever (the fairness counters' correction)"),
            ),
            key=("pool", "user_id"),
        ),
        Table(
            "pool_credit",
            "ops",
            "Turns given back by ops (`leadroute pool credit`): a junk lead, a lead reassigned by hand. "
            "One row per credit, never deleted (the audit trail).",
            _cols(
                ("credit_id", "VARCHAR"),
                ("pool", "VARCHAR"),
                ("user_id", "VARCHAR"),
                ("leads", "INTEGER", "turns given back"),
                ("reason", "VARCHAR"),
                ("created_by", "VARCHAR"),
                ("created_at", "TIMESTAMP"),
            ),
            key=("credit_id",),
        ),
        Table(
            "pool_sticky",
            "route",
            "For sticky pools: per company key (e.g. lead.domain=acme.com), the member who got its latest "
            "lead, so the company's next lead within the window goes to them.",
            _cols(
                ("pool", "VARCHAR"),
                ("sticky_key", "VARCHAR", "field=value, normalised (trimmed, lower case)"),
                ("user_id", "VARCHAR"),
                ("lead_id", "VARCHAR"),
                ("assigned_at", "TIMESTAMP"),
            ),
            key=("pool", "sticky_key"),
        ),
        Table(
            "lead_status",
            "reroute",
            "Per lead, its status and since when leadroute has seen it: progress (and the SLA touch "
            "'status left New') is a status change, which the CRM does not date for us.",
            _cols(
                ("lead_id", "VARCHAR"),
                ("status", "VARCHAR"),
                ("status_since", "TIMESTAMP", "the version in which leadroute first saw this status "
                                              "(first sight: the lead's last change, a conservative bound)"),
                ("previous_status", "VARCHAR"),
                ("checked_at", "TIMESTAMP"),
            ),
            key=("lead_id",),
        ),
        Table(
            "assignment",
            "reroute",
            "One row per lead given to a rep by a decision: when it landed in the CRM, the first-touch SLA "
            "(day2.yaml) and its due time in the rep's working hours, the first touch, the miss. The source "
            "of SLA compliance, time to first touch and leakage.",
            _cols(
                ("decision_id", "VARCHAR"),
                ("lead_id", "VARCHAR"),
                ("owner_id", "VARCHAR", "the rep"),
                ("step", "VARCHAR"),
                ("pool", "VARCHAR"),
                ("sla", "VARCHAR", "the SLA of day2.yaml timing it; empty: none (still counted for leakage)"),
                ("status_at_start", "VARCHAR"),
                ("activity_at_start", "TIMESTAMP", "the touch activity field when the assignment was made"),
                ("opened_at", "TIMESTAMP", "when leadroute started tracking it (the decision's tick)"),
                ("started_at", "TIMESTAMP", "when the owner change landed in the CRM: the SLA clock starts"),
                ("due_at", "TIMESTAMP", "started_at + the SLA's time, counted in the rep's working hours"),
                ("touched_at", "TIMESTAMP", "the first touch (status change, activity, completed task)"),
                ("touch", "VARCHAR", "what the first touch was: status, activity or task"),
                ("missed_at", "TIMESTAMP", "when leadroute found the SLA missed"),
                ("miss_number", "INTEGER", "the lead's consecutive misses, this one included"),
                ("outcome", "VARCHAR", "open, touched, touched_late, missed, superseded, reassigned_in_crm, "
                                       "closed (converted, deleted) or not_landed (the owner push failed)"),
                ("closed_at", "TIMESTAMP"),
                ("note", "VARCHAR", "what happened at the miss (rerouted, escalated, kept by the reroute policy)"),
            ),
            key=("decision_id",),
        ),
        Table(
            "dormant_lead",
            "reroute",
            "Leads asleep (recycled by leadroute, or in a dormant status of day2.yaml reengage), and when one "
            "woke up (a status reset, a new activity): it is then routed through the reopened flow.",
            _cols(
                ("lead_id", "VARCHAR"),
                ("since", "TIMESTAMP"),
                ("why", "VARCHAR", "recycled by <rule>, or status <status>"),
                ("status_at_start", "VARCHAR"),
                ("activity_at_start", "TIMESTAMP"),
                ("watched_from", "TIMESTAMP", "when leadroute started watching: only later signals wake it"),
                ("woken_at", "TIMESTAMP"),
                ("woken_by", "VARCHAR", "the signal: status, activity or new_activity"),
                ("ended_at", "TIMESTAMP", "no longer dormant for another reason (converted, routed otherwise)"),
            ),
            key=("lead_id", "since"),
        ),
        Table(
            "reroute_blocked",
            "reroute",
            "Reroutes the reroute policy (flow.yaml) refused, with the protection and the reason; kept per lead "
            "and kind so `leadroute explain` can say why a lead did not move.",
            _cols(
                ("lead_id", "VARCHAR"),
                ("kind", "VARCHAR", "updated, sla, inactive_owner, recycled, reopened, backfill"),
                ("rule", "VARCHAR", "the protection that holds"),
                ("reason", "VARCHAR"),
                ("lead_modstamp", "TIMESTAMP", "the lead version judged; an unchanged lead is not judged again"),
                ("first_blocked_at", "TIMESTAMP"),
                ("last_blocked_at", "TIMESTAMP"),
                ("run_id", "VARCHAR"),
            ),
            key=("lead_id", "kind"),
        ),
        Table(
            "quality_check",
            "checks",
            "Result of each data quality check (Great Expectations suite) in each run.",
            _cols(
                ("run_id", "VARCHAR"),
                ("check_name", "VARCHAR"),
                ("asset", "VARCHAR", "the asset it checks"),
                ("blocking", "BOOLEAN", "a failure stops the CRM push"),
                ("passed", "BOOLEAN"),
                ("failing_rows", "BIGINT"),
                ("outcomes", "JSON", "per expectation: passed, rows, failing, examples"),
                ("error", "VARCHAR", "the check could not run: why"),
                ("seconds", "DOUBLE"),
                ("checked_at", "TIMESTAMP"),
            ),
            key=("run_id", "check_name"),
        ),
        Table(
            "kpi",
            "kpis",
            "Routing KPIs per run, long format: one row per measure and dimension (e.g. leads per owner).",
            _cols(
                ("run_id", "VARCHAR"),
                ("computed_at", "TIMESTAMP"),
                ("measure", "VARCHAR", "e.g. leads_per_owner, share_unroutable, fill_pct"),
                ("dimension", "VARCHAR", "e.g. the owner, the pool, the column; empty for totals"),
                ("value", "DOUBLE"),
            ),
            key=("run_id", "measure", "dimension"),
        ),
        Table(
            "backfill_run",
            "backfill",
            "One row per backfill reroute (dry or real): the day range, the rules version, what moved.",
            _cols(
                ("backfill_id", "VARCHAR"),
                ("run_id", "VARCHAR"),
                ("from_day", "DATE"),
                ("to_day", "DATE"),
                ("dry_run", "BOOLEAN"),
                ("rules_version", "VARCHAR"),
                ("leads", "INTEGER", "leads re-evaluated"),
                ("moved", "INTEGER", "leads whose target changed and may move"),
                ("blocked", "INTEGER", "leads whose target changed but the rerouting policy keeps them"),
                ("started_at", "TIMESTAMP"),
            ),
            key=("backfill_id",),
        ),
        Table(
            "backfill_change",
            "backfill",
            "Per backfill, each lead whose target would change: from, to, and whether it moved.",
            _cols(
                ("backfill_id", "VARCHAR"),
                ("lead_id", "VARCHAR"),
                ("partition_day", "DATE"),
                ("from_target", "VARCHAR", "user:<id>, queue:<name> or pool:<name>"),
                ("to_target", "VARCHAR"),
                ("from_step", "VARCHAR"),
                ("to_step", "VARCHAR"),
                ("moved", "BOOLEAN", "false in a dry run, or when the policy keeps the lead"),
                ("kept_because", "VARCHAR", "the rerouting policy's reason"),
                ("decision_id", "VARCHAR", "the new decision (real runs)"),
            ),
            key=("backfill_id", "lead_id"),
        ),
        Table(
            "rep_override",
            "ops",
            "Availability overrides ops set without a pull request (`leadroute rep pause|resume`): one row per "
            "pause, never deleted (the audit trail); routing lays the pauses covering `now` over reps.csv.",
            _cols(
                ("override_id", "VARCHAR"),
                ("user_id", "VARCHAR", "the paused rep (reps.csv user_id)"),
                ("starts_at", "TIMESTAMP"),
                ("until", "TIMESTAMP", "the pause expires by itself then; empty: until resumed"),
                ("reason", "VARCHAR"),
                ("created_by", "VARCHAR", "who paused (the OS user, or the Dagster run's config)"),
                ("created_at", "TIMESTAMP"),
                ("resumed_at", "TIMESTAMP", "a resume ended the pause early"),
                ("resumed_by", "VARCHAR"),
                ("resume_reason", "VARCHAR"),
            ),
            key=("override_id",),
        ),
        Table(
            "reference_cache",
            "any",
            "Reference tables built from Python packages and kept here (`reference_<name>`, e.g. "
            "`reference_us_zip`), with the version they were built for (pipelines/warehouse/reference.py).",
            _cols(
                ("name", "VARCHAR"),
                ("version", "VARCHAR", "hash of the builder's module source and the packages' versions"),
                ("rows", "BIGINT"),
                ("built_at", "TIMESTAMP"),
            ),
            key=("name",),
        ),
        Table(
            "tick_log",
            "push",
            "One row per tick: what it did, for `leadroute report` and the closing summary.",
            _cols(
                ("run_id", "VARCHAR"),
                ("started_at", "TIMESTAMP"),
                ("finished_at", "TIMESTAMP"),
                ("summary", "JSON"),
            ),
            key=("run_id",),
        ),
    ]
}



@dataclass(frozen=True)
class View:
    """A meaning the stages share, defined once in SQL and created with the tables."""

    name: str
    doc: str
    sql: str

    def ddl(self) -> str:
        return f'CREATE OR REPLACE VIEW "{self.name}" AS {self.sql}'


VIEWS: dict[str, View] = {
    v.name: v
    for v in [
        View(
            "current_decision",
            "Each lead's current decision: its latest (decisions are immutable; a reroute is a new decision, "
            "and decision ids sort in creation order within a tick). A filter on the flag the decision log "
            "keeps, not the window over every decision it stands for (LATEST_DECISION): a third of the time, "
            "and it is read many times a tick.",
            "SELECT * EXCLUDE (is_current) FROM routing_decision WHERE is_current",
        ),
    ]
}


# What "current" means: each lead's latest decision. The decision log keeps it as
# routing_decision.is_current; this is the definition the flag is computed from when a warehouse is
# upgraded to it, and checked against.
LATEST_DECISION = ("SELECT decision_id FROM routing_decision QUALIFY row_number() OVER "
                   "(PARTITION BY lead_id ORDER BY created_at DESC, decision_id DESC) = 1")


def open_lead(alias: str = "l") -> str:
    """SQL that holds for a lead that is still open: neither converted nor deleted in the CRM."""
    return f"NOT coalesce({alias}.is_converted, false) AND NOT coalesce({alias}.is_deleted, false)"


# CRM objects the pipeline extracts, and the raw and unified tables they land in.
OBJECT_TABLES = {
    "lead": ("raw_lead", "lead"),
    "account": ("raw_account", "account"),
    "user": ("raw_user", "crm_user"),
    "opportunity": ("raw_opportunity", "opportunity"),
    "queue": ("raw_queue", "crm_queue"),
    "task": ("raw_task", "crm_task"),
    "event": ("raw_event", "crm_event"),
}
