import dagster as dg

from pipelines.defs.resources import ClockResource, RulesResource
from pipelines.routing.ruleset.checks import validate
from pipelines.sourcefile import ConfigError, problems_markdown


@dg.asset(
    group_name="route",
    kinds={"yaml"},
    check_specs=[dg.AssetCheckSpec("rules_valid", asset="routing_rules", blocking=True,
                                   description="Routing stops when the rules fail validation; leads stay pending.")],
)
def routing_rules(context: dg.AssetExecutionContext, rules: RulesResource, clock: ClockResource):
    """The ops-owned rules in routing_rules/, loaded once per run and validated.

    The blocking check stops routing (and so the push) when the rules fail validation:
    leads stay undecided and are routed by the first tick after the fix. Nothing is lost.
    It checks the rule set the run pinned and records its version (the content hash); every
    stage of the run routes with that same object, and none routes if the folder changed since.
    """
    try:
        ruleset = rules.rules()
        problems = validate(ruleset, rules.mapping(), now=clock.now())
        version, files = ruleset.version, len(ruleset.files)
    except ConfigError as exc:
        problems, version, files = exc.problems, "invalid", 0
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        (context.log.error if p.severity == "error" else context.log.warning)(str(p))
    listing = problems_markdown(problems)
    yield dg.MaterializeResult(
        metadata={"rules_version": version, "files": files, "errors": len(errors),
                  "warnings": len(problems) - len(errors), "problems": dg.MetadataValue.md(listing)},
        check_results=[dg.AssetCheckResult(
            check_name="rules_valid", passed=not errors,
            metadata={"rules_version": version, "errors": len(errors), "problems": dg.MetadataValue.md(listing)},
            description=None if not errors else f"{len(errors)} error(s); first: {errors[0]}",
        )],
    )
