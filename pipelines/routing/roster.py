"""The roster (``routing_rules/reps.csv``): who can be assigned leads, and when.

One row per CRM user ops route to: id, name, email, role, team, manager, active,
out-of-office dates, time zone, working hours, caps, weight, languages, products,
start date. Parsed once per run into a DataFrame with typed columns and the line
number of each row (``_line``), so every problem points at the row to fix.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.sourcefile import ConfigProblem, SourceRef, read_csv

REPS_FILE = "reps.csv"
REQUIRED_COLUMNS = ("user_id", "name", "email", "role", "team", "active")
DATE_COLUMNS = ("ooo_from", "ooo_to", "start_date")


def load_roster(path: Path, display: str) -> tuple[pd.DataFrame, list[ConfigProblem]]:
    """The roster as a DataFrame (``active`` bool, dates as Timestamps), and its problems."""
    problems: list[ConfigProblem] = []
    records = read_csv(path, display)
    df = pd.DataFrame([r for _, r in records], dtype=object)
    df["_line"] = [line for line, _ in records]
    missing = [c for c in REQUIRED_COLUMNS if records and c not in df.columns]
    if missing:
        problems.append(ConfigProblem(SourceRef(display, 1), f"missing column(s) {missing}"))
        return df, problems
    for line, row in records:
        if row["active"].lower() not in ("true", "false", "1", "0", "yes", "no"):
            problems.append(ConfigProblem(SourceRef(display, line), f"active must be true or false, got {row['active']!r}"))
    df["active"] = df["active"].str.lower().isin(["true", "1", "yes"])
    for col in DATE_COLUMNS:
        if col in df.columns:
            parsed = pd.to_datetime(df[col].replace("", None), errors="coerce", format="%Y-%m-%d")
            bad = df[col].astype(bool) & parsed.isna()
            for line, value in zip(df.loc[bad, "_line"], df.loc[bad, col]):
                problems.append(ConfigProblem(SourceRef(display, int(line)), f"{col} must be a date YYYY-MM-DD, got {value!r}"))
            df[col] = parsed
    dupes = df[df["user_id"].duplicated(keep=False)]
    for line, uid in zip(dupes["_line"], dupes["user_id"]):
        problems.append(ConfigProblem(SourceRef(display, int(line)), f"user_id {uid} appears more than once"))
    return df, problems


def check_against_crm(roster: pd.DataFrame, crm_users: pd.DataFrame, display: str) -> list[ConfigProblem]:
    """Reps missing from the CRM, or active in the roster but inactive in the CRM."""
    problems = []
    crm = crm_users.set_index("user_id")
    for line, uid, name, active in roster[["_line", "user_id", "name", "active"]].itertuples(index=False):
        if uid not in crm.index:
            problems.append(ConfigProblem(SourceRef(display, int(line)), f"{name} ({uid}) is not a user in the CRM"))
        elif active and not bool(crm.loc[uid, "is_active"]):
            problems.append(ConfigProblem(SourceRef(display, int(line)),
                                          f"{name} ({uid}) is active in reps.csv but inactive in the CRM; "
                                          f"set active to false or reactivate the user"))
    return problems
