"""Routing: the rules ops keep in ``routing_rules/``, and every stage that routes leads with them.

The facade, in the order a tick uses it::

    from pipelines import routing

    rules = routing.load_rules("routing_rules")          # every file, once, into one typed RuleSet
    problems = routing.validate(rules, mapping)          # cross-references, at file:line
    routing.route_leads(con, rules, mapping, run)        # new and updated leads -> routing_decision
    routing.reroute(con, rules, mapping, run)            # day 2: holds, owners who left, SLAs, recycling
    routing.backfill(con, rules, mapping, run, start, end, dry_run=True)
    routing.diff_rules(con, mapping, rules_dir, "main", since, now)
    routing.explain(con, lead_id)

Behind it, rooms in the order data flows; each may import only the rooms above it:

==============  =============================================================================
``language/``   what ops write, as typed models: conditions, actions, steps, flows (``model``),
                operators (``vocabulary``), templates, problems at file:line, the parser of
                flow.yaml, and the declarations of ``tables``, ``pools`` and ``day2``
``roster/``     reps.csv (``reps``), days off (``holidays``), who is available (``availability``),
                time in working hours (``working_time``)
``tables/``     a table's rows (``files``), lookups for every key kind (``lookup``), polygons
                (``geo``), ranges and coverage (``coverage``)
``pools/``      members, turns, allocation, the pool book (what pools remember), checks, report
``frame/``      the routing frame: every field a rule may name (``build``), a lead's history,
                route on update (``update``)
``ruleset/``    the RuleSet (``model``), loading it (``load``), its cross-checks (``checks``), the whole folder (``folder``)
``engine/``     a flow over a batch (``router``), conditions, actions, holds, side actions,
                the reroute policy, traces
``stages/``     first routing (``route``), backfill, simulate (diff), explain
``day2/``       day-2 routing each tick (``stage``): SLAs, recycling and wake-up, decisions
==============  =============================================================================

The names below are loaded on first use, so ``leadroute validate`` (a pre-commit hook)
does not import the stages and the warehouse to check a rules file.
"""

from __future__ import annotations

import importlib
from typing import Any

_FACADE = {
    "RuleSet": "pipelines.routing.ruleset.model",
    "load_rules": "pipelines.routing.ruleset.load",
    "validate": "pipelines.routing.ruleset.checks",
    "route_leads": "pipelines.routing.stages.route",
    "reroute": "pipelines.routing.day2.stage",
    "backfill": "pipelines.routing.stages.backfill",
    "diff_rules": "pipelines.routing.stages.simulate",
    "explain": "pipelines.routing.stages.explain",
}

__all__ = list(_FACADE)


def __getattr__(name: str) -> Any:
    if name not in _FACADE:
        raise AttributeError(f"module 'pipelines.routing' has no attribute {name!r}")
    return getattr(importlib.import_module(_FACADE[name]), name)
