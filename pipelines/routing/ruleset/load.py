"""Loading ``routing_rules/`` into one :class:`RuleSet`, collecting every problem with its line.

The loader reports all the problems it finds in one go (an ops person fixing a pull
request wants the full list, not one error per CI run). Each YAML file is read by its
model (:mod:`pipelines.routing.language`) through the one settings reader
(:func:`pipelines.sourcefile.read_settings`); CSV files by :mod:`pipelines.routing.tables.files`,
:mod:`pipelines.routing.roster.reps` and :mod:`pipelines.routing.roster.holidays`. Cross-references (does that pool, table, queue or
rep exist?) in :mod:`.checks`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from pipelines.routing.language.day2 import DAY2_FILE, Day2Config
from pipelines.routing.language.parse import FLOW_FILE, QUEUES_FILE, FlowFile, QueuesFile
from pipelines.routing.language.pools import POOLS_FILE, PoolsFile
from pipelines.routing.language.problems import ProblemLog
from pipelines.routing.pools.catalog import PoolCatalog
from pipelines.routing.roster.holidays import HOLIDAYS_FILE, read_days_off
from pipelines.routing.roster.reps import REPS_FILE, load_roster
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.tables.files import read_rows
from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, read_settings

M = TypeVar("M", bound=BaseModel)


def rules_version(root: Path) -> tuple[str, dict[str, str]]:
    """A content hash of every rules file: the same rules always give the same version."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256("\n".join(f"{k} {v}" for k, v in files.items()).encode()).hexdigest()
    return digest[:12], files


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


def inside(root: Path, name: str) -> Path | None:
    """``name`` (relative to ``root``) as a path inside the rules folder, links followed; None when it
    leads out of it (``../x.csv``, ``/etc/passwd``, a link to elsewhere): a file outside is not part of
    the rules version, and its content must never reach an error message in a CI log."""
    try:
        path = (root / name).resolve()
        return path if path.is_relative_to(root.resolve()) else None
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a loop of links
        return None


def _read(root: Path, version: str, files: dict[str, str]) -> RuleSet:
    def shown(name: str) -> str:  # how problems name a file: relative to the rules folder's parent
        path = root / name
        return str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)

    log = ProblemLog()

    def read(name: str, model: type[M], **options: Any) -> M | None:
        try:
            return read_settings(root / name, model, display=shown(name), **options)[0]
        except ConfigError as exc:  # keep reading: every file's problems are reported at once
            log.extend(exc.problems)
            return None

    flow = read(FLOW_FILE, FlowFile)
    tables = flow.tables if flow is not None else {}
    table_rows = {}
    for decl in tables.values():
        path = inside(root, decl.file)
        if path is None:
            log.problem(decl.where, f"table {decl.name!r}: file {decl.file[:200]!r} is outside the rules folder; "
                                    f"keep tables in {root.name}/tables/ (they are part of the rules version)")
            continue
        rows = read_rows(log, decl, path, shown(decl.file), shown(FLOW_FILE))
        if rows is not None:
            table_rows[decl.name] = rows
    days_off, problems = read_days_off(root / HOLIDAYS_FILE, shown(HOLIDAYS_FILE))
    log.extend(problems)
    pools = read(POOLS_FILE, PoolsFile, missing_ok=True)
    queues = read(QUEUES_FILE, QueuesFile)
    try:
        reps, problems = load_roster(root / REPS_FILE, shown(REPS_FILE))
        log.extend(problems)
    except ConfigError as exc:
        log.extend(exc.problems)
    day2 = read(DAY2_FILE, Day2Config, missing_ok=True, values={"file": shown(DAY2_FILE)})
    log.raise_errors()
    return RuleSet(root=str(root), version=version, flows=flow.flows, tables=tables, table_rows=table_rows,
                   pools=PoolCatalog(pools.pools, days_off=days_off, days_off_file=shown(HOLIDAYS_FILE)),
                   queues=queues.queues, reps=reps, files=files, reroute_policy=flow.reroute_policy, day2=day2)
