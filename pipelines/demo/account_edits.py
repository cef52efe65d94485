"""Account edits in the demo CRM: what a day of data upkeep does to the account table.

Why: a real org edits accounts all day (a data vendor refreshes head counts, a company is
renamed), and every tick that sees an edited account has to bring the account master up to
date. ``leadroute demo account-edits`` plays that, stamped at ``now`` (``SystemModstamp``, so the
next tick extracts it), and ``benchmarks/bench_tick.py`` measures the tick after it:

- ``edit`` accounts get one more employee: a field no match key reads, so their keys, blocks
  and duplicates stay as they were;
- ``rename`` other accounts get " Holdings" after their name: their name keys move, so their
  duplicates are looked for again.

Only live accounts are picked. Deterministic for (CRM state, seed).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from pipelines.crm.local_schema import sf_datetime
from pipelines.demo.generator import utc_now

RENAMED = " Holdings"


@dataclass
class AccountEdits:
    now: datetime
    edited: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"Account edits at {self.now:%Y-%m-%d %H:%M} UTC:",
                 f"  {len(self.edited)} account(s) got one more employee (no match key reads it)",
                 f"  {len(self.renamed)} account(s) renamed (\"{RENAMED.strip()}\" added to the name)"]
        shown = (self.edited + self.renamed)[:5]
        if shown:
            lines.append(f"  e.g. {', '.join(shown)}")
        lines.append("Next: `leadroute tick` brings the account master up to date.")
        return "\n".join(lines)


def edit_accounts(crm_path: Path, *, edit: int, rename: int, seed: int | None = None,
                  now: datetime | None = None) -> AccountEdits:
    """Edit ``edit`` live accounts where no match key reads and rename ``rename`` others."""
    if edit < 0 or rename < 0:
        raise ValueError(f"edit={edit}, rename={rename}: the numbers of accounts to change cannot be negative.")
    if not Path(crm_path).exists():
        raise FileNotFoundError(f"{crm_path} not found: run `leadroute demo init` first.")
    now = utc_now(now)
    stamp = sf_datetime(now)
    con = sqlite3.connect(crm_path)
    try:
        ids = np.array([r[0] for r in con.execute("SELECT Id FROM Account WHERE IsDeleted = 0 ORDER BY Id")],
                       dtype=object)
        if edit + rename > len(ids):
            raise ValueError(f"{edit} + {rename} accounts to change, but the CRM holds {len(ids)} live accounts.")
        rng = np.random.default_rng([int(seed if seed is not None else len(ids)), 2_2_0])
        picked = ids[rng.choice(len(ids), size=edit + rename, replace=False)].tolist()
        summary = AccountEdits(now=now, edited=picked[:edit], renamed=picked[edit:])
        with con:
            con.executemany("UPDATE Account SET NumberOfEmployees = coalesce(NumberOfEmployees, 0) + 1, "
                            "LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
                            [(stamp, stamp, i) for i in summary.edited])
            con.executemany("UPDATE Account SET Name = Name || ?, LastModifiedDate = ?, SystemModstamp = ? "
                            "WHERE Id = ?", [(RENAMED, stamp, stamp, i) for i in summary.renamed])
    finally:
        con.close()
    return summary
