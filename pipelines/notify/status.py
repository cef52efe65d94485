"""``leadroute notify status``: the outbox in numbers, and every message that needs a person's eye."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.notify.outbox import OUTBOX

NEEDS_A_LOOK = ("failed", "unconfirmed", "skipped")


def counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Messages by status and channel."""
    return con.execute(f"""SELECT status, channel, count(*) AS messages FROM {OUTBOX}
                           GROUP BY ALL ORDER BY status, channel""").df()


def problems(con: duckdb.DuckDBPyConnection, limit: int = 50) -> pd.DataFrame:
    """Failed, unconfirmed and skipped messages, newest first, with the reason."""
    return con.execute(
        f"""SELECT status, recipient, coalesce(address, channel) AS "to", lead_id, subject, last_error AS reason,
                   strftime(updated_at, '%Y-%m-%d %H:%M') AS "when"
            FROM {OUTBOX} WHERE status IN {NEEDS_A_LOOK}
            ORDER BY updated_at DESC, message_key LIMIT {int(limit)}""").df()
