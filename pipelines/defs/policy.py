"""Project-wide run policy, in one place: retries on CRM I/O and the writer tag."""

import dagster as dg

from pipelines.settings import Settings

# CRM calls fail transiently (timeouts, 503s); the stage is idempotent, so retrying it is safe.
CRM_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)

# Every run that writes the warehouse carries this tag; the instance allows one such run at a time
# (see dagster.yaml), so ticks and backfills queue instead of colliding on DuckDB's single writer.
# Its value is the org (LEADROUTE_ORG): each org has its own warehouse, so the production instance
# limits writers per value (deploy/production/dagster.yaml) and two orgs tick side by side.
WRITER_TAG = {"leadroute/warehouse": Settings.from_env().org}
