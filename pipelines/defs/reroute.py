import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.routing.day2.stage import reroute
from pipelines.warehouse.db import count


@dg.asset(group_name="route", kinds={"duckdb"}, deps=["routing_decision"])
def reroutes(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Day-2 routing after the first assignment: held leads released, leads of reps who left, first-touch
    SLA misses, stalled leads recycled, dormant leads woken up; each move a new decision with the reason,
    under the reroute policy (routing_rules/day2.yaml, flow.yaml reroute_policy)."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    result = reroute(con, rules.rules_to_route(), mapping, run_info(context, clock))
    return materialize(context, result, rows=count(con, "routing_decision", "entry NOT IN ('new', 'updated')"), con=con)
