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
| ``LEADROUTE_BACKFILL_START`` | ``2024-01-01``        | first lead-creation day a backfill can select |

Relative paths are relative to the working directory (the project root when run
through ``make``, ``dagster dev`` or ``leadroute``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    crm: str = "local"
    crm_path: Path = Path("data/crm.sqlite")
    warehouse: Path = Path("data/warehouse.duckdb")
    rules: Path = Path("routing_rules")
    data: Path = Path("data")
    backfill_start: date = date(2024, 1, 1)  # the first day of the backfill's daily partitions

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        crm = env.get("LEADROUTE_CRM", "local").strip().lower()
        if crm not in ("local", "salesforce"):
            raise ValueError(f"LEADROUTE_CRM must be 'local' or 'salesforce', got {crm!r}")
        return cls(
            crm=crm,
            crm_path=Path(env.get("LEADROUTE_CRM_PATH", "data/crm.sqlite")),
            warehouse=Path(env.get("LEADROUTE_WAREHOUSE", "data/warehouse.duckdb")),
            rules=Path(env.get("LEADROUTE_RULES", "routing_rules")),
            data=Path(env.get("LEADROUTE_DATA", "data")),
            backfill_start=_day(env, "LEADROUTE_BACKFILL_START", cls.backfill_start),
        )

    @property
    def truth_dir(self) -> Path:
        return self.data / "ground_truth"

    @property
    def fields_file(self) -> Path:
        return self.rules / "fields.yaml"


def _day(env, name: str, default: date) -> date:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a day as YYYY-MM-DD, got {text!r}") from None
