"""Backfill reroutes from the Dagster UI: select lead-creation days, launch, one run per range.

Routing decisions are partitioned by the lead's creation day. The `rerouted_leads`
asset re-evaluates the leads of the selected days under the current rules (see
pipelines/routing/stages/backfill.py). Two jobs, so the choice is visible where runs are launched:

- `reroute_backfill_dry_run`: reports what would move; nothing pushed, and the days are **not**
  marked materialized (each day gets an observation with its own counts);
- `reroute_backfill`: moves the leads and pushes the moves at once; each day is materialized
  with its own counts.

Materialize on the asset's page (or a backfill launched there) is a real run, as before the two
jobs existed; the dry run is the job that says so in its name.
Both jobs carry the warehouse-writer tag, so they queue behind a running tick and the
five-minute schedule skips while one runs: a backfill never overlaps a tick.
"""

from datetime import timedelta

import dagster as dg

from pipelines.defs.metadata import ROW_COUNT, run_info, table_value
from pipelines.defs.policy import EXECUTOR, WRITER_TAG
from pipelines.defs.resources import ClockResource, CrmResource, RulesResource, WarehouseResource
from pipelines.ledger.push import push
from pipelines.routing.ruleset.checks import validate
from pipelines.routing.stages.backfill import backfill, per_day
from pipelines.settings import Settings
from pipelines.sourcefile import ConfigError

lead_day = dg.DailyPartitionsDefinition(
    start_date=Settings.from_env().backfill_start.isoformat(), timezone="UTC", end_offset=1,
)


class BackfillConfig(dg.Config):
    dry_run: bool = False  # True: report what would move; nothing pushed, no decision recorded, no day materialized


@dg.asset(
    partitions_def=lead_day,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="backfill",
    kinds={"duckdb"},
    output_required=False,
    description="Leads created on the selected days, re-evaluated under the current rules; moves pushed once. "
                "A dry run (job reroute_backfill_dry_run) only observes the days.",
)
def rerouted_leads(context: dg.AssetExecutionContext, config: BackfillConfig, warehouse: WarehouseResource,
                   crm: CrmResource, rules: RulesResource, clock: ClockResource):
    mapping = rules.mapping()
    ruleset = rules.rules_to_route()
    run = run_info(context, clock)
    errors = [p for p in validate(ruleset, mapping, now=run.now) if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
    con = warehouse.connection(mapping)
    window = context.partition_time_window  # [first day 00:00, day after the last 00:00) in UTC
    start, end = window.start.date(), (window.end - timedelta(days=1)).date()
    result = backfill(con, ruleset, mapping, run, start, end, dry_run=config.dry_run)
    for warning in result.warnings:
        context.log.warning(warning)
    context.log.info(result.line())
    shared = {"range": f"{start}..{end}", "dry_run": config.dry_run, "rules_version": ruleset.version}
    if not config.dry_run:
        pushed = push(con, crm.adapter(clock), mapping, run)
        context.log.info(pushed.line())
        shared |= {f"range_push_{k}": int(v) for k, v in pushed.counts.items()}
    days = per_day(con, result.details["backfill_id"], start, end)
    if result.preview is not None and len(result.preview):
        shared["range_preview"] = table_value(result.preview)  # range_*: facts of the whole run, the same each day
    for row in days.itertuples(index=False):
        md = {"leads": int(row.leads), "changed": int(row.changed), "moved": int(row.moved),
              "would_move": int(row.would_move), "kept_by_policy": int(row.kept_by_policy),
              ROW_COUNT: int(row.leads), **shared}
        key = row.day.strftime("%Y-%m-%d")
        if config.dry_run:
            context.log_event(dg.AssetObservation(asset_key=context.asset_key, partition=key, metadata=md))
        else:
            yield dg.AssetMaterialization(asset_key=context.asset_key, partition=key, metadata=md)


def _job(name: str, dry_run: bool, description: str):
    return dg.define_asset_job(
        name, selection=[rerouted_leads], executor_def=EXECUTOR, tags=WRITER_TAG,  # partitioned as the asset (lead_day)
        config={"ops": {"rerouted_leads": {"config": {"dry_run": dry_run}}}}, description=description)


reroute_backfill = _job("reroute_backfill", False, "Re-route the leads created on a range of days under the current "
                        "rules and push the moves (one run per range).")
reroute_backfill_dry_run = _job("reroute_backfill_dry_run", True, "What a backfill would move, per day: nothing pushed, "
                                "no day marked materialized.")
