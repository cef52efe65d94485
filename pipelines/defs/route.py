import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.routing.stages.route import route_leads
from pipelines.warehouse.db import count


@dg.asset(group_name="route", kinds={"duckdb"}, deps=["lead_match", "routing_rules"])
def routing_decision(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """A decision for every lead not yet decided: an owner or a named queue, a reason and a trace."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    result = route_leads(con, rules.rules_to_route(), mapping, run_info(context, clock))
    result.counts.setdefault("to_queue", 0)
    return materialize(context, result, rows=count(con, "routing_decision"), con=con)
