import dagster as dg

from pipelines.defs.metadata import materialize
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.matching.master import build_master
from pipelines.stage import RunInfo


@dg.asset(group_name="match", kinds={"duckdb"}, deps=["enriched"])
def account_master(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """One master entity per company, with each account's place in the hierarchy."""
    con = warehouse.connection(rules.mapping())
    return materialize(context, build_master(con, RunInfo(context.run_id, clock.now())))
