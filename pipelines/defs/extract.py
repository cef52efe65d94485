import dagster as dg

from pipelines.crm.extract import extract
from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.policy import CRM_RETRY
from pipelines.defs.resources import ClockResource, CrmResource, RulesResource, WarehouseResource


@dg.asset(group_name="crm_in", kinds={"duckdb"}, retry_policy=CRM_RETRY)
def raw_crm(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    crm: CrmResource,
    rules: RulesResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    """Leads, accounts, users, opportunities and queues changed since the watermark, as extracted."""
    mapping = rules.mapping()
    result = extract(warehouse.connection(mapping), crm.adapter(clock), mapping, run_info(context, clock))
    return materialize(context, result)
