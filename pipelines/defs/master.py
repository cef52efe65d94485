import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.matching.master import build_master
from pipelines.matching.parameters import stored_models
from pipelines.warehouse.db import count


@dg.asset(group_name="match", kinds={"duckdb"}, deps=["enriched"])
def account_master(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Duplicate clusters with a survivor, and each account's place in the hierarchy, plus the stored match keys."""
    con = warehouse.connection(rules.mapping())
    result = build_master(con, rules.matching(), run_info(context, clock))
    # The model learned from the org's own accounts (and leads), as `leadroute match --explain-params` shows it.
    return materialize(context, result, rows=count(con, "account_master"), con=con,
                       model=dg.MetadataValue.md(stored_models(con)))
