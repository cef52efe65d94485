"""Sales ops from the Dagster UI, for those without a shell: pause and resume a rep.

Each job takes a typed config (the launchpad shows a form with the fields; nothing to write in
YAML by hand) and calls the same code as ``leadroute rep pause|resume``
(:mod:`pipelines.ops.overrides`). The jobs carry the warehouse-writer tag, so they queue behind
a running tick instead of colliding with it; the next tick honours the change.
"""

import dagster as dg
from pydantic import Field

from pipelines.defs.policy import EXECUTOR, WRITER_TAG
from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource
from pipelines.ops import overrides


class PauseRep(dg.Config):
    """Who to pause, why, and until when."""

    rep: str = Field(description="user_id, email or name in reps.csv")
    reason: str = Field(description="why: shown in explain, the pool state and the audit trail")
    until: str = Field(default="", description="HH:MM (today, the rep's time zone) or an ISO time; empty: until resumed")
    by: str = Field(default="dagster", description="who pauses")


class ResumeRep(dg.Config):
    """Who to resume, and why the pause ends early."""

    rep: str = Field(description="user_id, email or name in reps.csv")
    reason: str = Field(default="", description="why the pause ends early")
    by: str = Field(default="dagster", description="who resumes")


def _fail(exc: Exception) -> dg.Failure:
    return dg.Failure(str(exc), allow_retries=False)


@dg.op(description="Pause a rep: no pool gives them a lead from the next tick (reps.csv is not edited).")
def pause_rep(context: dg.OpExecutionContext, config: PauseRep, warehouse: WarehouseResource, rules: RulesResource,
              clock: ClockResource) -> None:
    con = warehouse.connection(rules.mapping())
    try:
        row = overrides.pause(con, rules.rules().reps, config.rep, now=clock.now(), by=config.by,
                              reason=config.reason, until=config.until or None)
    except overrides.OverrideError as exc:
        raise _fail(exc) from None
    context.log.info(f"paused {row['name']} ({row['user_id']}) until {row['until'] or 'resumed'}: {row['reason']} "
                     f"(override {row['override_id']})")


@dg.op(description="Resume a paused rep: pools give them leads again from the next tick.")
def resume_rep(context: dg.OpExecutionContext, config: ResumeRep, warehouse: WarehouseResource, rules: RulesResource,
               clock: ClockResource) -> None:
    con = warehouse.connection(rules.mapping())
    try:
        n = overrides.resume(con, rules.rules().reps, config.rep, now=clock.now(), by=config.by, reason=config.reason)
    except overrides.OverrideError as exc:
        raise _fail(exc) from None
    context.log.info(f"resumed {config.rep} ({n} pause(s) ended)")


@dg.job(executor_def=EXECUTOR, tags=WRITER_TAG, description="Pause a rep (sick, in a meeting block) from the UI.")
def rep_pause():
    pause_rep()


@dg.job(executor_def=EXECUTOR, tags=WRITER_TAG, description="Resume a paused rep from the UI.")
def rep_resume():
    resume_rep()
