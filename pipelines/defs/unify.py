import dagster as dg

from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.unify.unify import unify


@dg.asset(group_name="prepare", kinds={"duckdb"}, deps=["raw_crm"])
def unified(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Canonical, typed columns from scattered CRM fields, with provenance."""
    mapping = rules.mapping()
    return materialize(context, unify(warehouse.connection(mapping), mapping, run_info(context, clock)))
