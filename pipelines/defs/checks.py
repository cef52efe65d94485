"""Data quality checks as Dagster asset checks: one per suite in ``pipelines/quality/suites.py``.

Checks on what the CRM push depends on are ``blocking``: when one fails, the push
(and everything after it) does not run this tick. The rest warn. Each result carries
the failing-row counts and examples, so the UI shows which records to fix.
"""

import dagster as dg

from pipelines.defs.metadata import run_info
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.quality.run import outcome_markdown, run_check
from pipelines.quality.suites import CHECKS, Check, CheckContext


def _build(check: Check) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=check.asset, name=check.name, blocking=check.blocking, description=check.description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, rules: RulesResource,
               clock: ClockResource) -> dg.AssetCheckResult:
        con = warehouse.connection(rules.mapping())
        ctx = CheckContext(run_info(context, clock), rules.quality(), rules.enrichment())
        result = run_check(con, check, ctx)
        metadata = {
            "failing_rows": dg.MetadataValue.int(result.failing_rows),
            "expectations": dg.MetadataValue.md(outcome_markdown(result)),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        }
        for o in result.outcomes:
            metadata[f"failing/{o.expectation}"] = dg.MetadataValue.int(o.failing)
        if not result.passed:
            context.log.warning(f"{check.name}: {result.error or f'{result.failing_rows:,} failing row(s)'}")
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description=result.error,
        )

    return _check


quality_checks = [_build(c) for c in CHECKS]
