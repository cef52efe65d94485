import dagster as dg
import pandas as pd

from pipelines.defs.metadata import materialize, run_info, table_value
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.unify.unify import unify
from pipelines.warehouse.db import count


@dg.asset(group_name="prepare", kinds={"duckdb"}, deps=["raw_crm"])
def unified(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Canonical, typed columns from scattered CRM fields, with provenance; unusable records to quarantine."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    result = unify(con, mapping, run_info(context, clock), rules.quality().quarantine)
    extra = {}
    rates = result.details.pop("lead_fill_rates", None)
    if rates:
        extra["lead_fill_rates"] = table_value(pd.DataFrame(rates))
        for r in rates:
            extra[f"fill_pct/{r['column']}"] = dg.MetadataValue.float(float(r["after_pct"]))
    account_rates = result.details.pop("account_fill_rates", None)
    if account_rates:
        extra["account_fill_rates"] = table_value(pd.DataFrame(account_rates))
    return materialize(context, result, rows=count(con, "lead"), con=con, **extra)
