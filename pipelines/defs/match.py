import dagster as dg

from pipelines import gc_pause
from pipelines.defs.metadata import materialize, run_info, timed
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.matching.pending import keep_unchanged_matches, leads_to_match, newer_leads
from pipelines.stage import StageResult
from pipelines.warehouse.db import count
from pipelines.warehouse.inputs import forget


@dg.asset(group_name="match", kinds={"duckdb"}, deps=["account_master", "enriched"])
@timed
def lead_match(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Each new or changed lead's account (and same-company lead), with confidence and reason."""
    con = warehouse.connection(rules.mapping())
    newer = newer_leads(con)  # the leads newer than their match: all the rest asks of these alone
    try:
        kept = keep_unchanged_matches(con, newer)  # changed in the CRM, not in what matching reads
        if not leads_to_match(con, newer):
            result = StageResult.nothing_to_do("match")
        else:
            with gc_pause.loading():  # the engine loads only when there are leads to match
                from pipelines.matching.match import match_leads

            result = match_leads(con, rules.matching(), run_info(context, clock), newer)
    finally:
        forget(con, newer)
    result.counts["leads_changed_match_kept"] = kept
    return materialize(context, result, rows=count(con, "lead_match"), con=con)
