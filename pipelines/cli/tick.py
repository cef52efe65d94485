"""``leadroute tick``: one run of the tick job, in-process, with a live line per stage and a summary."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from pipelines import gc_pause
from pipelines.cli.common import Failure, IsoTime, friendly, settings
from pipelines.ledger.summary import DAY2_ENTRIES, OUTCOMES, WRITE_KINDS
from pipelines.warehouse import db
from pipelines.warehouse.errors import WarehouseBusy

TOP = 8  # steps and owners listed by name; the rest are counted


def _n(value: int) -> str:
    return f"{value:>7,}"


def _top(counts: dict[str, int], top: int = TOP) -> str:
    items = list(counts.items())
    text = ", ".join(f"{name} {n:,}" for name, n in items[:top])
    rest = sum(n for _, n in items[top:])
    return text + (f", {len(items) - top} more ({rest:,})" if len(items) > top else "")


def summary_lines(summary: dict, seconds: float, now: datetime) -> list[str]:
    """The tick in one unit per line: leads in by what became of them, day-2 decisions, CRM writes."""
    out = [f"Tick {summary['run_id'][:8]} at {now:%Y-%m-%d %H:%M} UTC, done in {seconds:.1f} s"]
    outcomes = summary.get("lead_outcomes") or {}
    leads_in = summary.get("leads_in", summary.get("leads_extracted", 0))
    news = sum(n for k, n in outcomes.items() if k != "unchanged")
    if not news and not summary.get("day2_decisions"):
        echo = f" ({leads_in:,} lead record(s) came back changed: our own writes, or fields routing does not watch)"
        out.append("  No new leads: nothing to route" + (echo if leads_in else "") + ".")
    else:
        out.append(f"  Leads in: {leads_in:,} (new or changed Lead records, each counted once below)")
        for key, words in OUTCOMES.items():
            if outcomes.get(key):
                line = f"  {_n(outcomes[key])}  {words}"
                if key == "routed":
                    queued = summary.get("routed_to_queues", 0)
                    line += f": {outcomes[key] - queued:,} to reps, {queued:,} to queues"
                out.append(line)
    if summary.get("day2_decisions"):
        out.append(f"  Day-2 decisions (leads already assigned that moved): {summary['day2_decisions']:,}")
        for entry, n in (summary.get("day2_by_entry") or {}).items():
            out.append(f"  {_n(n)}  {DAY2_ENTRIES.get(entry, entry)}")
    steps = {k: v for k, v in summary.get("per_step", {}).items() if k != "(already owned)"}
    if steps:
        out.append(f"  Decisions by rule step: {_top(steps)}")
    if summary.get("per_owner"):
        out.append(f"  Leads per rep: {_top(summary['per_owner'])}")
    if summary.get("per_queue"):
        out.append(f"  Leads per queue: {_top(summary['per_queue'])}")
    writes = summary.get("writes") or {}
    if writes:
        out.append("  Writes to the CRM (one per lead and kind):")
        for kind, words in WRITE_KINDS.items():
            by_status = writes.get(kind)
            if not by_status:
                continue
            parts = [f"{by_status.get('pushed', 0):,} pushed"]
            for status, label in (("skipped_unchanged", "already so, nothing to write"),
                                  ("pending", "retry later"), ("failed", "failed"),
                                  ("skipped_deleted", "lead deleted in the CRM")):
                if by_status.get(status):
                    parts.append(f"{by_status[status]:,} {label}")
            out.append(f"  {_n(sum(by_status.values()))}  {words}: {', '.join(parts)}")
        if summary.get("reconciled"):
            out.append(f"  {_n(summary['reconciled'])}  already in the CRM (read back, not written again)")
    else:
        out.append("  Writes to the CRM: none")
    others = {k: v for k, v in (summary.get("new_versions") or {}).items() if k != "lead" and v}
    if others:
        out.append("  Other records in: " + ", ".join(f"{v:,} {k}" for k, v in others.items()))
    return out


def stage_costs(metadata: dict[str, dict]) -> dict[str, dict]:
    """Each stage's wall and CPU seconds, the rows it worked on, why it skipped, the process's peak memory
    when it ended and how much the stage raised it, from its asset metadata
    (:func:`pipelines.defs.metadata.timed`): what ``benchmarks/bench_tick.py`` reads from ``tick --json``."""
    from pipelines.defs.metadata import (
        RAN, SKIPPED, STAGE_CPU_SECONDS, STAGE_PEAK_MIB, STAGE_PEAK_RISE_MIB, STAGE_ROWS, STAGE_SECONDS)

    keys = {"seconds": STAGE_SECONDS, "cpu_seconds": STAGE_CPU_SECONDS, "rows": STAGE_ROWS, "skipped": SKIPPED,
            "peak_mib": STAGE_PEAK_MIB, "peak_rise_mib": STAGE_PEAK_RISE_MIB}
    return {stage: {name: values[key] for name, key in keys.items() if key in values and values[key] != RAN}
            for stage, values in metadata.items() if STAGE_SECONDS in values}


def failure_line(outcome) -> str:
    """Why a tick did not complete, in one line, with what to do."""
    problem = outcome.failed_checks.get("rules_valid")
    if problem is not None:
        first = problem.split("first: ", 1)[-1]
        return (f"Rules invalid, nothing routed or pushed: {first}. Leads wait in their intake queue; fix the rules "
                f"(`leadroute validate` lists every problem) and tick again.")
    if outcome.failures:
        step, _, cause = outcome.failures[0].partition(": ")
        return (f"Tick {outcome.run_id[:8]} stopped at {step}: {cause}. Nothing is lost: what was not routed or "
                f"pushed waits for the next tick (-v shows the run log).")
    blocked = ", ".join(outcome.failed_checks) or ", ".join(outcome.skipped) or "a stage"
    return (f"Tick {outcome.run_id[:8]} did not complete: {blocked} did not pass. Nothing is lost: what was not "
            f"routed or pushed waits for the next tick (-v shows the run log).")


@click.command()
@click.option("--now", "frozen_at", type=IsoTime(), help="Run as if it were this time (UTC unless it says); "
              "for replays and tests.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's step-by-step log and full errors.")
@friendly
def tick(frozen_at: datetime | None, as_json: bool, verbose: bool) -> None:
    """Run one tick of the pipeline (the same Dagster job the schedule runs), in-process.

    Uses the Dagster instance in DAGSTER_HOME when set, so the run shows in the UI;
    otherwise a temporary instance. Exit status: 0 done, 1 the tick did not run to the end
    (a stage failed, the push stopped early, another writer holds the warehouse; nothing is
    lost: the next tick picks up), 2 bad arguments or no CRM.
    """
    s = settings()
    if s.crm == "local" and not s.crm_path.exists():
        raise Failure(f"No local CRM at {s.crm_path}. Create one with `leadroute demo init`.")
    if s.warehouse.exists():
        try:  # busy: say who holds it now, in one line, before Dagster starts
            with db.connect(s.warehouse):
                pass
        except WarehouseBusy as exc:
            click.secho(str(exc), fg="red", err=True)
            sys.exit(1)
    with gc_pause.loading():  # Dagster, the definitions and the run's instance: built, not collected
        from pipelines.cli.progress import StageProgress
        from pipelines.defs.policy import build_defs
        from pipelines.defs.resources import ClockResource, default_resources
        from pipelines.runner import TickBusy, current_instance, run_tick

        resources = default_resources(s)
        build_defs(resources)  # imports pipelines/defs/ now; the run builds its definitions again in milliseconds
        instance = current_instance()
    if frozen_at:
        resources["clock"] = ClockResource(frozen_at=frozen_at.isoformat())
    now = resources["clock"].now()
    try:
        # The instance is closed before the process ends without teardown: an ephemeral one (no
        # DAGSTER_HOME) keeps its artifacts in a temporary folder that only its close removes.
        with instance, StageProgress() as progress:
            outcome = run_tick(resources=resources, instance=instance, on_event=progress.event,
                               log_level="DEBUG" if verbose else "CRITICAL")
    except TickBusy as exc:  # another writer: this tick did not run (exit 1, like a tick that failed)
        click.secho(str(exc), fg="red", err=True)
        sys.exit(1)
    for line in outcome.dead_runs:
        click.secho(f"A run had died: {line}", fg="yellow", err=True)
    if not outcome.success:
        if verbose:
            for failure in outcome.failures:
                click.echo(f"  {failure}", err=True)
            for name, said in outcome.failed_checks.items():
                click.echo(f"  check {name}: {said}", err=True)
        click.secho(failure_line(outcome), fg="red", err=True)
        sys.exit(1)
    with db.connect(s.warehouse, read_only=True) as con:
        row = db.first_row(con, "SELECT summary FROM tick_log WHERE run_id = ?", [outcome.run_id])
    summary = json.loads(row[0])
    summary["seconds"] = round(outcome.seconds, 2)
    summary["stages"] = stage_costs(outcome.metadata)
    summary["checks"] = stage_costs(outcome.check_metadata)  # the data-quality checks' cost, GX included
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo("\n".join(summary_lines(summary, outcome.seconds, now)))
    if summary.get("push_stopped"):
        # The tick did its work, but writes wait: a scheduler or a person must hear why, in one line.
        click.secho(f"Push stopped early: {summary['push_stopped']} ({summary['retry_pending']:,} write(s) wait "
                    f"for the next tick)", fg="red", err=True)
        sys.exit(1)


COMMANDS = [tick]
