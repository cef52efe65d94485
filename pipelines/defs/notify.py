import dagster as dg

from pipelines.defs.metadata import materialize, run_info, timed
from pipelines.defs.resources import ClockResource, NotifyResource, RulesResource, WarehouseResource
from pipelines.notify import outbox
from pipelines.warehouse.db import count


@dg.asset(group_name="crm_out", kinds={"duckdb", "email"}, deps=["crm_push"])
@timed
def notifications(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    rules: RulesResource,
    clock: ClockResource,
    notify: NotifyResource,
) -> dg.MaterializeResult:
    """Messages the rules' `notify:` asks for, sent once the decision's owner change is in the CRM and
    never twice (the `notification_outbox` table: one row per message and its delivery status)."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    result = outbox.run(con, rules.rules(), run_info(context, clock), notify.courier())
    return materialize(context, result, rows=count(con, outbox.OUTBOX), con=con)
