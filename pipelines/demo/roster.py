"""The sales team and queues, read from ``routing_rules/`` and turned into CRM ``User`` and ``Group`` rows.

Why from the rules folder: the router assigns leads to the people in ``reps.csv``
and the queues in ``queues.yaml``; building the CRM's users and queues from the
same files keeps their Ids identical on both sides, as they are in a real org.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipelines.crm.local_schema import make_id
from pipelines.demo import text as tx

INTEGRATION_USER_ID = make_id("User", 900)
INTEGRATION_USER_NAME = "LeadRoute Integration"
INTAKE_QUEUE = "Inbound_Leads"
HOLD_QUEUE = "Unqualified_Hold"
_LOCALE = {"en": "en_US", "de": "de", "fr": "fr", "ja": "ja", "es": "es", "it": "it", "sv": "sv", "ko": "ko", "zh": "zh_CN"}
_REQUIRED = ("user_id", "name", "email", "role", "team", "manager_id", "active", "time_zone", "languages", "start_date")


@dataclass
class Roster:
    """Who can own what, as arrays of user Ids ready for numpy sampling."""

    reps: pd.DataFrame
    queues: pd.DataFrame  # DeveloperName, Name, Id

    @classmethod
    def load(cls, rules_dir: Path) -> "Roster":
        reps_path, queues_path = Path(rules_dir) / "reps.csv", Path(rules_dir) / "queues.yaml"
        for path in (reps_path, queues_path):
            if not path.exists():
                raise FileNotFoundError(
                    f"{path} not found: the demo CRM builds its users and queues from the routing rules. "
                    f"Pass rules_dir= pointing at the repository's routing_rules/ folder.")
        reps = pd.read_csv(reps_path, dtype=str, keep_default_na=False, encoding="utf-8")
        missing = [c for c in _REQUIRED if c not in reps.columns]
        if missing:
            raise ValueError(f"{reps_path} lacks column(s) {', '.join(missing)}; the demo needs them to create CRM users.")
        reps["is_active"] = reps["active"].str.strip().str.lower().isin(["true", "1", "yes"])
        spec = yaml.safe_load(queues_path.read_text(encoding="utf-8")) or {}
        keys = list((spec.get("queues") or {}).keys())
        if INTAKE_QUEUE not in keys:
            raise ValueError(f"{queues_path} has no '{INTAKE_QUEUE}' queue; the demo puts new leads there.")
        queues = pd.DataFrame({
            "DeveloperName": keys,
            "Name": [spec["queues"][k].get("label") or k for k in keys],
            "Id": [make_id("Group", i + 1) for i in range(len(keys))],
        })
        return cls(reps=reps, queues=queues)

    # --- who owns what -----------------------------------------------------------------
    def queue_id(self, developer_name: str) -> str:
        row = self.queues[self.queues["DeveloperName"] == developer_name]
        if row.empty:
            raise ValueError(f"queues.yaml has no '{developer_name}' queue; the demo needs it.")
        return row["Id"].iloc[0]

    def ids(self, role: str, *, active: bool | None = True, team: str | None = None) -> np.ndarray:
        r = self.reps[self.reps["role"] == role]
        if active is not None:
            r = r[r["is_active"] == active]
        if team is not None:
            r = r[r["team"] == team]
        return r["user_id"].to_numpy(dtype=object)

    def aes(self, team: str) -> pd.DataFrame:
        return self.reps[(self.reps["role"] == "AE") & (self.reps["team"] == team)]

    def adrs_for(self, emea: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """An ADR per row: European ADRs for EMEA accounts, the others elsewhere (any ADR if a side has none)."""
        adr = self.reps[(self.reps["role"] == "ADR") & self.reps["is_active"]]
        if adr.empty:
            return np.full(len(emea), None, dtype=object)
        europe = adr["time_zone"].str.startswith("Europe/")
        eu_ids = adr.loc[europe, "user_id"].to_numpy(dtype=object)
        other_ids = adr.loc[~europe, "user_id"].to_numpy(dtype=object)
        eu_ids = eu_ids if len(eu_ids) else other_ids
        other_ids = other_ids if len(other_ids) else eu_ids
        return np.where(emea, tx.pick(rng, eu_ids, len(emea)), tx.pick(rng, other_ids, len(emea)))

    def owners_for_team(self, team: np.ndarray, lang: np.ndarray, rng: np.random.Generator,
                        inactive_share: float = 0.08) -> np.ndarray:
        """An AE per row from the row's team; EMEA prefers an AE speaking the account's language.

        Inactive AEs of a team (Brad Keller) keep a share of that team's accounts, as
        they do in a real org until someone reassigns them.
        """
        team = np.asarray(team, dtype=object)
        lang = np.asarray(lang, dtype=object)
        out = np.full(len(team), None, dtype=object)
        every_ae = self.ids("AE")
        for t in pd.unique(team):
            rows = np.flatnonzero(team == t)
            aes = self.aes(t)
            active = aes[aes["is_active"]]
            if active.empty:
                out[rows] = tx.pick(rng, every_ae, len(rows))
                continue
            chosen = tx.pick(rng, active["user_id"], len(rows))
            # language preference (EMEA: German -> the German speaker, French -> the French speaker)
            for code in pd.unique(lang[rows]):
                speakers = active[active["languages"].str.split(";").map(lambda ls, c=code: c in ls)]
                if code != "en" and 0 < len(speakers) < len(active):
                    sub = rows[lang[rows] == code]
                    chosen[np.isin(rows, sub)] = tx.pick(rng, speakers["user_id"], len(sub))
            inactive = aes.loc[~aes["is_active"], "user_id"].to_numpy(dtype=object)
            if len(inactive):
                keep = rng.random(len(rows)) < inactive_share
                chosen[keep] = tx.pick(rng, inactive, int(keep.sum()))
            out[rows] = chosen
        return out

    # --- CRM rows ------------------------------------------------------------------------
    def user_rows(self, now: datetime) -> pd.DataFrame:
        reps = self.reps
        first = reps["name"].str.split(" ", n=1).str[0]
        last = reps["name"].str.split(" ", n=1).str[1].fillna(reps["name"])
        start = pd.to_datetime(reps["start_date"], errors="coerce", utc=True)
        now_ts = pd.Timestamp(now)
        start = start.fillna(now_ts - pd.Timedelta(days=365)).clip(upper=now_ts)
        created = start.astype("int64") // 1_000_000 + 9 * 3_600_000  # 09:00 UTC on the start date
        created = np.minimum(created.to_numpy(dtype=float), now_ts.value // 1_000_000)
        lang = reps["languages"].str.split(";").str[0].map(_LOCALE).fillna("en_US")
        users = pd.DataFrame({
            "Id": reps["user_id"], "Username": reps["email"], "Name": reps["name"], "FirstName": first, "LastName": last,
            "Email": reps["email"], "IsActive": reps["is_active"].astype(int),
            "Title": _titles(reps), "Department": reps["team"], "Sales_Role__c": reps["role"],
            "ManagerId": reps["manager_id"].replace("", None), "TimeZoneSidKey": reps["time_zone"],
            "LanguageLocaleKey": lang, "CreatedDate": tx.sf_datetimes(created), "CreatedById": INTEGRATION_USER_ID,
            "LastModifiedDate": tx.sf_datetimes(created), "SystemModstamp": tx.sf_datetimes(created), "IsDeleted": 0,
        })
        first_day = float(created.min()) - 86_400_000
        integration = pd.DataFrame([{
            "Id": INTEGRATION_USER_ID, "Username": "leadroute.integration@leadroute.example", "Name": INTEGRATION_USER_NAME,
            "FirstName": "LeadRoute", "LastName": "Integration", "Email": "leadroute.integration@leadroute.example",
            "IsActive": 1, "Title": "Integration User", "Department": "Revenue Operations", "Sales_Role__c": None,
            "ManagerId": None, "TimeZoneSidKey": "GMT", "LanguageLocaleKey": "en_US",
            "CreatedDate": tx.sf_datetimes([first_day])[0], "CreatedById": None,
            "LastModifiedDate": tx.sf_datetimes([first_day])[0], "SystemModstamp": tx.sf_datetimes([first_day])[0], "IsDeleted": 0,
        }])
        return pd.concat([integration, users], ignore_index=True)

    def group_rows(self, created_ms: float) -> pd.DataFrame:
        stamp = tx.sf_datetimes([created_ms])[0]
        return self.queues.assign(Type="Queue", CreatedDate=stamp, CreatedById=INTEGRATION_USER_ID, LastModifiedDate=stamp,
                                  SystemModstamp=stamp, IsDeleted=0)


def _titles(reps: pd.DataFrame) -> pd.Series:
    titles = {"AE": "Account Executive", "SDR": "Sales Development Representative", "ADR": "Account Development Representative",
              "CSM": "Customer Success Manager", "Manager": "Sales Manager"}
    out = reps["role"].map(titles).fillna(reps["role"])
    return out.where(reps["role"] != "Manager", reps["team"] + " Manager")
