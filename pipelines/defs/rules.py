import dagster as dg
import pandas as pd

from pipelines.defs.metadata import ROW_COUNT, run_info, stable, table_value, timed
from pipelines.defs.resources import ClockResource, RulesResource
from pipelines.routing.language.diagram import mermaid, step_rows
from pipelines.routing.ruleset.checks import validate
from pipelines.sourcefile import ConfigError, problems_markdown


@dg.asset(
    group_name="route",
    kinds={"yaml"},
    check_specs=[dg.AssetCheckSpec("rules_valid", asset="routing_rules", blocking=True,
                                   description="Routing stops when the rules fail validation; leads stay pending.")],
)
@timed
def routing_rules(context: dg.AssetExecutionContext, rules: RulesResource, clock: ClockResource):
    """The ops-owned rules in routing_rules/, loaded once per run and validated.

    The blocking check stops routing (and so the push) when the rules fail validation:
    leads stay undecided and are routed by the first tick after the fix. Nothing is lost.
    It checks the rule set the run pinned and records its version (the content hash); every
    stage of the run routes with that same object, and none routes if the folder changed since.
    Its page shows the flow of new leads as a table and as a Mermaid flowchart.
    """
    flows = {}
    try:
        ruleset = rules.rules()
        problems = validate(ruleset, rules.mapping(), now=run_info(context, clock).now)
        version, files, flows = ruleset.version, len(ruleset.files), ruleset.flows
    except ConfigError as exc:
        problems, version, files = exc.problems, "invalid", 0
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        (context.log.error if p.severity == "error" else context.log.warning)(str(p))
    listing = problems_markdown(problems)
    md = {"rules_version": version, "files": files, "errors": len(errors),
          "warnings": len(problems) - len(errors), "problems": dg.MetadataValue.md(listing),
          ROW_COUNT: dg.MetadataValue.int(sum(len(f.steps) for f in flows.values()))}
    for entry, flow in flows.items():
        md[f"flow_{entry}"] = table_value(pd.DataFrame(step_rows(flow)))
        md[f"flow_{entry}_diagram"] = dg.MetadataValue.md(f"```mermaid\n{mermaid(flow)}\n```")
    yield dg.MaterializeResult(
        metadata=stable(context, md),
        check_results=[dg.AssetCheckResult(
            check_name="rules_valid", passed=not errors,
            metadata={"rules_version": version, "errors": len(errors), "problems": dg.MetadataValue.md(listing)},
            description=None if not errors else f"{len(errors)} error(s); first: {errors[0]}",
        )],
    )
