"""Evaluating rules on leads without writing anything: what a rules change or a backfill would do.

Two uses: ``leadroute diff`` (the rules at a git reference against the working tree,
on recent leads) and backfill reroutes (the current rules against each lead's current
decision). Both compare *targets*, not raw owners: a lead a distribution pool placed
is compared as "pool X", because re-running a round robin hands the same leads to
different members in turn, and a diff that showed every pool lead moving would hide
the leads that really move. A lead moves when its target changes: another user,
queue or pool.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing import engine
from pipelines.routing.frame.build import build_frame
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.stages.route import attach_related, load_context
from pipelines.stage import RunInfo
from pipelines.warehouse.schema import open_lead


def target(decisions: pd.DataFrame) -> pd.Series:
    """What a decision routes to, stable across reruns: ``pool:<name>``, ``queue:<name>`` or ``user:<id>``."""
    pool = decisions["pool"] if "pool" in decisions else pd.Series(None, index=decisions.index, dtype=object)
    user = "user:" + decisions["owner_id"].astype("string")
    out = ("queue:" + decisions["queue"].astype("string")).fillna(user)
    return ("pool:" + pool.astype("string")).fillna(out).fillna("(nobody)").astype(object)


def prepare(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, lead_ids: pd.Series, now: datetime,
            *, read_only: bool = True, rules: RuleSet | None = None) -> tuple[pd.DataFrame, engine.RouteContext]:
    """The routing frame and context for ``lead_ids``, as the route stage would build them.

    With ``read_only`` (the default) the rules are only evaluated: a lead they send to a pool
    gets the pool as its target and no member (who is free or capped right now is not a rules
    change), and nothing is saved. Without it, pools pick members and remember their turns.
    """
    ctx = load_context(con, RunInfo("simulation", now), read_only=read_only)
    ctx.pools_as_targets = read_only
    frame = build_frame(con, mapping, pd.Series(lead_ids).reset_index(drop=True))
    if len(frame):
        attach_related(con, mapping, frame, rules, ctx)
    return frame, ctx


def evaluate(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, lead_ids: pd.Series,
             now: datetime, entry: str = "new") -> pd.DataFrame:
    """Decide ``lead_ids`` under ``rules`` as the route stage would, writing nothing (a read-only connection works)."""
    frame, ctx = prepare(con, mapping, lead_ids, now, rules=rules)
    if frame.empty:
        return pd.DataFrame(columns=["lead_id", "step", "action", "owner_id", "queue", "pool", "reason"])
    return engine.route(frame, rules, entry, ctx)


def rules_at(ref: str, rules_dir: Path, into: Path) -> Path:
    """Check the rules folder out as it was at git ``ref`` into ``into``; returns the folder.

    Works whether ``routing_rules/`` is a folder of this repository or a rules repository of its own.
    """
    rules_dir = rules_dir.resolve()

    def git(*args: str) -> bytes:
        try:
            return subprocess.run(["git", "-C", str(rules_dir), *args], check=True, capture_output=True).stdout
        except FileNotFoundError:
            raise RuntimeError("git is not installed; `leadroute diff` needs it to read the base rules") from None
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"git {' '.join(args)} failed in {rules_dir}: {exc.stderr.decode().strip()}") from None

    git("rev-parse", "--verify", f"{ref}^{{commit}}")
    # Run inside the rules folder, git archive takes just that folder, paths relative to it.
    archive = git("archive", "--format=tar", ref, "--", ".")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    folder = into
    if not (folder / "flow.yaml").exists():
        raise RuntimeError(f"{rules_dir.name}/ at {ref} has no flow.yaml; is {ref} older than the rules?")
    return folder


@dataclass
class Diff:
    """The leads a rules change would move, with everything a pull request comment needs."""

    base: str
    head: str
    leads: int
    changes: pd.DataFrame  # one row per lead that moves: lead_id, company, from/to target and step, names
    pools: pd.DataFrame  # per pool: leads before, after, change
    names: dict[str, str] = field(default_factory=dict)

    @property
    def moved(self) -> int:
        return len(self.changes)

    def by_move(self) -> pd.DataFrame:
        if self.changes.empty:
            return pd.DataFrame(columns=["from", "to", "leads", "examples"])
        g = self.changes.groupby(["from", "to"], sort=False)
        out = g.agg(leads=("lead_id", "size"), examples=("lead_id", lambda s: ", ".join(s.head(3))))
        return out.reset_index().sort_values("leads", ascending=False, kind="stable")

    def by_step(self) -> pd.DataFrame:
        if self.changes.empty:
            return pd.DataFrame(columns=["step before", "step after", "leads"])
        out = self.changes.groupby(["base_step", "head_step"], sort=False).size().rename("leads").reset_index()
        return out.rename(columns={"base_step": "step before", "head_step": "step after"}).sort_values(
            "leads", ascending=False, kind="stable")


def compare(base: pd.DataFrame, head: pd.DataFrame, leads: pd.DataFrame, names: dict[str, str],
            base_label: str, head_label: str) -> Diff:
    """Compare two evaluations of the same leads (``leads``: lead_id, company)."""
    b = base.assign(target=target(base))[["lead_id", "step", "target"]]
    h = head.assign(target=target(head))[["lead_id", "step", "target"]]
    both = b.merge(h, on="lead_id", suffixes=("_base", "_head")).merge(leads, on="lead_id", how="left")
    moved = both[both["target_base"] != both["target_head"]].copy()

    def label(t: pd.Series) -> pd.Series:
        kind = t.str.split(":", n=1).str[0]
        ident = t.str.split(":", n=1).str[1]
        return (kind.where(kind != "user", "") + " " + ident.map(lambda i: names.get(i, i))).str.strip()

    moved["from"] = label(moved["target_base"])
    moved["to"] = label(moved["target_head"])
    changes = moved.rename(columns={"step_base": "base_step", "step_head": "head_step"})[
        ["lead_id", "company", "from", "to", "base_step", "head_step", "target_base", "target_head"]]
    pools = pd.DataFrame({
        "before": b.loc[b["target"].str.startswith("pool:"), "target"].value_counts(),
        "after": h.loc[h["target"].str.startswith("pool:"), "target"].value_counts(),
    }).fillna(0).astype(int)
    pools.index = pools.index.str.removeprefix("pool:")
    pools["change"] = pools["after"] - pools["before"]
    pools = pools.rename_axis("pool").reset_index()
    return Diff(base_label, head_label, len(both), changes.reset_index(drop=True), pools, names)


def recent_leads(con: duckdb.DuckDBPyConnection, since: datetime) -> pd.DataFrame:
    """Leads created since ``since`` that the rules decided (not kept, converted or deleted)."""
    return con.execute(
        f"""SELECT l.lead_id, l.company FROM lead l
           WHERE l.created_at >= ? AND {open_lead("l")}
             AND EXISTS (SELECT 1 FROM routing_decision d WHERE d.lead_id = l.lead_id AND d.action <> 'keep')
           ORDER BY l.created_at, l.lead_id""",
        [since],
    ).df()


def diff_rules(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, rules_dir: Path, base_ref: str,
               since: datetime, now: datetime) -> Diff:
    """Route recent leads under the rules at ``base_ref`` and under the working tree, and compare."""
    head_rules = load_rules(rules_dir)
    with tempfile.TemporaryDirectory(prefix="leadroute-base-") as tmp:
        base_rules = load_rules(rules_at(base_ref, Path(rules_dir), Path(tmp)))
    leads = recent_leads(con, since)
    base = evaluate(con, base_rules, mapping, leads["lead_id"], now)
    head = evaluate(con, head_rules, mapping, leads["lead_id"], now)
    names = dict(con.execute("SELECT user_id, name FROM crm_user").fetchall())
    return compare(base, head, leads, names, f"{base_ref} ({base_rules.version})",
                   f"working tree ({head_rules.version})")
