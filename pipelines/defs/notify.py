import dagster as dg

from pipelines.defs.metadata import materialize, run_info, timed
from pipelines.defs.schedules import next_tick
from pipelines.defs.resources import ClockResource, NotifyResource, RulesResource, WarehouseResource
from pipelines.defs.policy import EXECUTOR, WRITER_TAG
from pipelines.notify import outbox
from pipelines.notify.digest import send_digest
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


@dg.asset(group_name="notify", kinds={"duckdb", "email"}, deps=["kpis"])
@timed
def manager_digest(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    rules: RulesResource,
    clock: ClockResource,
    notify: NotifyResource,
) -> dg.MaterializeResult:
    """Each manager's daily digest (their team's SLA misses and leaked leads, the leads waiting in
    queues), through the outbox: once per manager and day, however often it runs."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    result = send_digest(con, rules.rules(), run_info(context, clock), notify.courier())
    return materialize(context, result, rows=count(con, outbox.OUTBOX), con=con)


manager_digest_job = dg.define_asset_job("send_manager_digest", selection=[manager_digest], executor_def=EXECUTOR,
                                         tags=WRITER_TAG, description="The managers' daily digest.")

# 13:00 UTC: morning in the Americas, afternoon in Europe. Skipped, like a tick, while a writer runs.
@dg.schedule(cron_schedule="0 13 * * *", job=manager_digest_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_manager_digest(context: dg.ScheduleEvaluationContext):
    """The managers' digest once a day (a second run the same day sends nothing new)."""
    return next_tick(context)
