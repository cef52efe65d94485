"""KPIs over the last N ticks, for the HTML report's trend charts: what each tick did, and what the
``kpi`` table recorded after it (queue sizes, SLA compliance, unroutable share, fairness per pool)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from pipelines.ledger.summary import OUTCOMES
from pipelines.warehouse.db import table_exists


def recent_ticks(con: duckdb.DuckDBPyConnection, last: int) -> pd.DataFrame:
    """The last ``last`` ticks, oldest first: run id, finished at, summary (dict)."""
    ticks = con.execute("SELECT run_id, finished_at, summary FROM tick_log ORDER BY finished_at DESC LIMIT ?",
                        [last]).df()
    ticks["summary"] = ticks["summary"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    return ticks.iloc[::-1].reset_index(drop=True)


def outcomes_per_tick(ticks: pd.DataFrame) -> pd.DataFrame:
    """Leads in per tick, by what became of them (long: tick, outcome, leads)."""
    rows = [{"tick": r.finished_at, "outcome": OUTCOMES[key].split(" (")[0], "leads": n}
            for r in ticks.itertuples() for key, n in (r.summary.get("lead_outcomes") or {}).items()
            if n and key in OUTCOMES]
    return pd.DataFrame(rows, columns=["tick", "outcome", "leads"])


def _per_run(con: duckdb.DuckDBPyConnection, ticks: pd.DataFrame, sql: str) -> pd.DataFrame:
    con.register("_ticks", ticks[["run_id", "finished_at"]])
    try:
        return con.execute(sql).df()
    finally:
        con.unregister("_ticks")


def steps_per_tick(con: duckdb.DuckDBPyConnection, ticks: pd.DataFrame) -> pd.DataFrame:
    """Decisions per rule step per tick (leads kept with their rep left out)."""
    return _per_run(con, ticks, """
        SELECT t.finished_at AS tick, d.step, count(*) AS decisions
        FROM routing_decision d JOIN _ticks t USING (run_id) WHERE d.action <> 'keep'
        GROUP BY ALL ORDER BY tick, decisions DESC""")


def owners_per_tick(con: duckdb.DuckDBPyConnection, ticks: pd.DataFrame) -> pd.DataFrame:
    """Leads each rep received per tick."""
    return _per_run(con, ticks, """
        SELECT t.finished_at AS tick, u.name AS rep, count(*) AS leads
        FROM routing_decision d JOIN _ticks t USING (run_id) JOIN crm_user u ON u.user_id = d.owner_id
        WHERE d.action <> 'keep' GROUP BY ALL ORDER BY tick, rep""")


def kpi_series(con: duckdb.DuckDBPyConnection, ticks: pd.DataFrame, measure: str, prefix: str = "") -> pd.DataFrame:
    """One KPI as recorded after each tick (tick, dimension, value); ``prefix`` keeps dimensions starting with it."""
    if not table_exists(con, "kpi"):
        return pd.DataFrame(columns=["tick", "dimension", "value"])
    con.register("_ticks", ticks[["run_id", "finished_at"]])
    try:
        return con.execute(
            """SELECT t.finished_at AS tick, k.dimension, k.value FROM kpi k JOIN _ticks t USING (run_id)
               WHERE k.measure = ? AND starts_with(k.dimension, ?) ORDER BY tick, dimension""",
            [measure, prefix]).df()
    finally:
        con.unregister("_ticks")
