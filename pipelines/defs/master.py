import dagster as dg

from pipelines import gc_pause
from pipelines.defs.metadata import materialize, run_info, timed
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.matching.pending import domains_configured, master_work
from pipelines.stage import StageResult
from pipelines.warehouse.db import count


@dg.asset(group_name="match", kinds={"duckdb"}, deps=["enriched"])
@timed
def account_master(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Duplicate clusters with a survivor, and each account's place in the hierarchy, plus the stored match keys."""
    con = warehouse.connection(rules.mapping())
    matching = rules.matching()
    # An ops domain list or CRM domain field is re-read every run (an edit applies with no account changed).
    if not domains_configured(con, matching) and not master_work(con):
        return materialize(context, StageResult.nothing_to_do("master"), rows=count(con, "account_master"), con=con)
    # The engine loads only when accounts changed: a tick without new accounts never imports it.
    with gc_pause.loading():
        from pipelines.matching.master import build_master
        from pipelines.matching.parameters import stored_models

    result = build_master(con, matching, run_info(context, clock))
    # The model learned from the org's own accounts (and leads), as `leadroute match --explain-params` shows it.
    return materialize(context, result, rows=count(con, "account_master"), con=con,
                       model=dg.MetadataValue.md(stored_models(con)))
