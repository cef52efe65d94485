import dagster as dg

from pipelines.defs.metadata import materialize
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.matching.match import match_leads
from pipelines.stage import RunInfo


@dg.asset(group_name="match", kinds={"duckdb"}, deps=["account_master", "enriched"])
def lead_match(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Each new or changed lead's account (and same-company lead), with confidence and reason."""
    con = warehouse.connection(rules.mapping())
    return materialize(context, match_leads(con, rules.matching(), RunInfo(context.run_id, clock.now())))
