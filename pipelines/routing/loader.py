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

from pipelines.routing.model import (
    ACTIONS,
    Action,
    Condition,
    FieldCondition,
    Flow,
    GroupCondition,
    InTableCondition,
    NotCondition,
    QueueDecl,
    RuleSet,
    Step,
    TableDecl,
)
from pipelines.routing.vocabulary import OPERATORS, check_value
from pipelines.routing.pool_config import POOLS_FILE, parse_pools
from pipelines.routing.roster import REPS_FILE, load_roster
from pipelines.sourcefile import ConfigError, ConfigProblem, LineDict, SourceRef, load_yaml, read_csv

FLOW_FILE = "flow.yaml"
QUEUES_FILE = "queues.yaml"
ENTRIES = ("new", "updated")
TABLE_KEY_KINDS = ("exact",)


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
        if "in_table" in node:
            lookup = node.get("lookup")
            if not isinstance(lookup, dict) or not lookup:
                self.problem(where, "`in_table` needs `lookup: {table_column: field, ...}`")
                return None
            return InTableCondition(where=where, table=str(node["in_table"]), lookup=dict(lookup))
        if "field" not in node:
            self.problem(where, f"unknown condition {dict(node)!r}; expected field/op/value, in_table, all, any or not")
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
        return Action(where=where, assign=name, params={k: params[k] for k in params if k not in extra})

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
            flows[entry] = Flow(where=self.where(file, raw, entry), entry=entry, steps=parsed)
        if "new" not in flows and not any(p.message.startswith("flow") for p in self.problems):
            self.problem(self.where(file, raw), "flows need a `new:` entry (how new leads are routed)")
        return flows

    def step(self, file: str, node: Any) -> Step | None:
        where = self.where(file, node)
        if not isinstance(node, dict) or "step" not in node:
            self.problem(where, "each step needs a name: `- step: some_name`")
            return None
        known = {"step", "description", "when", "fallback"}
        action_node = LineDict({k: v for k, v in node.items() if k not in known})
        action_node.line, action_node.key_lines = node.line, node.key_lines
        when = None
        if "when" in node:
            when = self.condition(file, node["when"])
            if when is None:
                return None
        action = self.action(file, action_node, f"step {node['step']!r}")
        if action is None:
            return None
        fallback = None
        if "fallback" in node:
            fallback = self.action(file, node["fallback"], f"the fallback of step {node['step']!r}")
        return Step(where=where, name=str(node["step"]), description=str(node.get("description", "")),
                    when=when, action=action, fallback=fallback)

    def tables(self, data: LineDict, file: str) -> tuple[dict[str, TableDecl], dict[str, pd.DataFrame]]:
        decls, rows = {}, {}
        for name, node in (data.get("tables") or {}).items():
            where = self.where(file, data["tables"], name)
            if not isinstance(node, dict) or not {"file", "keys", "value"} <= set(node):
                self.problem(where, f"table {name!r} needs `file`, `keys` and `value`")
                continue
            keys = dict(node["keys"]) if isinstance(node["keys"], dict) else {k: "exact" for k in node["keys"]}
            for col, kind in keys.items():
                if kind not in TABLE_KEY_KINDS:
                    self.problem(where, f"table {name!r}: key {col!r} has unknown kind {kind!r}{_suggest(kind, TABLE_KEY_KINDS)}")
            decl = TableDecl(where=where, name=str(name), file=str(node["file"]), keys=keys, value=str(node["value"]))
            decls[decl.name] = decl
            path = self.root / decl.file
            display = self.rel(path)
            try:
                records = read_csv(path, display)
            except ConfigError as exc:
                self.problems.extend(exc.problems)
                continue
            df = pd.DataFrame([r for _, r in records], dtype=object)
            df["_line"] = [line for line, _ in records]
            header = set(df.columns) if records else set()
            missing = [c for c in [*keys, decl.value] if records and c not in header]
            if missing:
                self.problem(SourceRef(display, 1), f"missing column(s) {missing}; table {name!r} declares them in {file}")
                continue
            rows[decl.name] = df
        return decls, rows

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
        tables, table_rows = p.tables(data, flow_file)
        pools = p.pools()
        queues = p.queues()
        reps = p.reps()
    except ConfigError as exc:
        raise ConfigError(p.problems + exc.problems) from None
    errors = [x for x in p.problems if x.severity == "error"]
    if errors:
        raise ConfigError(p.problems)
    version, files = rules_version(root)
    return RuleSet(root=str(root), version=version, flows=flows, tables=tables, table_rows=table_rows,
                   pools=pools, queues=queues, reps=reps, files=files)
