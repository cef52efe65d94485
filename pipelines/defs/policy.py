"""Project-wide run policy, in one place: retries on CRM I/O and the writer tag."""

import dagster as dg

# CRM calls fail transiently (timeouts, 503s); the stage is idempotent, so retrying it is safe.
CRM_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)

# Every run that writes the warehouse carries this tag; the instance allows one such run at a time
# (see dagster.yaml), so ticks and backfills queue instead of colliding on DuckDB's single writer.
WRITER_TAG = {"leadroute/warehouse": "writer"}
