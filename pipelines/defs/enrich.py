import dagster as dg

from pipelines.defs.metadata import materialize, run_info, timed
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.enrich.pending import has_work, keep_unchanged, newer, nothing_to_do
from pipelines.warehouse.db import count, ensure_columns
from pipelines.warehouse.inputs import forget
from pipelines.warehouse.schema import TABLES


@dg.asset(group_name="prepare", kinds={"duckdb"}, deps=["unified"])
@timed
def enriched(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Domains, geography, phone facts, firmographics and size bands from offline reference data."""
    con = warehouse.connection(rules.mapping())
    # Warehouses created before a column was declared get it here (fixed tables are not migrated).
    for table in ("lead_enriched", "account_enriched"):
        ensure_columns(con, table, TABLES[table].columns)
    found = newer(con)  # the records newer than their enriched row: all the rest asks of these alone
    try:
        kept = keep_unchanged(con, found)  # changed in the CRM, not in what enrichment reads
        if has_work(con, found):
            from pipelines.enrich.enrich import enrich  # the reference libraries load only with rows to enrich

            result = enrich(con, run_info(context, clock), rules.enrichment(), found)
        else:
            result = nothing_to_do(con)
    finally:
        forget(con, *found.values())
    result.counts |= {f"{obj}s_changed_enrichment_kept": n for obj, n in kept.items()}
    return materialize(context, result, rows=count(con, "lead_enriched"), con=con)
