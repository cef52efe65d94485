"""Loading ``routing_rules/`` into a :class:`RuleSet`, collecting every problem with its line.

The loader reports all the problems it finds in one go (an ops person fixing a
pull request wants the full list, not one error per CI run). Structural problems
(unknown keys, operators, actions; malformed YAML or CSV) are found here;
cross-references (does that pool, table, queue or rep exist?) in
:mod:`pipelines.routing.validate`.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.routing import geo
from pipelines.routing import tables as table_mod
from pipelines.routing.coverage import VALUE_SETS
from pipelines.routing.day2_config import CALENDAR_UNITS, parse_day2
from pipelines.routing.model import (
    ACTIONS,
    KEY_KINDS,
    SIDE_ACTIONS,
    Action,
    ChangedCondition,
    Condition,
    Coverage,
    FieldCondition,
    Flow,
    GroupCondition,
    HOLD,
    Hold,
    InTableCondition,
    NotCondition,
    PolicyRule,
    QueueDecl,
    RuleSet,
    SideAction,
    Step,
    TableDecl,
)
from pipelines.routing.side_actions import parse_template
from pipelines.routing.vocabulary import OPERATORS, check_value
from pipelines.routing.pool_config import POOLS_FILE, parse_pools
from pipelines.routing.roster import REPS_FILE, load_roster
from pipelines.sourcefile import ConfigError, ConfigProblem, LineDict, SourceRef, load_yaml, read_csv

FLOW_FILE = "flow.yaml"
QUEUES_FILE = "queues.yaml"
ENTRIES = ("new", "updated", "reopened")  # reopened: dormant leads that engage again (day2.yaml)
TABLE_KEY_KINDS = tuple(KEY_KINDS)
SIDE_KEYS = {"convert": "convert", "task": "task", "set": "set", "campaign": "campaign"}


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; expected one of: {', '.join(sorted(options))}"


class _Parser:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[ConfigProblem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def problem(self, where: SourceRef, message: str, severity: str = "error") -> None:
        self.problems.append(ConfigProblem(where, message, severity))

    def where(self, file: str, node: Any, key: Any = None) -> SourceRef:
        if isinstance(node, LineDict):
            return SourceRef(file, node.line_of(key) if key is not None else node.line)
        return SourceRef(file, getattr(node, "line", None))

    # -- conditions ---------------------------------------------------------------------------

    def condition(self, file: str, node: Any) -> Condition | None:
        where = self.where(file, node)
        if not isinstance(node, dict):
            self.problem(where, f"a condition must be a mapping, got {node!r}")
            return None
        for group in ("all", "any"):
            if group in node:
                items = node[group]
                if not isinstance(items, list) or not items:
                    self.problem(where, f"`{group}` needs a non-empty list of conditions")
                    return None
                parsed = [self.condition(file, i) for i in items]
                if any(p is None for p in parsed):
                    return None
                return GroupCondition(where=where, kind=group, items=parsed)
        if "not" in node:
            inner = self.condition(file, node["not"])
            return NotCondition(where=where, item=inner) if inner else None
        if "changed" in node:
            unknown = set(node) - {"changed", "from", "to"}
            if unknown:
                self.problem(where, f"unknown key(s) {sorted(unknown)} in `changed`; expected from and to")
            values = {}
            for key in ("from", "to"):
                v = node.get(key)
                if v is not None and not isinstance(v, list):
                    v = [v]
                values[key] = v
            return ChangedCondition(where=where, field=str(node["changed"]), from_values=values["from"],
                                    to_values=values["to"])
        if "in_table" in node:
            lookup = node.get("lookup")
            if not isinstance(lookup, dict) or not lookup:
                self.problem(where, "`in_table` needs `lookup: {table_column: field, ...}`")
                return None
            return InTableCondition(where=where, table=str(node["in_table"]), lookup=dict(lookup))
        if "field" not in node:
            self.problem(where, f"unknown condition {dict(node)!r}; expected field/op/value, in_table, changed, all, any or not")
            return None
        rest = {k: v for k, v in node.items() if k != "field"}
        if "op" in rest:
            op, value = rest.pop("op"), rest.pop("value", None)
        else:  # shorthand: {field: lead.country_code, in: [US, CA]}
            ops = [k for k in rest if k in OPERATORS]
            if len(ops) != 1:
                unknown = [k for k in rest if k not in OPERATORS]
                hint = _suggest(unknown[0], OPERATORS) if unknown else ""
                self.problem(where, f"condition on {node['field']!r} needs exactly one operator{hint}")
                return None
            op = ops[0]
            value = rest.pop(op)
        if rest:
            self.problem(where, f"unknown key(s) {sorted(rest)} in condition on {node['field']!r}")
        if op not in OPERATORS:
            self.problem(where, f"unknown operator {op!r}{_suggest(op, OPERATORS)}")
            return None
        why = check_value(OPERATORS[op], value)
        if why:
            self.problem(where, why)
            return None
        return FieldCondition(where=where, field=str(node["field"]), op=op, value=value)

    # -- actions ------------------------------------------------------------------------------

    def action(self, file: str, node: Any, owner: str) -> Action | None:
        where = self.where(file, node)
        if isinstance(node, str):
            node = {"assign": node}
        if not isinstance(node, dict) or "assign" not in node:
            self.problem(where, f"{owner} needs `assign:` (one of {', '.join(ACTIONS)})")
            return None
        name = str(node["assign"])
        spec = ACTIONS.get(name)
        if spec is None:
            self.problem(self.where(file, node, "assign"), f"unknown action {name!r}{_suggest(name, ACTIONS)}")
            return None
        where = self.where(file, node, "assign")
        params = {k: v for k, v in node.items() if k != "assign"}
        for req in spec.required:
            if req not in params:
                self.problem(where, f"action {name!r} needs `{req}`")
                return None
        extra = set(params) - set(spec.required) - set(spec.optional)
        if extra:
            self.problem(where, f"action {name!r} does not take {sorted(extra)}")
        params = {k: params[k] for k in params if k not in extra}
        parent_where = None
        if name == "hierarchy_owner":
            if ("level" in params) == ("parent_where" in params):
                self.problem(where, "action 'hierarchy_owner' needs either `level: N` (0 = the ultimate parent) "
                                    "or `parent_where: <condition on account fields>`")
                return None
            if "level" in params and not (isinstance(params["level"], int) and params["level"] >= 0):
                self.problem(where, f"`level` must be a whole number, 0 or more (0 = the ultimate parent), got {params['level']!r}")
                return None
            if "parent_where" in params:
                parent_where = self.condition(file, params.pop("parent_where"))
                if parent_where is None:
                    return None
        if name == "opportunity_owner" and "stages" in params and not isinstance(params["stages"], list):
            self.problem(where, "`stages` needs a list, e.g. [Scoping, Negotiation]")
            return None
        if name == "flow" and params.get("flow") not in ENTRIES:
            self.problem(where, f"unknown flow {params.get('flow')!r}{_suggest(params.get('flow'), ENTRIES)}")
            return None
        param_where = {k: self.where(file, node, k) for k in node if k != "assign"}
        return Action(where=where, assign=name, params=params, parent_where=parent_where, param_where=param_where)

    def side_action(self, file: str, kind: str, node: Any, where: SourceRef) -> SideAction | None:
        spec = SIDE_ACTIONS[kind]
        if kind == "convert" and node is True:
            node = {}
        if not isinstance(node, dict) or (kind == "set" and not node):
            self.problem(where, f"`{kind}` needs a mapping, e.g. {spec.example}")
            return None
        where = self.where(file, node) if isinstance(node, LineDict) else where
        if kind != "set":
            unknown = set(node) - set(spec.keys)
            if unknown:
                self.problem(where, f"`{kind}` does not take {sorted(unknown)}; it takes {', '.join(spec.keys)}")
                return None
        if kind == "task":
            for key in ("due_in_hours", "due_in_days"):
                if key in node and not (isinstance(node[key], (int, float)) and node[key] >= 0):
                    self.problem(where, f"`{key}` must be a number of {key[7:]}, got {node[key]!r}")
                    return None
            if "subject" not in node:
                self.problem(where, "`task` needs a `subject`")
                return None
        if kind == "campaign" and not node.get("campaign_id"):
            self.problem(where, "`campaign` needs a `campaign_id`: the CRM id of the campaign (701...)")
            return None
        texts = {k: v for k, v in node.items() if kind == "set" or k in ("subject", "description")}
        templates = {k: parse_template(str(v), where) for k, v in texts.items()}
        params = {k: v for k, v in node.items() if k not in templates}
        return SideAction(where=where, kind=kind, params=params, templates=templates)

    # -- files --------------------------------------------------------------------------------

    def flows(self, data: LineDict, file: str) -> dict[str, Flow]:
        flows = {}
        raw = data.get("flows")
        if not isinstance(raw, dict):
            self.problem(self.where(file, data), "flow.yaml needs `flows:` with a `new:` list of steps")
            return {}
        for entry, steps in raw.items():
            if entry not in ENTRIES:
                self.problem(self.where(file, raw, entry), f"unknown flow {entry!r}{_suggest(entry, ENTRIES)}")
                continue
            watch: list[str] = []
            if isinstance(steps, dict):
                unknown = set(steps) - {"watch", "steps"}
                if unknown:
                    self.problem(self.where(file, steps), f"flow {entry!r}: unknown key(s) {sorted(unknown)}; expected watch and steps")
                watch = [str(w) for w in (steps.get("watch") or [])]
                if entry == "updated" and not watch:
                    self.problem(self.where(file, steps), "flow 'updated' needs `watch: [fields]`: the fields whose "
                                                          "change sends an already routed lead through it")
                if entry != "updated" and watch:
                    self.problem(self.where(file, steps, "watch"), f"`watch` only applies to the updated flow, not {entry!r}")
                steps = steps.get("steps")
            if not isinstance(steps, list):
                self.problem(self.where(file, raw, entry), f"flow {entry!r} must be a list of steps")
                continue
            parsed, names = [], set()
            for node in steps:
                step = self.step(file, node)
                if step is None:
                    continue
                if step.name in names:
                    self.problem(step.where, f"step name {step.name!r} is used twice in flow {entry!r}")
                names.add(step.name)
                parsed.append(step)
            flows[entry] = Flow(where=self.where(file, raw, entry), entry=entry, steps=parsed, watch=watch)
        if "new" not in flows and not any(p.message.startswith("flow") for p in self.problems):
            self.problem(self.where(file, raw), "flows need a `new:` entry (how new leads are routed)")
        return flows

    def step(self, file: str, node: Any) -> Step | None:
        where = self.where(file, node)
        if not isinstance(node, dict) or "step" not in node:
            self.problem(where, "each step needs a name: `- step: some_name`")
            return None
        known = {"step", "description", "when", "fallback", "hold", *SIDE_ACTIONS}
        action_node = LineDict({k: v for k, v in node.items() if k not in known})
        action_node.line, action_node.key_lines = node.line, node.key_lines
        when = None
        if "when" in node:
            when = self.condition(file, node["when"])
            if when is None:
                return None
        hold = None
        if "hold" in node:
            hold = self.hold(file, node["hold"], self.where(file, node, "hold"), str(node["step"]))
            if hold is None:
                return None
        if hold is not None and not action_node:
            # A step that only holds: the leads it releases go on to the next step.
            if "fallback" in node or any(k in node for k in SIDE_ACTIONS):
                self.problem(where, f"step {node['step']!r} only holds (no assign:), so it takes no fallback or side actions")
            action = Action(where=self.where(file, node, "hold"), assign=HOLD)
        else:
            action = self.action(file, action_node, f"step {node['step']!r}")
        if action is None:
            return None
        fallback = None
        if "fallback" in node:
            fallback = self.action(file, node["fallback"], f"the fallback of step {node['step']!r}")
        side = []
        for kind in SIDE_ACTIONS:
            if kind in node:
                parsed = self.side_action(file, kind, node[kind], self.where(file, node, kind))
                if parsed is not None:
                    side.append(parsed)
        return Step(where=where, name=str(node["step"]), description=str(node.get("description", "")),
                    when=when, action=action, fallback=fallback, side_actions=side, hold=hold)

    def hold(self, file: str, node: Any, where: SourceRef, step: str) -> Hold | None:
        """``hold: {until: <condition>, at_most: {hours: 2}, until_working_hours: <pool>, queue: <queue>}``."""
        allowed = {"until", "at_most", "until_working_hours", "queue"}
        if not isinstance(node, dict) or not node or set(node) - allowed:
            extra = sorted(set(node) - allowed) if isinstance(node, dict) else []
            self.problem(where, f"step {step!r}: `hold` takes {', '.join(sorted(allowed))}"
                                + (f", not {extra}" if extra else "")
                                + "; e.g. hold: {until: {field: lead.country_code, is_not_empty}, at_most: {hours: 2}}")
            return None
        where = self.where(file, node)
        until = None
        if "until" in node:
            until = self.condition(file, node["until"])
            if until is None:
                return None
        minutes = None
        if "at_most" in node:
            at_most = node["at_most"]
            unit = next(iter(at_most), None) if isinstance(at_most, dict) and len(at_most) == 1 else None
            value = at_most.get(unit) if unit else None
            if unit not in CALENDAR_UNITS or not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                self.problem(self.where(file, node, "at_most"), f"step {step!r}: `hold.at_most` needs one of "
                                                                f"{', '.join(CALENDAR_UNITS)} with a number, e.g. {{hours: 2}}")
                return None
            minutes = float(value) * CALENDAR_UNITS[unit]
        if until is None and minutes is None and "until_working_hours" not in node:
            self.problem(where, f"step {step!r}: `hold` needs `until`, `at_most` or `until_working_hours`, "
                                f"or it would hold leads forever")
            return None
        return Hold(where=where, until=until, at_most_minutes=minutes,
                    until_working_hours=str(node["until_working_hours"]) if node.get("until_working_hours") else None,
                    queue=str(node["queue"]) if node.get("queue") else None)

    def reroute_policy(self, data: LineDict, file: str) -> list[PolicyRule]:
        """``reroute_policy:``: a list of protections ``{name, description, keep_when: <condition>}``."""
        raw = data.get("reroute_policy")
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(self.where(file, data, "reroute_policy"),
                         "`reroute_policy` needs a list of protections: - {name: .., description: .., keep_when: <condition>}")
            return []
        out, names = [], set()
        for node in raw:
            where = self.where(file, node)
            if not isinstance(node, dict) or not {"name", "keep_when"} <= set(node):
                self.problem(where, "each protection of the reroute policy needs `name` and `keep_when: <condition>` "
                                    "(a lead for which it holds is never rerouted)")
                continue
            unknown = set(node) - {"name", "description", "keep_when"}
            if unknown:
                self.problem(where, f"reroute policy {node['name']!r}: unknown key(s) {sorted(unknown)}")
            if str(node["name"]) in names:
                self.problem(where, f"reroute policy name {node['name']!r} is used twice")
            names.add(str(node["name"]))
            cond = self.condition(file, node["keep_when"])
            if cond is not None:
                out.append(PolicyRule(where=where, name=str(node["name"]), description=str(node.get("description", "")),
                                      keep_when=cond))
        return out

    def tables(self, data: LineDict, file: str) -> tuple[dict[str, TableDecl], dict[str, pd.DataFrame]]:
        decls, rows = {}, {}
        for name, node in (data.get("tables") or {}).items():
            where = self.where(file, data["tables"], name)
            decl = self.table_decl(file, str(name), node, where)
            if decl is None:
                continue
            decls[decl.name] = decl
            df = self.table_rows(decl)
            if df is not None:
                rows[decl.name] = df
        return decls, rows

    def table_decl(self, file: str, name: str, node: Any, where: SourceRef) -> TableDecl | None:
        if not isinstance(node, dict) or not {"file", "keys"} <= set(node):
            self.problem(where, f"table {name!r} needs `file` and `keys` (and `value`: the column with the owner)")
            return None
        unknown = set(node) - {"file", "keys", "value", "description", "covers", "allow_gaps"}
        if unknown:
            self.problem(where, f"table {name!r}: unknown key(s) {sorted(unknown)}")
        keys = dict(node["keys"]) if isinstance(node["keys"], dict) else {k: "exact" for k in node["keys"]}
        for col, kind in keys.items():
            if kind not in TABLE_KEY_KINDS:
                self.problem(self.where(file, node, "keys"),
                             f"table {name!r}: key {col!r} has unknown kind {kind!r}{_suggest(kind, TABLE_KEY_KINDS)}")
                return None
        covers = []
        raw = node.get("covers") or []
        for item in raw if isinstance(raw, list) else [raw]:
            cov = self.coverage(file, name, keys, item, self.where(file, node, "covers"))
            if cov is not None:
                covers.append(cov)
        return TableDecl(where=where, name=name, file=str(node["file"]), keys=keys, value=str(node.get("value") or ""),
                         description=str(node.get("description", "")), allow_gaps=bool(node.get("allow_gaps", False)),
                         covers=covers)

    def coverage(self, file: str, table: str, keys: dict[str, str], node: Any, where: SourceRef) -> Coverage | None:
        """``covers: {key: state, values: us_states, where: {country: US}}`` or ``{key: zip, from: .., to: ..}``."""
        where = self.where(file, node) if isinstance(node, LineDict) else where
        if not isinstance(node, dict) or node.get("key") not in keys:
            self.problem(where, f"table {table!r}: `covers` needs `key:` one of its keys ({', '.join(keys)})")
            return None
        key, kind = node["key"], keys[node["key"]]
        scope = {str(k): str(v) for k, v in (node.get("where") or {}).items()}
        bad_scope = [k for k in scope if keys.get(k) != "exact"]
        if bad_scope:
            self.problem(where, f"table {table!r}: `covers.where` may only name exact keys, not {bad_scope}")
            return None
        if kind in ("range", "number_range"):
            if "from" not in node or "to" not in node:
                self.problem(where, f"table {table!r}: coverage of range key {key!r} needs `from` and `to`")
                return None
            return Coverage(where=where, key=key, span=(str(node["from"]), str(node["to"])), scope=scope,
                            label=f"{node['from']}-{node['to']}")
        values = node.get("values")
        label = str(values) if isinstance(values, str) else "the listed values"
        if isinstance(values, str):
            if values not in VALUE_SETS:
                self.problem(where, f"unknown value set {values!r}{_suggest(values, VALUE_SETS)}")
                return None
            values = VALUE_SETS[values]
        if not isinstance(values, list) or not values:
            self.problem(where, f"table {table!r}: `covers.values` needs a list or one of {', '.join(VALUE_SETS)}")
            return None
        return Coverage(where=where, key=key, values=[str(v) for v in values], scope=scope, label=label)

    def table_rows(self, decl: TableDecl) -> pd.DataFrame | None:
        path = self.root / decl.file
        display = self.rel(path)
        area_keys = [k for k, kind in decl.keys.items() if kind == "area"]
        try:
            if path.suffix.lower() in (".geojson", ".json"):
                if len(area_keys) != 1:
                    self.problem(decl.where, f"table {decl.name!r}: a GeoJSON table needs exactly one key of kind area")
                    return None
                records = geo.read_geojson(path, area_keys[0])
            else:
                records = read_csv(path, display)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None
        except (OSError, ValueError, KeyError) as exc:
            self.problem(SourceRef(display), f"cannot read GeoJSON: {exc}")
            return None
        df = pd.DataFrame([r for _, r in records], dtype=object)
        df["_line"] = [line for line, _ in records]
        needed = [c for k in decl.keys for c in decl.columns(k)] + ([decl.value] if decl.value else [])
        missing = [c for c in needed if records and c not in df.columns]
        if missing:
            self.problem(SourceRef(display, 1), f"missing column(s) {missing}; table {decl.name!r} declares them "
                                                f"in {self.rel(self.root / FLOW_FILE)} (a range key needs <key>_from and <key>_to)")
            return None
        if not records:
            df = pd.DataFrame(columns=needed + ["_line"], dtype=object)
        df, problems = table_mod.prepare(decl, df, display)
        self.problems.extend(problems)
        return df

    def pools(self) -> dict:
        path = self.root / POOLS_FILE
        pools, problems = parse_pools(path, self.rel(path), self.action)
        self.problems.extend(problems)
        return pools

    def queues(self) -> dict[str, QueueDecl]:
        path = self.root / QUEUES_FILE
        file = self.rel(path)
        data = load_yaml(path, file) or {}
        out = {}
        for name, node in (data.get("queues") or {}).items():
            node = node or {}
            out[str(name)] = QueueDecl(
                where=self.where(file, data["queues"], name), name=str(name), label=str(node.get("label", name)),
                intake=bool(node.get("intake", False)), purpose=str(node.get("purpose", "")),
            )
        return out

    def reps(self) -> pd.DataFrame:
        path = self.root / REPS_FILE
        roster, problems = load_roster(path, self.rel(path))
        self.problems.extend(problems)
        return roster


def rules_version(root: Path) -> tuple[str, dict[str, str]]:
    """A content hash of every rules file: the same rules always give the same version."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256("\n".join(f"{k} {v}" for k, v in files.items()).encode()).hexdigest()
    return digest[:12], files


def load_rules(root: str | Path) -> RuleSet:
    """Load and structurally check the rules in ``root``; raise ConfigError listing every problem."""
    root = Path(root)
    if not (root / FLOW_FILE).exists():
        raise ConfigError([ConfigProblem(SourceRef(str(root / FLOW_FILE)), "file not found: is this a routing_rules folder?")])
    p = _Parser(root)
    flow_file = p.rel(root / FLOW_FILE)
    try:
        data = load_yaml(root / FLOW_FILE, flow_file) or LineDict()
        flows = p.flows(data, flow_file)
        policy = p.reroute_policy(data, flow_file)
        tables, table_rows = p.tables(data, flow_file)
        pools = p.pools()
        queues = p.queues()
        reps = p.reps()
        day2 = parse_day2(root, p)
    except ConfigError as exc:
        raise ConfigError(p.problems + exc.problems) from None
    errors = [x for x in p.problems if x.severity == "error"]
    if errors:
        raise ConfigError(p.problems)
    version, files = rules_version(root)
    return RuleSet(root=str(root), version=version, flows=flows, tables=tables, table_rows=table_rows,
                   pools=pools, queues=queues, reps=reps, files=files, reroute_policy=policy, day2=day2)
