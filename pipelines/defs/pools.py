import dagster as dg

from pipelines.defs.metadata import timed
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.routing.pools.report import markdown, overview


@dg.asset(group_name="route", kinds={"duckdb"}, deps=["routing_decision", "reroutes"])
@timed
def distribution_pools(
    warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Every distribution pool after routing: members, who is available and why not, counts, caps, turns.

    Reads pool_state and pool_member_state (written by routing_decision), so fairness can be
    checked in the UI after each tick, not trusted.
    """
    ruleset = rules.rules()
    pools, members = overview(warehouse.connection(rules.mapping()), ruleset, clock.now(), read_only=False)
    return dg.MaterializeResult(metadata={
        "pools": len(pools),
        "members_available": int(pools["available_now"].sum()) if len(pools) else 0,
        "members": int(pools["members"].sum()) if len(pools) else 0,
        "pool_state": dg.MetadataValue.md(markdown(pools, members)),
    })
