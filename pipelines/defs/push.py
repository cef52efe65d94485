from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from pipelines.defs.metadata import materialize, run_info, table_value, timed
from pipelines.defs.policy import CRM_RETRY, no_retry_for_config_errors
from pipelines.defs.resources import ClockResource, CrmResource, RulesResource, WarehouseResource
from pipelines.ledger.push import push
from pipelines.ledger.story import story
from pipelines.ledger.summary import OUTCOMES, WRITE_KINDS, last_busy_tick, record_tick
from pipelines.warehouse.db import count


@dg.asset(group_name="crm_out", kinds={"duckdb"}, deps=["routing_decision", "reroutes"], retry_policy=CRM_RETRY)
@timed
def crm_push(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    crm: CrmResource,
    rules: RulesResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    """Pending ledger writes pushed to the CRM, one recorded result per record; then the tick's story
    (`tick_story`: leads in, what became of them, steps, reps and queues by name, writes)."""
    with no_retry_for_config_errors():
        mapping = rules.mapping()
    con = warehouse.connection(mapping)
    run = run_info(context, clock)
    result = push(con, crm.adapter(clock), mapping, run)
    started = context.instance.get_run_stats(run.run_id).start_time if context.instance else None
    # finished_at is when the tick ended (the clock now), not the run's instant (when it started).
    summary = record_tick(con, run.run_id,
                          datetime.fromtimestamp(started, UTC).replace(tzinfo=None) if started else None, clock.now(),
                          push_stopped=result.details.get("stopped"))
    outcomes = summary["lead_outcomes"]
    writes = pd.DataFrame(
        [{"write": words, "pushed": w.get("pushed", 0), "already_so": w.get("skipped_unchanged", 0),
          "retry_later": w.get("pending", 0), "failed": w.get("failed", 0)}
         for kind, words in WRITE_KINDS.items() if (w := summary["writes"].get(kind))],
        columns=["write", "pushed", "already_so", "retry_later", "failed"])
    targets = pd.DataFrame(
        [{"to": name, "kind": "rep", "leads": n} for name, n in summary["per_owner"].items()]
        + [{"to": name, "kind": "queue", "leads": n} for name, n in summary["per_queue"].items()],
        columns=["to", "kind", "leads"])
    extra = {
        "tick_story": dg.MetadataValue.md(story(summary, run.now, last_busy_tick(con, run.run_id))),
        "leads_in": dg.MetadataValue.int(summary["leads_in"]),
        **{f"leads_{key}": dg.MetadataValue.int(outcomes[key]) for key in OUTCOMES},
        "day2_decisions": dg.MetadataValue.int(summary["day2_decisions"]),
        "writes": table_value(writes),
        "owners_and_queues": table_value(targets),
    }
    return materialize(context, result, rows=count(con, "ledger"), con=con, **extra)
