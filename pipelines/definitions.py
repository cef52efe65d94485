"""The code location: loads pipelines/defs and applies project-wide policy in one place.

Policy lives in :func:`pipelines.defs.runner.build_defs`: the in-process executor
(the multiprocess one costs 15-28 s per run on a 2-core machine, and DuckDB takes
one writer process anyway) and resources configured from the environment.
"""

import dagster as dg

from pipelines.defs.runner import build_defs


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs()
