"""Evaluate: precision, recall and F1 of the engine on the demo generator's labelled data.

The generator writes its ground truth next to the CRM: ``accounts.csv`` (account_id,
company_id, parent_company_id, is_duplicate) and ``leads.csv`` (lead_id, company_id,
account_id, is_intake, broken). A lead's match is right when the matched account
has the lead's company_id (any account of a duplicate cluster will do), or when
neither has one. Account deduplication is scored on pairs: two accounts in one
master cluster should be of one company, and two accounts of one company should be
in one cluster. Business-unit accounts (which the CRM keeps under their company with
a ParentId) are their own entities there; a second line counts them as duplicates of
their company, for reference.

The stages run as plain functions on a private warehouse (extract, unify, enrich,
master, match); nothing is routed or pushed, so the CRM is left untouched.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.matching.settings import MatchingSettings, load_matching_settings


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    support: int

    def line(self, name: str) -> str:
        return (f"{name:<28} precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}"
                f"  (n={self.support:,})")


def _prf(tp: float, fp: float, fn: float, support: int) -> Scores:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return Scores(p, r, 2 * p * r / (p + r) if p + r else 0.0, support)


def score_lead_matches(matches: pd.DataFrame, leads_truth: pd.DataFrame, accounts_truth: pd.DataFrame) -> pd.DataFrame:
    """Per lead: the true and predicted company and the outcome (tp, fp, fn, tn, wrong)."""
    company_of = accounts_truth.set_index("account_id")["company_id"]
    t = leads_truth.merge(matches, on="lead_id", how="left")
    t["true_has"] = t["account_id"].fillna("").astype(str) != ""
    t["pred_has"] = t["matched_account_id"].fillna("").astype(str) != ""
    t["pred_company"] = t["matched_account_id"].map(company_of)
    right = t["pred_has"] & t["true_has"] & (t["pred_company"].astype(str) == t["company_id"].astype(str))
    t["outcome"] = np.select(
        [right, t["pred_has"] & t["true_has"], t["pred_has"], t["true_has"]],
        ["tp", "wrong", "fp", "fn"], "tn")
    return t


def lead_scores(t: pd.DataFrame) -> Scores:
    o = t["outcome"]
    tp = (o == "tp").sum()
    fp = ((o == "fp") | (o == "wrong")).sum()
    fn = ((o == "fn") | (o == "wrong")).sum()
    return _prf(tp, fp, fn, len(t))


def pair_scores(truth: pd.Series, predicted: pd.Series) -> Scores:
    """Pairwise precision and recall of a clustering (``truth`` and ``predicted`` labels per record)."""
    def pairs(counts: pd.Series) -> float:
        c = counts.to_numpy(dtype=float)
        return float((c * (c - 1) / 2).sum())

    frame = pd.DataFrame({"t": truth.to_numpy(), "p": predicted.to_numpy()})
    tp = pairs(frame.groupby(["t", "p"]).size())
    pred = pairs(frame.groupby("p").size())
    true = pairs(frame.groupby("t").size())
    return _prf(tp, pred - tp, true - tp, len(frame))


@dataclass
class EvalReport:
    leads: Scores
    leads_intake: Scores | None
    dedupe: Scores
    dedupe_by_company: Scores
    matched_share: float
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: pd.DataFrame | None = None
    ecm: Scores | None = None

    def describe(self) -> list[str]:
        lines = [self.leads.line("lead-to-account")]
        if self.ecm:
            lines.append(self.ecm.line("  same pairs, recordlinkage ECM"))
        if self.leads_intake:
            lines.append(self.leads_intake.line("lead-to-account (new leads)"))
        lines.append(self.dedupe.line("account deduplication (pairs)"))
        lines.append(self.dedupe_by_company.line("  counting business units"))
        lines.append(f"{'leads matched to an account':<28} {self.matched_share:.1%}")
        if self.counts:
            lines.append("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in self.counts.items()))
        if self.seconds:
            lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        return lines


def evaluate_warehouse(con, truth_dir: Path, seconds: dict | None = None,
                       ecm_settings: MatchingSettings | None = None) -> EvalReport:
    """Score what the master and match stages wrote in the warehouse ``con`` against ``truth_dir``
    (and, given ``ecm_settings``, recordlinkage's ECM classifier on the same candidate pairs)."""
    leads_truth = pd.read_csv(truth_dir / "leads.csv", dtype=str, keep_default_na=False)
    accounts_truth = pd.read_csv(truth_dir / "accounts.csv", dtype=str, keep_default_na=False)
    matches = con.execute("SELECT lead_id, matched_account_id, confidence, reason FROM lead_match").df()
    t = score_lead_matches(matches, leads_truth, accounts_truth)
    intake = t[t["is_intake"].astype(str).str.lower().isin(["true", "1"])] if "is_intake" in t else t.iloc[:0]
    master = con.execute("SELECT account_id, master_id FROM account_master").df()
    m = accounts_truth.merge(master, on="account_id", how="inner")
    # A business-unit account (the generator's kind) belongs to its company but is no duplicate:
    # it has its own CRM record under the company's (ParentId), which the hierarchy keeps.
    entity = m["company_id"].where(m.get("kind", pd.Series("", index=m.index)) != "business_unit", m["account_id"])
    errors = t[t["outcome"].isin(["fp", "fn", "wrong"])]
    if len(errors):
        con.register("_errors", errors[["lead_id", "matched_account_id", "account_id"]])
        try:
            errors = con.execute(
                """
                SELECT e.lead_id, l.company AS lead_company, l.email, ma.name AS matched, ta.name AS truth,
                       m.confidence, m.reason
                FROM _errors e JOIN lead l USING (lead_id) JOIN lead_match m USING (lead_id)
                LEFT JOIN account ma ON ma.account_id = e.matched_account_id
                LEFT JOIN account ta ON ta.account_id = e.account_id
                """
            ).df()
        finally:
            con.unregister("_errors")
    return EvalReport(
        leads=lead_scores(t),
        leads_intake=lead_scores(intake) if len(intake) else None,
        dedupe=pair_scores(entity, m["master_id"]),
        dedupe_by_company=pair_scores(m["company_id"], m["master_id"]),
        matched_share=float(t["pred_has"].mean()) if len(t) else 0.0,
        seconds=seconds or {},
        counts=t["outcome"].value_counts().to_dict(),
        errors=errors,
        ecm=lead_scores(score_lead_matches(ecm_lead_matches(con, ecm_settings), leads_truth, accounts_truth))
        if ecm_settings else None,
    )


def ecm_lead_matches(con, settings: MatchingSettings) -> pd.DataFrame:
    """Lead matches decided by recordlinkage's ECMClassifier instead of the weights, for comparison.

    Same blocking and comparisons; each comparison becomes a binary feature (its level
    has a positive weight, i.e. the evidence agrees) since ECM needs binary features; ECM
    is fitted on this batch's candidate pairs, unsupervised, and the most probable
    predicted match per lead wins.
    """
    import recordlinkage

    from pipelines.matching.index import KeyTable
    from pipelines.matching.fields import PERSON_NAME
    from pipelines.matching.keys import FIELDS, match_keys, registered
    from pipelines.matching.link import Linker

    have = {r[0] for r in con.execute("DESCRIBE lead").fetchall()}
    cols = [f for f in (*FIELDS, *PERSON_NAME) if f in have]
    leads = con.execute(f"SELECT lead_id, {', '.join(cols)} FROM lead").df()
    keys = match_keys(leads, default_country=settings.default_country)
    keys.insert(0, "lead_id", leads["lead_id"].values)
    linker = Linker(settings)
    with registered(con, "_ecm_leads", keys):
        scored = linker.score_pairs(con, KeyTable("_ecm_leads", "lead_id"), KeyTable("account_match_key", "account_id"))
    table = settings.model.weight_table()
    binary = pd.DataFrame(index=pd.MultiIndex.from_arrays([scored["l_id"], scored["r_id"]]))
    for c in linker.comparisons:
        agree = np.array([table.get(c.field, {}).get(level, 0.0) > 0 for level in c.levels])
        binary[c.field] = agree[scored[c.field].to_numpy(dtype=np.int64)].astype(int)
    ecm = recordlinkage.ECMClassifier(binarize=None)
    matches = ecm.fit_predict(binary)
    prob = ecm.prob(binary)
    chosen = pd.DataFrame({"lead_id": matches.get_level_values(0), "matched_account_id": matches.get_level_values(1),
                           "p": prob.loc[matches].to_numpy()})
    return chosen.sort_values("p", ascending=False).drop_duplicates("lead_id")[["lead_id", "matched_account_id"]]


def run_matching_stages(crm_path: Path, warehouse: Path, rules_dir: Path, settings: MatchingSettings | None = None,
                        now: datetime | None = None) -> dict[str, float]:
    """Extract, unify, enrich, master and match into ``warehouse``; returns seconds per stage."""
    from pipelines.crm.extract import extract
    from pipelines.crm.fields import load_field_mapping
    from pipelines.crm.local import LocalCrm
    from pipelines.enrich.enrich import enrich
    from pipelines.matching.master import build_master
    from pipelines.matching.match import match_leads
    from pipelines.stage import RunInfo
    from pipelines.unify.unify import unify
    from pipelines.warehouse import db

    settings = settings or load_matching_settings(rules_dir / "matching.yaml")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    mapping = load_field_mapping(rules_dir / "fields.yaml")
    run = RunInfo("eval", now)
    seconds = {}
    with db.connect(warehouse) as con:
        db.migrate(con, mapping.mapped_columns())
        crm = LocalCrm(str(crm_path), clock=lambda: now)
        try:
            for name, step in [("extract", lambda: extract(con, crm, mapping, run)),
                               ("unify", lambda: unify(con, mapping, run)),
                               ("enrich", lambda: enrich(con, run)),
                               ("master", lambda: build_master(con, settings, run)),
                               ("match", lambda: match_leads(con, settings, run))]:
                started = time.perf_counter()
                step()
                seconds[name] = time.perf_counter() - started
        finally:
            crm.close()
    return seconds


def evaluate_generated(rules_dir: Path, *, accounts: int = 20_000, leads: int = 3_000, seed: int = 7,
                       crm_path: Path | None = None, truth_dir: Path | None = None, workdir: Path | None = None,
                       ecm: bool = False, progress: Callable[[str], None] = lambda m: None) -> EvalReport:
    """Generate (or reuse) a labelled CRM, run the matching stages on it and score them."""
    from pipelines.warehouse import db

    with tempfile.TemporaryDirectory(prefix="leadroute-eval-") as tmp:
        base = Path(workdir or tmp)
        base.mkdir(parents=True, exist_ok=True)
        if crm_path is None:
            try:
                from pipelines.demo.generator import generate_crm
            except ImportError:
                raise ValueError("The demo generator (pipelines.demo.generator) is not installed here; "
                                 "pass a generated CRM with --crm and its ground truth with --truth.") from None

            crm_path, truth_dir = base / "crm.sqlite", base / "truth"
            if crm_path.exists():
                crm_path.unlink()
            progress(f"generating {accounts:,} accounts and {leads:,} leads (seed {seed})")
            generate_crm(crm_path, truth_dir, accounts=accounts, leads=leads, seed=seed, rules_dir=rules_dir)
        elif truth_dir is None:
            raise ValueError("--crm needs --truth (the folder with accounts.csv and leads.csv)")
        warehouse = base / "eval-warehouse.duckdb"
        from pipelines.warehouse.db import wal_path

        for stale in (warehouse, wal_path(warehouse)):
            if stale.exists():
                stale.unlink()
        progress("running extract, unify, enrich, master and match")
        seconds = run_matching_stages(crm_path, warehouse, rules_dir)
        settings = load_matching_settings(rules_dir / "matching.yaml")
        with db.connect(warehouse, read_only=True) as con:
            return evaluate_warehouse(con, truth_dir, seconds, ecm_settings=settings if ecm else None)
