import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.enrich.enrich import enrich
from pipelines.warehouse.db import count, ensure_columns
from pipelines.warehouse.schema import TABLES


@dg.asset(group_name="prepare", kinds={"duckdb"}, deps=["unified"])
def enriched(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Domains, geography, phone facts, firmographics and size bands from offline reference data."""
    con = warehouse.connection(rules.mapping())
    # Warehouses created before a column was declared get it here (fixed tables are not migrated).
    for table in ("lead_enriched", "account_enriched"):
        ensure_columns(con, table, TABLES[table].columns)
    result = enrich(con, run_info(context, clock), rules.enrichment())
    return materialize(context, result, rows=count(con, "lead_enriched"), con=con)
