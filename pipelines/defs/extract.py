import dagster as dg

from pipelines.crm.base import CrmUnavailable
from pipelines.crm.extract import extract
from pipelines.defs.metadata import materialize, run_info
from pipelines.defs.policy import CRM_RETRY, no_retry_for_config_errors
from pipelines.defs.resources import ClockResource, CrmResource, RulesResource, WarehouseResource
from pipelines.warehouse.db import count


@dg.asset(group_name="crm_in", kinds={"duckdb"}, retry_policy=CRM_RETRY)
def raw_crm(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    crm: CrmResource,
    rules: RulesResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    """Leads, accounts, users, opportunities and queues changed since the watermark, as extracted."""
    with no_retry_for_config_errors():
        mapping = rules.mapping()
    con = warehouse.connection(mapping)
    try:
        result = extract(con, crm.adapter(clock), mapping, run_info(context, clock))
    except CrmUnavailable as exc:
        # The API limit, the budget or a login the CRM keeps refusing: retrying within the run only
        # spends more calls. Nothing moved, so the next tick simply starts again from the watermark.
        raise dg.Failure(f"The CRM refused the extract: {exc}. Nothing was lost; the next tick retries.",
                         allow_retries=False) from None
    return materialize(context, result, rows=count(con, "raw_lead"), con=con)
