"""Backfill reroutes from the Dagster UI: select lead-creation days, launch, one run per range.

Routing decisions are partitioned by the lead's creation day. The `rerouted_leads`
asset re-evaluates the leads of the selected days under the current rules (see
pipelines/routing/stages/backfill.py) and, unless it is a dry run, pushes the moves at once.
Its job carries the warehouse-writer tag, so it queues behind a running tick and
the five-minute schedule skips while it runs: a backfill never overlaps a tick.
"""

from datetime import timedelta

import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.policy import EXECUTOR, WRITER_TAG
from pipelines.defs.resources import ClockResource, CrmResource, RulesResource, WarehouseResource
from pipelines.ledger.push import push
from pipelines.routing.ruleset.checks import validate
from pipelines.routing.stages.backfill import backfill
from pipelines.settings import Settings
from pipelines.sourcefile import ConfigError

lead_day = dg.DailyPartitionsDefinition(
    start_date=Settings.from_env().backfill_start.isoformat(), timezone="UTC", end_offset=1,
)


class BackfillConfig(dg.Config):
    dry_run: bool = False  # write the decisions' diff only: nothing pushed, no decision recorded


@dg.asset(
    partitions_def=lead_day,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="backfill",
    kinds={"duckdb"},
    description="Leads created on the selected days, re-evaluated under the current rules; moves pushed once.",
)
def rerouted_leads(context: dg.AssetExecutionContext, config: BackfillConfig, warehouse: WarehouseResource,
                   crm: CrmResource, rules: RulesResource, clock: ClockResource) -> dg.MaterializeResult:
    mapping = rules.mapping()
    ruleset = rules.rules_to_route()
    errors = [p for p in validate(ruleset, mapping, now=clock.now()) if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
    con = warehouse.connection(mapping)
    window = context.partition_time_window  # [first day 00:00, day after the last 00:00) in UTC
    start, end = window.start.date(), (window.end - timedelta(days=1)).date()
    run = run_info(context, clock)
    result = backfill(con, ruleset, mapping, run, start, end, dry_run=config.dry_run)
    if not config.dry_run:
        pushed = push(con, crm.adapter(clock), mapping, run)
        result.counts.update({f"push_{k}": v for k, v in pushed.counts.items()})
        result.warnings += pushed.warnings
    return materialize(context, result)


reroute_backfill = dg.define_asset_job(
    "reroute_backfill",
    selection=[rerouted_leads],
    partitions_def=lead_day,
    executor_def=EXECUTOR,
    tags=WRITER_TAG,
    description="Re-evaluate the leads created on a range of days under the current rules (one run per range).",
)
