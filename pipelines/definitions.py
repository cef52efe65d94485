"""The code location: loads pipelines/defs and applies project-wide policy in one place.

Policy lives in :mod:`pipelines.defs.policy` (:func:`~pipelines.defs.policy.build_defs`):
the in-process executor (the multiprocess one costs 15-28 s per run on a 2-core machine,
and DuckDB takes one writer process anyway), one warehouse writer at a time, retries on
CRM calls, and resources configured from the environment.
"""

import dagster as dg

from pipelines.defs.policy import build_defs


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs()
