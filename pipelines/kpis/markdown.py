"""The KPIs as markdown tables, for the ``kpis`` asset's page in the Dagster UI."""

from __future__ import annotations

from pipelines.kpis.compute import Kpis


def sections(k: Kpis) -> dict[str, str]:
    """One markdown table per KPI breakdown that has rows (per owner, fairness, quarantine, day 2)."""
    out: dict[str, str] = {}
    if len(k.per_owner):
        out["per_owner"] = k.per_owner.head(20).to_markdown(index=False)
    if len(k.fairness):
        out["fairness"] = k.fairness.to_markdown(index=False)
    if len(k.quarantine):
        out["quarantine"] = k.quarantine.to_markdown(index=False)
    for name, frame in (("sla_compliance", k.day2.sla), ("sla_per_rep", k.day2.sla_per_rep),
                        ("reroutes_by_reason", k.day2.reroutes), ("leakage_per_rep", k.day2.leakage)):
        if len(frame):
            out[name] = frame.head(30).to_markdown(index=False)
    return out
