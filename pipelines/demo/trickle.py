"""Trickle new intake leads into an existing demo CRM, the way a web form would.

Why: the router runs on a schedule; to show it working (and to test incremental
extraction by SystemModstamp) the demo needs fresh leads arriving after the first
build. Each call adds N leads owned by the ``Inbound_Leads`` queue, created now,
with the same distributions as the generator's intake leads: mostly people from
companies already in the CRM, some from companies it has never seen. Ids continue
after the current maximum and the ground truth files are appended to.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.demo import companies as co
from pipelines.demo import crm_io
from pipelines.demo import leads as ld
from pipelines.demo import names as nm
from pipelines.demo.generator import LEAD_TRUTH_COLUMNS, NON_ACCOUNT_SHARE, epoch_ms, utc_now
from pipelines.demo.roster import Roster

_NUMERIC = ("employees", "revenue", "lat", "long", "has_account", "is_public")


@dataclass
class TrickleSummary:
    """What one ``trickle`` call added."""

    crm_path: Path
    seed: int
    leads: int = 0
    first_id: str | None = None
    last_id: str | None = None
    existing_company_leads: int = 0
    known_non_account_leads: int = 0
    new_company_leads: int = 0
    new_companies: int = 0
    broken_leads: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        if not self.leads:
            return f"No leads added to {self.crm_path}."
        return "\n".join([
            f"Added {self.leads:,} intake leads to {self.crm_path} ({self.first_id} .. {self.last_id}, seed {self.seed}) "
            f"in {self.seconds:.2f}s.",
            f"{self.existing_company_leads:,} from companies with accounts, {self.known_non_account_leads:,} from companies "
            f"already seen as leads, {self.new_company_leads:,} from {self.new_companies:,} new companies; "
            f"{self.broken_leads} deliberately broken.",
        ])


def trickle(crm_path: Path, truth_dir: Path, *, leads: int, seed: int | None = None, now: datetime | None = None,
            rules_dir: Path = Path("routing_rules")) -> TrickleSummary:
    """Add ``leads`` new intake leads to the demo CRM at ``crm_path`` and append their truth to ``truth_dir/leads.csv``.

    ``seed`` defaults to the current number of leads, so repeated calls add different leads
    while a given CRM state plus seed always adds the same ones.
    """
    started = time.perf_counter()
    crm_path, truth_dir = Path(crm_path), Path(truth_dir)
    if leads < 0:
        raise ValueError(f"leads={leads}: the number of leads to add cannot be negative.")
    for path in (crm_path, truth_dir / "leads.csv", truth_dir / "accounts.csv", truth_dir / "companies.csv"):
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: trickle adds leads to a demo CRM made by generate_crm; "
                                    f"build one first (generate_crm(crm_path, truth_dir)).")
    roster = Roster.load(Path(rules_dir))
    now_ms = epoch_ms(utc_now(now))
    con = sqlite3.connect(crm_path)
    try:
        existing = con.execute("SELECT COUNT(*) FROM Lead").fetchone()[0]
        seed = int(existing if seed is None else seed)
        summary = TrickleSummary(crm_path=crm_path, seed=seed)
        if leads == 0:
            return summary
        rng = np.random.default_rng([seed, 7_7_7])
        # only three columns of every company; full profiles just for the companies picked below
        index = crm_io.read_truth(truth_dir / "companies.csv", usecols=["company_id", "key", "has_account"])
        account_truth = crm_io.read_truth(truth_dir / "accounts.csv", usecols=["account_id", "company_id"])

        # who the new leads are: mostly account companies, some non-account ones (known or new)
        n_non = int(rng.binomial(leads, NON_ACCOUNT_SHARE))
        known_pool = index.loc[index["has_account"] == "0", "company_id"].to_numpy(dtype=object)
        n_known = int(rng.binomial(n_non, .5)) if len(known_pool) else 0
        n_new = n_non - n_known
        n_acc = leads - n_non
        picked = account_truth.iloc[rng.integers(0, len(account_truth), n_acc)] if n_acc else account_truth.iloc[:0]
        known = known_pool[rng.integers(0, len(known_pool), n_known)] if n_known else np.array([], dtype=object)
        profiles = _read_profiles(truth_dir / "companies.csv", set(picked["company_id"]) | set(known))
        frames = []
        if n_acc:
            frames.append(profiles.loc[picked["company_id"].to_numpy()].reset_index().assign(
                account_id=picked["account_id"].to_numpy()))
        if n_known:
            frames.append(profiles.loc[known].reset_index().assign(account_id=""))
        new_companies = pd.DataFrame()
        if n_new:
            new_companies = _new_companies(rng, index, n_new)
            crm_io.write_csv(new_companies[co.PROFILE_COLUMNS + ["primary_account_id"]], truth_dir / "companies.csv", append=True)
            frames.append(new_companies.iloc[rng.integers(0, len(new_companies), n_new)].assign(account_id=""))
        sources = pd.concat(frames, ignore_index=True)
        sources = sources.iloc[rng.permutation(len(sources))].reset_index(drop=True)

        start = crm_io.max_number(con, "Lead") + 1
        kind = np.full(leads, ld.INTAKE, dtype=object)
        lead_rows, truth, _ = ld.render_leads(rng, sources, kind, roster, now_ms=now_ms, id_start=start,
                                              n_broken=ld.broken_count(leads, 0), created_now=True)
        with con:
            crm_io.insert_frame(con, "Lead", lead_rows)
        crm_io.write_csv(truth[LEAD_TRUTH_COLUMNS], truth_dir / "leads.csv", append=True)
    finally:
        con.close()
    summary.leads = len(lead_rows)
    summary.first_id, summary.last_id = lead_rows["Id"].iloc[0], lead_rows["Id"].iloc[-1]
    summary.existing_company_leads, summary.known_non_account_leads, summary.new_company_leads = n_acc, n_known, n_new
    summary.new_companies = len(new_companies)
    summary.broken_leads = int((truth["broken"] != "").sum())
    summary.seconds = time.perf_counter() - started
    return summary


def _read_profiles(path: Path, wanted: set) -> pd.DataFrame:
    """Full profiles of the wanted companies, read in chunks so a million-company file never sits in memory."""
    parts = [chunk[chunk["company_id"].isin(wanted)]
             for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=200_000)]
    profiles = pd.concat(parts, ignore_index=True)
    for col in _NUMERIC:
        profiles[col] = pd.to_numeric(profiles[col], errors="coerce")
    return profiles.set_index("company_id")


def _new_companies(rng: np.random.Generator, companies: pd.DataFrame, n_leads: int) -> pd.DataFrame:
    """Companies nobody in the CRM has seen, named so that no existing company shares their key."""
    count = max(1, int(np.ceil(n_leads / 1.5)))
    taken = nm.KeySet(companies["key"].to_numpy(dtype=object))  # companies: the id/key/has_account index
    names = nm.generate_names(rng, "en", count, taken)
    names["acronym"] = ""  # an acronym could repeat an existing company's; new companies go by their full names
    pools = nm.NamePools.fixed(names)
    country = co.draw_countries(rng, len(names))
    profiles = co.build_profiles(rng, pools, country, public=np.zeros(len(names), dtype=bool), has_account=0)
    last = companies["company_id"].str.slice(1).astype(int).max() if len(companies) else 0
    profiles["company_id"] = co.company_ids(int(last) + 1, len(profiles))
    profiles["primary_account_id"] = ""
    return profiles
