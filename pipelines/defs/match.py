import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.matching.match import match_leads
from pipelines.warehouse.db import count


@dg.asset(group_name="match", kinds={"duckdb"}, deps=["account_master", "enriched"])
def lead_match(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Each new or changed lead's account (and same-company lead), with confidence and reason."""
    con = warehouse.connection(rules.mapping())
    result = match_leads(con, rules.matching(), run_info(context, clock))
    return materialize(context, result, rows=count(con, "lead_match"), con=con)
