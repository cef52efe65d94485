"""Loading ``routing_rules/`` into one :class:`RuleSet`, collecting every problem with its line.

The loader reports all the problems it finds in one go (an ops person fixing a pull
request wants the full list, not one error per CI run). Structural problems (unknown
keys, operators, actions; malformed YAML or CSV) are found while reading
(:mod:`pipelines.routing.language`, :mod:`pipelines.routing.tables.files`,
:mod:`pipelines.routing.roster.reps`); cross-references (does that pool, table, queue or
rep exist?) in :mod:`.checks`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipelines.routing.language.day2 import DAY2_FILE, parse_day2
from pipelines.routing.language.model import QueueDecl
from pipelines.routing.language.parse import Parser
from pipelines.routing.language.pools import POOLS_FILE, parse_pools
from pipelines.routing.language.problems import ProblemLog
from pipelines.routing.language.problems import where as where_of
from pipelines.routing.language.tables import parse_tables
from pipelines.routing.pools.catalog import PoolCatalog
from pipelines.routing.roster.holidays import HOLIDAYS_FILE, read_days_off
from pipelines.routing.roster.reps import REPS_FILE, load_roster
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.tables.files import read_rows
from pipelines.sourcefile import ConfigError, ConfigProblem, LineDict, SourceRef, load_yaml

FLOW_FILE = "flow.yaml"
QUEUES_FILE = "queues.yaml"


def rules_version(root: Path) -> tuple[str, dict[str, str]]:
    """A content hash of every rules file: the same rules always give the same version."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256("\n".join(f"{k} {v}" for k, v in files.items()).encode()).hexdigest()
    return digest[:12], files


def _queues(path: Path, file: str) -> dict[str, QueueDecl]:
    data = load_yaml(path, file) or {}
    out = {}
    for name, node in (data.get("queues") or {}).items():
        node = node or {}
        out[str(name)] = QueueDecl(
            where=where_of(file, data["queues"], name), name=str(name), label=str(node.get("label", name)),
            intake=bool(node.get("intake", False)), purpose=str(node.get("purpose", "")),
        )
    return out


READ_ATTEMPTS = 3


def load_rules(root: str | Path) -> RuleSet:
    """Load and structurally check the rules in ``root``; raise ConfigError listing every problem.

    The version is the content hash of the files as they were read: a folder that changes
    while it is read (a ``git pull`` landing) is read again, so the rule set and its version
    always describe the same files.
    """
    root = Path(root)
    if not (root / FLOW_FILE).exists():
        raise ConfigError([ConfigProblem(SourceRef(str(root / FLOW_FILE)), "file not found: is this a routing_rules folder?")])
    for _ in range(READ_ATTEMPTS):
        before = rules_version(root)
        ruleset = _read(root, *before)
        if rules_version(root)[0] == ruleset.version:
            return ruleset
    raise ConfigError([ConfigProblem(SourceRef(str(root)), f"the folder changed each of the {READ_ATTEMPTS} times it "
                                                           f"was read; try again once it is quiet")])


def _read(root: Path, version: str, files: dict[str, str]) -> RuleSet:
    def shown(name: str) -> str:  # how problems name a file: relative to the rules folder's parent
        path = root / name
        return str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)

    log = ProblemLog()
    parser = Parser(log)
    flow_file = shown(FLOW_FILE)
    try:
        data = load_yaml(root / FLOW_FILE, flow_file) or LineDict()
        flows = parser.flows(data, flow_file)
        policy = parser.reroute_policy(data, flow_file)
        tables = parse_tables(log, flow_file, data)
        table_rows = {}
        for decl in tables.values():
            rows = read_rows(log, decl, root / decl.file, shown(decl.file), flow_file)
            if rows is not None:
                table_rows[decl.name] = rows
        days_off, problems = read_days_off(root / HOLIDAYS_FILE, shown(HOLIDAYS_FILE))
        log.extend(problems)
        declared, problems = parse_pools(root / POOLS_FILE, shown(POOLS_FILE), parser)
        log.extend(problems)
        pools = PoolCatalog(declared, days_off=days_off, days_off_file=shown(HOLIDAYS_FILE))
        queues = _queues(root / QUEUES_FILE, shown(QUEUES_FILE))
        reps, problems = load_roster(root / REPS_FILE, shown(REPS_FILE))
        log.extend(problems)
        day2 = parse_day2(root / DAY2_FILE, shown(DAY2_FILE), parser)
    except ConfigError as exc:
        raise ConfigError(log.problems + exc.problems) from None
    log.raise_errors()
    return RuleSet(root=str(root), version=version, flows=flows, tables=tables, table_rows=table_rows,
                   pools=pools, queues=queues, reps=reps, files=files, reroute_policy=policy, day2=day2)
