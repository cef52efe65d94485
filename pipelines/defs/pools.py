import dagster as dg

from pipelines.defs.metadata import ROW_COUNT, stable, table_value
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.routing.pools.report import MEMBER_COLUMNS, markdown, overview


@dg.asset(group_name="route", kinds={"duckdb"}, deps=["routing_decision", "reroutes"])
def distribution_pools(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Every distribution pool after routing: members, who is available and why not, counts, caps, turns.

    Reads pool_state and pool_member_state (written by routing_decision), so fairness can be
    checked in the UI after each tick, not trusted.
    """
    ruleset = rules.rules()
    pools, members = overview(warehouse.connection(rules.mapping()), ruleset, clock.now(), read_only=False)
    shown = members[["pool", *[c for c in MEMBER_COLUMNS if c in members]]]
    return dg.MaterializeResult(metadata=stable(context, {
        ROW_COUNT: dg.MetadataValue.int(len(pools)),
        "pools": len(pools),
        "members_available": int(pools["available_now"].sum()) if len(pools) else 0,
        "members": int(pools["members"].sum()) if len(pools) else 0,
        "pool_table": table_value(pools),
        "member_table": table_value(shown),
        "pool_state": dg.MetadataValue.md(markdown(pools, members)),
    }))
