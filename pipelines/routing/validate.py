"""Cross-reference checks over a loaded rule set: everything ops can get wrong between files.

Structural problems are caught while loading (:mod:`.loader`); here we check that
every name used exists and makes sense together: fields, tables, pools, queues and
reps; that reps are active in the CRM; that no step is unreachable; that tables
have no duplicate keys. Each problem names the file and line to fix.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.frame import available_fields
from pipelines.routing.loader import _suggest
from pipelines.routing.pool_config import check_pools
from pipelines.routing.roster import check_against_crm
from pipelines.routing.model import Action, Condition, FieldCondition, GroupCondition, InTableCondition, NotCondition, RuleSet
from pipelines.sourcefile import ConfigProblem, SourceRef


def _conditions(cond: Condition | None):
    if cond is None:
        return
    yield cond
    if isinstance(cond, GroupCondition):
        for c in cond.items:
            yield from _conditions(c)
    elif isinstance(cond, NotCondition):
        yield from _conditions(cond.item)


class _Checker:
    def __init__(self, rules: RuleSet, mapping: FieldMapping, crm_users: pd.DataFrame | None, now: datetime):
        self.rules, self.now, self.crm_users = rules, now, crm_users
        self.fields = available_fields(mapping)
        self.problems: list[ConfigProblem] = []
        self.roster = set(rules.reps["user_id"]) if "user_id" in rules.reps else set()

    def err(self, where: SourceRef, msg: str, severity: str = "error") -> None:
        self.problems.append(ConfigProblem(where, msg, severity))

    def field(self, where: SourceRef, name: str) -> None:
        ns, _, col = name.partition(".")
        if ns not in self.fields:
            self.err(where, f"field {name!r} must start with lead., account. or match.")
        elif col not in self.fields[ns]:
            self.err(where, f"unknown field {name!r}{_suggest(col, self.fields[ns])}")

    def table_ref(self, where: SourceRef, table: str, lookup: dict[str, str]) -> None:
        decl = self.rules.tables.get(table)
        if decl is None:
            self.err(where, f"unknown table {table!r}{_suggest(table, self.rules.tables) if self.rules.tables else '; declare it under tables: in flow.yaml'}")
            return
        for key, f in lookup.items():
            if key not in decl.keys:
                self.err(where, f"table {table!r} has no key column {key!r}; its keys are {', '.join(decl.keys)}")
            self.field(where, f)

    def user_ref(self, where: SourceRef, user: str, what: str) -> None:
        if user not in self.roster:
            self.err(where, f"{what} {user!r} is not in reps.csv")

    def action(self, action: Action) -> None:
        p, where = action.params, action.where
        if action.assign == "table":
            self.table_ref(where, p["table"], p["lookup"])
        elif action.assign == "pool" and p["pool"] not in self.rules.pools:
            self.err(where, f"unknown pool {p['pool']!r}{_suggest(p['pool'], self.rules.pools) if self.rules.pools else '; declare it in pools.yaml'}")
        elif action.assign == "queue" and p["queue"] not in self.rules.queues:
            self.err(where, f"unknown queue {p['queue']!r}{_suggest(p['queue'], self.rules.queues)}")
        elif action.assign == "user":
            self.user_ref(where, str(p["user"]), "user")
        elif action.assign == "account_field":
            self.field(where, f"account.{p['field']}")

    def flows(self) -> None:
        for flow in self.rules.flows.values():
            catch_all = None
            for step in flow.steps:
                if catch_all is not None:
                    self.err(step.where, f"step {step.name!r} can never run: step {catch_all!r} above it "
                                         f"has no condition and always finds an owner")
                for cond in _conditions(step.when):
                    if isinstance(cond, FieldCondition):
                        self.field(cond.where, cond.field)
                    elif isinstance(cond, InTableCondition):
                        self.table_ref(cond.where, cond.table, cond.lookup)
                self.action(step.action)
                if step.fallback:
                    self.action(step.fallback)
                final = step.fallback or step.action
                if step.when is None and final.assign == "queue" and catch_all is None:
                    catch_all = step.name

    def tables(self) -> None:
        for name, decl in self.rules.tables.items():
            rows = self.rules.table_rows.get(name)
            if rows is None or rows.empty:
                continue
            keys = list(decl.keys)
            norm = rows[keys].apply(lambda s: s.str.strip().str.lower())
            dupes = rows[norm.duplicated(keep="first")]
            for line, values in zip(dupes["_line"], dupes[keys].itertuples(index=False)):
                self.err(SourceRef(f"{self.rules_dir_name}/{decl.file}", int(line)), f"duplicate key {dict(zip(keys, values))} in table {name!r} "
                                                         f"(an earlier row has the same key)")
            for line, value in zip(rows["_line"], rows[decl.value]):
                value = str(value)
                where = SourceRef(f"{self.rules_dir_name}/{decl.file}", int(line))
                if not value:
                    self.err(where, f"empty {decl.value!r}")
                elif value.startswith("queue:"):
                    if value[6:] not in self.rules.queues:
                        self.err(where, f"unknown queue {value[6:]!r}{_suggest(value[6:], self.rules.queues)}")
                elif value.startswith("pool:"):
                    if value[5:] not in self.rules.pools:
                        self.err(where, f"unknown pool {value[5:]!r}{_suggest(value[5:], self.rules.pools)}")
                else:
                    self.user_ref(where, value, decl.value)

    @property
    def rules_dir_name(self) -> str:
        from pathlib import Path

        return Path(self.rules.root).name

    def pools(self) -> None:
        self.problems.extend(check_pools(self.rules.pools, self.rules.reps, self.crm_users, self.now,
                                         self.user_ref, self.action))

    def reps(self) -> None:
        if self.crm_users is None or "user_id" not in self.rules.reps:
            return
        self.problems.extend(check_against_crm(self.rules.reps, self.crm_users, f"{self.rules_dir_name}/reps.csv"))

    def run(self) -> list[ConfigProblem]:
        self.flows()
        self.tables()
        self.pools()
        self.reps()
        return self.problems


def validate(rules: RuleSet, mapping: FieldMapping, *, crm_users: pd.DataFrame | None = None,
             now: datetime | None = None) -> list[ConfigProblem]:
    """Every cross-reference problem in ``rules`` (errors and warnings)."""
    return _Checker(rules, mapping, crm_users, now or datetime.now()).run()
