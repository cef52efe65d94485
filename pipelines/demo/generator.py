"""Build a realistic, messy demo CRM (local SQLite) and its ground truth, deterministically for a seed.

What it makes, and why each part is there:

- Users from ``routing_rules/reps.csv`` (plus the integration user) and queues from
  ``queues.yaml``, so the router's owners exist in the CRM with the same Ids.
- Accounts for company families (duplicates, business units, subsidiaries in other
  countries, public sector), with opportunities: what leads are matched against.
- Leads: historical ones already worked by reps (with tasks, meetings, conversions,
  campaigns) and new intake leads in the ``Inbound_Leads`` queue for the router,
  including a few deliberately broken ones for quarantine.
- Ground truth in ``truth_dir`` (never read by the pipeline): which company every
  account and lead belongs to, so matching and dedup can be scored.

The work is vectorised and chunked: a chunk of accounts is generated, written and
dropped, so a million accounts take minutes and bounded memory.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pipelines.demo import accounts as ac
from pipelines.demo import activities as act
from pipelines.demo import companies as co
from pipelines.demo import crm_io
from pipelines.demo import leads as ld
from pipelines.demo import names as nm
from pipelines.demo import text as tx
from pipelines.demo import vocabulary as voc
from pipelines.demo.roster import INTEGRATION_USER_ID, Roster

CHUNK_ACCOUNTS = 100_000   # fixed: the data for a seed must not depend on anything else
INTAKE_SHARE = 0.40        # new leads in the intake queue
HOLD_SHARE = 0.01          # intake-like leads parked in Unqualified_Hold
NON_ACCOUNT_SHARE = 0.18   # leads of companies that are not accounts (truth: no match)
MIN_BROKEN = 4             # at least one broken lead of each kind in a generated demo

TRUTH_FILES = ("accounts.csv", "leads.csv", "companies.csv")
ACCOUNT_TRUTH_COLUMNS = ["account_id", "company_id", "parent_company_id", "is_duplicate", "kind"]
LEAD_TRUTH_COLUMNS = ["lead_id", "company_id", "account_id", "is_intake", "broken", "real_company_id"]


@dataclass
class DemoSummary:
    """Counts of what ``generate_crm`` built."""

    crm_path: Path
    truth_dir: Path
    seed: int
    accounts: int = 0
    duplicate_accounts: int = 0
    business_unit_accounts: int = 0
    subsidiary_accounts: int = 0
    companies: int = 0
    non_account_companies: int = 0
    leads: int = 0
    intake_leads: int = 0
    historical_leads: int = 0
    hold_leads: int = 0
    converted_leads: int = 0
    non_account_leads: int = 0
    free_mail_leads: int = 0
    broken_leads: int = 0
    users: int = 0
    queues: int = 0
    opportunities: int = 0
    contacts: int = 0
    tasks: int = 0
    events: int = 0
    campaigns: int = 0
    campaign_members: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        return "\n".join([
            f"Demo CRM {self.crm_path} (seed {self.seed}) built in {self.seconds:.1f}s; ground truth in {self.truth_dir}.",
            f"{self.accounts:,} accounts for {self.companies - self.non_account_companies:,} companies: "
            f"{self.duplicate_accounts:,} duplicates, {self.business_unit_accounts:,} business units, "
            f"{self.subsidiary_accounts:,} subsidiary accounts; {self.opportunities:,} opportunities.",
            f"{self.leads:,} leads: {self.intake_leads:,} new in the intake queue ({self.broken_leads} deliberately broken), "
            f"{self.historical_leads:,} historical ({self.converted_leads:,} converted), {self.hold_leads} on hold; "
            f"{self.non_account_leads:,} from companies with no account, {self.free_mail_leads:,} with free-mail addresses.",
            f"{self.users} users, {self.queues} queues, {self.contacts:,} contacts, {self.tasks:,} tasks, {self.events:,} events, "
            f"{self.campaigns} campaigns with {self.campaign_members:,} members.",
        ])


def utc_now(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive values are taken to be UTC); the current time if None."""
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def epoch_ms(now: datetime) -> float:
    return float(int(now.timestamp() * 1000))


def lead_plan(leads: int) -> dict[str, int]:
    """How the requested leads split into intake, hold and historical, and account vs non-account companies."""
    intake = int(round(leads * INTAKE_SHARE))
    hold = int(min(leads - intake, max(1, round(leads * HOLD_SHARE)))) if leads >= 10 else 0
    non_account = int(round(leads * NON_ACCOUNT_SHARE))
    return {"intake": intake, "hold": hold, "historical": leads - intake - hold, "non_account": non_account,
            "from_accounts": leads - non_account}


def generate_crm(crm_path: Path, truth_dir: Path, *, accounts: int = 5_000, leads: int = 3_000, seed: int = 42,
                 now: datetime | None = None, rules_dir: Path = Path("routing_rules"),
                 progress: Callable[[str], None] | None = None) -> DemoSummary:
    """Build the demo CRM at ``crm_path`` (replacing any file there) and its ground truth in ``truth_dir``.

    Deterministic for (``seed``, ``accounts``, ``leads``, ``now``, the roster). The CRM is
    built in a temporary file next to ``crm_path`` and moved into place at the end, so a
    failed run never leaves a half-built CRM behind.
    """
    started = time.perf_counter()
    if accounts < 10:
        raise ValueError(f"accounts={accounts}: the demo needs at least 10 accounts to show duplicates and hierarchies.")
    if leads < 0:
        raise ValueError(f"leads={leads}: the number of leads cannot be negative.")
    crm_path, truth_dir = Path(crm_path), Path(truth_dir)
    say = progress or (lambda message: None)
    now_dt = utc_now(now)
    now_ms = epoch_ms(now_dt)
    roster = Roster.load(Path(rules_dir))
    plan = lead_plan(leads)
    crm_path.parent.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    tmp_crm = crm_path.with_name(f".{crm_path.name}.building")
    tmp_truth = {name: truth_dir / f".{name}.building" for name in TRUTH_FILES}
    for path in (tmp_crm, *tmp_truth.values()):
        path.unlink(missing_ok=True)
    summary = DemoSummary(crm_path=crm_path, truth_dir=truth_dir, seed=seed)

    def rng(*stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, *stream])

    con = crm_io.connect_for_build(tmp_crm)
    try:
        users = roster.user_rows(now_dt)
        summary.users = crm_io.insert_frame(con, "User", users)
        summary.queues = crm_io.insert_frame(con, "Group", roster.group_rows(now_ms - 800 * tx.MS_PER_DAY))

        # non-account companies: clusters of leads from companies the CRM does not know
        r = rng(1)
        sizes = np.minimum(1 + r.geometric(.55, max(plan["non_account"], 1)) - 1, 5)
        cut = int(np.searchsorted(np.cumsum(sizes), plan["non_account"])) + 1 if plan["non_account"] else 0
        sizes = sizes[:cut]
        if cut:
            sizes[-1] -= int(sizes.sum() - plan["non_account"])
        pools = nm.NamePools.build(rng(2), accounts + len(sizes))
        r = rng(3)
        na_country = co.draw_countries(r, len(sizes))
        non_account = co.build_profiles(r, pools, na_country, public=(na_country == "US") & (r.random(len(sizes)) < .03),
                                        has_account=0)

        # accounts, chunk by chunk
        chunk_sizes = [CHUNK_ACCOUNTS] * (accounts // CHUNK_ACCOUNTS) + ([accounts % CHUNK_ACCOUNTS] if accounts % CHUNK_ACCOUNTS else [])
        per_chunk = rng(4).multinomial(plan["from_accounts"], np.array(chunk_sizes) / accounts) if plan["from_accounts"] else [0] * len(chunk_sizes)
        company_no, account_no, opportunity_no = 1, 1, 1
        sources, opp_by_account = [], []
        for i, (size, n_src) in enumerate(zip(chunk_sizes, per_chunk)):
            chunk = ac.build_chunk(rng(10, i), pools, roster, n_rows=size, n_sources=int(n_src), company_start=company_no,
                                   account_start=account_no, opportunity_start=opportunity_no, now_ms=now_ms,
                                   federal_first=min(len(voc.FEDERAL_AGENCIES), accounts // 100) if i == 0 else 0)
            crm_io.insert_frame(con, "Account", chunk.accounts)
            crm_io.insert_frame(con, "Opportunity", chunk.opportunities)
            crm_io.write_csv(chunk.truth[ACCOUNT_TRUTH_COLUMNS], tmp_truth["accounts.csv"], append=i > 0)
            crm_io.write_csv(chunk.companies, tmp_truth["companies.csv"], append=i > 0)
            sources.append(chunk.sources)
            if len(chunk.opportunities):
                wanted = chunk.opportunities["AccountId"].isin(set(chunk.sources["account_id"]))
                opp_by_account.append(chunk.opportunities.loc[wanted, ["AccountId", "Id"]])
            summary.accounts += size
            summary.duplicate_accounts += int((chunk.truth["kind"] == "duplicate").sum())
            summary.business_unit_accounts += int((chunk.truth["kind"] == "business_unit").sum())
            summary.subsidiary_accounts += int((chunk.truth["parent_company_id"] != "").sum())
            summary.companies += len(chunk.companies)
            summary.opportunities += len(chunk.opportunities)
            company_no += len(chunk.companies)
            account_no += size
            opportunity_no += len(chunk.opportunities)
            say(f"accounts {summary.accounts:,}/{accounts:,}")
            del chunk

        non_account["company_id"] = co.company_ids(company_no, len(non_account))
        non_account["primary_account_id"] = ""
        crm_io.write_csv(non_account[co.PROFILE_COLUMNS + ["primary_account_id"]], tmp_truth["companies.csv"], append=True)
        summary.companies += len(non_account)
        summary.non_account_companies = len(non_account)

        # leads
        account_sources = pd.concat(sources, ignore_index=True)
        na_sources = non_account.iloc[np.repeat(np.arange(len(non_account)), sizes)].reset_index(drop=True)
        na_sources["account_id"] = ""
        all_sources = pd.concat([account_sources, na_sources], ignore_index=True)
        r = rng(5)
        all_sources = all_sources.iloc[r.permutation(len(all_sources))].reset_index(drop=True)
        kind = np.array([ld.INTAKE] * plan["intake"] + [ld.HOLD] * plan["hold"] + [ld.HISTORICAL] * plan["historical"], dtype=object)
        kind = kind[r.permutation(len(kind))]
        n_broken = ld.broken_count(plan["intake"], MIN_BROKEN)
        lead_rows, lead_truth, extras = ld.render_leads(r, all_sources, kind, roster, now_ms=now_ms, id_start=1, n_broken=n_broken)
        contacts = act.contacts_for_converted(lead_rows, extras["converted_at"], start=1)
        if opp_by_account:
            opps = pd.concat(opp_by_account).drop_duplicates("AccountId").set_index("AccountId")["Id"]
            act.link_opportunities(lead_rows, opps)
        historical = lead_rows["OwnerId"].str.startswith("005").to_numpy()
        tasks, events = act.tasks_and_events(rng(6), lead_rows, extras["created"], historical, now_ms=now_ms, task_start=1, event_start=1)
        marketing = roster.reps.loc[roster.reps["role"] == "Manager", "user_id"]
        campaign_owner = marketing.iloc[0] if len(marketing) else INTEGRATION_USER_ID
        campaigns, members = act.campaigns(rng(7), lead_rows, extras["created"], now_ms=now_ms, owner_id=campaign_owner)
        summary.leads = crm_io.insert_frame(con, "Lead", lead_rows)
        summary.contacts = crm_io.insert_frame(con, "Contact", contacts)
        summary.tasks = crm_io.insert_frame(con, "Task", tasks)
        summary.events = crm_io.insert_frame(con, "Event", events)
        summary.campaigns = crm_io.insert_frame(con, "Campaign", campaigns)
        summary.campaign_members = crm_io.insert_frame(con, "CampaignMember", members)
        crm_io.write_csv(lead_truth[LEAD_TRUTH_COLUMNS], tmp_truth["leads.csv"])
        say(f"leads {summary.leads:,}/{leads:,}")

        summary.intake_leads = int(lead_truth["is_intake"].sum())
        summary.hold_leads = plan["hold"]
        summary.historical_leads = plan["historical"]
        summary.converted_leads = int(lead_rows["IsConverted"].sum())
        summary.non_account_leads = plan["non_account"]
        summary.free_mail_leads = int(extras["free_mail"].sum())
        summary.broken_leads = int((lead_truth["broken"] != "").sum())
        crm_io.finish_build(con)
        con = None
        os.replace(tmp_crm, crm_path)
        for name, tmp in tmp_truth.items():
            os.replace(tmp, truth_dir / name)
    finally:
        if con is not None:
            con.close()
        for path in (tmp_crm, *tmp_truth.values()):
            path.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    say(f"done in {summary.seconds:.1f}s")
    return summary

