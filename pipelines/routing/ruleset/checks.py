"""Cross-reference checks over a loaded rule set: everything ops can get wrong between files.

Structural problems are caught while loading (:mod:`.load`); here we check that
every name used exists and makes sense together: fields, tables, pools, queues and
reps; that reps are active in the CRM; that no step is unreachable; that tables have
no duplicate keys, no overlapping ranges and no gaps, and cover what they say they
cover; that side actions write fields the CRM mapping knows. Each problem names the
file and line to fix.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.frame.build import available_fields
from pipelines.routing.language.model import (
    ACCOUNT_ACTIONS,
    Action,
    ChangedCondition,
    Condition,
    FieldCondition,
    Flow,
    GroupCondition,
    InTableCondition,
    NotCondition,
    SideAction,
)
from pipelines.routing.language.notify import Notify
from pipelines.routing.language.problems import suggest
from pipelines.routing.pools.checks import check_pools
from pipelines.routing.roster.reps import check_against_crm
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.tables.coverage import coverage_problems, range_problems
from pipelines.routing.tables.lookup import JOINED, present
from pipelines.sourcefile import ConfigProblem, SourceRef


CAMPAIGN_ID = r"701[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?"


def conditions(cond: Condition | None):
    """Every node of a condition tree, depth first."""
    if cond is None:
        return
    yield cond
    if isinstance(cond, GroupCondition):
        for c in cond.items:
            yield from conditions(c)
    elif isinstance(cond, NotCondition):
        yield from conditions(cond.item)


class _Checker:
    def __init__(self, rules: RuleSet, mapping: FieldMapping, crm_users: pd.DataFrame | None, now: datetime):
        self.rules, self.now, self.crm_users, self.mapping = rules, now, crm_users, mapping
        self.fields = available_fields(mapping)
        self.writes = set(mapping.objects["lead"].writes)
        self.problems: list[ConfigProblem] = []
        self.roster = set(rules.reps["user_id"]) if "user_id" in rules.reps else set()
        self.flow: Flow | None = None

    def err(self, where: SourceRef, msg: str, severity: str = "error") -> None:
        self.problems.append(ConfigProblem(where, msg, severity))

    def field(self, where: SourceRef, name: str, namespaces: tuple[str, ...] | None = None) -> None:
        ns, _, col = str(name).partition(".")
        entry = self.flow.entry if self.flow else "new"
        if ns in ("prior", "last_decision") and entry != "updated":
            self.err(where, f"field {name!r} only exists for updated leads (the updated flow), not in flow {entry!r}")
            return
        if ns == "prior":
            watch = self.flow.watch if self.flow else []
            if col not in watch:
                self.err(where, f"{name!r}: only watched fields have a prior value; add {col!r} to `watch:` "
                                f"of the updated flow (watched: {', '.join(watch) or 'none'})")
            return
        if namespaces and ns not in namespaces:
            self.err(where, f"field {name!r} must be one of {', '.join(n + '.*' for n in namespaces)} here")
        elif ns not in self.fields:
            self.err(where, f"field {name!r} must start with lead., account., match., prior. or last_decision.")
        elif col not in self.fields[ns]:
            self.err(where, f"unknown field {name!r}{suggest(col, self.fields[ns])}")

    def condition(self, cond: Condition | None, namespaces: tuple[str, ...] | None = None) -> None:
        for c in conditions(cond):
            if isinstance(c, FieldCondition):
                self.field(c.where, c.field, namespaces)
            elif isinstance(c, InTableCondition):
                self.table_ref(c.where, c.table, c.lookup)
            elif isinstance(c, ChangedCondition):
                self.field(c.where, c.field)
                if self.flow is None or self.flow.entry != "updated":
                    self.err(c.where, "`changed` only applies in the updated flow")
                elif c.field not in self.flow.watch:
                    self.err(c.where, f"`changed: {c.field}` needs {c.field!r} under `watch:` of the updated flow")

    def table_ref(self, where: SourceRef, table: str, lookup: dict) -> None:
        decl = self.rules.tables.get(table)
        if decl is None:
            self.err(where, f"unknown table {table!r}{suggest(table, self.rules.tables) if self.rules.tables else '; declare it under tables: in flow.yaml'}")
            return
        for key, f in lookup.items():
            if key not in decl.keys:
                self.err(where, f"table {table!r} has no key column {key!r}; its keys are {', '.join(decl.keys)}")
                continue
            if decl.keys[key] == "area":
                if not isinstance(f, dict) or set(f) != {"latitude", "longitude"}:
                    self.err(where, f"area key {key!r} of table {table!r} needs "
                                    f"{{latitude: lead.latitude, longitude: lead.longitude}}")
                    continue
                for v in f.values():
                    self.field(where, v)
            elif isinstance(f, str):
                self.field(where, f)
            else:
                self.err(where, f"lookup of {key!r} must name one field, e.g. lead.country_code")

    def user_ref(self, where: SourceRef, user: str, what: str) -> None:
        if user not in self.roster:
            self.err(where, f"{what} {user!r} is not in reps.csv")

    def action(self, action: Action) -> None:
        p, where = action.params, action.where
        if action.assign == "table":
            self.table_ref(action.at("table") if p["table"] not in self.rules.tables else action.at("lookup"),
                           p["table"], p["lookup"])
            decl = self.rules.tables.get(p["table"])
            if decl is not None and not decl.value:
                self.err(action.at("table"), f"table {p['table']!r} has no `value:` column, so it cannot assign an owner; "
                                f"use it in a condition (in_table) or declare its owner column")
        elif action.assign == "pool" and p["pool"] not in self.rules.pools:
            self.err(action.at("pool"), f"unknown pool {p['pool']!r}{suggest(p['pool'], self.rules.pools) if self.rules.pools else '; declare it in pools.yaml'}")
        elif action.assign == "queue" and p["queue"] not in self.rules.queues:
            self.err(action.at("queue"), f"unknown queue {p['queue']!r}{suggest(p['queue'], self.rules.queues)}")
        elif action.assign == "user":
            self.user_ref(action.at("user"), str(p["user"]), "user")
        elif action.assign == "user_in_field":
            self.field(action.at("field"), p["field"])
        elif action.assign == "hierarchy_owner" and action.parent_where is not None:
            self.condition(action.parent_where, namespaces=("account",))
        elif action.assign == "lead_owner" and action.lead_where is not None:
            self.condition(action.lead_where, namespaces=("lead",))  # read on the company's earlier leads
        elif action.assign == "flow":
            target = p["flow"]
            if self.flow is not None and target == self.flow.entry:
                self.err(where, f"flow {target!r} cannot send leads to itself")
            elif target not in self.rules.flows:
                self.err(where, f"flow {target!r} is not defined in flow.yaml")
            elif target == "updated":
                self.err(where, "only the updated flow may send leads on (to the new flow), not the other way round")
            elif target == "reopened":
                self.err(where, "no flow may send leads to the reopened flow: day2.yaml `reengage` does, for dormant "
                                "leads that engage again")

    def flows(self) -> None:
        for flow in self.rules.flows.values():
            self.flow = flow
            for f in flow.watch:
                self.field(flow.where, f, namespaces=("lead", "account", "match"))
            catch_all = None
            for step in flow.steps:
                if catch_all is not None:
                    self.err(step.where, f"step {step.name!r} can never run: step {catch_all!r} above it "
                                         f"has no condition and always finds an owner")
                self.condition(step.when)
                self.action(step.action)
                if step.fallback:
                    self.action(step.fallback)
                if step.hold is not None:
                    self.hold(step)
                if step.route_as is not None:
                    self.route_as(step)
                self.notify(step.notify, on_a_step=True)
                for side in step.side_actions:
                    for f in side.fields():
                        self.field(side.where, f)
                    if side.kind == "campaign" and not re.fullmatch(CAMPAIGN_ID, str(side.params.get("campaign_id"))):
                        self.err(side.where, f"campaign_id {side.params.get('campaign_id')!r} is not a CRM campaign id "
                                             f"(15 or 18 letters and digits, starting with 701)")
                    if side.kind == "set":
                        for name in side.templates:
                            if name not in self.writes:
                                self.err(side.where, f"cannot set {name!r}: it is not under writes: of the lead in "
                                                     f"fields.yaml{suggest(name, self.writes) if self.writes else ''}")
                final = step.fallback or step.action
                # a step routed as a parent lets leads with no such parent go on, so it catches not all
                if step.when is None and step.route_as is None and final.assign == "queue" and catch_all is None:
                    catch_all = step.name
            self.flow = None

    def notify(self, notify: Notify | None, on_a_step: bool = False) -> None:
        """People are found in reps.csv: an email to write to, a manager_id to find the manager."""
        if notify is None:
            return
        if notify.crm and not on_a_step:
            self.err(notify.where, "`crm: true` works on flow steps only: the CRM's notification rides on the step's "
                                   "own writes (its task's reminder, its conversion's email)")
        reps = self.rules.reps
        for person, column in (("owner", "email"), ("manager", "email"), ("manager", "manager_id")):
            if getattr(notify, person) and column not in reps:
                self.err(notify.where, f"`notify: {person}` needs a `{column}` column in reps.csv")

    def route_as(self, step) -> None:
        """The parent's condition reads account fields; a step that reads none of the parent's gains nothing."""
        self.condition(step.route_as.parent_where, namespaces=("account",))
        read = (step.when.fields() if step.when else []) + step.action.fields()
        if step.fallback is not None:
            read += step.fallback.fields()
        uses_account = any(str(f).startswith("account.") for f in read) or any(
            a is not None and a.assign in ACCOUNT_ACTIONS for a in (step.action, step.fallback))
        if not uses_account:
            self.err(step.route_as.where, f"step {step.name!r}: `route_as` changes only the account.* fields the "
                                          f"step reads, and it reads none (its condition and lookups read the "
                                          f"lead's own fields); name the parent's, e.g. account.billing_country_code",
                     "warning")

    def hold(self, step) -> None:
        hold = step.hold
        if self.flow is not None and self.flow.entry != "new":
            self.err(hold.where, f"step {step.name!r}: `hold` only applies in the new flow (held leads are routed "
                                 f"through it again each tick)")
        self.condition(hold.until)
        if hold.until_working_hours is not None and hold.until_working_hours not in self.rules.pools:
            self.err(hold.where, f"step {step.name!r}: hold until_working_hours names unknown pool "
                                 f"{hold.until_working_hours!r}{suggest(hold.until_working_hours, self.rules.pools)}")
        if hold.queue is not None and hold.queue not in self.rules.queues:
            self.err(hold.where, f"step {step.name!r}: unknown hold queue {hold.queue!r}{suggest(hold.queue, self.rules.queues)}")

    def reroute_policy(self) -> None:
        """Protections read the lead as it is (lead., account., match.), in every kind of reroute."""
        for rule in self.rules.reroute_policy:
            self.condition(rule.keep_when, namespaces=("lead", "account", "match"))

    def tables(self) -> None:
        for name, decl in self.rules.tables.items():
            rows = self.rules.table_rows.get(name)
            if rows is None or rows.empty:
                continue
            display = f"{Path(self.rules.root).name}/{decl.file}"
            shape = present(decl, rows)
            parsed = [c for k in decl.keys for c in (
                [f"_k_{k}"] if decl.keys[k] in JOINED else
                [f"_lo_{k}", f"_hi_{k}"] if decl.keys[k] in ("range", "number_range") else [])]
            if parsed and "area" not in decl.keys.values():
                key_text = rows[parsed].astype("string").fillna("")
                dupes = rows[key_text.duplicated(keep="first")]
                for line, values in zip(dupes["_line"], dupes[[c for k in decl.keys for c in decl.columns(k)]].itertuples(index=False)):
                    cols = [c for k in decl.keys for c in decl.columns(k)]
                    self.err(SourceRef(display, int(line)), f"duplicate key {dict(zip(cols, values))} in table {name!r} "
                                                            f"(an earlier row has the same key)")
            if not shape.any(axis=None) and len(rows) > 1:
                self.err(SourceRef(display, int(rows["_line"].iloc[1])), f"table {name!r}: every key is empty on "
                                                                         f"more than one row; only the first can ever match")
            self.problems.extend(range_problems(decl, rows, display))
            self.problems.extend(coverage_problems(decl, rows, display))
            for line, value in zip(rows["_line"], rows[decl.value] if decl.value else []):
                value = str(value)
                where = SourceRef(display, int(line))
                if not value:
                    self.err(where, f"empty {decl.value!r}")
                elif value.startswith("queue:"):
                    if value[6:] not in self.rules.queues:
                        self.err(where, f"unknown queue {value[6:]!r}{suggest(value[6:], self.rules.queues)}")
                elif value.startswith("pool:"):
                    if value[5:] not in self.rules.pools:
                        self.err(where, f"unknown pool {value[5:]!r}{suggest(value[5:], self.rules.pools)}")
                else:
                    self.user_ref(where, value, decl.value)

    def day2(self) -> None:
        """Cross-references of day2.yaml (pools, steps, queues, flows, fields, writes)."""
        rules = self.rules
        config = rules.day2
        new_steps = {s.name for f in rules.flows.values() for s in f.steps}

        def queue(where: SourceRef, name: str | None) -> None:
            if name is not None and name not in rules.queues:
                self.err(where, f"unknown queue {name!r}; declare it in queues.yaml")

        def pool(where: SourceRef, name: str | None) -> None:
            if name is not None and name not in rules.pools:
                self.err(where, f"unknown pool {name!r}; declare it in pools.yaml")

        def side(action: SideAction | None) -> None:
            if action is None:
                return
            for f in action.fields():
                self.field(action.where, f)
            if action.kind == "set":
                for name in action.templates:
                    if name not in self.writes:
                        self.err(action.where, f"cannot set {name!r}: it is not under writes: of the lead in fields.yaml")

        crm_lead = set(self.mapping.objects["lead"].fields)

        def activity(where: SourceRef, name: str | None) -> None:
            if name is None:
                return
            self.field(where, name, namespaces=("lead",))
            column = name.partition(".")[2]
            if name.startswith("lead.") and column not in crm_lead:
                self.err(where, f"{name!r} must be a lead field read from the CRM (fields.yaml), such as "
                                   f"lead.last_activity_at")

        if config.touch is not None:
            activity(config.touch.where, config.touch.activity_field)
        for rule in config.slas.values():
            for name in rule.pools:
                pool(rule.where, name)
            for name in rule.steps:
                if name not in new_steps:
                    self.err(rule.where, f"SLA {rule.name!r}: no step {name!r} in flow.yaml")
            pool(rule.where, rule.reassign_pool)
            queue(rule.where, rule.holding_queue)
            self.notify(rule.notify)
            if rule.escalate is not None:
                side(rule.escalate.task)
                side(rule.escalate.set)
        for rule in config.recycle.values():
            self.condition(rule.when)
            queue(rule.where, rule.queue)
            side(rule.task)
            if rule.task is not None and rule.queue is not None:
                self.err(rule.task.where, f"recycle rule {rule.name!r}: a task needs a rep to own it, but the lead "
                                             f"goes to queue {rule.queue}; drop the task or the queue")
            if rule.status is not None and "status" not in self.writes:
                self.err(rule.where, f"recycle rule {rule.name!r} sets the status: add `status: Status` under "
                                        f"writes: of the lead in fields.yaml")
        if config.reengage is not None:
            r = config.reengage
            activity(r.where, r.activity_field)
            if r.flow not in rules.flows:
                self.err(r.where, f"reengage routes woken leads through flow {r.flow!r}, which flow.yaml does not define")
            if not (r.status_leaves or r.activity_field or r.new_activity):
                self.err(r.where, "reengage: no signal is on, so no lead can ever wake up")
            if r.status_leaves and not r.dormant_statuses:
                self.err(r.where, "reengage: status_leaves needs dormant_statuses")
        if config.inactive_owner is not None:
            step = config.inactive_owner
            self.condition(step.when)
            self.action(step.action)
            if step.fallback:
                self.action(step.fallback)
            for s in step.side_actions:
                side(s)

    @property
    def rules_dir_name(self) -> str:
        return Path(self.rules.root).name

    def pools(self) -> None:
        for pool in self.rules.pools.values():
            for uid in pool.members:
                self.user_ref(pool.where, uid, f"member of pool {pool.name!r}")
            if pool.fallback:
                self.action(pool.fallback)
            self.notify(pool.notify)
        self.problems.extend(check_pools(self.rules.pools, self.rules.reps, self.crm_users, self.now))

    def reps(self) -> None:
        if self.crm_users is None or "user_id" not in self.rules.reps:
            return
        self.problems.extend(check_against_crm(self.rules.reps, self.crm_users, f"{self.rules_dir_name}/reps.csv"))

    def intake(self) -> None:
        """New leads land in an intake queue and the router routes those it owns: none, and no lead is ever decided."""
        if self.rules.intake_queues:
            return
        first = next(iter(self.rules.queues.values()), None)
        where = first.where if first is not None else SourceRef(f"{self.rules_dir_name}/queues.yaml", 1)
        self.err(where, "no queue has `intake: true`: new leads land in an intake queue and the router only routes "
                        "leads it owns, so none would ever be decided; mark where web forms and list uploads create "
                        "leads with intake: true")

    def run(self) -> list[ConfigProblem]:
        self.intake()
        self.flows()
        self.reroute_policy()
        self.day2()
        self.tables()
        self.pools()
        self.reps()
        return self.problems


def validate(rules: RuleSet, mapping: FieldMapping, *, crm_users: pd.DataFrame | None = None,
             now: datetime | None = None) -> list[ConfigProblem]:
    """Every cross-reference problem in ``rules`` (errors and warnings)."""
    return _Checker(rules, mapping, crm_users, now or datetime.now()).run()
