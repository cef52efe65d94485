"""Checking a whole rules folder: every ops-owned settings file, each problem at its file and line.

``leadroute validate`` (and the pre-commit hook and CI that run it) reads each file the way a
tick does (the same loaders a run pins: :class:`pipelines.defs.resources.RulesResource`), and
keeps going after a bad file, so one run lists every problem of every file: the routing rules
(:func:`.load.load_rules`), the field mapping, ``matching.yaml``, ``enrichment.yaml`` and
``quality.yaml``; then the cross-references between them (:mod:`.checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.crm.fields import FieldMapping, load_field_mapping
from pipelines.enrich.settings import load_enrichment_settings
from pipelines.matching.settings import load_matching_settings
from pipelines.quality.settings import load_quality_settings
from pipelines.routing.ruleset.checks import validate
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.ruleset.model import RuleSet
from pipelines.sourcefile import ConfigError, ConfigProblem


def check_folder(root: Path, *, crm_users: pd.DataFrame | None = None, now: datetime | None = None
                 ) -> tuple[RuleSet | None, list[ConfigProblem]]:
    """The rule set (None when it cannot be loaded) and every problem of every file in ``root``."""
    problems: list[ConfigProblem] = []

    def read(load: Callable[[], Any]) -> Any:
        try:
            return load()
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None

    rules: RuleSet | None = read(lambda: load_rules(root))
    mapping: FieldMapping | None = read(lambda: load_field_mapping(root / "fields.yaml"))
    read(lambda: load_matching_settings(root / "matching.yaml"))
    read(lambda: load_enrichment_settings(root / "enrichment.yaml"))
    # quality.yaml's identity groups name columns of the field mapping: checked against it when it loaded.
    columns = {obj: set(m.fields) for obj, m in mapping.objects.items()} if mapping is not None else None
    read(lambda: load_quality_settings(root / "quality.yaml", columns))
    if rules is not None and mapping is not None:
        problems.extend(validate(rules, mapping, crm_users=crm_users, now=now))
    return rules, problems
