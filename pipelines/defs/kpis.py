import dagster as dg

from pipelines.defs.metadata import ROW_COUNT, run_info, stable, table_value
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.kpis.compute import compute_kpis, long_format
from pipelines.kpis.breakdowns import frames
from pipelines.warehouse.db import upsert


@dg.asset(group_name="crm_out", kinds={"duckdb"}, deps=["crm_push"])
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
    k = compute_kpis(con, mapping, rules.rules())
    rows = long_format(k, run.run_id, run.now)
    upsert(con, "kpi", rows, ["run_id", "measure", "dimension"])
    # An unknown value (no lead pushed yet, no SLA judged) is NaN, so the key stays and its plot has a gap, not a 0.
    md = {name: dg.MetadataValue.float(float("nan") if v is None else float(v))
          for name, v in {**k.totals, **k.day2.totals}.items()}
    md |= {name: table_value(frame) for name, frame in frames(k).items()}
    md[ROW_COUNT] = dg.MetadataValue.int(len(rows))
    return dg.MaterializeResult(metadata=stable(context, md))
