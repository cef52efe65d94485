import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.enrich.enrich import enrich


@dg.asset(group_name="prepare", kinds={"duckdb"}, deps=["unified"])
def enriched(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Domains, normalised names and ISO geography from offline reference data."""
    con = warehouse.connection(rules.mapping())
    return materialize(context, enrich(con, run_info(context, clock)))
