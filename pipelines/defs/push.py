from datetime import UTC, datetime

import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.policy import CRM_RETRY
from pipelines.defs.resources import ClockResource, CrmResource, RulesResource, WarehouseResource
from pipelines.ledger.push import push
from pipelines.ledger.summary import record_tick


@dg.asset(group_name="crm_out", kinds={"duckdb"}, deps=["routing_decision", "reroutes"], retry_policy=CRM_RETRY)
def crm_push(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    crm: CrmResource,
    rules: RulesResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    """Pending ledger writes pushed to the CRM, one recorded result per record; then the tick's summary."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    run = run_info(context, clock)
    result = push(con, crm.adapter(clock), mapping, run)
    started = context.instance.get_run_stats(run.run_id).start_time if context.instance else None
    summary = record_tick(con, run.run_id,
                          datetime.fromtimestamp(started, UTC).replace(tzinfo=None) if started else None, run.now,
                          push_stopped=result.details.get("stopped"))
    result.details["tick"] = summary
    return materialize(context, result)
