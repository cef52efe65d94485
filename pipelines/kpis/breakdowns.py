"""The KPI breakdowns the ``kpis`` asset's page shows as tables in the Dagster UI."""

from __future__ import annotations

import pandas as pd

from pipelines.kpis.compute import Kpis


def frames(k: Kpis) -> dict[str, pd.DataFrame]:
    """One table per KPI breakdown (per owner, fairness, quarantine, day 2), empty ones too: the same keys every tick."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame, top in (("per_owner", k.per_owner, 20), ("fairness", k.fairness, 50),
                             ("quarantine", k.quarantine, 50), ("sla_compliance", k.day2.sla, 30),
                             ("sla_per_rep", k.day2.sla_per_rep, 30), ("reroutes_by_reason", k.day2.reroutes, 30),
                             ("leakage_per_rep", k.day2.leakage, 30)):
        out[name] = frame.head(top)
    return out
