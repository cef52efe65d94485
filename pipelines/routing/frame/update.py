"""Route on update: which already decided leads go through the ``updated`` flow, and why.

Updating a lead's owner (our own push) bumps its ``SystemModstamp``, so "the record
changed" alone must never re-route a lead, or every push would echo back as a
reroute. Instead the ``updated`` flow names the fields it **watches**::

    updated:
      watch: [lead.status, lead.lead_score]
      steps: ...

For every decided lead, ``route_watch`` keeps those fields' values as leadroute last
saw them, with the lead version seen. Each tick looks only at leads whose version is
newer than that (our push's echo included, once), compares the watched values, and
sends the leads where one changed through the ``updated`` flow with ``prior.<field>``
(the value before) and ``last_decision.*`` in their frame, so a step can say
``{changed: lead.status, from: [Unqualified], to: [New, Working]}``. Whatever they
are decided, the values seen are remembered, so one change re-routes once.

:func:`changed_leads` and :func:`remember` are the reusable mechanism (day-2
rerouting builds on them); the comparison runs in DuckDB, not lead by lead.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.frame.build import LAST_DECISION, build_frame, frame_columns
from pipelines.warehouse.schema import open_lead


def _sql_text(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _json_path(field: str) -> str:
    return _sql_text('$."' + field.replace('"', "") + '"')


def as_text(values: pd.Series) -> pd.Series:
    """How a watched value is stored and compared: text, or NULL."""
    return values.astype("string").str.strip().astype(object).where(values.notna(), None)


def remember(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, fields: list[str], now: datetime) -> int:
    """Store, for the frame's leads, the watched fields' current values and the lead version seen."""
    if frame.empty:
        return 0
    data = pd.DataFrame({"lead_id": frame["lead_id"].to_numpy()})
    for i, f in enumerate(fields):
        data[f"w{i}"] = as_text(frame[f]).to_numpy() if f in frame.columns else None
    pairs = ", ".join(f"{_sql_text(f)}, w{i}" for i, f in enumerate(fields))
    con.register("_watch", data)
    try:
        con.execute(
            f"""INSERT OR REPLACE INTO route_watch
                SELECT w.lead_id, {f'json_object({pairs})' if fields else "'{}'::JSON"}, l._modstamp, ?
                FROM _watch w JOIN lead l USING (lead_id)""",
            [now],
        )
    finally:
        con.unregister("_watch")
    return len(data)


def changed_leads(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, fields: list[str]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads changed since leadroute last looked: ``(changed, looked_at)`` routing frames.

    ``looked_at`` holds every decided lead with a newer version (remember them all
    afterwards); ``changed`` the subset where a watched field's value differs, with
    ``prior.<field>`` and ``last_decision.<column>`` added.
    """
    ids = con.execute(
        f"""SELECT l.lead_id FROM lead l JOIN route_watch w USING (lead_id)
            WHERE l._modstamp > w.lead_modstamp AND {open_lead("l")}
            ORDER BY l.created_at, l.lead_id"""
    ).df()["lead_id"]
    if ids.empty:  # nothing changed since leadroute last looked: no frame to build
        empty = pd.DataFrame({"lead_id": pd.Series(dtype=object)})
        return empty, empty
    # The echo of our own push brings every lead routed last tick back with a newer version: they are
    # compared on the watched fields alone, and the whole frame is built for those that changed.
    looked = watched_frame(con, mapping, ids, fields)
    if looked.empty or not fields:
        return looked.iloc[0:0], looked
    prior_cols = ", ".join(
        f'json_extract_string(w.watched, {_json_path(f)}) AS "prior.{f}", '
        f'json_exists(w.watched, {_json_path(f)}) AS "_known.{f}"' for f in fields)
    last_cols = ", ".join(f'd."{c}" AS "last_decision.{c}"' for c in LAST_DECISION)
    con.register("_looked", looked[["lead_id"]])
    try:
        before = con.execute(
            f"""SELECT x.lead_id, {prior_cols}, {last_cols}
                FROM _looked x JOIN route_watch w USING (lead_id)
                LEFT JOIN current_decision d USING (lead_id)"""
        ).df()
    finally:
        con.unregister("_looked")
    frame = looked.merge(before, on="lead_id", how="left")
    differs = np.zeros(len(frame), dtype=bool)
    for f in fields:
        now, prior = as_text(frame[f]), frame[f"prior.{f}"]
        same = (now == prior).fillna(False) | (now.isna() & prior.isna())
        differs |= (frame[f"_known.{f}"].fillna(False).astype(bool) & ~same).to_numpy(dtype=bool)
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_known.")])
    changed = frame[differs].reset_index(drop=True)
    if _narrow(mapping, fields):  # the leads to route again get their whole frame
        prior = [c for c in changed.columns if c.startswith(("prior.", "last_decision."))]
        changed = build_frame(con, mapping, changed["lead_id"]).merge(changed[["lead_id", *prior]], on="lead_id",
                                                                      how="left")
    return changed, looked


def _narrow(mapping: FieldMapping, fields: list[str]) -> bool:
    return set(fields) <= frame_columns(mapping)


def watched_frame(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, ids: pd.Series, fields: list[str]
                  ) -> pd.DataFrame:
    """The frame :func:`remember` needs for ``ids``: the watched fields (the whole frame if one is not a column)."""
    return build_frame(con, mapping, ids, fields=fields if _narrow(mapping, fields) else None)
