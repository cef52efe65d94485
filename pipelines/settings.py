"""Where things are: paths and the CRM choice, from the environment with safe defaults.

Only non-secret settings live here. Credentials (Salesforce) are read by the CRM
resource through ``dg.EnvVar`` and never logged.

| variable                  | default                  | what                                  |
|---------------------------|--------------------------|---------------------------------------|
| ``LEADROUTE_CRM``         | ``local``                | ``local`` or ``salesforce``           |
| ``LEADROUTE_CRM_PATH``    | ``data/crm.sqlite``      | the local CRM file                    |
| ``LEADROUTE_WAREHOUSE``   | ``data/warehouse.duckdb``| the DuckDB warehouse                  |
| ``LEADROUTE_RULES``       | ``routing_rules``        | the ops-owned rules folder            |
| ``LEADROUTE_DATA``        | ``data``                 | generated local data (ground truth)   |
| ``LEADROUTE_ORG``         | ``leadroute``            | the org: code location and writer-tag |
| ``LEADROUTE_TICK_CRON``   | ``*/5 * * * *``          | the tick schedule (cron, UTC)         |
| ``LEADROUTE_TICK_EVERY_SECONDS`` | unset             | a sub-minute cadence instead (sensor) |
| ``LEADROUTE_BACKFILL_START`` | ``2024-01-01``        | first lead-creation day a backfill can select |

Relative paths are relative to the working directory (the project root when run
through ``make``, ``dagster dev`` or ``leadroute``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# Every variable Settings reads, by field. Deployment files (compose, Helm values) are checked
# against this list, so a renamed variable cannot silently fall back to its default there.
VARIABLES: dict[str, str] = {
    "crm": "LEADROUTE_CRM",
    "crm_path": "LEADROUTE_CRM_PATH",
    "warehouse": "LEADROUTE_WAREHOUSE",
    "rules": "LEADROUTE_RULES",
    "data": "LEADROUTE_DATA",
    "org": "LEADROUTE_ORG",
    "tick_cron": "LEADROUTE_TICK_CRON",
    "tick_every_seconds": "LEADROUTE_TICK_EVERY_SECONDS",
    "backfill_start": "LEADROUTE_BACKFILL_START",
}
_ORG_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Settings:
    crm: str = "local"
    crm_path: Path = Path("data/crm.sqlite")
    warehouse: Path = Path("data/warehouse.duckdb")
    rules: Path = Path("routing_rules")
    data: Path = Path("data")
    # One deployment can route several orgs: each is its own code location with its own CRM,
    # rules, warehouse and cadence. The name keeps their runs apart (the writer tag's value).
    org: str = "leadroute"
    tick_cron: str = "*/5 * * * *"
    tick_every_seconds: int | None = None  # set: a sensor ticks every N seconds instead of the cron schedule
    backfill_start: date = date(2024, 1, 1)  # the first day of the backfill's daily partitions

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(field: str, default: str) -> str:
            return env.get(VARIABLES[field], "").strip() or default

        crm = get("crm", "local").lower()
        if crm not in ("local", "salesforce"):
            raise ValueError(f"LEADROUTE_CRM must be 'local' or 'salesforce', got {crm!r}")
        org = get("org", cls.org)
        if not _ORG_NAME.match(org):
            raise ValueError(f"LEADROUTE_ORG must be a short lower-case name (letters, digits, - and _), got {org!r}")
        every = get("tick_every_seconds", "")
        if every and not (every.isdigit() and int(every) >= 1):
            raise ValueError(f"LEADROUTE_TICK_EVERY_SECONDS must be a whole number of seconds, got {every!r}")
        return cls(
            crm=crm,
            crm_path=Path(get("crm_path", "data/crm.sqlite")),
            warehouse=Path(get("warehouse", "data/warehouse.duckdb")),
            rules=Path(get("rules", "routing_rules")),
            data=Path(get("data", "data")),
            org=org,
            tick_cron=get("tick_cron", cls.tick_cron),
            tick_every_seconds=int(every) if every else None,
            backfill_start=_day(get("backfill_start", ""), cls.backfill_start),
        )

    @property
    def truth_dir(self) -> Path:
        return self.data / "ground_truth"

    @property
    def fields_file(self) -> Path:
        return self.rules / "fields.yaml"


def _day(text: str, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{VARIABLES['backfill_start']} must be a day as YYYY-MM-DD, got {text!r}") from None
