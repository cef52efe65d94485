import dagster as dg

from pipelines.defs.metadata import SKIPPED, STAGE_ROWS, run_info, timed
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.kpis.compute import compute_kpis, long_format, tick_changes
from pipelines.kpis.markdown import sections
from pipelines.stage import NO_NEW_ROWS
from pipelines.warehouse.db import upsert


@dg.asset(group_name="crm_out", kinds={"duckdb"}, deps=["crm_push"])
@timed
def kpis(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RulesResource, clock: ClockResource
) -> dg.MaterializeResult:
    """Routing KPIs after the push: per rep and pool, unroutable and quarantined shares, reroutes,
    time to assignment, fairness within pools, fill rates; day 2: SLA compliance per rep and pool,
    time to first touch, reroutes by reason, recycled and reopened leads, leakage. Kept per run in
    the `kpi` table."""
    mapping = rules.mapping()
    con = warehouse.connection(mapping)
    run = run_info(context, clock)
    changes = tick_changes(con, run.run_id, run.now)
    if not changes:
        context.log.info(f"kpis: skipped, {NO_NEW_ROWS} (the last tick's KPIs still hold)")
        return dg.MaterializeResult(metadata={STAGE_ROWS: dg.MetadataValue.int(0),
                                              SKIPPED: dg.MetadataValue.text(NO_NEW_ROWS)})
    k = compute_kpis(con, mapping, rules.rules())
    upsert(con, "kpi", long_format(k, run.run_id, run.now), ["run_id", "measure", "dimension"])
    md = {name: dg.MetadataValue.float(float(v)) for name, v in {**k.totals, **k.day2.totals}.items() if v is not None}
    md |= {name: dg.MetadataValue.md(text) for name, text in sections(k).items()}
    md[STAGE_ROWS] = dg.MetadataValue.int(changes)
    return dg.MaterializeResult(metadata=md)
