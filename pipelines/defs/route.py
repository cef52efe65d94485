import dagster as dg

from pipelines.defs.metadata import materialize, run_info, timed
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.routing.stages.route import route_leads


@dg.asset(group_name="route", kinds={"duckdb"}, deps=["lead_match", "routing_rules"])
@timed
def routing_decision(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """A decision for every lead not yet decided: an owner or a named queue, a reason and a trace."""
    mapping = rules.mapping()
    result = route_leads(warehouse.connection(mapping), rules.rules_to_route(), mapping, run_info(context, clock))
    return materialize(context, result)
